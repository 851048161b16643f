import { containerSpecOf, display, isService, type ResourceRule } from "../model";

/** Swarm mounts a secret with a relative file name under /run/secrets. */
const underRunSecrets = (f: string) => (f.startsWith("/") ? f : `/run/secrets/${f}`);

/**
 * Rule 16: images read credentials from `*_FILE` paths and silently fall back to defaults when the
 * file is missing (MinIO: minioadmin:minioadmin). Every such path is a Swarm secret of the service
 * (a Swarm config would be readable through `docker config inspect`).
 */
export const fileEnvSecret: ResourceRule = {
  kind: "resource",
  name: "file-env-secret",
  description: "Every *_FILE environment variable points at a path where a Swarm secret of that service is mounted.",
  level: "mandatory",
  check(r, report) {
    if (!isService(r)) return;
    const c = containerSpecOf(r);
    const secrets = new Set<string>((c.secrets ?? []).filter((s: any) => typeof s?.fileName === "string").map((s: { fileName: string }) => underRunSecrets(s.fileName)));
    const configs = new Set<string>((c.configs ?? []).filter((s: any) => typeof s?.fileName === "string").map((s: { fileName: string }) => s.fileName));
    for (const [name, value] of Object.entries((c.env ?? {}) as Record<string, unknown>)) {
      if (!name.toUpperCase().endsWith("_FILE") || value === undefined) continue;
      const path = underRunSecrets(String(value));
      if (secrets.has(path)) continue;
      if (configs.has(path)) report(`${display(r)} sets ${name}=${value}, a Swarm config (readable through docker config inspect): mount a Swarm secret there instead`);
      else report(`${display(r)} sets ${name}=${value} but mounts no Swarm secret there: the image would fall back to its default; mount the secret at ${path}`);
    }
  },
};
