import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FIXTURE_ROOT, REPO_ROOT as ROOT, tmpDir } from "../../files-root";
import { tenantsDir, tenantYaml } from "../../files";

/** `plan` without blocking the test worker (a blocked worker misses vitest's RPC deadlines under load). */
function plan(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "infra/plan/cli.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run plan", () => {
  it("--json prints one JSON document with the documented shape, nothing else on stdout; --out writes artifacts", async () => {
    const out = tmpDir("kf-out-");
    const r = await plan("--stack", "staging", "--config", path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "--tenants", path.join(FIXTURE_ROOT, "tenants"), "--json", "--out", out);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(["stack", "tenants", "resources", "outputs", "warnings", "violations", "capacity"]);
    expect(Object.keys(doc.capacity)).toEqual(["currency", "nodes", "tenants", "totals", "unplaced"]);
    expect(Object.keys(doc.capacity.nodes[0])).toEqual(["name", "cpus", "memoryGb", "reservedCpus", "reservedMemoryGb", "pinnedCpus", "pinnedMemoryGb", "monthlyCost", "headroom"]);
    expect(doc.capacity.tenants.map((t: { name: string; node: string }) => [t.name, t.node])).toEqual([["acme", "swarm-node-1"], ["globex", "swarm-node-2"], ["initech", "swarm-node-1"]]);
    const res = doc.resources[0];
    expect(Object.keys(res)).toEqual(["urn", "type", "name", "id", "parent", "provider", "inputs", "options"]);
    expect(Object.keys(res.options)).toEqual(["protect", "retainOnDelete", "deleteBeforeReplace", "ignoreChanges", "dependsOn"]);
    // ignoreChanges is recorded (sorted): every network ignores the options Docker adds.
    const networks = doc.resources.filter((x: any) => x.type === "docker:index/network:Network");
    expect(networks.length).toBeGreaterThan(0);
    for (const n of networks) expect(n.options.ignoreChanges, n.name).toEqual(["options"]);
    expect(doc.resources.find((x: any) => x.name === "acme-kestra").options.ignoreChanges).toEqual([]);
    expect(r.stdout).not.toContain("offline-placeholder");
    // Warnings are objects: the credentials pulumi up needs name the tenant, the key and the command.
    expect(doc.warnings.every((w: { kind: string; message: string }) => ["general", "placeholder", "credential"].includes(w.kind) && typeof w.message === "string")).toBe(true);
    expect(doc.warnings).toContainEqual(expect.objectContaining({
      kind: "credential", stack: "staging", tenant: "globex", key: "kestra-fleet:gitCredentials.globex.sshKey",
      command: "pulumi config set --secret --path 'kestra-fleet:gitCredentials.globex.sshKey' --stack staging < kestra_deploy_key",
    }));
    // Artifacts: each tenant's rendered files, secrets masked.
    const cfg = parse(fs.readFileSync(path.join(out, "acme", "application.yml"), "utf8"));
    expect(cfg.kestra.url).toBe("https://acme-kestra-staging.example.com/");
    expect(cfg.kestra.server["basic-auth"].password).toBe("[secret]");
    // Monitoring is on in the fixture: the management port's scrape credential shows, masked, as deployed.
    expect(cfg.endpoints.all).toEqual({ port: 8081, sensitive: false, "basic-auth": { username: "prometheus", password: "[secret]" } });
    expect(fs.existsSync(path.join(out, "acme", "flows", "admin", "git-sync-flows.yaml"))).toBe(true);
    expect(fs.existsSync(path.join(out, "initech", "flows"))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(out, "globex", "storage-policy.json"), "utf8")).Statement).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(path.join(out, "globex", "access.json"), "utf8")).webhookBypass).toHaveLength(2);
    expect(parse(fs.readFileSync(path.join(out, "globex", "stack.yml"), "utf8")).services.executor.image).toBe("kestra/kestra:v1.3.37");
    expect(fs.existsSync(path.join(out, "platform_proxy.yml"))).toBe(true);
  });

  it("--format csv prints the per-tenant cost table only", async () => {
    const args = ["--stack", "staging", "--config", path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "--tenants", path.join(FIXTURE_ROOT, "tenants")];
    const csv = await plan(...args, "--format", "csv");
    expect(csv.code).toBe(0);
    const rows = csv.stdout.trimEnd().split("\n").map((l) => l.split(","));
    expect(rows[0]).toEqual(["tenant", "cpus", "memory_gb", "node", "share", "direct_cost", "monthly_cost", "currency"]);
    expect(rows.slice(1).map((r) => [r[0], r[3], r[7]])).toEqual([["acme", "swarm-node-1", "EUR"], ["globex", "swarm-node-2", "EUR"], ["initech", "swarm-node-1", "EUR"]]);
    // Fully loaded costs add up to the cluster's monthly price (105 in the fixture), to the cent.
    expect(Math.abs(rows.slice(1).reduce((s, r) => s + Number(r[6]), 0) - 105)).toBeLessThanOrEqual(0.02);
    expect((await plan(...args, "--format", "xml")).code).toBe(2);
  });

  it("on a bad tenant file: the error list on stderr, nothing on stdout, exit 1", async () => {
    const dir = tenantsDir({ "acme.yaml": tenantYaml("acme").replace("access:", "acess:") });
    const r = await plan("--stack", "staging", "--config", path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "--tenants", dir, "--json");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${dir}/acme.yaml:2:1 acess: unknown key (did you mean "access"?)`);
    expect(r.stderr.trim().split("\n")).toEqual([`${dir}/acme.yaml:1:1 access: is required`, `${dir}/acme.yaml:2:1 acess: unknown key (did you mean "access"?)`]);
  });

  it("on hostile input (an alias bomb): one error line, nothing on stdout, exit 1, no stack trace, quickly", async () => {
    let bomb = `name: acme\nlol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n`;
    let prev = "a";
    for (const n of "bcdefghi") {
      bomb += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
      prev = n;
    }
    const dir = tenantsDir({ "acme.yaml": bomb, "beta.yaml": tenantYaml("beta") });
    const start = Date.now();
    const r = await plan("--stack", "staging", "--config", path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "--tenants", dir);
    const seconds = (Date.now() - start) / 1000;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/\n\s+at |Error:|plan failed/);
    expect(r.stderr.trim().split("\n")).toEqual([
      `${dir}/acme.yaml:2:6 lol: YAML anchors and aliases are not accepted, found an anchor (&name): write each value out in full`,
    ]);
    // The whole CLI, ts-node start included (3 s idle, 20 s on the shared 2-core machine under load);
    // the loader-level test holds the bomb to under a second; an expanded bomb runs out of memory.
    expect(seconds).toBeLessThan(60);
  });

  it("--urns prints a tenant's protected resources with their engine URNs", async () => {
    const config = path.join(FIXTURE_ROOT, "Pulumi.prod.yaml");
    const r = await plan("--stack", "prod", "--config", config, "--tenants", path.join(FIXTURE_ROOT, "tenants"), "--urns", "acme", "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.stack).toBe("prod");
    expect(doc.tenant).toBe("acme");
    expect(doc.protected.map((p: { urn: string }) => p.urn)).toContain(
      "urn:pulumi:prod::kestra-fleet::kestra-fleet:stacks:TenantStack$kestra-fleet:stacks:TenantBucket$minio:index/s3Bucket:S3Bucket::acme-bucket",
    );
  });
});
