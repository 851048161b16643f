/**
 * The engine's figures (`npm run bench -- --engine`, bench/run.ts): wall time and peak memory of
 * `pulumi preview` of the prod stack for generated fleets, and the engine's floor: the components
 * fixture (tests/fixtures/engine/components) registering the same number of resources of one
 * trivial kind (a component resource, which needs no plugin) under the same CLI.
 */
import * as fs from "fs";
import * as path from "path";
import { runAsync, throwawayEnv } from "./env";
import { ROOT } from "./versions";

export const COMPONENTS_FIXTURE = path.join(ROOT, "tests", "fixtures", "engine", "components");

/** Copies the components fixture into `dir`/project (node_modules linked to this repository's). */
export function copyFixture(dir: string): string {
  const project = path.join(dir, "project");
  fs.mkdirSync(project, { recursive: true });
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  for (const f of ["Pulumi.yaml", "index.ts"]) fs.copyFileSync(path.join(COMPONENTS_FIXTURE, f), path.join(project, f));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
  return project;
}

export interface Measured {
  wallSeconds: number;
  /** Peak resident memory of the largest process of the run (the CLI or the Node.js program), MiB. */
  peakMiB: number;
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `pulumi ARGS` under /usr/bin/time (the peak is the largest of the process tree's members). */
export async function timedPulumi(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Measured> {
  const timeFile = path.join(cwd, ".time");
  const t0 = Date.now();
  const r = await runAsync("/usr/bin/time", ["-f", "%M", "-o", timeFile, "pulumi", ...args], { cwd, env });
  const wallSeconds = (Date.now() - t0) / 1000;
  const kb = Number(fs.readFileSync(timeFile, "utf8").trim().split("\n").pop());
  return { wallSeconds, peakMiB: Math.round(kb / 1024), status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The floor: `pulumi preview` of `resources` flat component resources on a throwaway stack. */
export async function engineFloor(resources: number, dir: string): Promise<Measured> {
  const project = copyFixture(dir);
  const env = throwawayEnv(path.join(dir, "state"));
  for (const a of [["stack", "init", "floor", "--secrets-provider", "passphrase"], ["config", "set", "count", String(resources)], ["config", "set", "flat", "true"]]) {
    const r = await runAsync("pulumi", [...a, "--non-interactive"], { cwd: project, env });
    if (r.status !== 0) throw new Error(`pulumi ${a.join(" ")}: ${r.stderr}`);
  }
  return timedPulumi(["preview", "--stack", "floor", "--non-interactive"], project, env);
}
