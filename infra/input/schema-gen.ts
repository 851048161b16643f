/**
 * Generates tenants/schema.json (JSON Schema draft-07) from the zod tenant schema.
 * `npm run schema` writes it; `npm run schema -- --check` fails when the committed file is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { TenantSchema } from "./tenants/schema";

export const SCHEMA_FILE = path.join(__dirname, "..", "..", "tenants", "schema.json");

export function tenantJsonSchema(): string {
  const schema = z.toJSONSchema(TenantSchema, { target: "draft-7", io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  const doc = {
    ...schema,
    $id: "https://kestra-fleet.invalid/tenants/schema.json",
    title: "kestra-fleet tenant file",
    description: "One client's Kestra: tenants/<name>.yaml. Generated from infra/input/tenants/schema.ts by `npm run schema`; do not edit.",
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

if (require.main === module) {
  const text = tenantJsonSchema();
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, "utf8") : "";
    if (current !== text) {
      process.stderr.write("tenants/schema.json is stale: run `npm run schema`\n");
      process.exitCode = 1;
    }
  } else {
    fs.writeFileSync(SCHEMA_FILE, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
  }
}
