/**
 * `npm run bench [-- --sizes 10,100,250,1000,2000] [--keep]`: the offline plan against its floor.
 *
 * For each size N: writes N generated tenants (bench/fleet.ts) and a stack config sized for them into
 * a temporary folder; runs the plan in a child process (ts-node, as `npm run plan`), then the baseline
 * (the same number of minimal resources under the same mocks and process setup) in another; prints
 * one table row: resources, plan and baseline wall seconds, their ratio, CPU ms per resource (plan
 * and baseline), peak RSS, and the time of the policy evaluation and the text report.
 * Wall times depend on the machine's load (printed): compare ratios and CPU per resource.
 * Not part of `npm test`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { engineFloor } from "../engine/bench";
import { checkEngine, EngineError } from "../engine/env";
import { previewStack } from "../engine/preview";
import { BENCH_STACK, writeFleet } from "./fleet";

const ROOT = path.resolve(__dirname, "..");
const DEFAULT_SIZES = [10, 100, 250, 1000, 2000];

interface Run {
  resources: number;
  wall: number;
  cpu: number;
  peakRssMiB: number;
  policy?: number;
  report?: number;
  mandatory?: number;
}

function child(args: string[]): { run: Run; wall: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "bench", "child.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    maxBuffer: 64 * 1024 * 1024,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`bench child ${args.join(" ")} failed (${r.signal ?? r.status}):\n${r.stderr}`);
  return { run: JSON.parse(r.stdout.trim().split("\n").pop()!) as Run, wall };
}

/**
 * `--engine`: under the real CLI of `npm run engine`, `pulumi preview` of a generated fleet on the
 * prod fixture's stack config (through `npm run preview`'s throwaway stack), and the engine's floor:
 * as many component resources (one trivial kind, no plugin) previewed by the same CLI.
 */
async function engineBench(sizes: number[], keep: boolean): Promise<number> {
  checkEngine({ plugins: [] });
  const fixture = fs.readFileSync(path.join(ROOT, "tests", "fixtures", "project", "Pulumi.prod.yaml"), "utf8");
  process.stdout.write(`${os.cpus().length} CPU(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} at start\n`);
  const rows: string[][] = [["N", "resources", "preview s", "preview peak MiB", "floor s", "floor peak MiB", "ratio"]];
  for (const n of sizes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kf-engine-bench-${n}-`));
    try {
      const tenants = writeFleet(dir, n, fixture);
      const plan = child(["plan", dir, BENCH_STACK]);
      const resources = plan.run.resources;
      let preview = "-";
      let previewPeak = "-";
      let previewWall = NaN;
      try {
        const t0 = Date.now();
        const r = await previewStack({ stack: BENCH_STACK, configFile: path.join(dir, `Pulumi.${BENCH_STACK}.yaml`), tenantsDir: tenants, measure: true });
        previewWall = (Date.now() - t0) / 1000;
        if (r.status === 3) throw new Error(`the engine lacks plugins for ${r.plugins.join(", ")}: ${r.stderr.split("\n").filter((l) => l.startsWith("  - ")).map((l) => l.slice(4).split(" (")[0]).join("; ")} (npm run preview -- --stack prod says why)`);
        if (r.status !== 0) throw new Error(r.stderr.split("\n").slice(0, 12).join("\n"));
        preview = (r.measured?.wallSeconds ?? previewWall).toFixed(1);
        previewPeak = String(r.measured?.peakMiB ?? "-");
        previewWall = r.measured?.wallSeconds ?? previewWall;
      } catch (e) {
        process.stderr.write(`N=${n}: the real preview did not run:\n${(e as Error).message}\n`);
        preview = "not run";
        previewWall = NaN;
      }
      const floorDir = path.join(dir, "floor");
      const floor = await engineFloor(resources, floorDir);
      if (floor.status !== 0) throw new Error(`floor preview failed:\n${floor.stderr}`);
      rows.push([String(n), String(resources), preview, previewPeak, floor.wallSeconds.toFixed(1), String(floor.peakMiB), Number.isNaN(previewWall) ? "-" : (previewWall / floor.wallSeconds).toFixed(2)]);
      process.stderr.write(`N=${n} done (load average ${os.loadavg()[0].toFixed(2)})\n`);
    } finally {
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
      else process.stderr.write(`kept ${dir}\n`);
    }
  }
  const width = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write(rows.map((r) => r.map((c, i) => c.padStart(width[i])).join("  ")).join("\n") + "\n");
  process.stdout.write(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} at end\n`);
  return 0;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { sizes: { type: "string" }, keep: { type: "boolean", default: false }, engine: { type: "boolean", default: false } }, strict: true });
  if (values.engine) {
    try {
      return await engineBench(values.sizes ? values.sizes.split(",").map((s) => Number(s.trim())) : [10, 100, 300], values.keep);
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      process.stderr.write(`${e.message}\n`);
      return 3;
    }
  }
  const sizes = values.sizes ? values.sizes.split(",").map((s) => Number(s.trim())) : DEFAULT_SIZES;
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    process.stderr.write("--sizes: a comma-separated list of tenant counts, e.g. --sizes 10,100\n");
    return 2;
  }
  const fixture = fs.readFileSync(path.join(ROOT, "tests", "fixtures", "project", `Pulumi.staging.yaml`), "utf8");
  process.stdout.write(`node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} at start\n`);
  const header = ["N", "resources", "plan s", "baseline s", "ratio", "plan CPU s", "base CPU s", "CPU ratio", "plan ms/res", "CPU ms/res", "base CPU ms/res", "peak MiB", "base peak MiB", "policy CPU s", "report CPU s"];
  const rows: string[][] = [];
  const print = () => {
    const all = [header, ...rows];
    const width = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
    process.stdout.write(all.map((r) => r.map((c, i) => c.padStart(width[i])).join("  ")).join("\n") + "\n");
  };
  // A child that fails (e.g. out of memory) is a row of its own; the other sizes still run.
  const attempt = (args: string[]) => {
    try {
      return child(args);
    } catch (e) {
      process.stderr.write(`${(e as Error).message.split("\n").slice(0, 3).join("\n")}\n`);
      return undefined;
    }
  };
  for (const n of sizes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kf-bench-${n}-`));
    try {
      writeFleet(dir, n, fixture);
      const plan = attempt(["plan", dir, BENCH_STACK]);
      if (!plan) {
        rows.push([String(n), "failed", ...header.slice(2).map(() => "-")]);
        continue;
      }
      const base = attempt(["baseline", String(plan.run.resources)]) ?? { run: { resources: plan.run.resources, wall: NaN, cpu: NaN, peakRssMiB: NaN }, wall: NaN };
      const p = plan.run;
      const b = base.run;
      if (p.mandatory) process.stderr.write(`warning: the bench fleet of ${n} has ${p.mandatory} mandatory violation(s)\n`);
      rows.push([
        String(n),
        String(p.resources),
        plan.wall.toFixed(1),
        base.wall.toFixed(1),
        (plan.wall / base.wall).toFixed(2),
        p.cpu.toFixed(1),
        b.cpu.toFixed(1),
        (p.cpu / b.cpu).toFixed(2),
        ((plan.wall * 1000) / p.resources).toFixed(2),
        ((p.cpu * 1000) / p.resources).toFixed(2),
        ((b.cpu * 1000) / b.resources).toFixed(2),
        p.peakRssMiB.toFixed(0),
        b.peakRssMiB.toFixed(0),
        (p.policy ?? 0).toFixed(2),
        (p.report ?? 0).toFixed(2),
      ]);
      process.stderr.write(`N=${n} done (load average ${os.loadavg()[0].toFixed(2)}): ${rows[rows.length - 1].join(" ")}\n`);
    } finally {
      if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
      else process.stderr.write(`kept ${dir}\n`);
    }
  }
  print();
  process.stdout.write(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} at end\n`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
