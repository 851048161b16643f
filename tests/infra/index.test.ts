import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { configFromStackFile } from "../../infra/input/config/load";
import { installMocks } from "../../infra/plan/mocks";
import { FIXTURE_ROOT, FIXTURE_TENANTS } from "../files-root";

// The Pulumi entry point itself (infra/index.ts), run as the engine would: config from the runtime,
// secrets listed in PULUMI_CONFIG_SECRET_KEYS.
function engineConfig(secrets: Record<string, string>): { config: Record<string, string>; secretKeys: string[] } {
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(configFromStackFile(FIXTURE_ROOT, "staging").values)) config[`kestra-fleet:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  for (const [k, v] of Object.entries(secrets)) config[`kestra-fleet:${k}`] = v;
  return { config, secretKeys: Object.keys(secrets).map((k) => `kestra-fleet:${k}`) };
}

async function run(secrets: Record<string, string>) {
  const registrations = await installMocks("kestra-fleet", "staging");
  const { config, secretKeys } = engineConfig(secrets);
  pulumi.runtime.setAllConfig(config, secretKeys);
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(secretKeys);
  process.env.KESTRA_FLEET_TENANTS_DIR = FIXTURE_TENANTS;
  vi.resetModules();
  return { registrations, load: () => import("../../infra/index.js") };
}

afterEach(async () => {
  delete process.env.PULUMI_CONFIG_SECRET_KEYS;
  delete process.env.KESTRA_FLEET_TENANTS_DIR;
  await pulumi.runtime.disconnect();
});

describe("infra/index.ts under the engine's config", () => {
  it("declares the fleet and exports the operator outputs", async () => {
    const { registrations, load } = await run({
      cloudflareApiToken: "cf-token",
      acmeDnsApiToken: "Zq81-real-dns-token-value",
      backupEscrowPassphrase: "escrow-passphrase-0123456789",
      backupTargetUser: "backup-admin",
      backupTargetPassword: "Bk99-real-backup-admin-password",
      gitCredentials: JSON.stringify({ globex: { sshKey: "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIabc\n-----END EC PRIVATE KEY-----\n" } }),
    });
    const mod = await load();
    await pulumi.runtime.disconnect();
    expect(Object.keys(mod.tenants).sort()).toEqual(["acme", "globex", "initech"]);
    expect(mod.tenants.acme.url).toBe("https://acme-kestra-staging.example.com/");
    const names = [...registrations.values()].map((r) => r.name);
    expect(names).toContain("acme-postgres");
    expect(names).toContain("proxy-traefik");
    // The real token went into the Cloudflare provider as a secret, nowhere in plain text.
    const cf = [...registrations.values()].find((r) => r.type === "pulumi:providers:cloudflare")!;
    expect(JSON.stringify(cf.inputs)).toContain("1b47061264138c4ac30d75fd1eb44270");
    for (const r of registrations.values()) {
      if (r.type !== "docker:index/service:Service") continue;
      expect(JSON.stringify(r.inputs)).not.toContain("Zq81-real-dns-token-value");
      expect(JSON.stringify(r.inputs)).not.toContain("PRIVATE KEY");
      expect(JSON.stringify(r.inputs)).not.toContain("Bk99-real-backup-admin-password");
      expect(JSON.stringify(r.inputs)).not.toContain("escrow-passphrase-0123456789");
    }
    // The SSH key became a Swarm secret file of globex's backend and workers.
    const key = [...registrations.values()].find((r) => r.name === "globex-git-secret-git-ssh-key")!;
    expect(JSON.stringify(key.inputs.data)).toContain("1b47061264138c4ac30d75fd1eb44270");
  });

  it("refuses to declare anything when a required secret is missing, naming the key", async () => {
    const { registrations, load } = await run({ cloudflareApiToken: "cf-token" });
    await expect(load()).rejects.toThrow(/kestra-fleet:acmeDnsApiToken: is required: set it with `pulumi config set --secret --path 'kestra-fleet:acmeDnsApiToken' …`/);
    expect(registrations.size).toBe(0);
  });
});
