import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../infra/diagnostics";
import { loadTenants } from "../../infra/tenants/load";
import { tenantsDir, tenantYaml } from "../files";

const STACKS = ["prod", "staging"];

function load(files: Record<string, string>) {
  return loadTenants(tenantsDir(files), { stacks: STACKS });
}

function lines(files: Record<string, string>): string[] {
  return load(files).errors.map(formatDiagnostic);
}

const valid = `# yaml-language-server: $schema=./schema.json
name: acme
displayName: ACME Corp
environments: [staging, prod]
access:
  emails: [ana@acme.com]
  emailDomains: [acme.com]
  groups: []
  webhooks: private
kestra:
  adminEmail: ana@acme.com
  size: small
  workers: 0
git:
  url: https://github.com/acme/kestra-flows.git
  branch: main
  directory: _flows
  targetNamespace: acme
  auth: none
  schedule: "*/15 * * * *"
postgres:
  node: swarm-node-1
`;

describe("tenant files: valid input", () => {
  it("loads the documented example with every field", () => {
    const r = load({ "acme.yaml": valid });
    expect(r.errors).toEqual([]);
    expect(r.tenants).toHaveLength(1);
    expect(r.tenants[0].tenant).toMatchObject({ name: "acme", kestra: { size: "small", workers: 0 }, git: { auth: "none" } });
  });

  it("applies defaults", () => {
    const t = load({ "beta.yaml": tenantYaml("beta") }).tenants[0].tenant;
    expect(t.access).toEqual({ emails: ["a@beta.example.com"], emailDomains: [], groups: [], webhooks: "private", serviceToken: false });
    expect(t.kestra).toEqual({ adminEmail: "admin@beta.example.com", size: "small", workers: 0 });
    expect(t.postgres).toEqual({ mode: "container" });
    expect(t.git).toBeUndefined();
  });

  it("returns tenants sorted by name whatever the file order", () => {
    const r = load({ "zeta.yaml": tenantYaml("zeta"), "alpha.yaml": tenantYaml("alpha"), "mid.yaml": tenantYaml("mid") });
    expect(r.tenants.map((t) => t.tenant.name)).toEqual(["alpha", "mid", "zeta"]);
  });

  it("ignores schema.json and hidden files", () => {
    const r = load({ "acme.yaml": valid, "schema.json": "{}", ".acme.yaml.swp": "x" });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(["tenants/.acme.yaml.swp: hidden file ignored"]);
  });
});

// Each rule, its own bad file: [case, file name, content, expected line(s) (exact or regex)].
const cases: [string, string, string, (string | RegExp)[]][] = [
  ["unknown top-level key (typo)", "acme.yaml", valid.replace("access:", "acess:"), [
    "tenants/acme.yaml:5:1 acess: unknown key (did you mean \"access\"?)",
    "tenants/acme.yaml:2:1 access: is required",
  ]],
  ["unknown nested key", "acme.yaml", valid.replace("  webhooks: private", "  webhook: private"), ["tenants/acme.yaml:9:3 access.webhook: unknown key (did you mean \"webhooks\"?)"]],
  ["no identity in access", "acme.yaml", valid.replace("  emails: [ana@acme.com]\n  emailDomains: [acme.com]\n", ""), [
    "tenants/acme.yaml:5:1 access: must name at least one of emails, emailDomains or groups",
  ]],
  ["invalid email", "acme.yaml", valid.replace("emails: [ana@acme.com]", "emails: [ana-at-acme.com]"), ["tenants/acme.yaml:6:12 access.emails.0: is not a valid email address"]],
  ["invalid domain", "acme.yaml", valid.replace("emailDomains: [acme.com]", "emailDomains: [acme]"), [/^tenants\/acme.yaml:7:18 access.emailDomains.0: is not a valid domain name/]],
  ["group id not a UUID", "acme.yaml", valid.replace("groups: []", "groups: [admins]"), [/^tenants\/acme.yaml:8:12 access.groups.0: is not a Cloudflare group id/]],
  ["invalid cron", "acme.yaml", valid.replace('"*/15 * * * *"', '"*/15 * * *"'), [/^tenants\/acme.yaml:20:13 git.schedule: is not a valid cron expression: expected 5 fields/]],
  ["cron value out of range", "acme.yaml", valid.replace('"*/15 * * * *"', '"61 * * * *"'), [/^tenants\/acme.yaml:20:13 git.schedule: is not a valid cron expression: minute "61"/]],
  ["reserved name", "admin.yaml", valid.replace("name: acme", "name: admin"), ["tenants/admin.yaml:2:7 name: is reserved for the platform"]],
  ["name too short", "ab.yaml", valid.replace("name: acme", "name: ab"), ["tenants/ab.yaml:2:7 name: must be at least 3 characters"]],
  ["name with double hyphen", "ac--me.yaml", valid.replace("name: acme", "name: ac--me"), [/^tenants\/ac--me.yaml:2:7 name: must be lower-case letters/]],
  ["name differs from the file name", "acme-eu.yaml", valid, ['tenants/acme-eu.yaml:2:7 name: is "acme" but the file is acme-eu.yaml: they must be equal']],
  ["environment that names no stack", "acme.yaml", valid.replace("[staging, prod]", "[staging, qa]"), [/^tenants\/acme.yaml:4:25 environments.1: names no stack: "qa"/]],
  ["git URL with credentials", "acme.yaml", valid.replace("https://github.com/acme", "https://bot:ghp_x@github.com/acme"), [
    /^tenants\/acme.yaml:15:8 git.url: credentials do not belong in the URL: set `git.auth` and store the token or key with `pulumi config set --secret/,
  ]],
  ["git URL of another scheme", "acme.yaml", valid.replace("https://github.com", "http://github.com"), [/^tenants\/acme.yaml:15:8 git.url: must be an https:\/\/ URL/]],
  ["ssh URL without ssh auth", "acme.yaml", valid.replace("https://github.com/acme/kestra-flows.git", "git@github.com:acme/kestra-flows.git"), ["tenants/acme.yaml:19:9 git.auth: must be ssh for an ssh repository URL"]],
  ["workers over the limit", "acme.yaml", valid.replace("workers: 0", "workers: 21"), [/^tenants\/acme.yaml:13:12 kestra.workers: /]],
  ["size not a profile", "acme.yaml", valid.replace("size: small", "size: huge"), [/^tenants\/acme.yaml:12:9 kestra.size: /]],
  ["missing required section", "acme.yaml", valid.replace(/kestra:\n  adminEmail: ana@acme.com\n  size: small\n  workers: 0\n/, ""), ["tenants/acme.yaml:2:1 kestra: is required"]],
  ["YAML syntax error", "acme.yaml", "name: acme\naccess: [unclosed\n", [/^tenants\/acme.yaml:\d+:\d+ \(file\): YAML syntax error: /]],
  ["duplicate key", "acme.yaml", valid.replace("displayName: ACME Corp", "displayName: ACME Corp\nname: acme"), ["tenants/acme.yaml:4:1 name: duplicate key: each key may appear once in a mapping"]],
  ["empty file", "acme.yaml", "# nothing here\n", ["tenants/acme.yaml:1:1 (file): file is empty: a tenant file is a mapping with at least name, access and kestra"]],
  ["a list instead of a mapping", "acme.yaml", "- name: acme\n", ["tenants/acme.yaml:1:1 (file): expected a mapping of tenant fields at the top level, found a list"]],
  ["a scalar instead of a mapping", "acme.yaml", "acme\n", ["tenants/acme.yaml:1:1 (file): expected a mapping of tenant fields at the top level, found a single value"]],
  ["a .yml file", "acme.yml", valid, ["tenants/acme.yml (file): not a tenant file: tenant files end in .yaml (rename it) and the folder holds nothing else"]],
  ["a stray file", "notes.txt", "hello", [/^tenants\/notes.txt \(file\): not a tenant file/]],
];

describe("tenant files: every bad input is reported with file:line:col and field", () => {
  for (const [name, file, text, expected] of cases) {
    it(name, () => {
      const r = load({ [file]: text });
      expect(r.tenants).toEqual([]);
      const got = r.errors.map(formatDiagnostic).sort();
      expect(got).toHaveLength(expected.length);
      for (const e of expected) {
        if (typeof e === "string") expect(got).toContain(e);
        else expect(got.some((g) => e.test(g)), `${got.join("\n")}\n~ ${e}`).toBe(true);
      }
    });
  }

  it("reports every problem of every file in one run, and returns no tenant", () => {
    const r = load({
      "acme.yaml": valid.replace("access:", "acess:"),
      "beta.yaml": tenantYaml("beta").replace("emails: [a@beta.example.com]", "emails: [nope]"),
      "good.yaml": tenantYaml("good"),
      "x.yml": "",
    });
    expect(r.tenants).toEqual([]);
    const files = new Set(r.errors.map((e) => e.file));
    expect([...files].sort()).toEqual(["tenants/acme.yaml", "tenants/beta.yaml", "tenants/x.yml"]);
  });

  it("rejects a folder inside the tenants folder", () => {
    const dir = tenantsDir({ "acme.yaml": valid });
    fs.mkdirSync(path.join(dir, "old"));
    const r = loadTenants(dir, { stacks: STACKS });
    expect(r.errors.map(formatDiagnostic)).toEqual(["tenants/old (file): unexpected folder: the tenants folder holds only <tenant>.yaml files and schema.json"]);
  });
});
