/**
 * The engine's environment and readiness check (engine/env.ts), the version source (engine/versions.ts)
 * and the pure parts of `npm run preview` (engine/preview.ts). No engine needed: an empty engine folder
 * ($KESTRA_ENGINE_DIR) stands for one that was never built.
 */
import * as fs from "fs";
import * as path from "path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkEngine, EngineError, engineEnv, engineProblems, pluginDir, statusFile } from "../../engine/env";
import { fakeSecret, pluginsOf, throwawayConfig } from "../../engine/preview";
import { engineVersions, lockedVersion, ROOT } from "../../engine/versions";
import { sshKeyProblem } from "../../infra/input/git-key";
import { runPlan } from "../../infra/plan/run";
import { tmpDir } from "../files";
import { FIXTURE_ROOT, FIXTURE_TENANTS } from "../files-root";

const saved = process.env.KESTRA_ENGINE_DIR;
let dir: string;
beforeEach(() => {
  dir = tmpDir("kf-engine-");
  process.env.KESTRA_ENGINE_DIR = dir;
});
afterEach(() => {
  if (saved === undefined) delete process.env.KESTRA_ENGINE_DIR;
  else process.env.KESTRA_ENGINE_DIR = saved;
});

describe("versions come from package-lock.json", () => {
  it("the CLI follows @pulumi/pulumi and each plugin its npm package", () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    const v = engineVersions();
    expect(v.pulumi).toBe(lock.packages["node_modules/@pulumi/pulumi"].version);
    for (const p of v.plugins) expect(p.version).toBe(lock.packages[`node_modules/${p.npm}`].version);
    expect(v.plugins.map((p) => p.name).sort()).toEqual(["aws", "cloudflare", "docker", "minio", "postgresql", "random"]);
  });

  it("a bumped package moves the expected plugin version", () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    lock.packages["node_modules/@pulumi/docker"].version = "5.3.0";
    const file = path.join(dir, "package-lock.json");
    fs.writeFileSync(file, JSON.stringify(lock));
    expect(engineVersions(file).plugins.find((p) => p.name === "docker")!.version).toBe("5.3.0");
    expect(() => lockedVersion("@pulumi/nope", file)).toThrow(/@pulumi\/nope is not in/);
  });
});

describe("engineEnv", () => {
  it("puts our bin first, our PULUMI_HOME, and turns off update checks, PATH plugins and downloads", () => {
    const env = engineEnv({ PATH: "/usr/bin", HOME: "/root" });
    expect(env.PATH).toBe(`${path.join(dir, "bin")}:/usr/bin`);
    expect(env.PULUMI_HOME).toBe(path.join(dir, "home"));
    expect(env.PULUMI_SKIP_UPDATE_CHECK).toBe("true");
    expect(env.PULUMI_IGNORE_AMBIENT_PLUGINS).toBe("true");
    expect(env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION).toBe("true");
    expect(env.HOME).toBe("/root");
  });
});

describe("engineProblems", () => {
  const v = engineVersions();

  it("an engine never built: names each binary and plugin, its version and `npm run engine`", () => {
    const problems = engineProblems({ plugins: ["docker", "random"] });
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(new RegExp(`^pulumi v${v.pulumi} is missing .*run npm run engine`));
    expect(problems[1]).toMatch(new RegExp(`^pulumi-language-nodejs v${v.pulumi} is missing`));
    const docker = v.plugins.find((p) => p.name === "docker")!;
    expect(problems[2]).toBe(`plugin docker ${docker.version} (@pulumi/docker) is missing from ${path.join(dir, "home")}: run npm run engine`);
    expect(() => checkEngine({ plugins: ["random"] })).toThrow(EngineError);
  });

  it("a plugin at another version than the lock file's is missing, not accepted", () => {
    const random = v.plugins.find((p) => p.name === "random")!;
    const other = pluginDir("random", "0.0.1");
    fs.mkdirSync(other, { recursive: true });
    fs.writeFileSync(path.join(other, "pulumi-resource-random"), "");
    expect(engineProblems({ plugins: ["random"] }).join("\n")).toContain(`plugin random ${random.version} (@pulumi/random) is missing`);
    const right = pluginDir("random", random.version);
    fs.mkdirSync(right, { recursive: true });
    fs.writeFileSync(path.join(right, "pulumi-resource-random"), "");
    expect(engineProblems({ plugins: ["random"] }).join("\n")).not.toContain("plugin random");
  });

  it("a plugin the build could not make: the step and the error it recorded", () => {
    const docker = v.plugins.find((p) => p.name === "docker")!;
    fs.writeFileSync(statusFile(), JSON.stringify({ failed: { docker: { version: docker.version, step: "resolve github.com/pulumi/pulumi-docker/provider/v5", error: "403 Forbidden" } } }));
    expect(engineProblems({ plugins: ["docker"] }).join("\n")).toContain(
      `plugin docker ${docker.version} (@pulumi/docker) could not be built by npm run engine (step: resolve github.com/pulumi/pulumi-docker/provider/v5): 403 Forbidden`,
    );
  });

  it("aws says why it is not built; an unknown plugin is named", () => {
    const p = engineProblems({ plugins: ["aws", "nope"] }).join("\n");
    expect(p).toMatch(/plugin aws \S+ \(@pulumi\/aws\) is not built here: its build needs far more than 2 cores/);
    expect(p).toContain("plugin nope is not one this project builds");
  });

  it("a binary at the wrong version is reported with both versions", () => {
    fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
    const fake = path.join(dir, "bin", "pulumi");
    fs.writeFileSync(fake, "#!/bin/sh\necho v3.1.0\n", { mode: 0o755 });
    expect(engineProblems({ plugins: [] })[0]).toBe(`pulumi is v3.1.0, package-lock.json pins v${v.pulumi}: run npm run engine`);
  });
});

describe("preview helpers", () => {
  it("the throwaway config keeps plain values and drops the salt and every secure value", () => {
    const text = [
      "encryptionsalt: v1:abc",
      "config:",
      "  kestra-fleet:hostPattern: '{tenant}.example.com'",
      "  kestra-fleet:cloudflareApiToken:",
      "    secure: v1:xyz",
      "  kestra-fleet:gitCredentials:",
      "    acme:",
      "      token:",
      "        secure: v1:uvw",
      "      username: bot",
      "",
    ].join("\n");
    const out = throwawayConfig(text);
    expect(out.dropped.sort()).toEqual(["kestra-fleet:cloudflareApiToken", "kestra-fleet:gitCredentials.acme.token"]);
    expect(out.text).not.toMatch(/secure|encryptionsalt/);
    expect(out.text).toContain("hostPattern");
    expect(out.text).toContain("username: bot");
  });

  it("plugins are the packages of the registered types, providers included, components not", () => {
    expect(pluginsOf(["kestra-fleet:tenant:Tenant", "docker:index/service:Service", "pulumi:providers:cloudflare", "random:index/randomPassword:RandomPassword", "pulumi:pulumi:Stack"], "kestra-fleet")).toEqual(["cloudflare", "docker", "random"]);
  });

  it("fake secrets are obviously fake; a fake SSH key is one the program accepts", () => {
    expect(fakeSecret("kestra-fleet:cloudflareApiToken")).toBe("FAKE-for-offline-preview-cloudflareApiToken");
    const key = fakeSecret("kestra-fleet:gitCredentials.acme.sshKey");
    expect(key).toContain("BEGIN EC PRIVATE KEY");
    expect(sshKeyProblem(key)).toBeUndefined();
  });
});

describe("aws only where a stack uses it (the engine loads plugins lazily)", () => {
  it("staging without AWS storage or backups registers no aws provider or resource; prod with AWS storage does, and the check says why it has no plugin", async () => {
    const types = async (stack: string) => {
      const r = await runPlan({ stack, projectRoot: FIXTURE_ROOT, tenantsDir: FIXTURE_TENANTS });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      return r.plan.resources.map((x) => x.type);
    };
    const staging = pluginsOf(await types("staging"), "kestra-fleet");
    expect(staging).not.toContain("aws");
    expect(staging).toEqual(["cloudflare", "docker", "minio", "random"]);
    const prod = pluginsOf(await types("prod"), "kestra-fleet");
    expect(prod).toContain("aws");
    expect(engineProblems({ plugins: prod }).join("\n")).toMatch(/plugin aws \S+ \(@pulumi\/aws\) is not built here/);
  });
});
