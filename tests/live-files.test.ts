/**
 * The repository's own files, checked generically: whatever tenants an operator adds and whatever
 * real values the stack files hold, they must load, validate and plan. Nothing here names a tenant
 * or a value: the specific expectations live in tests/fixtures.
 */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configFromStackFile, loadConfig } from "../infra/input/config/load";
import { formatDiagnostic } from "../infra/input/diagnostics";
import { runPlan } from "../infra/plan/run";
import { SCHEMA_FILE, tenantJsonSchema } from "../infra/input/schema-gen";
import { loadTenants, stacksIn } from "../infra/input/tenants/load";
import { REPO_ROOT } from "./files-root";

const STACKS = stacksIn(REPO_ROOT);
const TENANTS = path.join(REPO_ROOT, "tenants");
const EXAMPLES = path.join(REPO_ROOT, "examples", "tenants");

async function planErrors(stack: string, tenantsDir: string): Promise<string[]> {
  const r = await runPlan({ stack, projectRoot: REPO_ROOT, tenantsDir, tenantsDisplay: path.relative(REPO_ROOT, tenantsDir) });
  if (!r.ok) return r.errors.map(formatDiagnostic);
  return r.plan.violations.filter((v) => v.level === "mandatory").map((v) => `[${v.policy}] ${v.urn}: ${v.message}`);
}

describe("live stack files", () => {
  it("the repository declares at least one stack (Pulumi.<stack>.yaml)", () => {
    expect(STACKS.length).toBeGreaterThan(0);
  });

  for (const stack of STACKS) {
    it(`Pulumi.${stack}.yaml loads`, () => {
      expect(loadConfig(configFromStackFile(REPO_ROOT, stack)).errors.map(formatDiagnostic)).toEqual([]);
    });
  }
});

describe("live tenant files", () => {
  it("every file in tenants/ validates", () => {
    const r = loadTenants(TENANTS, { stacks: STACKS });
    expect(r.errors.map(formatDiagnostic)).toEqual([]);
  });

  it("a tenant file's editor schema line, when present, points at tenants/schema.json", () => {
    for (const f of fs.readdirSync(TENANTS).filter((x) => x.endsWith(".yaml"))) {
      const m = /^#\s*yaml-language-server:\s*\$schema=(\S+)/m.exec(fs.readFileSync(path.join(TENANTS, f), "utf8"));
      if (m) expect(path.resolve(TENANTS, m[1]), f).toBe(SCHEMA_FILE);
    }
  });

  it("tenants/schema.json is generated from the zod schema and up to date (run `npm run schema`)", () => {
    expect(fs.readFileSync(SCHEMA_FILE, "utf8")).toBe(tenantJsonSchema());
  });

  for (const stack of STACKS) {
    it(`the offline plan of ${stack} over tenants/ is valid and passes every mandatory policy`, async () => {
      expect(await planErrors(stack, TENANTS)).toEqual([]);
    });
  }
});

// The README's first command plans the example clients; the examples folder may be deleted on day one.
describe.runIf(fs.existsSync(EXAMPLES))("examples/tenants (present in this checkout)", () => {
  for (const stack of STACKS) {
    it(`stays valid and plans on ${stack}`, async () => {
      expect(await planErrors(stack, EXAMPLES)).toEqual([]);
    });
  }
});
