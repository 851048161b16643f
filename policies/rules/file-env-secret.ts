import { T, containerSpec, describe, type ResourceRule } from "../model";

const abs = (f: string) => (f.startsWith("/") ? f : `/run/secrets/${f}`);

/** Rule 16: MinIO and others silently fall back to defaults when a *_FILE points at nothing. */
export const fileEnvSecret: ResourceRule = {
  kind: "resource",
  name: "file-env-secret",
  description: "Every *_FILE environment variable points at a path where a Swarm secret of that service is mounted.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service) return;
    const c = containerSpec(r);
    const mounted = new Set<string>((c.secrets ?? []).map((s: { fileName: string }) => abs(s.fileName)));
    for (const [name, value] of Object.entries((c.env ?? {}) as Record<string, string>)) {
      if (!name.endsWith("_FILE")) continue;
      if (!mounted.has(abs(String(value)))) report(`${describe(r)} sets ${name}=${value} but mounts no secret there: the image would fall back to its default credentials`);
    }
  },
};
