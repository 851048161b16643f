/**
 * `npm run plan -- --stack <stack> [--config FILE] [--tenants DIR] [--json | --format text|json|csv] [--show-secrets] [--out DIR] [--baseline FILE] [--urns TENANT]`
 *
 * `--format csv` prints the per-tenant cost table only (needs stack config `capacity`); `--json` is
 * `--format json`.
 *
 * `--config` names the stack config file (default `Pulumi.<stack>.yaml` of the repository); the
 * other `Pulumi.*.yaml` beside it are the stacks a tenant's `environments` may name. `--tenants`
 * names the tenants folder (default `tenants/`). `--urns TENANT` prints, instead of the plan, the
 * tenant's protected resources with their engine URNs and the `pulumi state unprotect` commands
 * that offboarding needs (README, Offboarding).
 *
 * `--baseline FILE [--format text|markdown]` prints, instead of the plan, its diff against an earlier
 * `--json` plan of the same stack (infra/plan/diff.ts); with `--json`, the diff as JSON.
 *
 * Exit codes: 0 plan made, no mandatory policy violation; 1 invalid input (errors on stderr,
 * nothing on stdout) or a mandatory policy violation; 2 bad command line or unreadable baseline;
 * 3 (with --baseline) the diff deletes or replaces a protected resource, or changes Postgres' major.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { formatDiagnostic, sortDiagnostics } from "../input/diagnostics";
import { capacityCsv } from "./capacity-report";
import { asDiffPlan, diffPlans, formatDiff, formatDiffMarkdown, planProblem, type DiffPlan } from "./diff";
import { formatTenantUrns, tenantUrns } from "./offboard";
import { formatPlan, writeArtifacts } from "./report";
import { runPlan } from "./run";

const USAGE =
  "usage: npm run plan -- --stack <stack> [--config Pulumi.<stack>.yaml] [--tenants DIR] [--json | --format text|json|csv] [--show-secrets] [--out DIR] [--baseline PLAN.json [--format text|markdown]] [--urns TENANT]";
/** `--format` of a plan, and of a diff against `--baseline`. */
const FORMATS = ["text", "json", "csv"] as const;
const DIFF_FORMATS = ["text", "markdown"] as const;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        config: { type: "string" },
        tenants: { type: "string" },
        json: { type: "boolean", default: false },
        "show-secrets": { type: "boolean", default: false },
        out: { type: "string" },
        baseline: { type: "string" },
        format: { type: "string" },
        urns: { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.stack) {
    process.stderr.write(`--stack is required\n${USAGE}\n`);
    return 2;
  }
  const allowed: readonly string[] = args.baseline ? DIFF_FORMATS : FORMATS;
  if (args.format !== undefined && !allowed.includes(args.format)) {
    process.stderr.write(`--format must be ${allowed.join(", ").replace(/, ([^,]*)$/, " or $1")}${args.baseline ? " with --baseline" : ""}, not "${args.format}"\n${USAGE}\n`);
    return 2;
  }
  if (args.json && args.format !== undefined && args.format !== "json") {
    process.stderr.write(`--json and --format ${args.format} contradict each other\n${USAGE}\n`);
    return 2;
  }
  const format = args.json ? "json" : (args.format ?? "text");
  let baseline: DiffPlan | undefined;
  if (args.baseline) {
    const b = readBaseline(args.baseline, args.stack);
    if (typeof b === "string") {
      process.stderr.write(`${b}\n`);
      return 2;
    }
    baseline = b;
  }
  let projectRoot: string | undefined;
  if (args.config) {
    if (path.basename(args.config) !== `Pulumi.${args.stack}.yaml`) {
      process.stderr.write(`--config ${args.config}: the stack config of stack ${args.stack} must be a file named Pulumi.${args.stack}.yaml\n${USAGE}\n`);
      return 2;
    }
    projectRoot = path.dirname(path.resolve(args.config));
  }
  const showSecrets = !!args["show-secrets"];
  const result = await runPlan({
    stack: args.stack,
    projectRoot,
    tenantsDir: args.tenants ? path.resolve(args.tenants) : undefined,
    tenantsDisplay: args.tenants ? args.tenants.replace(/\/+$/, "") : undefined,
    showSecrets,
  });
  if (!result.ok) {
    // Only the error list: one `file:line:col field: message` a line.
    process.stderr.write(sortDiagnostics(result.errors).map(formatDiagnostic).join("\n") + "\n");
    return 1;
  }
  const { plan } = result;
  if (args.urns !== undefined) {
    const urns = tenantUrns(plan, args.urns);
    if (!urns) {
      process.stderr.write(
        `--urns ${args.urns}: stack ${plan.stack} has no tenant "${args.urns}" in ${args.tenants ?? "tenants"}. ` +
          `For a tenant whose file is already removed, plan the file as it was: ` +
          `mkdir -p /tmp/old && git show main:tenants/${args.urns}.yaml > /tmp/old/${args.urns}.yaml && npm run plan -- --stack ${plan.stack} --tenants /tmp/old --urns ${args.urns}\n`,
      );
      return 1;
    }
    process.stdout.write(args.json ? JSON.stringify(urns, null, 2) + "\n" : formatTenantUrns(urns));
    return 0;
  }
  if (baseline) {
    // The baseline went through the same JSON rendering: compare like with like.
    const diff = diffPlans(baseline, asDiffPlan(JSON.parse(JSON.stringify(plan))));
    if (args.json) process.stdout.write(JSON.stringify(diff, null, 2) + "\n");
    else if (args.format === "markdown") process.stdout.write(formatDiffMarkdown(diff, path.basename(args.baseline!)));
    else process.stdout.write(formatDiff(diff, args.baseline!));
    for (const w of plan.warnings) process.stderr.write(`warning: ${w.message}\n`);
    const code = planExitCode(plan.violations);
    return code !== 0 ? code : diff.blocked.length ? 3 : 0;
  }
  if (format === "csv") {
    if (!plan.capacity) {
      process.stderr.write(`--format csv: stack ${plan.stack} has no kestra-fleet:capacity in its stack config (README, "Capacity and cost")\n`);
      return 1;
    }
    process.stdout.write(capacityCsv(plan.capacity));
  } else if (format === "json") {
    process.stdout.write(JSON.stringify(plan, null, 2) + "\n");
  } else {
    process.stdout.write(formatPlan(plan));
  }
  if (format !== "text") {
    // stdout holds the document only: warnings and policy violations on stderr.
    for (const w of plan.warnings) process.stderr.write(`warning: ${w.message}\n`);
    if (format === "csv") for (const v of plan.violations) process.stderr.write(`${v.level}: ${v.policy} ${v.urn}: ${v.message}\n`);
  }
  if (args.out) {
    const files = writeArtifacts(path.resolve(args.out), plan, result.inputs, showSecrets);
    process.stderr.write(`wrote ${files.length} artifact file(s) under ${args.out}\n`);
  }
  return planExitCode(plan.violations);
}

/** The baseline plan, or a message naming the file and what is wrong with it. */
export function readBaseline(file: string, stack: string): DiffPlan | string {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return `--baseline ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `--baseline ${file}: not JSON (${(e as Error).message}); produce it with npm run plan -- --stack ${stack} --json`;
  }
  const problem = planProblem(doc);
  if (problem) return `--baseline ${file}: ${problem}`;
  const plan = asDiffPlan(doc);
  if (plan.stack !== stack) return `--baseline ${file}: is a plan of stack ${plan.stack}, not ${stack}`;
  return plan;
}

/** 1 when any mandatory policy is violated; advisory violations are printed only. */
export function planExitCode(violations: { level: string }[]): number {
  return violations.some((v) => v.level === "mandatory") ? 1 : 0;
}

if (require.main === module) main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`plan failed: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
