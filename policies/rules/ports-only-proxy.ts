import { T, describe, roleOf, type ResourceRule } from "../model";

/** Rule 4: everything else is reached through Traefik. */
export const portsOnlyProxy: ResourceRule = {
  kind: "resource",
  name: "ports-only-proxy",
  description: "Only the Traefik service publishes ports.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service || roleOf(r) === "proxy") return;
    const ports: { publishedPort?: number; targetPort?: number }[] = r.props.endpointSpec?.ports ?? [];
    if (ports.length) report(`${describe(r)} publishes port(s) ${ports.map((p) => p.publishedPort ?? p.targetPort).join(", ")}: only Traefik publishes ports; route through it`);
  },
};
