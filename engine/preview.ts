/**
 * `npm run preview -- --stack staging|prod [--config Pulumi.<stack>.yaml] [--tenants DIR] [--json] [--keep]`
 *
 * A real `pulumi preview` (the CLI, language host and provider plugins of `npm run engine`), offline
 * and throwaway, with the policy pack (`--policy-pack policies`):
 *   - a temporary project folder holds Pulumi.yaml (its `main` pointing back at this repository's
 *     infra/) and a copy of the stack config, without the operator's encryption salt and without
 *     any `secure:` value (they cannot be read with the throwaway passphrase);
 *   - a temporary file backend (PULUMI_BACKEND_URL=file://…) and a passphrase secrets provider;
 *   - every secret the credentials report (infra/input/inputs.ts, the one `npm run plan` prints) lists
 *     as missing is set, in that throwaway stack only, to an obviously fake value, and listed.
 * Nothing of the operator's config, state or Pulumi login is read or written beyond copying the
 * stack config file. The temporary folder is removed afterwards (kept with --keep).
 *
 * Exit codes: the CLI's own (0 preview succeeded; 255 preview failed, policy violations included);
 * 2 bad command line; 3 the engine is not ready (missing plugin, wrong version: the message names
 * it and the fix); 4 invalid input caught before the engine ran.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import * as YAML from "yaml";
import { configFromStackFile } from "../infra/input/config/load";
import { formatDiagnostic, sortDiagnostics } from "../infra/input/diagnostics";
import { loadInputs } from "../infra/input/inputs";
import { runPlan } from "../infra/plan/run";
import { stacksIn } from "../infra/input/tenants/load";
import { timedPulumi, type Measured } from "./bench";
import { EngineError, checkEngine, runAsync, throwawayEnv, type Ran } from "./env";
import { ROOT } from "./versions";

const USAGE = "usage: npm run preview -- --stack <stack> [--config Pulumi.<stack>.yaml] [--tenants DIR] [--json] [--keep]";

export interface PreviewOptions {
  stack: string;
  /** Stack config file (default: Pulumi.<stack>.yaml of this repository). */
  configFile?: string;
  tenantsDir?: string;
  json?: boolean;
  keep?: boolean;
  /** Extra arguments for `pulumi preview`. */
  extraArgs?: string[];
  /** Policy pack folder (default: policies/ of this repository). */
  policyPack?: string;
  /** Time the `pulumi preview` itself (wall time, peak memory of the largest process). */
  measure?: boolean;
  /**
   * false: run the engine even with plugins missing (tests: the throwaway stack is set up and the
   * engine stops at the first missing plugin without trying to download it). Default true.
   */
  checkPlugins?: boolean;
}

export interface PreviewResult {
  status: number;
  stdout: string;
  stderr: string;
  /** Config keys given a fake value in the throwaway stack. */
  fakes: string[];
  /** Plugins the stack's resources need. */
  plugins: string[];
  dir?: string;
  measured?: Measured;
}

/** A fake value of the right shape: an SSH key must parse as the PEM the program accepts. */
export function fakeSecret(key: string): string {
  if (key.endsWith(".sshKey")) {
    return crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1", privateKeyEncoding: { type: "sec1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
  }
  return `FAKE-for-offline-preview-${key.replace(/^[^:]*:/, "").replace(/[^A-Za-z0-9]+/g, "-")}`;
}

/** The stack config without the operator's secrets provider state and without `secure:` values. */
export function throwawayConfig(text: string): { text: string; dropped: string[] } {
  const doc = YAML.parseDocument(text);
  for (const k of ["encryptionsalt", "encryptedkey", "secretsprovider"]) doc.delete(k);
  const dropped: string[] = [];
  YAML.visit(doc, {
    Pair(_, pair, ancestors) {
      if (YAML.isMap(pair.value) && pair.value.items.length === 1 && pair.value.has("secure")) {
        const keys = ancestors.filter(YAML.isPair).map((p) => String((p.key as YAML.Scalar).value));
        dropped.push([...keys.slice(1), String((pair.key as YAML.Scalar).value)].join("."));
        return YAML.visit.REMOVE;
      }
      return undefined;
    },
  });
  return { text: doc.toString(), dropped };
}

/** Provider plugins registered by a plan's resources (their type's package, as the engine loads them). */
export function pluginsOf(types: string[], project: string): string[] {
  const out = new Set<string>();
  for (const t of types) {
    const m = /^pulumi:providers:(.+)$/.exec(t);
    const pkg = m ? m[1] : t.split(":")[0];
    if (pkg !== "pulumi" && pkg !== project) out.add(pkg);
  }
  return [...out].sort();
}

/** The policy pack runs from its own folder and needs its own node_modules: `npm ci` there when missing. */
export async function ensurePolicyDeps(pack = path.join(ROOT, "policies")): Promise<void> {
  if (fs.existsSync(path.join(pack, "node_modules", "@pulumi", "policy")) || !fs.existsSync(path.join(pack, "package-lock.json"))) return;
  const r = await runAsync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: pack });
  if (r.status !== 0) throw new Error(`npm ci in ${pack} failed:\n${r.stderr}`);
}

function pulumi(args: string[], cwd: string, env: NodeJS.ProcessEnv, input?: string): Promise<Ran> {
  return runAsync("pulumi", args, { cwd, env, input });
}

export async function previewStack(opts: PreviewOptions): Promise<PreviewResult> {
  const stack = opts.stack;
  const configFile = path.resolve(opts.configFile ?? path.join(ROOT, `Pulumi.${stack}.yaml`));
  const configDir = path.dirname(configFile);
  const tenantsDir = path.resolve(opts.tenantsDir ?? path.join(ROOT, "tenants"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kestra-preview-${stack}-`));
  const result: PreviewResult = { status: 0, stdout: "", stderr: "", fakes: [], plugins: [], dir: opts.keep ? dir : undefined };
  try {
    const project = path.join(dir, "project");
    fs.mkdirSync(project);
    fs.mkdirSync(path.join(dir, "state"));
    // Pulumi.yaml: ours, its program still infra/ of this repository.
    const pulumiYaml = YAML.parseDocument(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const projectName = String(pulumiYaml.get("name"));
    pulumiYaml.set("main", path.relative(project, path.join(ROOT, String(pulumiYaml.get("main") ?? "."))) + "/");
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), pulumiYaml.toString());
    const { text, dropped } = throwawayConfig(fs.readFileSync(configFile, "utf8"));
    fs.writeFileSync(path.join(project, `Pulumi.${stack}.yaml`), text);
    for (const other of stacksIn(configDir)) {
      if (other !== stack) fs.copyFileSync(path.join(configDir, `Pulumi.${other}.yaml`), path.join(project, `Pulumi.${other}.yaml`));
    }

    // The secrets the credentials report lists as missing (after dropping the unreadable ones).
    const loaded = loadInputs({ stack, stacks: stacksIn(project), config: configFromStackFile(project, stack), tenantsDir });
    if (!loaded.ok) {
      result.status = 4;
      result.stderr = sortDiagnostics(loaded.errors).map(formatDiagnostic).join("\n") + "\n";
      return result;
    }
    const missing = loaded.inputs.notices.flatMap((n) => (n.kind === "credential" ? [n.key] : []));
    result.fakes = [...new Set(missing)].sort();

    // Which plugins this stack needs: the offline plan's resource types.
    const plan = await runPlan({ stack, projectRoot: project, tenantsDir });
    if (!plan.ok) {
      result.status = 4;
      result.stderr = sortDiagnostics(plan.errors).map(formatDiagnostic).join("\n") + "\n";
      return result;
    }
    result.plugins = pluginsOf(plan.plan.resources.map((r) => r.type), projectName);
    try {
      checkEngine({ plugins: opts.checkPlugins === false ? [] : result.plugins });
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      result.status = 3;
      result.stderr = `${e.message}\nStack ${stack} registers resources of: ${result.plugins.join(", ")}.\n`;
      return result;
    }

    await ensurePolicyDeps(opts.policyPack ?? path.join(ROOT, "policies"));
    const env: NodeJS.ProcessEnv = { ...throwawayEnv(path.join(dir, "state")), KESTRA_FLEET_TENANTS_DIR: tenantsDir };
    const init = await pulumi(["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], project, env);
    if (init.status !== 0) throw new Error(`pulumi stack init failed: ${init.stderr}`);
    for (const key of result.fakes) {
      const set = await pulumi(["config", "set", "--secret", "--path", key, "--stack", stack, "--non-interactive"], project, env, fakeSecret(key));
      if (set.status !== 0) throw new Error(`pulumi config set --secret ${key} failed: ${set.stderr}`);
    }
    const note = `Throwaway stack ${stack} in ${dir}: fake secret values for ${result.fakes.length ? result.fakes.join(", ") : "nothing"}${dropped.length ? `; secure values of the copied config not readable here, dropped: ${dropped.join(", ")}` : ""}.\n`;
    const args = ["preview", "--stack", stack, "--non-interactive", "--policy-pack", opts.policyPack ?? path.join(ROOT, "policies"), ...(opts.json ? ["--json"] : ["--diff"]), ...(opts.extraArgs ?? [])];
    const r = opts.measure ? await timedPulumi(args, project, env) : await pulumi(args, project, env);
    if (opts.measure) result.measured = r as Measured;
    result.status = r.status;
    result.stdout = r.stdout;
    result.stderr = note + r.stderr;
    return result;
  } finally {
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: { stack: { type: "string" }, config: { type: "string" }, tenants: { type: "string" }, json: { type: "boolean", default: false }, keep: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (!values.stack) {
    process.stderr.write(`--stack is required\n${USAGE}\n`);
    return 2;
  }
  if (values.config && path.basename(values.config) !== `Pulumi.${values.stack}.yaml`) {
    process.stderr.write(`--config ${values.config}: the stack config of stack ${values.stack} must be a file named Pulumi.${values.stack}.yaml\n`);
    return 2;
  }
  const r = await previewStack({ stack: values.stack, configFile: values.config, tenantsDir: values.tenants, json: values.json, keep: values.keep });
  process.stderr.write(r.stderr);
  process.stdout.write(r.stdout);
  return r.status;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
