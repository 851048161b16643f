/** `npm run tenant:new`: the generated file is what the real loader accepts; refusals name the option. */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { run } from "../../../infra/tools/tenant-new";
import { loadTenants } from "../../../infra/input/tenants/load";
import { FIXTURE_ROOT, planOk, REPO_ROOT, tmpDir } from "../../helpers";

/** A scratch project: the fixture's stack files and an empty tenants folder. */
function project(): string {
  const dir = tmpDir("kf-new-");
  for (const s of ["staging", "prod"]) fs.copyFileSync(path.join(FIXTURE_ROOT, `Pulumi.${s}.yaml`), path.join(dir, `Pulumi.${s}.yaml`));
  fs.mkdirSync(path.join(dir, "tenants"));
  return dir;
}

function cli(dir: string, ...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = run([...args, "--tenants", path.join(dir, "tenants")], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), root: REPO_ROOT });
  return { code, stdout, stderr };
}

const load = (dir: string) => loadTenants(path.join(dir, "tenants"), { stacks: ["prod", "staging"] });

describe("tenant:new", () => {
  it("writes a file the loader accepts, with the schema modeline and comments, and prints the next steps", () => {
    const dir = project();
    const r = cli(dir, "hooli", "--admin-email", "gavin@hooli.com", "--email", "ana@hooli.com", "--email-domain", "hooli.com", "--group", "0b6bd2a6-7a43-4c4a-9d0e-2f3c1e5b8a11", "--git-url", "git@github.com:hooli/flows.git", "--environments", "staging,prod", "--display-name", "Hooli: XYZ #1 'Inc' [\"x\"]");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const text = fs.readFileSync(path.join(dir, "tenants", "hooli.yaml"), "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./schema.json");
    expect(text).toMatch(/^kestra:\n {2}adminEmail: gavin@hooli\.com +# /m);
    const loaded = load(dir);
    expect(loaded.errors).toEqual([]);
    const t = loaded.tenants[0].tenant;
    expect(t).toMatchObject({
      name: "hooli",
      displayName: "Hooli: XYZ #1 'Inc' [\"x\"]",
      environments: ["staging", "prod"],
      access: { emails: ["ana@hooli.com"], emailDomains: ["hooli.com"], groups: ["0b6bd2a6-7a43-4c4a-9d0e-2f3c1e5b8a11"], webhooks: "private", serviceToken: false },
      kestra: { adminEmail: "gavin@hooli.com", size: "small", workers: 0 },
      git: { url: "git@github.com:hooli/flows.git", auth: "ssh", directory: "_flows" },
      postgres: { mode: "container" },
    });
    // Next steps: the plan per stack, the PEM deploy key stored per stack, the PR, the hand-over.
    expect(r.stdout).toContain("npm run plan -- --stack staging\n     npm run plan -- --stack prod");
    expect(r.stdout).toContain("ssh-keygen -t ecdsa -b 256 -m PEM");
    expect(r.stdout).toContain("pulumi config set --secret --path 'kestra-fleet:gitCredentials.hooli.sshKey' --stack prod < kestra_deploy_key");
    expect(r.stdout).toContain('git commit -m "Onboard tenant hooli"');
    expect(r.stdout).toContain("pulumi stack output tenants --stack staging --show-secrets");
  });

  it("prints exactly the plan's credentials report for the new tenant, per stack it deploys to", async () => {
    const dir = project();
    const r = cli(dir, "hooli", "--admin-email", "gavin@hooli.com", "--git-url", "https://github.com/hooli/flows.git", "--git-auth", "token", "--environments", "prod");
    expect(r.code).toBe(0);
    const plan = await planOk({ stack: "prod", projectRoot: dir });
    const report = plan.warnings.filter((w) => w.kind === "credential" && w.tenant === "hooli").map((w) => w.message);
    expect(report).toHaveLength(1);
    const printed = r.stdout.split("\n").filter((l) => l.startsWith("   pulumi up of stack")).map((l) => l.trim());
    expect(printed).toEqual(report);
    // Only the stacks it deploys to; a credential already in the stack config is not asked again.
    expect(r.stdout).not.toContain("--stack staging");
    const staging = path.join(dir, "Pulumi.staging.yaml");
    fs.appendFileSync(staging, "  kestra-fleet:gitCredentials:\n    ppx:\n      token:\n        secure: AAABAJxyz\n");
    const again = cli(dir, "ppx", "--admin-email", "r@pp.example.com", "--git-url", "https://github.com/pp/flows.git", "--git-auth", "token");
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
    expect(again.stdout.split("\n").filter((l) => l.startsWith("   pulumi up of stack"))).toEqual([
      "   pulumi up of stack prod needs tenant ppx's git token (kestra-fleet:gitCredentials.ppx.token), not in Pulumi.prod.yaml: pulumi config set --secret --path 'kestra-fleet:gitCredentials.ppx.token' --stack prod",
    ]);
    expect(again.stdout).not.toContain("do not load");
  });

  it("token auth prints the token secret per stack; no access list admits the admin e-mail; no git, no secret", () => {
    const dir = project();
    const r = cli(dir, "pied-piper", "--admin-email", "richard@pp.example.com", "--git-url", "https://github.com/pp/flows.git", "--git-auth", "token");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("pulumi config set --secret --path 'kestra-fleet:gitCredentials.pied-piper.token' --stack prod");
    expect(r.stdout).toContain("pulumi config set --secret --path 'kestra-fleet:gitCredentials.pied-piper.token' --stack staging");
    expect(load(dir).tenants[0].tenant.access.emails).toEqual(["richard@pp.example.com"]);
    const plain = cli(dir, "raviga", "--admin-email", "laurie@raviga.example.com");
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain("2. No secret to set for this tenant: the plan reports none (no git sync).");
    expect(load(dir).errors).toEqual([]);
  });

  it("refuses a name that exists, never overwriting it", () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, "tenants", "acme.yaml"), "keep me\n");
    const r = cli(dir, "acme", "--admin-email", "a@acme.com");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tenants\/acme\.yaml: tenant acme exists already/);
    expect(fs.readFileSync(path.join(dir, "tenants", "acme.yaml"), "utf8")).toBe("keep me\n");
  });

  it("refuses an invalid name with the loader's own message, writing nothing", () => {
    const dir = project();
    const cases: [string, string][] = [
      ["admin", "is reserved for the platform"],
      ["Acme", "must be lower-case letters"],
      ["../etc", "must be lower-case letters"],
      ["a--b", "must be lower-case letters"],
      ["ab", "must be at least 3 characters"],
      ["x".repeat(31), "must be at most 30 characters"],
      ["data-s3alias", "must not end in -s3alias"],
    ];
    for (const [name, message] of cases) {
      const r = cli(dir, name, "--admin-email", "a@b.com");
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toContain(`<name> ${JSON.stringify(name)}: `);
      expect(r.stderr, name).toContain(message);
    }
    expect(fs.readdirSync(path.join(dir, "tenants"))).toEqual([]);
  });

  it("names the option of every invalid value, writing nothing", () => {
    const dir = project();
    const r = cli(dir, "hooli", "--admin-email", "nope", "--email", "a@b.com", "--email", "bad", "--git-url", "https://u:p@github.com/x/y.git");
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").sort()).toEqual([
      "--admin-email: is not a valid email address",
      "--email bad: is not a valid email address",
      expect.stringMatching(/^--git-url: credentials do not belong in the URL/),
    ].sort());
    const env = cli(dir, "hooli", "--admin-email", "a@b.com", "--environments", "staging,qa");
    expect(env.stderr).toContain('--environments qa: names no stack: "qa" is not one of prod, staging');
    const nl = cli(dir, "hooli", "--admin-email", "a@b.com", "--display-name", "two\nlines");
    expect(nl.stderr).toContain("--display-name: contains U+000A (LINE FEED)");
    const auth = cli(dir, "hooli", "--admin-email", "a@b.com", "--git-url", "https://github.com/x/y.git", "--git-auth", "ssh");
    expect(auth.stderr).toContain("--git-auth: ssh needs an ssh:// or git@host: URL");
    expect(fs.readdirSync(path.join(dir, "tenants"))).toEqual([]);
  });

  it("a bad command line exits 2 with the usage", () => {
    const dir = project();
    expect(cli(dir, "--admin-email", "a@b.com").code).toBe(2);
    expect(cli(dir, "hooli").stderr).toContain("--admin-email is required");
    expect(cli(dir, "hooli", "--admin-email", "a@b.com", "--git-auth", "token").stderr).toContain("--git-auth needs --git-url");
    expect(cli(dir, "hooli", "--admin-email", "a@b.com", "--size", "large").code).toBe(2);
  });
});
