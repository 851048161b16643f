import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configFromRuntime, configFromStackFile, loadConfig, placeholder, STACK_CONFIG_MAX_BYTES } from "../../../infra/input/config/load";
import { formatDiagnostic } from "../../../infra/input/diagnostics";
import { FIXTURE_ROOT, tmpDir } from "../../files-root";

function stackFile(text: string): string[] {
  const dir = tmpDir("kf-config-");
  fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), text);
  return loadConfig(configFromStackFile(dir, "staging")).errors.map(formatDiagnostic);
}

const FREE_MAIL = "is a free-mail provider: anyone can open an address there and pass Cloudflare Access; list the people with `emails` instead";
const PUBLIC_SUFFIX = "is a public suffix (Public Suffix List): anyone can register a domain below it; name the organisation's own domain";
const SINGLE_LINE = "values are single-line text without control or bidirectional characters";

const staging = fs.readFileSync(path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "utf8");
const lineOf = (needle: string, after = 0) => staging.split("\n").findIndex((l, i) => i >= after && l.includes(needle)) + 1;

describe("stack config", () => {
  it("both committed stack files are valid and complete", () => {
    for (const stack of ["staging", "prod"]) {
      const r = loadConfig(configFromStackFile(FIXTURE_ROOT, stack));
      expect(r.errors).toEqual([]);
      // Offline, secrets are placeholders, never real values.
      expect(r.config!.secrets.cloudflareApiToken).toBe(placeholder("cloudflareApiToken"));
    }
  });

  it("staging and prod differ by config only: git-sync defaults follow the seed", () => {
    const s = loadConfig(configFromStackFile(FIXTURE_ROOT, "staging")).config!.settings;
    const p = loadConfig(configFromStackFile(FIXTURE_ROOT, "prod")).config!.settings;
    expect(s.gitSync).toMatchObject({ branch: "dev", targetNamespace: "dev" });
    expect(p.gitSync).toMatchObject({ branch: "main", targetNamespace: "app" });
  });

  const cases: [string, string, string][] = [
    ["an image on latest", staging.replace("postgres: postgres:18.1", "postgres: postgres:latest"), `Pulumi.staging.yaml:${lineOf("postgres: postgres:18.1")}:15 kestra-fleet:images.postgres: uses the floating tag 'latest': pin an exact version or a digest`],
    ["a major-only tag", staging.replace("postgres: postgres:18.1", "postgres: postgres:18"), `Pulumi.staging.yaml:${lineOf("postgres: postgres:18.1")}:15 kestra-fleet:images.postgres: uses the floating tag '18': it moves to every new 18.x release like 'latest'; pin the full version (e.g. postgres:18.<minor>) or a digest`],
    ["a major.minor Traefik tag", staging.replace(/traefik:v3\.6\.25@sha256:[0-9a-f]+/, "traefik:v3.6"), `Pulumi.staging.yaml:${lineOf("traefik:v3.6.25")}:14 kestra-fleet:images.traefik: uses the floating tag 'v3.6': it moves to every new v3.6.x release like 'latest'; pin the full version (e.g. traefik:v3.6.<patch>) or a digest`],
    ["a Postgres image pinned by digest only", staging.replace("postgres: postgres:18.1", `postgres: postgres@sha256:${"a".repeat(64)}`), `Pulumi.staging.yaml:${lineOf("postgres: postgres:18.1")}:15 kestra-fleet:images.postgres: must carry the Postgres major version in its tag, e.g. postgres:18.1 (a digest may follow): the data volume follows the major`],
    ["an unpinned image", staging.replace("postgres: postgres:18.1", "postgres: postgres"), `Pulumi.staging.yaml:${lineOf("postgres: postgres:18.1")}:15 kestra-fleet:images.postgres: is not pinned: add an exact tag or a digest`],
    ["Kestra 2.x", staging.replace("kestra/kestra:v1.3.37", "kestra/kestra:v2.0.1"), `Pulumi.staging.yaml:${lineOf("kestra/kestra:v1.3.37")}:13 kestra-fleet:images.kestra: must pin an exact Kestra 1.x release tag, e.g. kestra/kestra:v1.1.6 (a digest may follow)`],
    ["Traefik older than 3.6.1", staging.replace("traefik:v3.6.25@sha256:31267173a15b4944e797a76ffd9c419707c8d8b32fe5b610f80cd0cfa05f372d", "traefik:v3.5.0"), `Pulumi.staging.yaml:${lineOf("traefik:v3.6.25@sha256:31267173a15b4944e797a76ffd9c419707c8d8b32fe5b610f80cd0cfa05f372d")}:14 kestra-fleet:images.traefik: must pin Traefik v3.6.25 or later (v3.7.10 or later on the 3.7 line) by exact tag, e.g. traefik:v3.6.25@sha256:… (earlier releases carry published security fixes)`],
    ["Traefik v3.6.2, before the security releases", staging.replace("traefik:v3.6.25@sha256:31267173a15b4944e797a76ffd9c419707c8d8b32fe5b610f80cd0cfa05f372d", "traefik:v3.6.2"), `Pulumi.staging.yaml:${lineOf("traefik:v3.6.25@sha256:31267173a15b4944e797a76ffd9c419707c8d8b32fe5b610f80cd0cfa05f372d")}:14 kestra-fleet:images.traefik: must pin Traefik v3.6.25 or later (v3.7.10 or later on the 3.7 line) by exact tag, e.g. traefik:v3.6.25@sha256:… (earlier releases carry published security fixes)`],
    ["Traefik v3.7.9", staging.replace("traefik:v3.6.25@sha256:31267173a15b4944e797a76ffd9c419707c8d8b32fe5b610f80cd0cfa05f372d", "traefik:v3.7.9"), `Pulumi.staging.yaml:${lineOf("traefik:v3.6.25@sha256:31267173a15b4944e797a76ffd9c419707c8d8b32fe5b610f80cd0cfa05f372d")}:14 kestra-fleet:images.traefik: must pin Traefik v3.6.25 or later (v3.7.10 or later on the 3.7 line) by exact tag, e.g. traefik:v3.6.25@sha256:… (earlier releases carry published security fixes)`],
    ["a socket proxy pinned by tag only", staging.replace("wollomatic/socket-proxy:1.13.1@sha256:3935b709275e4ec35d6ed5a5c4a1f0d01ed31eec5e7234efc3357ecd47689002", "wollomatic/socket-proxy:1.13.1"), `Pulumi.staging.yaml:${lineOf("socketProxy:")}:18 kestra-fleet:images.socketProxy: must be pinned by tag and digest, e.g. alpine/socat:1.8.0.3@sha256:…`],
    ["a storage gateway pinned by digest only", staging.replace("alpine/socat:1.8.0.3@", "alpine/socat@"), `Pulumi.staging.yaml:${lineOf("storageGateway:")}:21 kestra-fleet:images.storageGateway: must be pinned by tag and digest, e.g. alpine/socat:1.8.0.3@sha256:…`],
    ["a host pattern without {tenant}", staging.replace('"{tenant}-kestra-staging.example.com"', "kestra-staging.example.com"), `Pulumi.staging.yaml:${lineOf("hostPattern")}:29 kestra-fleet:hostPattern: must contain {tenant}, e.g. {tenant}-kestra.example.com`],
    ["a host pattern outside the zone", staging.replace('"{tenant}-kestra-staging.example.com"', '"{tenant}.example.org"'), `Pulumi.staging.yaml:${lineOf("hostPattern")}:29 kestra-fleet:hostPattern: gives hosts outside the Cloudflare zone example.com`],
    ["an unknown key", staging.replace("kestra-fleet:capacity:", "kestra-fleet:capacty:"), `Pulumi.staging.yaml:${lineOf("kestra-fleet:capacity:")}:3 kestra-fleet:capacty: unknown config key (did you mean "kestra-fleet:capacity"?)`],
    ["an unknown nested key", staging.replace("    logLevel: INFO", "    loglevel: INFO"), `Pulumi.staging.yaml:${lineOf("logLevel: INFO")}:5 kestra-fleet:proxy.loglevel: unknown key (did you mean "logLevel"?)`],
    ["a typo in swarm.encryptNetworks", staging.replace("    encryptNetworks: true", "    encryptNetwork: true"), `Pulumi.staging.yaml:${lineOf("encryptNetworks: true")}:5 kestra-fleet:swarm.encryptNetwork: unknown key (did you mean "encryptNetworks"?)`],
    ["a typo two levels down", staging.replace("      emailDomains: []", "      emailDomain: []"), `Pulumi.staging.yaml:${lineOf("emailDomains: []")}:7 kestra-fleet:cloudflare.admins.emailDomain: unknown key (did you mean "emailDomains"?)`],
    ["a node without a Docker endpoint", staging.replace("    dataNode: swarm-node-1", "    dataNode: swarm-node-9"), `Pulumi.staging.yaml:${lineOf("dataNode: swarm-node-1")}:15 kestra-fleet:swarm.dataNode: node "swarm-node-9" has no Docker endpoint in swarm.nodes`],
    ["a node of swarm.nodes without capacity", staging.replace(/      swarm-node-2:\n        cpus: .*\n(        .*\n){3}/, ""), `Pulumi.staging.yaml:${lineOf("    nodes:", lineOf("kestra-fleet:capacity:"))}:5 kestra-fleet:capacity.nodes: has no entry for node "swarm-node-2" of swarm.nodes: list every Swarm node with its cpus, memoryGb, diskGb and monthlyCost`],
    ["a node without a monthly price", staging.replace(/(      swarm-node-2:\n        cpus: .*\n(        .*\n){2})        monthlyCost: .*\n/, "$1"), `Pulumi.staging.yaml:${lineOf("      swarm-node-2:", lineOf("kestra-fleet:capacity:")) + 1}:9 kestra-fleet:capacity.nodes.swarm-node-2.monthlyCost: is required`],
    ["a bad currency", staging.replace("    currency: EUR", "    currency: euro"), `Pulumi.staging.yaml:${lineOf("currency: EUR")}:15 kestra-fleet:capacity.currency: is not a currency code such as EUR or USD`],
    ["a bad Cloudflare account id", staging.replace("accountId: 0123456789abcdef0123456789abcdef", "accountId: acme"), `Pulumi.staging.yaml:${lineOf("accountId:")}:16 kestra-fleet:cloudflare.accountId: is not a Cloudflare account id (32 lower-case hex digits)`],
    ["a bad origin range", staging.replace("      - 173.245.48.0/20", "      - 173.245.48.0"), `Pulumi.staging.yaml:${lineOf("173.245.48.0/20")}:9 kestra-fleet:cloudflare.originRanges.0: is not a CIDR range (e.g. 203.0.113.0/24)`],
    ["a secret in plain text", staging + "  kestra-fleet:cloudflareApiToken: abc123\n", `Pulumi.staging.yaml:${staging.split("\n").length}:36 kestra-fleet:cloudflareApiToken: is a credential in plain text: remove it (\`pulumi config rm 'kestra-fleet:cloudflareApiToken'\`), rotate it, and set it with \`pulumi config set --secret --path 'kestra-fleet:cloudflareApiToken' …\``],
    ["a missing section", staging.replace(/  kestra-fleet:gitSync:\n(    .*\n){3}/, ""), "Pulumi.staging.yaml:4:3 kestra-fleet:gitSync: is required"],
    ["minio settings missing for the minio provider", staging.replace(/    minio:\n(      .*\n){2}      adminAllowList:\n        - .*\n/, ""), `Pulumi.staging.yaml:${lineOf("kestra-fleet:storage:") + 1}:5 kestra-fleet:storage.minio: is required when provider is minio`],
    // Hostile input, one key at a time.
    ["a YAML alias (billion laughs)", staging.replace("    logLevel: INFO", "    logLevel: &lol INFO\n    acmeCaServer: *lol"), `Pulumi.staging.yaml:${lineOf("logLevel: INFO")}:15 kestra-fleet:proxy.logLevel: YAML anchors and aliases are not accepted, found an anchor (&name): write each value out in full`],
    ["a free-mail admin email domain", staging.replace("      emailDomains: []", "      emailDomains: [gmail.com]"), `Pulumi.staging.yaml:${lineOf("emailDomains: []")}:22 kestra-fleet:cloudflare.admins.emailDomains.0: ${FREE_MAIL}`],
    ["a public suffix as admin email domain", staging.replace("      emailDomains: []", "      emailDomains: [co.uk]"), `Pulumi.staging.yaml:${lineOf("emailDomains: []")}:22 kestra-fleet:cloudflare.admins.emailDomains.0: ${PUBLIC_SUFFIX}`],
    ["git sync into the system namespace", staging.replace("    targetNamespace: dev", "    targetNamespace: system"), `Pulumi.staging.yaml:${lineOf("targetNamespace: dev")}:22 kestra-fleet:gitSync.targetNamespace: is in the system namespace, which the fleet manages: choose a client namespace such as acme`],
    ["git sync below the admin namespace", staging.replace("    targetNamespace: dev", "    targetNamespace: admin.flows"), `Pulumi.staging.yaml:${lineOf("targetNamespace: dev")}:22 kestra-fleet:gitSync.targetNamespace: is in the admin namespace, which the fleet manages: choose a client namespace such as acme`],
    ["a schedule with a tab", staging.replace('    schedule: "*/15 * * * *"', '    schedule: "*/15\\t* * * *"'), `Pulumi.staging.yaml:${lineOf("schedule:")}:15 kestra-fleet:gitSync.schedule: contains U+0009 (TAB): ${SINGLE_LINE}`],
    ["a schedule with a newline", staging.replace('    schedule: "*/15 * * * *"', '    schedule: "*/15 * * * *\\n"'), `Pulumi.staging.yaml:${lineOf("schedule:")}:15 kestra-fleet:gitSync.schedule: contains U+000A (LINE FEED): ${SINGLE_LINE}`],
    ["an escape sequence in a value", staging.replace("    logLevel: INFO", '    logLevel: "INFO\\e[2J"'), `Pulumi.staging.yaml:${lineOf("logLevel: INFO")}:15 kestra-fleet:proxy.logLevel: contains U+001B (ESCAPE): ${SINGLE_LINE}`],
  ];
  for (const [name, text, expected] of cases) {
    it(`refuses ${name}, naming file, line and key`, () => {
      expect(stackFile(text)).toEqual([expected]);
    });
  }

  it("never echoes a secret value in a message", () => {
    const errors = stackFile(staging + "  kestra-fleet:acmeDnsApiToken: super-secret-value\n");
    expect(errors.join("\n")).not.toContain("super-secret-value");
  });

  it("reads the Pulumi runtime's config: JSON objects, secrets marked, missing secrets are errors", () => {
    const offline = configFromStackFile(FIXTURE_ROOT, "staging");
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(offline.values)) all[`kestra-fleet:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    all["kestra-fleet:cloudflareApiToken"] = "123456";
    const r = loadConfig(configFromRuntime(all, ["kestra-fleet:cloudflareApiToken"]));
    expect(r.errors.map(formatDiagnostic)).toEqual([
      "stack config kestra-fleet:acmeDnsApiToken: is required: set it with `pulumi config set --secret --path 'kestra-fleet:acmeDnsApiToken' …`",
      "stack config kestra-fleet:backupEscrowPassphrase: is required: set it with `pulumi config set --secret --path 'kestra-fleet:backupEscrowPassphrase' …`",
    ]);
    all["kestra-fleet:acmeDnsApiToken"] = "tok";
    all["kestra-fleet:backupEscrowPassphrase"] = "escrow-passphrase-0123456789";
    const keys = ["kestra-fleet:cloudflareApiToken", "kestra-fleet:acmeDnsApiToken", "kestra-fleet:backupEscrowPassphrase"];
    // staging backs up to a MinIO target: its admin credentials are required too.
    expect(loadConfig(configFromRuntime(all, keys)).errors.map(formatDiagnostic)).toEqual([
      "stack config kestra-fleet:backupTargetUser: is required with backup.target.provider minio: set it with `pulumi config set --secret kestra-fleet:backupTargetUser …`",
      "stack config kestra-fleet:backupTargetPassword: is required with backup.target.provider minio: set it with `pulumi config set --secret kestra-fleet:backupTargetPassword …`",
    ]);
    all["kestra-fleet:backupTargetUser"] = "admin";
    all["kestra-fleet:backupTargetPassword"] = "pw";
    const ok = loadConfig(configFromRuntime(all, [...keys, "kestra-fleet:backupTargetUser", "kestra-fleet:backupTargetPassword"]));
    expect(ok.errors).toEqual([]);
    // A numeric-looking secret stays a string.
    expect(ok.config!.secrets.cloudflareApiToken).toBe("123456");
    expect(ok.config!.settings.swarm.encryptNetworks).toBe(true);
  });

  it("refuses a stack config file that is not UTF-8, or too large, before parsing it", () => {
    const dir = tmpDir("kf-config-");
    const bytes = Buffer.concat([Buffer.from(staging.split("\n").slice(0, 4).join("\n") + "\n  kestra-fleet:x: caf"), Buffer.from([0xe9]), Buffer.from("\n")]);
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), bytes);
    expect(loadConfig(configFromStackFile(dir, "staging")).errors.map(formatDiagnostic)).toEqual([
      "Pulumi.staging.yaml:5:22 (file): is not valid UTF-8 text: save the file as UTF-8",
    ]);
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), staging + "#".repeat(STACK_CONFIG_MAX_BYTES));
    expect(loadConfig(configFromStackFile(dir, "staging")).errors.map(formatDiagnostic)).toEqual([
      `Pulumi.staging.yaml:1:1 (file): file is ${staging.length + STACK_CONFIG_MAX_BYTES} bytes, over the ${STACK_CONFIG_MAX_BYTES}-byte limit of a stack config file`,
    ]);
  });

  it("refuses control characters in plain values the Pulumi runtime passes, exempting secrets", () => {
    const offline = configFromStackFile(FIXTURE_ROOT, "staging");
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(offline.values)) all[`kestra-fleet:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    all["kestra-fleet:cloudflareApiToken"] = "t";
    all["kestra-fleet:acmeDnsApiToken"] = "t";
    all["kestra-fleet:gitCredentials"] = JSON.stringify({ acme: { sshKey: "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----\n" } });
    all["kestra-fleet:hostPattern"] = "{tenant}-kestra.example.com\nx";
    // A passphrase may hold anything: secrets are exempt.
    all["kestra-fleet:backupEscrowPassphrase"] = "escrow\npassphrase-0123456789";
    all["kestra-fleet:backupTargetUser"] = "admin";
    all["kestra-fleet:backupTargetPassword"] = "pw";
    const r = loadConfig(
      configFromRuntime(all, ["kestra-fleet:cloudflareApiToken", "kestra-fleet:acmeDnsApiToken", "kestra-fleet:gitCredentials", "kestra-fleet:backupEscrowPassphrase", "kestra-fleet:backupTargetUser", "kestra-fleet:backupTargetPassword"]),
    );
    expect(r.errors.map(formatDiagnostic)).toEqual([`stack config kestra-fleet:hostPattern: contains U+000A (LINE FEED): ${SINGLE_LINE}`]);
  });
});

describe("a credential stored in the wrong key gets advice that keeps it secret", () => {
  const secure = "{ secure: AAABAKBx7dZ8rzxD }";
  it("set without --path: a literal dotted key", () => {
    const errors = stackFile(staging + `  kestra-fleet:gitCredentials.acme.token: ${secure}\n`);
    expect(errors).toEqual([
      `Pulumi.staging.yaml:${staging.split("\n").length}:3 kestra-fleet:gitCredentials.acme.token: is a credential stored under a literal key with dots (set without --path), which the program never reads: move it, keeping it secret: \`pulumi config rm 'kestra-fleet:gitCredentials.acme.token'\` then \`pulumi config set --secret --path 'kestra-fleet:gitCredentials.acme.token' …\``,
    ]);
  });

  it("a misspelt secret key: the hint moves it to the right key, still with --secret", () => {
    const [error] = stackFile(staging + `  kestra-fleet:cloudflareApiTokn: ${secure}\n`);
    expect(error).toContain('unknown config key (did you mean "kestra-fleet:cloudflareApiToken"?); move it, keeping it secret:');
    expect(error).toContain("`pulumi config set --secret --path 'kestra-fleet:cloudflareApiToken' …`");
    expect(error).not.toMatch(/without --secret/);
  });

  it("a plain-text credential inside gitCredentials: rotate and set it with --secret --path", () => {
    const errors = stackFile(staging + `  kestra-fleet:gitCredentials:\n    acme:\n      username: bot\n      token: ghp_plaintext\n    globex:\n      sshKey: ${secure}\n`);
    expect(errors).toEqual([
      `Pulumi.staging.yaml:${staging.split("\n").length + 3}:14 kestra-fleet:gitCredentials.acme.token: is a credential in plain text: remove it (\`pulumi config rm --path 'kestra-fleet:gitCredentials.acme.token'\`), rotate it, and set it with \`pulumi config set --secret --path 'kestra-fleet:gitCredentials.acme.token' …\``,
    ]);
    expect(errors.join("\n")).not.toContain("ghp_plaintext");
  });

  it("a misspelt field under gitCredentials gets a hint", () => {
    const errors = stackFile(staging + `  kestra-fleet:gitCredentials:\n    acme:\n      tokn: ${secure}\n`);
    expect(errors).toEqual([`Pulumi.staging.yaml:${staging.split("\n").length + 2}:7 kestra-fleet:gitCredentials.acme.tokn: unknown key (did you mean "token"?)`]);
  });
});
