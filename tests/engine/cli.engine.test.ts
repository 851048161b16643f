/**
 * The real engine of `npm run engine`: the CLI and the language host at the versions package-lock.json
 * pins run a TypeScript program and a policy pack (a mandatory violation fails the preview), offline,
 * on a throwaway file backend. Fails (never skips) when the engine is not built: run `npm run engine`.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { copyFixture } from "../../engine/bench";
import { checkEngine, engineEnv, pluginDir, throwawayEnv } from "../../engine/env";
import { ensurePolicyDeps, previewStack } from "../../engine/preview";
import { engineVersions, ROOT } from "../../engine/versions";
import { tmpDir } from "../files";

const MANDATORY_PACK = path.join(ROOT, "tests", "fixtures", "engine", "policy-mandatory");

/** A throwaway copy and stack of the components fixture; returns a runner of pulumi commands in it. */
function throwawayStack(config: Record<string, string> = {}) {
  const dir = tmpDir("kf-engine-stack-");
  const project = copyFixture(dir);
  const env = throwawayEnv(path.join(dir, "state"));
  // Asynchronous: a previews takes tens of seconds, and a blocked worker misses vitest's RPC deadlines.
  const pulumi = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn("pulumi", [...args, "--non-interactive"], { cwd: project, env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  const stack = `t${process.pid}`;
  return {
    pulumi,
    stack,
    init: async () => {
      const init = await pulumi("stack", "init", stack, "--secrets-provider", "passphrase");
      expect(init.status, init.stderr).toBe(0);
      for (const [k, v] of Object.entries(config)) expect((await pulumi("config", "set", k, v, "--stack", stack)).status).toBe(0);
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

beforeAll(async () => {
  checkEngine({ plugins: [] });
  await ensurePolicyDeps();
});

describe("the engine's binaries", () => {
  it("print the @pulumi/pulumi version of package-lock.json", () => {
    const want = `v${engineVersions().pulumi}`;
    expect(spawnSync("pulumi", ["version"], { env: engineEnv(), encoding: "utf8" }).stdout.trim()).toBe(want);
    expect(spawnSync("pulumi-language-nodejs", ["-version"], { env: engineEnv(), encoding: "utf8" }).stdout.trim()).toBe(want);
  });
});

describe("a real preview on a throwaway file backend", () => {
  it("runs the TypeScript program: URNs, parents, dependencies, inputs and protect as the engine computes them", async () => {
    const s = throwawayStack({ count: "3" });
    try {
      await s.init();
      const r = await s.pulumi("preview", "--stack", s.stack, "--json");
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const out = JSON.parse(r.stdout) as { steps: { op: string; urn: string; newState: any }[] };
      // The stack itself is not in a URN's type chain; a child's type follows its parent's.
      const urn = (type: string, name: string, parentType?: string) => `urn:pulumi:${s.stack}::engine-fixture::${parentType ? `${parentType}$` : ""}${type}::${name}`;
      const byUrn = new Map(out.steps.map((st) => [st.urn, st]));
      const box1 = byUrn.get(urn("fixture:index:Box", "box-1"));
      const child1 = byUrn.get(urn("fixture:index:Box", "box-1-child", "fixture:index:Box"));
      expect(box1?.op).toBe("create");
      expect(child1?.newState.parent).toBe(box1!.urn);
      expect(child1?.newState.protect).toBe(true);
      // dependsOn a component means its custom (or remote) descendants (@pulumi/pulumi runtime/dependsOn.ts):
      // box-0 has none, so the engine records no dependency. The offline plan must say the same.
      expect(box1?.newState.dependencies).toBeUndefined();
      expect(box1?.newState.parent).toBe(`urn:pulumi:${s.stack}::engine-fixture::pulumi:pulumi:Stack::engine-fixture-${s.stack}`);
      expect(box1?.newState.inputs).toEqual({ size: 1 });
      expect(out.steps.filter((st) => st.newState?.type === "fixture:index:Box")).toHaveLength(6);
    } finally {
      s.cleanup();
    }
  });

  it("loads this project's policy pack (policies/): it passes a program without its resource types", async () => {
    const s = throwawayStack({ count: "1" });
    try {
      await s.init();
      const r = await s.pulumi("preview", "--stack", s.stack, "--policy-pack", path.join(ROOT, "policies"));
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toContain("kestra-fleet");
    } finally {
      s.cleanup();
    }
  });

  it("a mandatory policy violation fails the real preview", async () => {
    const s = throwawayStack({ count: "2" });
    try {
      await s.init();
      const ok = await s.pulumi("preview", "--stack", s.stack, "--policy-pack", MANDATORY_PACK);
      expect(ok.status, ok.stderr + ok.stdout).toBe(0);
      expect((await s.pulumi("config", "set", "count", "3", "--stack", s.stack)).status).toBe(0);
      const r = await s.pulumi("preview", "--stack", s.stack, "--policy-pack", MANDATORY_PACK);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/mandatory/);
      expect(r.stdout + r.stderr).toContain("box-2 has size 2");
    } finally {
      s.cleanup();
    }
  });
});

describe("npm run preview", () => {
  const fixtureConfig = path.join(ROOT, "tests", "fixtures", "project", "Pulumi.staging.yaml");
  const fixtureTenants = path.join(ROOT, "tests", "fixtures", "project", "tenants");

  it("names the plugins a stack needs that the engine lacks, before running anything", async () => {
    const r = await previewStack({ stack: "staging", configFile: fixtureConfig, tenantsDir: fixtureTenants });
    expect(r.plugins).toEqual(["cloudflare", "docker", "minio", "random"]);
    if (r.status === 3) {
      expect(r.stderr).toContain("The Pulumi engine is not ready");
      for (const p of engineVersions().plugins.filter((x) => r.plugins.includes(x.name))) expect(r.stderr).toContain(`plugin ${p.name} ${p.version} (${p.npm})`);
    } else {
      // With every plugin built, the fixture's staging stack previews, policy pack included.
      expect(r.status, r.stderr).toBe(0);
    }
  });

  it("sets up the throwaway stack with fake secrets and runs the program on the real engine, which stops at a missing plugin without downloading it", async () => {
    const before = fs.readFileSync(fixtureConfig, "utf8");
    const r = await previewStack({ stack: "staging", configFile: fixtureConfig, tenantsDir: fixtureTenants, checkPlugins: false });
    expect(fs.readFileSync(fixtureConfig, "utf8")).toBe(before);
    expect(r.fakes).toEqual([
      "kestra-fleet:acmeDnsApiToken",
      "kestra-fleet:backupEscrowPassphrase",
      "kestra-fleet:backupTargetPassword",
      "kestra-fleet:backupTargetUser",
      "kestra-fleet:cloudflareApiToken",
      "kestra-fleet:gitCredentials.globex.sshKey",
    ]);
    expect(r.stderr).toContain(`fake secret values for ${r.fakes.join(", ")}`);
    expect(r.stdout).toContain("kestra-fleet-staging");
    const missing = r.plugins.filter((p) => !fs.existsSync(path.join(pluginDir(p, engineVersions().plugins.find((x) => x.name === p)!.version), `pulumi-resource-${p}`)));
    if (missing.length) {
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/no resource plugin 'pulumi-resource-\w+' found in the workspace at version v/);
      expect(r.stdout + r.stderr).not.toMatch(/download/i);
    } else {
      expect(r.status, r.stderr).toBe(0);
    }
  });
});
