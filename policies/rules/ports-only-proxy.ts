import { display, isService, isTraefik, type ResourceRule } from "../model";

/** Rule 4: everything else is reached through Traefik (and Cloudflare in front of it). */
export const portsOnlyProxy: ResourceRule = {
  kind: "resource",
  name: "ports-only-proxy",
  description: "Only the Traefik service publishes ports.",
  level: "mandatory",
  check(r, report) {
    if (!isService(r) || isTraefik(r)) return;
    const ports: { publishedPort?: number; targetPort?: number }[] = r.props.endpointSpec?.ports ?? [];
    if (ports.length) {
      report(`${display(r)} publishes port(s) ${ports.map((p) => p.publishedPort ?? p.targetPort).join(", ")}: only the Traefik service publishes ports; remove endpointSpec.ports and route through Traefik`);
    }
  },
};
