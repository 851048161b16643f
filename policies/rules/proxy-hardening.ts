import { TRAEFIK_METRICS_USERS_FILE } from "../../infra/naming";
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
 * service with a port would be routed, Postgres included), its API is never served insecurely, and
 * its Prometheus metrics are never served by the default internal router: an entry point listens on
 * every network of the container (the public overlay, shared with every tenant's web server,
 * included), so metrics need `manualRouting` (the fleet's own router, behind basic auth) and the
 * basic-auth users file mounted as a secret.
 */
export const proxyHardening: ResourceRule = {
  kind: "resource",
  name: "proxy-hardening",
  description:
    "The Traefik service sets --providers.swarm.exposedByDefault=false and not --api.insecure; with --metrics.prometheus, it sets --metrics.prometheus.manualRouting=true and mounts the metrics users file as a secret.",
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
    const metrics = [...f.keys()].some((k) => k.startsWith("metrics.prometheus")) && f.get("metrics.prometheus") !== "false";
    if (metrics) {
      if (f.get("metrics.prometheus.manualrouting") !== "true") {
        report(
          `${display(r)} serves Prometheus metrics through the default internal router, unauthenticated on every network Traefik is on (the public overlay included): ` +
            "set --metrics.prometheus.manualRouting=true and route prometheus@internal behind basic auth (infra/render/traefik.ts)",
        );
      }
      const secrets = c.secrets as { fileName?: string }[] | undefined;
      if (secrets !== undefined && !secrets.some((s) => s?.fileName === TRAEFIK_METRICS_USERS_FILE)) {
        report(`${display(r)} serves Prometheus metrics without the basic-auth users file ${TRAEFIK_METRICS_USERS_FILE} (a Swarm secret): the metrics router would have no credential`);
      }
    }
  },
};
