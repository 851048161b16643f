/**
 * The environment every command of this project runs the Pulumi engine with, and the check that
 * the engine built by `npm run engine` is there at the pinned versions.
 *
 *   import { engineEnv, checkEngine } from "../engine/env";
 *   checkEngine({ plugins: ["docker", "random"] });          // throws EngineError if not ready
 *   spawnSync("pulumi", ["preview"], { env: engineEnv() });
 *
 * The engine folder is `.cache/engine` of this repository, or $KESTRA_ENGINE_DIR when set (to use
 * an engine built in another checkout).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { engineVersions, ROOT } from "./versions";

export const FIX_COMMAND = "npm run engine";

export function engineDir(): string {
  return process.env.KESTRA_ENGINE_DIR ? path.resolve(process.env.KESTRA_ENGINE_DIR) : path.join(ROOT, ".cache", "engine");
}
export const binDir = (): string => path.join(engineDir(), "bin");
export const pulumiHome = (): string => path.join(engineDir(), "home");
export const pulumiBin = (): string => path.join(binDir(), "pulumi");
export const statusFile = (): string => path.join(engineDir(), "status.json");

/** Environment for every engine command: our bin folder first on PATH, our PULUMI_HOME, no update
 * check, no plugin from PATH, never a plugin download. */
export function engineEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    PATH: [binDir(), base.PATH ?? ""].filter(Boolean).join(path.delimiter),
    PULUMI_HOME: pulumiHome(),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}

/** The throwaway stack's passphrase: it protects only fake values in a folder deleted afterwards. */
export const THROWAWAY_PASSPHRASE = "throwaway-preview-passphrase";

/**
 * engineEnv plus a throwaway backend: a local file backend in `stateDir` (no login, no service, the
 * operator's own login untouched) and the passphrase secrets provider.
 */
export function throwawayEnv(stateDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...engineEnv(base), PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: THROWAWAY_PASSPHRASE };
  delete env.PULUMI_ACCESS_TOKEN;
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  return env;
}

/** What `npm run engine` recorded about each plugin it could not build (status.json). */
export interface BuildStatus {
  failed: Record<string, { version: string; step: string; error: string }>;
}

export function readStatus(): BuildStatus {
  try {
    return JSON.parse(fs.readFileSync(statusFile(), "utf8")) as BuildStatus;
  } catch {
    return { failed: {} };
  }
}

export class EngineError extends Error {
  constructor(readonly problems: string[]) {
    super(`The Pulumi engine is not ready:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EngineError";
  }
}

export const pluginDir = (name: string, version: string): string => path.join(pulumiHome(), "plugins", `resource-${name}-v${version}`);

function goMissing(): boolean {
  return spawnSync("go", ["version"], { encoding: "utf8" }).status !== 0;
}

function printedVersion(bin: string, args: string[]): string | undefined {
  if (!fs.existsSync(bin)) return undefined;
  const r = spawnSync(bin, args, { encoding: "utf8", env: engineEnv() });
  return r.status === 0 ? r.stdout.trim() : `(failed: ${r.stderr.trim() || r.status})`;
}

/**
 * Problems that keep the engine from running a program that uses `plugins` (default: every
 * plugin built here). Each names the binary or plugin, the expected version and the fix.
 */
export function engineProblems(opts: { plugins?: string[] } = {}): string[] {
  const v = engineVersions();
  const status = readStatus();
  const problems: string[] = [];
  const fix = (): string => (goMissing() ? `install Go 1.26 (README, "The real engine"), then run ${FIX_COMMAND}` : `run ${FIX_COMMAND}`);
  const want = `v${v.pulumi}`;
  for (const [bin, args] of [
    [pulumiBin(), ["version"]],
    [path.join(binDir(), "pulumi-language-nodejs"), ["-version"]],
  ] as const) {
    const got = printedVersion(bin, [...args]);
    const name = path.basename(bin);
    if (got === undefined) problems.push(`${name} ${want} is missing (${bin}): ${fix()}`);
    else if (got !== want) problems.push(`${name} is ${got}, package-lock.json pins ${want}: ${fix()}`);
  }
  const names = opts.plugins ?? v.plugins.filter((p) => !p.notBuilt).map((p) => p.name);
  for (const name of names) {
    const p = v.plugins.find((x) => x.name === name);
    if (!p) {
      problems.push(`plugin ${name} is not one this project builds (engine/versions.ts)`);
      continue;
    }
    const bin = path.join(pluginDir(p.name, p.version), `pulumi-resource-${p.name}`);
    if (fs.existsSync(bin)) continue;
    const failed = status.failed[p.name];
    if (p.notBuilt) problems.push(`plugin ${p.name} ${p.version} (${p.npm}) is ${p.notBuilt}`);
    else if (failed && failed.version === p.version)
      problems.push(`plugin ${p.name} ${p.version} (${p.npm}) could not be built by ${FIX_COMMAND} (step: ${failed.step}): ${failed.error}`);
    else problems.push(`plugin ${p.name} ${p.version} (${p.npm}) is missing from ${pulumiHome()}: ${fix()}`);
  }
  return problems;
}

/** Throws an EngineError listing every problem (see engineProblems). */
export function checkEngine(opts: { plugins?: string[] } = {}): void {
  const problems = engineProblems(opts);
  if (problems.length) throw new EngineError(problems);
}

export interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (a long preview must not stall a test worker). */
export function runAsync(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}
