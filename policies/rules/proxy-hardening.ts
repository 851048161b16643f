import { containerSpecOf, display, isTraefik, type ResourceRule } from "../model";

/** `--key=value` / `--key` arguments of a container, keys lower-cased. */
function flags(args: unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of args.map(String)) {
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a.trim());
    if (m) out.set(m[1].toLowerCase(), (m[2] ?? "true").toLowerCase());
  }
  return out;
}

/**
 * Added rule: Traefik routes only services that opt in (`exposedByDefault` is true by default: every
 * service with a port would be routed, Postgres included), and its API is never served insecurely.
 */
export const proxyHardening: ResourceRule = {
  kind: "resource",
  name: "proxy-hardening",
  description: "The Traefik service sets --providers.swarm.exposedByDefault=false and not --api.insecure.",
  level: "mandatory",
  check(r, report) {
    if (!isTraefik(r)) return;
    const c = containerSpecOf(r);
    if (c.args === undefined && c.commands === undefined) return; // unknown in a preview
    const f = flags([...(c.commands ?? []), ...(c.args ?? [])]);
    if (f.get("providers.swarm.exposedbydefault") !== "false") {
      report(`${display(r)} does not set --providers.swarm.exposedByDefault=false: every service would be routed without opting in; add the argument`);
    }
    if (f.has("api.insecure") && f.get("api.insecure") !== "false") {
      report(`${display(r)} serves its API and dashboard insecurely: remove --api.insecure and route api@internal behind authentication`);
    }
  },
};
