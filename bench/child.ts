/**
 * One measured run, in its own process (started by bench/run.ts through ts-node, as `npm run plan`):
 * - `plan <projectRoot> <stack>`: the offline plan of that project, then its text report;
 * - `baseline <count>`: the floor: `count` minimal resources (a docker.Network with a name only)
 *   registered under the same mocks (infra/plan/mocks.ts), the same stack-trace setup and the same
 *   batching as the plan.
 * Prints one JSON line: resources, wall seconds of the run, CPU seconds of the process up to the end
 * of the run (start-up included, both kinds; for the plan taken before the measurements that follow
 * it), peak RSS, and for the plan the CPU seconds of its policy evaluation and of its text report
 * (each measured again on its own, after the run).
 */
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { evaluate } from "../policies/evaluate";
import { installMocks } from "../infra/plan/mocks";
import { formatPlan } from "../infra/plan/report";
import { runPlan, TENANT_BATCH, toPolicyResource } from "../infra/plan/run";
import { capacityContext } from "../policies/capacity";
import { cheapSdkStackTraces } from "../infra/stack-traces";

/** The process's CPU from its start: `cpuSeconds(ZERO)` counts start-up (ts-node, module loading) too. */
const ZERO: NodeJS.CpuUsage = { user: 0, system: 0 };
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
/** CPU seconds (user + system) of this process since `c0`: robust to the machine's load. */
const cpuSeconds = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};

async function plan(root: string, stack: string) {
  const t0 = process.hrtime.bigint();
  const r = await runPlan({ stack, projectRoot: root, tenantsDir: path.join(root, "tenants") });
  if (!r.ok) throw new Error(`invalid bench input:\n${r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.field}: ${e.message}`).join("\n")}`);
  const text = formatPlan(r.plan);
  const wall = seconds(t0);
  // The process's CPU so far (start-up included, as for the baseline), taken before the
  // measurements below run in this process.
  const cpu = cpuSeconds(ZERO);
  // Measured again on their own (the plan above includes them): the policy evaluation and the report.
  const resources = r.registrations.map(toPolicyResource);
  const c1 = process.cpuUsage();
  evaluate(resources, { capacity: r.inputs.settings.capacity ? capacityContext(r.inputs.settings.capacity) : undefined });
  const policy = cpuSeconds(c1);
  const c2 = process.cpuUsage();
  formatPlan(r.plan);
  const report = cpuSeconds(c2);
  const mandatory = r.plan.violations.filter((v) => v.level === "mandatory").length;
  return { resources: r.plan.resources.length, tenants: r.plan.tenants.length, wall, cpu, policy, report, mandatory, textBytes: text.length };
}

async function baseline(count: number) {
  const t0 = process.hrtime.bigint();
  const restore = cheapSdkStackTraces("plan");
  const registrations = await installMocks("kestra-fleet", "bench");
  // Declared in batches of about as many resources as the plan declares per batch of tenants
  // (TENANT_BATCH tenants of ~26 resources), the mocks completing each batch before the next.
  const batch = TENANT_BATCH * 26;
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % batch === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    new docker.Network(`n${i}`, { name: `n${i}` });
  }
  await pulumi.runtime.disconnect();
  restore();
  return { resources: registrations.size, wall: seconds(t0), cpu: cpuSeconds(ZERO) };
}

(async () => {
  const [kind, a, b] = process.argv.slice(2);
  const result = kind === "plan" ? await plan(a, b) : await baseline(Number(a));
  const usage = process.resourceUsage();
  process.stdout.write(JSON.stringify({ ...result, peakRssMiB: usage.maxRSS / 1024 }) + "\n");
})().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
