import { T, containerSpec, describe, roleOf, type ResourceRule } from "../model";

/** Added rule: Traefik only routes what opts in, and its API is never open. */
export const proxyHardening: ResourceRule = {
  kind: "resource",
  name: "proxy-hardening",
  description: "Traefik runs the swarm provider with exposedByDefault=false and no insecure API.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service || roleOf(r) !== "proxy") return;
    const args: string[] = (containerSpec(r).args ?? []).map(String);
    const lower = args.map((a) => a.toLowerCase());
    if (!lower.includes("--providers.swarm.exposedbydefault=false")) report(`${describe(r)} does not set --providers.swarm.exposedByDefault=false: every service would be routed`);
    if (lower.some((a) => a === "--api.insecure" || a === "--api.insecure=true")) report(`${describe(r)} serves its API insecurely: remove --api.insecure`);
  },
};
