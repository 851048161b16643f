/** Temporary files for tests: tenant folders and tenant texts (no Pulumi involved). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function tmpDir(prefix = "kf-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A tenants folder holding the given files (name → YAML text). */
export function tenantsDir(files: Record<string, string>): string {
  const dir = tmpDir("kf-tenants-");
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Minimal valid tenant file text. */
export function tenantYaml(name: string, extra = ""): string {
  return `name: ${name}\naccess:\n  emails: [a@${name}.example.com]\nkestra:\n  adminEmail: admin@${name}.example.com\n${extra}`;
}
