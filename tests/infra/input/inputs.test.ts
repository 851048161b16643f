import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configFromRuntime, configFromStackFile, loadConfig } from "../../../infra/input/config/load";
import { formatDiagnostic } from "../../../infra/input/diagnostics";
import { edgeWarnings, loadInputs } from "../../../infra/input/inputs";
import { nameLimitProblems } from "../../../infra/input/name-limits";
import { TenantSchema } from "../../../infra/input/tenants/schema";
import { FIXTURE_ROOT } from "../../files-root";
import { tenantsDir, tenantYaml, tmpDir } from "../../files";
import { projectWithConfig } from "../../helpers";

const settings = loadConfig(configFromStackFile(FIXTURE_ROOT, "staging")).config!.settings;

function runtimeConfig(extra: Record<string, string>, secretKeys: string[]) {
  const offline = configFromStackFile(FIXTURE_ROOT, "staging");
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries(offline.values)) all[`kestra-fleet:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  // The backup secrets every real run needs (staging backs up to a MinIO target).
  const backup = { "kestra-fleet:backupEscrowPassphrase": "escrow-passphrase-0123456789", "kestra-fleet:backupTargetUser": "admin", "kestra-fleet:backupTargetPassword": "pw" };
  return configFromRuntime({ ...all, ...backup, ...extra }, [...secretKeys, ...Object.keys(backup)]);
}

const tokenTenant = tenantYaml("acme", "git:\n  url: https://github.com/acme/flows.git\n  auth: token\n");

describe("inputs: checks across tenant files and stack config", () => {
  it("a real run refuses a tenant whose git credential is missing, pointing at git.auth", () => {
    const r = loadInputs({
      stack: "staging",
      stacks: ["prod", "staging"],
      config: runtimeConfig({ "kestra-fleet:cloudflareApiToken": "t", "kestra-fleet:acmeDnsApiToken": "t" }, ["kestra-fleet:cloudflareApiToken", "kestra-fleet:acmeDnsApiToken"]),
      tenantsDir: tenantsDir({ "acme.yaml": tokenTenant }),
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map(formatDiagnostic)).toEqual([
        "tenants/acme.yaml:8:9 git.auth: is token but stack staging has no token for it: run `pulumi config set --secret --path 'kestra-fleet:gitCredentials.acme.token' …`",
      ]);
    }
  });

  it("a real run takes the credential from the secret config; the offline plan uses a placeholder", () => {
    const secretKeys = ["kestra-fleet:cloudflareApiToken", "kestra-fleet:acmeDnsApiToken", "kestra-fleet:gitCredentials"];
    const real = loadInputs({
      stack: "staging",
      stacks: ["prod", "staging"],
      config: runtimeConfig(
        { "kestra-fleet:cloudflareApiToken": "t", "kestra-fleet:acmeDnsApiToken": "t", "kestra-fleet:gitCredentials": JSON.stringify({ acme: { token: "ghp_example" }, ghost: { token: "x" } }) },
        secretKeys,
      ),
      tenantsDir: tenantsDir({ "acme.yaml": tokenTenant }),
    });
    expect(real.ok).toBe(true);
    if (real.ok) {
      expect(real.inputs.gitCredentials.acme).toEqual({ token: "ghp_example" });
      expect(real.inputs.warnings).toContain('kestra-fleet:gitCredentials.ghost: no tenant of stack staging is named "ghost"; the credential is unused');
    }
    const offline = loadInputs({ stack: "staging", stacks: ["prod", "staging"], config: configFromStackFile(FIXTURE_ROOT, "staging"), tenantsDir: tenantsDir({ "acme.yaml": tokenTenant }) });
    expect(offline.ok && offline.inputs.gitCredentials.acme.token).toBe("offline-placeholder-for-gitCredentials.acme.token");
  });

  it("refuses an SSH key Kestra's git plugin cannot read, naming the stack key and how to make one", () => {
    const sshTenant = tenantYaml("acme", "git:\n  url: ssh://git@github.com/acme/flows.git\n  auth: ssh\n");
    const secretKeys = ["kestra-fleet:cloudflareApiToken", "kestra-fleet:acmeDnsApiToken", "kestra-fleet:gitCredentials"];
    const withKey = (sshKey: string) =>
      loadInputs({
        stack: "staging",
        stacks: ["prod", "staging"],
        config: runtimeConfig({ "kestra-fleet:cloudflareApiToken": "t", "kestra-fleet:acmeDnsApiToken": "t", "kestra-fleet:gitCredentials": JSON.stringify({ acme: { sshKey } }) }, secretKeys),
        tenantsDir: tenantsDir({ "acme.yaml": sshTenant }),
      });
    const openssh = withKey("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
    expect(openssh.ok).toBe(false);
    if (!openssh.ok) {
      const [msg, ...rest] = openssh.errors.map(formatDiagnostic);
      expect(rest).toEqual([]);
      expect(msg).toMatch(/ kestra-fleet:gitCredentials\.acme\.sshKey: is a key in the OpenSSH format: /);
      expect(msg).toContain("`ssh-keygen -t ecdsa -b 256 -m PEM -f kestra_deploy_key`");
      expect(msg).toContain("`pulumi config set --secret --path 'kestra-fleet:gitCredentials.acme.sshKey' --stack staging < kestra_deploy_key`");
      expect(msg).not.toContain("b3BlbnNzaC1rZXktdjEAAAAA");
    }
    const pem = withKey("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIabc\n-----END EC PRIVATE KEY-----\n");
    expect(pem.ok).toBe(true);
  });

  it("deploys a tenant only to the stacks its environments name", () => {
    const files = { "aaa.yaml": tenantYaml("aaa", "environments: [prod]\n"), "bbb.yaml": tenantYaml("bbb") };
    const r = loadInputs({ stack: "staging", stacks: ["prod", "staging"], config: configFromStackFile(FIXTURE_ROOT, "staging"), tenantsDir: tenantsDir(files) });
    expect(r.ok && r.inputs.tenants.map((t) => t.name)).toEqual(["bbb"]);
  });
});

describe("plan warnings", () => {
  const tenant = (name: string, access: Record<string, unknown> = {}) =>
    TenantSchema.parse({ name, access: { emails: ["a@b.co"], ...access }, kestra: { adminEmail: "a@b.co" } });

  it("warns when tenants sit two levels under the zone without an advanced certificate", () => {
    const w = edgeWarnings({ ...settings, hostPattern: "{tenant}.kestra.example.com" }, [tenant("acme")]);
    expect(w).toEqual([
      "kestra-fleet:hostPattern {tenant}.kestra.example.com puts tenants 2 levels under example.com: Cloudflare's Universal SSL does not cover them. " +
        "Order an Advanced Certificate for *.kestra.example.com and set kestra-fleet:advancedCertificate true, or use a flat pattern such as {tenant}-kestra.example.com.",
    ]);
    expect(edgeWarnings({ ...settings, hostPattern: "{tenant}.kestra.example.com", advancedCertificate: true }, [tenant("acme")])).toEqual([]);
    expect(edgeWarnings(settings, [tenant("acme")])).toEqual([]);
  });

  it("warns past Cloudflare's account limits", () => {
    // The fixture's monitoring stack adds one service token (the external probe) and one application (Grafana).
    expect(settings.monitoring.enabled).toBe(true);
    const many = Array.from({ length: 50 }, (_, i) => tenant(`t${String(i).padStart(3, "0")}`, { serviceToken: true }));
    expect(edgeWarnings(settings, many)).toEqual(["Cloudflare Access: this stack needs 51 service tokens, over the account limit of 50"]);
    expect(edgeWarnings({ ...settings, monitoring: { ...settings.monitoring, enabled: false } }, many)).toEqual([]);
    const apps = Array.from({ length: 250 }, (_, i) => tenant(`t${String(i).padStart(3, "0")}`, { webhooks: "public" }));
    expect(edgeWarnings(settings, apps)).toEqual(["Cloudflare Access: this stack needs 501 applications, over the account limit of 500"]);
  });
});

describe("inputs: derived names and Access rules within the limits of the services that receive them", () => {
  const long = "a" + "b".repeat(28) + "c"; // 30 characters, the longest tenant name
  const load = (files: Record<string, string>, mutate: (c: Record<string, any>) => void) =>
    loadInputs({ stack: "staging", stacks: ["prod", "staging"], config: configFromProjectWith(mutate), tenantsDir: tenantsDir(files) });
  const errorsOf = (r: ReturnType<typeof loadInputs>) => (r.ok ? [] : r.errors.map(formatDiagnostic));
  const aws = (prefix: string) => (c: Record<string, any>) => {
    c["kestra-fleet:storage"] = { provider: "aws", aws: { region: "eu-west-1", bucketPrefix: prefix } };
  };

  it("refuses a tenant whose AWS IAM user name would pass 64 characters, pointing at its name", () => {
    const r = load({ [`${long}.yaml`]: tenantYaml(long) }, aws("acme-operations-fleet-")); // 22-character prefix
    expect(errorsOf(r)).toEqual([
      `tenants/${long}.yaml:1:7 name: makes the AWS IAM user name "kestra-fleet-acme-operations-fleet-kestra-${long}" 72 characters long, over the limit of 64: a tenant name of at most 22 characters fits with storage.aws.bucketPrefix as set for this stack`,
    ]);
    // The same tenant with a short prefix, and a 22-character tenant with the long prefix, fit.
    expect(errorsOf(load({ [`${long}.yaml`]: tenantYaml(long) }, aws("ops-")))).toEqual([]);
    const fits = long.slice(0, 21) + "z";
    expect(errorsOf(load({ [`${fits}.yaml`]: tenantYaml(fits) }, aws("acme-operations-fleet-")))).toEqual([]);
  });

  it("refuses a host name label past 63 characters: on the tenant name, or on hostPattern when no tenant name fits", () => {
    const pattern = (p: string) => (c: Record<string, any>) => {
      c["kestra-fleet:hostPattern"] = p;
    };
    const r = load({ [`${long}.yaml`]: tenantYaml(long) }, pattern("{tenant}-kestra-staging-environment-euwest.example.com"));
    expect(errorsOf(r)).toEqual([
      `tenants/${long}.yaml:1:7 name: makes the DNS label "${long}-kestra-staging-environment-euwest" 64 characters long, over the limit of 63: a tenant name of at most 29 characters fits with hostPattern as set for this stack`,
    ]);
    // When even a 3-character tenant name overflows, the stack config key is at fault (the pure
    // check, given a pattern the config schema would already refuse).
    const t = TenantSchema.parse({ name: "acme", access: { emails: ["a@b.co"] }, kestra: { adminEmail: "a@b.co" } });
    const tooLong = "{tenant}-" + "x".repeat(60) + ".example.com";
    expect(nameLimitProblems(t, { ...settings, hostPattern: tooLong }, "staging")).toEqual([
      {
        at: { configKey: "hostPattern", path: [] },
        message: `gives the DNS label "abc-${"x".repeat(60)}" (64 characters) even for a 3-character tenant name, over the limit of 63`,
      },
    ]);
  });

  it("refuses an ssh tenant whose passphrase secret name would pass Swarm's 64 characters", () => {
    const name = long.slice(0, 26); // kestra_<26>_git_ssh_passphrase_<12 hex> = 65
    const text = tenantYaml(name, "git:\n  url: git@github.com:acme/flows.git\n  auth: ssh\n");
    expect(errorsOf(load({ [`${name}.yaml`]: text }, () => {}))).toEqual([
      expect.stringMatching(new RegExp(`^tenants/${name}\\.yaml:1:7 name: makes the Swarm secret or config name "kestra_${name}_git_ssh_passphrase_0{12}" 65 characters long, over the limit of 64: a tenant name of at most 25 characters fits$`)),
    ]);
  });

  it("refuses a tenant whose Access policy, with the platform admins, passes 1,000 include rules", () => {
    const emails = Array.from({ length: 1000 }, (_, i) => `u${i}@acme.example.com`);
    const text = `name: acme\naccess:\n  emails: [${emails.join(", ")}]\nkestra:\n  adminEmail: admin@acme.example.com\n`;
    expect(errorsOf(load({ "acme.yaml": text }, () => {}))).toEqual([
      "tenants/acme.yaml:2:1 access: gives 1001 include rules with the platform admins (kestra-fleet:cloudflare.admins), over the 1000 one Cloudflare Access policy takes",
    ]);
  });
});

/** The fixture project's staging config with `mutate` applied to its `config` map, read as a stack file. */
function configFromProjectWith(mutate: (c: Record<string, any>) => void) {
  return configFromStackFile(projectWithConfig("staging", mutate), "staging");
}

describe("the credentials pulumi up will need", () => {
  const files = {
    "acme.yaml": tokenTenant,
    "beta.yaml": tenantYaml("beta", "git:\n  url: git@github.com:beta/flows.git\n  auth: ssh\n"),
    "gamma.yaml": tenantYaml("gamma", "environments: [prod]\ngit:\n  url: https://github.com/gamma/flows.git\n  auth: token\n"),
    "delta.yaml": tenantYaml("delta", "git:\n  url: https://github.com/delta/flows.git\n"),
  };
  const credentials = (configText: string) => {
    const dir = tmpDir("kf-cred-");
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), configText);
    const r = loadInputs({ stack: "staging", stacks: ["prod", "staging"], config: configFromStackFile(dir, "staging"), tenantsDir: tenantsDir(files) });
    if (!r.ok) throw new Error(r.errors.map(formatDiagnostic).join("\n"));
    return r.inputs.notices.filter((n) => n.kind === "credential");
  };
  const staging = fs.readFileSync(path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "utf8");

  it("names each missing one, per tenant, with the exact command", () => {
    expect(credentials(staging)).toEqual([
      {
        kind: "credential", stack: "staging", tenant: null, key: "kestra-fleet:cloudflareApiToken",
        command: "pulumi config set --secret --path 'kestra-fleet:cloudflareApiToken' --stack staging",
        message: "pulumi up of stack staging needs the Cloudflare API token of the Pulumi provider (DNS edit, Access apps and policies, service tokens) (kestra-fleet:cloudflareApiToken), not in Pulumi.staging.yaml: pulumi config set --secret --path 'kestra-fleet:cloudflareApiToken' --stack staging",
      },
      expect.objectContaining({ tenant: null, key: "kestra-fleet:acmeDnsApiToken" }),
      expect.objectContaining({ tenant: null, key: "kestra-fleet:backupEscrowPassphrase" }),
      expect.objectContaining({ tenant: null, key: "kestra-fleet:backupTargetUser" }),
      expect.objectContaining({ tenant: null, key: "kestra-fleet:backupTargetPassword" }),
      expect.objectContaining({ tenant: "acme", key: "kestra-fleet:gitCredentials.acme.token", command: "pulumi config set --secret --path 'kestra-fleet:gitCredentials.acme.token' --stack staging" }),
      expect.objectContaining({ tenant: "beta", key: "kestra-fleet:gitCredentials.beta.sshKey", command: "pulumi config set --secret --path 'kestra-fleet:gitCredentials.beta.sshKey' --stack staging < kestra_deploy_key" }),
    ]);
  });

  it("the ones the stack file holds (encrypted) are not asked for; managed Postgres adds its password", () => {
    const held = staging + "  kestra-fleet:cloudflareApiToken:\n    secure: AAABAKBx7dZ8\n  kestra-fleet:gitCredentials:\n    acme:\n      token:\n        secure: AAABAJ1kq2\n";
    expect(credentials(held).map((c) => c.key)).toEqual([
      "kestra-fleet:acmeDnsApiToken", "kestra-fleet:backupEscrowPassphrase", "kestra-fleet:backupTargetUser", "kestra-fleet:backupTargetPassword", "kestra-fleet:gitCredentials.beta.sshKey",
    ]);
    const managed = staging + "  kestra-fleet:managedPostgres:\n    host: db.internal\n    username: fleet\n";
    expect(credentials(managed).map((c) => c.key)).toContain("kestra-fleet:managedPostgresPassword");
    const webhook = staging.replace(/      receiver: email\n(      .*\n)*?(?=  kestra-fleet:)/, "      receiver: webhook\n");
    expect(credentials(webhook).map((c) => c.key)).toContain("kestra-fleet:alertReceiverSecret");
    expect(credentials(staging).map((c) => c.key)).not.toContain("kestra-fleet:alertReceiverSecret"); // e-mail without an SMTP user
  });
});

describe("one round of errors", () => {
  it("schema errors and the checks across files come together, from every file", () => {
    const r = loadInputs({
      stack: "staging",
      stacks: ["prod", "staging"],
      config: configFromStackFile(FIXTURE_ROOT, "staging"),
      tenantsDir: tenantsDir({
        // schema error + wrong file name + unknown node, all in one file
        "acme.yaml": tenantYaml("acmee", "postgres:\n  node: swarm-node-7\nkestra2: {}\n"),
        // schema error + managed without a server
        "beta.yaml": tenantYaml("beta", "postgres:\n  mode: managed\n").replace("access:", "acess:"),
        // valid file, cross-file error only
        "gamma.yaml": tenantYaml("gamma", "postgres:\n  node: swarm-node-9\n"),
      }),
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatDiagnostic).sort()).toEqual([
      'tenants/acme.yaml:1:7 name: is "acmee" but the file is acme.yaml: they must be equal',
      'tenants/acme.yaml:7:9 postgres.node: node "swarm-node-7" is not in kestra-fleet:swarm.nodes of stack staging',
      "tenants/acme.yaml:8:1 kestra2: unknown key (did you mean \"kestra\"?)",
      "tenants/beta.yaml:1:1 access: is required",
      'tenants/beta.yaml:2:1 acess: unknown key (did you mean "access"?)',
      "tenants/beta.yaml:7:9 postgres.mode: managed needs kestra-fleet:managedPostgres in the config of stack staging",
      'tenants/gamma.yaml:7:9 postgres.node: node "swarm-node-9" is not in kestra-fleet:swarm.nodes of stack staging',
    ]);
  });

  it("an invalid stack config does not hide the tenant files' node errors", () => {
    const staging = fs.readFileSync(path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "utf8").replace("hostPattern:", "hostPatern:");
    const dir = tmpDir("kf-round-");
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), staging);
    const r = loadInputs({ stack: "staging", stacks: ["prod", "staging"], config: configFromStackFile(dir, "staging"), tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme", "postgres:\n  node: swarm-node-7\n") }) });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.field).sort()).toEqual(["kestra-fleet:hostPatern", "kestra-fleet:hostPattern", "postgres.node"]);
  });
});
