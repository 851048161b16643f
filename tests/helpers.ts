/** Shared test helpers: temporary tenant folders and project roots, and plan lookups. */
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { tmpDir } from "./files";
import { tenantOf } from "../infra/plan/report";
import { labelMap } from "../infra/render/labels";
import { runPlan, type Plan, type PlanResource } from "../infra/plan/run";
import { FIXTURE_ROOT, FIXTURE_TENANTS } from "./files-root";

export { FIXTURE_ROOT, FIXTURE_TENANTS, REPO_ROOT } from "./files-root";

/** The fixture project's tenants, as file name → text. */
export function fixtureTenants(): Record<string, string> {
  const dir = FIXTURE_TENANTS;
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir)) if (f.endsWith(".yaml")) out[f] = fs.readFileSync(path.join(dir, f), "utf8");
  return out;
}

/**
 * A project root with the fixture project's stack files, the `kestra-fleet:` config of `stack` changed by
 * `mutate` (applied to the parsed `config` map).
 */
export function projectWithConfig(stack: string, mutate: (config: Record<string, any>) => void): string {
  const dir = tmpDir("kf-project-");
  for (const s of ["staging", "prod"]) {
    const text = fs.readFileSync(path.join(FIXTURE_ROOT, `Pulumi.${s}.yaml`), "utf8");
    if (s !== stack) {
      fs.writeFileSync(path.join(dir, `Pulumi.${s}.yaml`), text);
      continue;
    }
    const doc = parse(text) as { config: Record<string, any> };
    mutate(doc.config);
    fs.writeFileSync(path.join(dir, `Pulumi.${s}.yaml`), stringify(doc));
  }
  fs.mkdirSync(path.join(dir, "tenants"));
  for (const [name, text] of Object.entries(fixtureTenants())) fs.writeFileSync(path.join(dir, "tenants", name), text);
  return dir;
}

/** runPlan on the fixture project unless the options name another root. */
export function fixturePlan(opts: Parameters<typeof runPlan>[0]) {
  return runPlan({ projectRoot: FIXTURE_ROOT, ...opts });
}

export async function planOk(opts: Parameters<typeof runPlan>[0]): Promise<Plan> {
  const r = await fixturePlan(opts);
  if (!r.ok) throw new Error(`plan failed:\n${r.errors.map((e) => `${e.file}:${e.line} ${e.field}: ${e.message}`).join("\n")}`);
  return r.plan;
}

/** The resource of that logical name (of that type, when a component and its child share the name). */
export function byName(plan: Plan, name: string, type?: string): PlanResource {
  const r = plan.resources.find((x) => x.name === name && (type === undefined || x.type === type));
  if (!r) throw new Error(`no resource named ${name}${type ? ` of type ${type}` : ""}`);
  return r;
}

export function ofType(plan: Plan, type: string): PlanResource[] {
  return plan.resources.filter((r) => r.type === type);
}

export const SERVICE = "docker:index/service:Service";
export const NETWORK = "docker:index/network:Network";
export const VOLUME = "docker:index/volume:Volume";
export const SECRET = "docker:index/secret:Secret";
export const CONFIG = "docker:index/serviceConfig:ServiceConfig";

/** Resources of a tenant: those under its TenantStack. */
export function tenantResources(plan: Plan, tenant: string): PlanResource[] {
  const owner = tenantOf(plan);
  return plan.resources.filter((r) => owner.get(r.urn) === tenant);
}

export function labelsOf(r: PlanResource): Record<string, string> {
  return labelMap(r.inputs.labels as { label: string; value: string }[] | undefined);
}

export { tenantsDir, tenantYaml, tmpDir } from "./files";

/**
 * A stack file's text with every documentation value of the fixtures replaced by a plausible real one
 * (names, addresses, ids): what an operator's file looks like once filled in.
 */
export function withRealValues(text: string): string {
  return text
    .replace(/example\.com/g, "fleet-ops.dev")
    .replace(/0123456789abcdef0123456789abcdef/g, "9c41e07d5a3b28f61d0e4a7c3b95f812")
    .replace(/fedcba9876543210fedcba9876543210/g, "4e8a1f03c7d25b96e0a13f7d28c4b650")
    .replace(/203\.0\.113\.10/g, "81.2.69.160")
    .replace(/198\.51\.100\.10/g, "81.2.69.161")
    .replace(/192\.0\.2\.0\/24/g, "81.2.69.0/24")
    .replace(/^ {2}kestra-fleet:allowPlaceholderValues: true\n/m, "");
}
