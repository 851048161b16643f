import { containerSpecOf, display, isService, isTraefik, type ResourceRule } from "../model";

const SOCKETS = ["/var/run/docker.sock", "/run/docker.sock"];

/** A `volume` mount whose local driver options bind a host path is a bind mount too. */
function bindInDisguise(m: Record<string, any>): string | undefined {
  const opts = m.volumeOptions?.driverOptions ?? m.volumeOptions?.driverConfig?.options ?? {};
  return typeof opts.o === "string" && /(^|,)r?bind(,|$)/.test(opts.o) ? String(opts.device ?? m.source ?? "") : undefined;
}

/**
 * Rule 3: whoever reads the Docker socket controls the Swarm. Only the Traefik service mounts it, and
 * read-only; no other service bind-mounts anything from a host.
 */
export const dockerSocketAndBinds: ResourceRule = {
  kind: "resource",
  name: "docker-socket-and-binds",
  description: "Only the Traefik service mounts the Docker socket, read-only; no bind mounts in any other service.",
  level: "mandatory",
  check(r, report) {
    if (!isService(r)) return;
    const traefik = isTraefik(r);
    for (const m of (containerSpecOf(r).mounts ?? []) as Record<string, any>[]) {
      const disguised = m.type === "volume" ? bindInDisguise(m) : undefined;
      if (m.type !== "bind" && disguised === undefined) continue;
      const source = String(disguised ?? m.source ?? "");
      const socket = SOCKETS.includes(source) || SOCKETS.includes(String(m.target ?? ""));
      if (socket && traefik) {
        if (m.readOnly !== true) report(`${display(r)} mounts the Docker socket read-write: set readOnly: true on the mount of ${source}`);
      } else if (socket) {
        report(`${display(r)} mounts the Docker socket (${source}): only the Traefik service may; remove the mount`);
      } else if (!traefik) {
        report(`${display(r)} bind-mounts ${source || "a host path"} at ${m.target}: use a Docker volume, a Swarm secret or a Swarm config instead`);
      }
    }
  },
};
