import { T, containerSpec, describe, roleOf, type ResourceRule } from "../model";

const SOCKET = "/var/run/docker.sock";

/** Rule 3: only Traefik reads the Docker socket, read-only; no other bind mount anywhere. */
export const dockerSocketAndBinds: ResourceRule = {
  kind: "resource",
  name: "docker-socket-and-binds",
  description: "Only the Traefik service mounts the Docker socket, read-only; no bind mounts elsewhere.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service) return;
    for (const m of containerSpec(r).mounts ?? []) {
      if (m.type !== "bind") continue;
      const socket = m.source === SOCKET || m.target === SOCKET;
      if (socket && roleOf(r) === "proxy") {
        if (m.readOnly !== true) report(`${describe(r)} mounts the Docker socket read-write: set readOnly: true`);
      } else if (socket) {
        report(`${describe(r)} mounts the Docker socket: only the Traefik service may`);
      } else {
        report(`${describe(r)} bind-mounts ${m.source} from the host: use a volume, a secret or a config`);
      }
    }
  },
};
