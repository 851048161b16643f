import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { planExitCode } from "../../../infra/plan/cli";
import { formatPlan } from "../../../infra/plan/report";
import { runPlan, type Plan } from "../../../infra/plan/run";
import { byName, fixturePlan, fixtureTenants, labelsOf, NETWORK, ofType, planOk, SERVICE, tenantResources, tenantsDir, tenantYaml, VOLUME, SECRET, CONFIG } from "../../helpers";

const stacks = ["staging", "prod"] as const;
const plans: Record<string, Plan> = {};
beforeAll(async () => {
  for (const stack of stacks) plans[stack] = await planOk({ stack });
});

/** The exact resource set of a tenant: type → logical names. */
/** The tenant's resources by type; its backup key and escrow (on the stack's backup target) apart. */
function resourceSet(plan: Awaited<ReturnType<typeof planOk>>, tenant: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of tenantResources(plan, tenant)) if (!r.name.startsWith(`backup-${tenant}-`)) (out[r.type] ??= []).push(r.name);
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

describe("the whole program under mocks, both stacks", () => {
  for (const stack of stacks) {
    it(`${stack}: every deployed tenant gets exactly its resources`, () => {
      const plan = plans[stack];
      expect(plan.tenants).toEqual(stack === "staging" ? ["acme", "globex", "initech"] : ["acme", "globex"]);
      // staging backs up to a MinIO-compatible target, prod to AWS S3: the tenant's key and escrow there.
      const backupKey = tenantResources(plan, "acme").filter((r) => r.name.startsWith("backup-acme-")).map((r) => `${r.type} ${r.name}`).sort();
      expect(backupKey).toEqual(
        stack === "staging"
          ? ["minio:index/iamPolicy:IamPolicy backup-acme-policy", "minio:index/iamUser:IamUser backup-acme-user", "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment backup-acme-policy-attachment", "minio:index/s3Object:S3Object backup-acme-escrow"]
          : ["aws:iam/accessKey:AccessKey backup-acme-key", "aws:iam/policy:Policy backup-acme-policy", "aws:iam/user:User backup-acme-user", "aws:iam/userPolicyAttachment:UserPolicyAttachment backup-acme-policy-attachment", "aws:s3/bucketObjectv2:BucketObjectv2 backup-acme-escrow"],
      );
      expect(resourceSet(plan, "acme")).toEqual({
        "kestra-fleet:stacks:TenantStack": ["acme-tenant"],
        "kestra-fleet:stacks:TenantBucket": ["acme-storage"],
        "kestra-fleet:stacks:TenantEdge": ["acme-edge"],
        "kestra-fleet:stacks:TenantGateway": ["acme-gateway"],
        "kestra-fleet:stacks:TenantBackup": ["acme-backup"],
        [NETWORK]: ["acme-private-network"],
        [VOLUME]: ["acme-pg18-volume@swarm-node-1"],
        [SECRET]: ["acme-backup-credentials", "acme-kestra-config", "acme-management-netrc", "acme-pg-password-secret"],
        [CONFIG]: ["acme-git-sync-flow"],
        [SERVICE]: ["acme-backup", "acme-executor", "acme-gateway", "acme-kestra", "acme-postgres"],
        "random:index/randomPassword:RandomPassword": ["acme-admin-password", "acme-db-password"],
        "random:index/randomBytes:RandomBytes": ["acme-encryption-key"],
        "minio:index/s3Bucket:S3Bucket": ["acme-bucket"],
        "minio:index/s3BucketVersioning:S3BucketVersioning": ["acme-bucket-versioning"],
        "minio:index/ilmPolicy:IlmPolicy": ["acme-bucket-lifecycle"],
        "minio:index/iamUser:IamUser": ["acme-storage-user"],
        "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment": ["acme-storage-policy-attachment"],
        "cloudflare:index/dnsRecord:DnsRecord": ["acme-dns-0"],
        "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy": ["acme-access-allow"],
        "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication": ["acme-access-app"],
      });
      // globex: 2 workers, ssh git, public webhooks, service token.
      const g = resourceSet(plan, "globex");
      expect(g[SERVICE]).toEqual(["globex-backup", "globex-executor", "globex-gateway", "globex-kestra", "globex-postgres", "globex-worker"]);
      expect(g[SECRET]).toEqual(["globex-backup-credentials", "globex-git-secret-git-ssh-key", "globex-kestra-config", "globex-management-netrc", "globex-pg-password-secret"]);
      expect(g["cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication"]).toEqual(["globex-access-app", "globex-access-webhook-app"]);
      expect(g["cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy"]).toEqual(["globex-access-allow", "globex-access-service-token", "globex-access-webhook-bypass"]);
      expect(g["cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken"]).toEqual(["globex-service-token"]);
      expect(byName(plan, "globex-worker").inputs.mode).toEqual({ replicated: { replicas: 2 } });
      // Docker names from the naming module.
      expect(byName(plan, "acme-postgres").inputs.name).toBe("kestra_acme_postgres");
      expect(byName(plan, "acme-kestra").inputs.name).toBe("kestra_acme_kestra");
      expect(byName(plan, "acme-executor").inputs.name).toBe("kestra_acme_executor");
      expect(byName(plan, "acme-private-network").inputs.name).toBe("net_acme_private");
      expect(byName(plan, "acme-pg18-volume@swarm-node-1").inputs.name).toBe("pg_acme_data");
      expect(byName(plan, "acme-bucket").inputs.bucket).toBe("kestra-acme");
      // The example fleet passes the policy pack.
      expect(plan.violations).toEqual([]);
    });
  }

  it("a tenant without git gets no flow, no ENV_GIT_SYNC_* and no --flow-path", () => {
    const plan = plans.staging;
    expect(plan.resources.some((r) => r.name === "initech-git-sync-flow")).toBe(false);
    const backend = byName(plan, "initech-executor").inputs as any;
    expect(Object.keys(backend.taskSpec.containerSpec.env)).toEqual(["JAVA_OPTS"]);
    expect(backend.taskSpec.containerSpec.args).not.toContain("--flow-path");
    expect(plan.resources.some((r) => r.name === "initech-worker")).toBe(false);
  });

  it("outputs what an operator needs per tenant, secrets masked", () => {
    const plan = plans.prod;
    const acme = (plan.outputs.tenants as any).acme;
    expect(acme).toMatchObject({ url: "https://acme-kestra.example.com/", adminEmail: "ana@acme.com", adminPassword: "[secret]", bucket: "kestra-acme" });
    expect(acme.services).toEqual({ backend: "kestra_acme_executor", backup: "kestra_acme_backup", gateway: "kestra_acme_gateway", postgres: "kestra_acme_postgres", web: "kestra_acme_kestra" });
    expect(acme.status).toBe("active");
    expect(plan.outputs.backup).toEqual({ bucket: "kestra-fleet-backups-prod", endpoint: "https://s3.eu-central-1.amazonaws.com", mirrorService: "platform_backup_mirror" });
    expect(acme.accessApplicationId).toBe(byName(plan, "acme-access-app").id);
    const globex = (plan.outputs.tenants as any).globex;
    expect(globex.serviceTokenClientId).toMatch(/\.access$/);
    expect(globex.serviceTokenClientSecret).toBe("[secret]");
    expect(acme.serviceTokenClientId).toBeUndefined();
  });
});

describe("stable plans", () => {
  it("two plans of the same input are byte-identical", async () => {
    expect(JSON.stringify(await planOk({ stack: "staging" }))).toBe(JSON.stringify(plans.staging));
  });

  it("the readable plan lists each tenant's resources, the global ones and a summary", () => {
    const text = formatPlan(plans.prod);
    expect(text).toMatch(/^Plan for stack prod: 2 tenant\(s\)/);
    expect(text).toContain("Tenant acme (");
    expect(text).toMatch(/\+ docker:index\/volume:Volume +acme-pg18-volume@swarm-node-1 {2}\(pg_acme_data\) {2}\[protect,retain\]/);
    expect(text).toMatch(/\+ docker:index\/network:Network +acme-private-network {2}\(net_acme_private\) {2}\[ignore:options\]/);
    expect(text).toContain("Global (");
    // The fixture's documentation values and the credentials pulumi up needs are warnings.
    expect(text).toContain("\nWarnings:\n  ! Pulumi.prod.yaml:");
    expect(text).toContain("  ! pulumi up of stack prod needs tenant globex's git SSH private key (PEM) (kestra-fleet:gitCredentials.globex.sshKey), not in Pulumi.prod.yaml: pulumi config set --secret --path 'kestra-fleet:gitCredentials.globex.sshKey' --stack prod < kestra_deploy_key\n");
    expect(text).toMatch(new RegExp(`\nSummary: \\d+ resources \\(\\d+ custom\\) for 2 tenant\\(s\\); ${plans.prod.warnings.length} warning\\(s\\); 0 mandatory and 0 advisory policy violation\\(s\\)\\.\n$`));
  });

  it("resources are sorted by URN and mocked ids are unique and follow references", () => {
    const plan = plans.staging;
    const urns = plan.resources.map((r) => r.urn);
    expect([...urns].sort()).toEqual(urns);
    const ids = plan.resources.filter((r) => r.id).map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const web = byName(plan, "acme-kestra").inputs as any;
    const networkNames = web.taskSpec.networksAdvanceds.map((n: any) => plan.resources.find((r) => r.id === n.id)?.inputs.name);
    expect(networkNames).toEqual(["net_acme_private", "network_swarm_public"]);
  });

  it("adding a tenant file leaves every other tenant's resources byte-identical", async () => {
    const files = fixtureTenants();
    const before = await planOk({ stack: "staging", tenantsDir: tenantsDir(files) });
    const after = await planOk({ stack: "staging", tenantsDir: tenantsDir({ ...files, "zeta.yaml": tenantYaml("zeta") }) });
    expect(after.tenants).toContain("zeta");
    for (const t of before.tenants) expect(JSON.stringify(tenantResources(after, t))).toBe(JSON.stringify(tenantResources(before, t)));
    // And the shared MinIO service is not touched by onboarding.
    expect(JSON.stringify(byName(after, "storage-minio"))).toBe(JSON.stringify(byName(before, "storage-minio")));
    expect(JSON.stringify(byName(after, "proxy-traefik"))).toBe(JSON.stringify(byName(before, "proxy-traefik")));
  });

  it("removing a tenant file leaves every other tenant's resources (edge included) unchanged", async () => {
    const files = fixtureTenants();
    const before = await planOk({ stack: "staging", tenantsDir: tenantsDir(files) });
    const { ["globex.yaml"]: _removed, ...rest } = files;
    const after = await planOk({ stack: "staging", tenantsDir: tenantsDir(rest) });
    expect(after.tenants).toEqual(["acme", "initech"]);
    for (const t of after.tenants) expect(JSON.stringify(tenantResources(after, t))).toBe(JSON.stringify(tenantResources(before, t)));
  });

  it("changing one tenant's size changes only that tenant's resources", async () => {
    const files = fixtureTenants();
    const before = await planOk({ stack: "staging", tenantsDir: tenantsDir(files) });
    const after = await planOk({ stack: "staging", tenantsDir: tenantsDir({ ...files, "acme.yaml": files["acme.yaml"].replace("size: small", "size: large") }) });
    const changed = after.resources.filter((r) => JSON.stringify(r) !== JSON.stringify(before.resources.find((b) => b.urn === r.urn))).map((r) => r.name);
    expect(changed.sort()).toEqual(["acme-executor", "acme-kestra", "acme-postgres"]);
  });
});

describe("edge per tenant", () => {
  it("each Access policy holds exactly the tenant's identities plus the admins, and no other tenant's", () => {
    const plan = plans.staging;
    expect(byName(plan, "acme-access-allow").inputs.includes).toEqual([
      { email: { email: "ana@acme.com" } },
      { email: { email: "ops@example.com" } },
      { emailDomain: { domain: "acme.com" } },
    ]);
    expect(byName(plan, "globex-access-allow").inputs.includes).toEqual([
      { email: { email: "hank@globex.com" } },
      { email: { email: "ops@example.com" } },
      { group: { id: "6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d" } },
    ]);
    expect(byName(plan, "initech-access-allow").inputs.includes).toEqual([{ email: { email: "ops@example.com" } }, { emailDomain: { domain: "initech.com" } }]);
    for (const t of plan.tenants) {
      const app = byName(plan, `${t}-access-app`).inputs as any;
      expect(app).toMatchObject({ type: "self_hosted", domain: `${t}-kestra-staging.example.com` });
      expect(app.policies[0]).toEqual({ id: byName(plan, `${t}-access-allow`).id, precedence: 1 });
      expect(byName(plan, `${t}-dns-0`).inputs).toMatchObject({ name: `${t}-kestra-staging.example.com`, type: "A", content: "203.0.113.10", proxied: true, ttl: 1 });
    }
  });

  it("the webhook bypass exists only for tenants that ask, only on the webhook paths", () => {
    const plan = plans.staging;
    const bypass = ofType(plan, "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy").filter((p) => p.inputs.decision === "bypass");
    expect(bypass.map((p) => p.name)).toEqual(["globex-access-webhook-bypass"]);
    const app = byName(plan, "globex-access-webhook-app").inputs as any;
    expect(app.domain).toBe("globex-kestra-staging.example.com/api/v1/main/executions/webhook/*");
    expect(app.destinations).toEqual([
      { type: "public", uri: "globex-kestra-staging.example.com/api/v1/main/executions/webhook/*" },
      { type: "public", uri: "globex-kestra-staging.example.com/api/v1/executions/webhook/*" },
    ]);
    expect(app.policies).toEqual([{ id: bypass[0].id, precedence: 1 }]);
    // The service token is admitted by a non_identity policy on the host application.
    const host = byName(plan, "globex-access-app").inputs as any;
    const service = byName(plan, "globex-access-service-token");
    expect(service.inputs).toMatchObject({ decision: "non_identity", includes: [{ serviceToken: { tokenId: byName(plan, "globex-service-token").id } }] });
    // Then the monitoring stack's external probe (non_identity, its own service token).
    expect(host.policies).toEqual([
      { id: byName(plan, "globex-access-allow").id, precedence: 1 },
      { id: service.id, precedence: 2 },
      { id: byName(plan, "monitoring-probe-policy").id, precedence: 3 },
    ]);
  });
});

describe("secrets in the plan", () => {
  it("--show-secrets reveals the mocked values (never real ones), and the Kestra config parses back", async () => {
    const doc = await planOk({ stack: "staging", showSecrets: true });
    const config = (name: string) => parse(Buffer.from(byName(doc, name).inputs.data as string, "base64").toString("utf8"));
    const cfg = config("acme-kestra-config");
    expect(cfg.kestra.server["basic-auth"].username).toBe("ana@acme.com");
    expect(cfg.kestra.server["basic-auth"].password).toMatch(/^(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9]).{8,}$/);
    expect(cfg.kestra.storage.minio.bucket).toBe("kestra-acme");
    expect(Buffer.from(cfg.kestra.encryption["secret-key"], "base64")).toHaveLength(32);
    // Each tenant has its own key and credentials.
    const globex = config("globex-kestra-config");
    expect(globex.kestra.encryption["secret-key"]).not.toBe(cfg.kestra.encryption["secret-key"]);
    expect(globex.datasources.postgres.password).not.toBe(cfg.datasources.postgres.password);
    expect(JSON.stringify(doc)).not.toContain("[secret]");
  });

  it("without it, every secret input and output is masked", () => {
    expect(byName(plans.staging, "acme-kestra-config").inputs.data).toBe("[secret]");
    expect(byName(plans.staging, "proxy-dns-token").inputs.data).toBe("[secret]");
    expect(JSON.stringify(plans.staging)).not.toContain("offline-placeholder");
  });
});

describe("plan exit code", () => {
  it("is 1 with a mandatory violation, 0 with advisory ones only", () => {
    expect(planExitCode([])).toBe(0);
    expect(planExitCode([{ level: "advisory" }])).toBe(0);
    expect(planExitCode([{ level: "advisory" }, { level: "mandatory" }])).toBe(1);
  });
});

describe("bad input stops the plan before the first resource", () => {
  it("returns every problem and declares nothing", async () => {
    const r = await fixturePlan({ stack: "staging", tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme").replace("access:", "acess:") }), tenantsDisplay: "tenants" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.field}`)).toEqual(["tenants/acme.yaml:1:1 access", "tenants/acme.yaml:2:1 acess"]);
  });

  it("refuses a tenant whose data node has no Docker endpoint in the stack", async () => {
    const r = await fixturePlan({ stack: "prod", tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme", "postgres:\n  node: swarm-node-7\n") }), tenantsDisplay: "tenants" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.field}: ${e.message}`)).toEqual([
      'tenants/acme.yaml:7:9 postgres.node: node "swarm-node-7" is not in kestra-fleet:swarm.nodes of stack prod',
    ]);
  });

  it("refuses managed Postgres when the stack has no managed server", async () => {
    const r = await fixturePlan({ stack: "prod", tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme", "postgres:\n  mode: managed\n") }), tenantsDisplay: "tenants" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0].message).toBe("managed needs kestra-fleet:managedPostgres in the config of stack prod");
  });

  it("an unknown stack is an error", async () => {
    const r = await fixturePlan({ stack: "qa" });
    expect(r.ok).toBe(false);
  });
});
