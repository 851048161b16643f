/** Tenant lifecycle and backups, under the offline plan (Pulumi mocks + policy pack). */
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan, PlanResource } from "../../infra/plan/run";
import { byName, labelsOf, ofType, planOk, SERVICE, tenantResources, tenantsDir, tenantYaml, VOLUME } from "../helpers";

const files = (status: string) => ({ "acme.yaml": tenantYaml("acme", `status: ${status}\n`), "zeta.yaml": tenantYaml("zeta", "  workers: 1\n") });
const plans: Record<string, Plan> = {};
beforeAll(async () => {
  for (const s of ["active", "suspended", "offboarded"]) plans[s] = await planOk({ stack: "staging", tenantsDir: tenantsDir(files(s)) });
}, 120_000);

const replicas = (r: PlanResource) => (r.inputs as any).mode.replicated.replicas;
const kestraOf = (p: Plan, t: string) => ofType(p, SERVICE).filter((s) => labelsOf(s)["kestra-fleet.tenant"] === t && ["web", "backend", "worker"].includes(labelsOf(s)["kestra-fleet.role"]));
const urns = (p: Plan, t: string, pred: (r: PlanResource) => boolean) => tenantResources(p, t).filter(pred).map((r) => r.urn).sort();
const kept = (r: PlanResource) =>
  ["random:index/randomPassword:RandomPassword", "random:index/randomBytes:RandomBytes", VOLUME, "minio:index/s3Bucket:S3Bucket", "minio:index/iamUser:IamUser"].includes(r.type) ||
  (r.type === SERVICE && ["postgres", "backup"].includes(labelsOf(r)["kestra-fleet.role"]));

describe("tenant lifecycle", () => {
  it("every status passes the policy pack", () => {
    for (const p of Object.values(plans)) expect(p.violations.filter((v) => v.level === "mandatory")).toEqual([]);
  });
  it("suspended: every Kestra service at 0 replicas; Postgres, backups, DNS and Access stay", () => {
    const p = plans.suspended;
    expect(kestraOf(p, "acme").map(replicas)).toEqual([0, 0]);
    expect(replicas(byName(p, "acme-postgres"))).toBe(1);
    expect(replicas(byName(p, "acme-backup"))).toBe(1);
    expect(tenantResources(p, "acme").filter((r) => r.type.startsWith("cloudflare:")).length).toBe(tenantResources(plans.active, "acme").filter((r) => r.type.startsWith("cloudflare:")).length);
    expect(kestraOf(p, "zeta").map(replicas).sort()).toEqual([1, 1, 1]);
  });
  it("offboarded: no Kestra service, DNS, Access or routing; database, volume, bucket, credentials, keys and backups kept with the same URNs", () => {
    const p = plans.offboarded;
    expect(kestraOf(p, "acme")).toEqual([]);
    expect(tenantResources(p, "acme").filter((r) => r.type.startsWith("cloudflare:"))).toEqual([]);
    expect(ofType(p, SERVICE).some((s) => Object.keys(labelsOf(s)).some((k) => k.includes("routers.kestra-acme")))).toBe(false);
    expect(urns(p, "acme", kept)).toEqual(urns(plans.active, "acme", kept));
    expect(urns(p, "acme", kept).length).toBeGreaterThanOrEqual(7);
    expect(byName(p, "acme-pg18-volume@swarm-node-1").options).toMatchObject({ protect: true, retainOnDelete: true });
    expect(labelsOf(byName(p, "acme-backup"))["kestra-fleet.status"]).toBe("offboarded");
    // The escrow object and the dump key stay too.
    expect(p.resources.some((r) => r.name === "backup-acme-escrow")).toBe(true);
  });
  it("every status has a gateway labelled with it (Prometheus relabels by it); an offboarded tenant's forwards its backup's metrics only, on its private network and net_monitoring", () => {
    for (const status of ["active", "suspended", "offboarded"]) {
      expect(labelsOf(byName(plans[status], "acme-gateway", SERVICE))["kestra-fleet.status"], status).toBe(status);
      expect(labelsOf(byName(plans[status], "zeta-gateway", SERVICE))["kestra-fleet.status"], status).toBe("active");
    }
    const g = byName(plans.offboarded, "acme-gateway", SERVICE);
    const spec = (g.inputs as any).taskSpec;
    // One forward (socat is the process itself): 8083 -> the backup's metrics port. No Kestra, no MinIO.
    expect(spec.containerSpec.args).toEqual(["tcp-listen:8083,fork,reuseaddr", "tcp-connect:kestra_acme_backup:9180"]);
    const nets = spec.networksAdvanceds.map((x: any) => plans.offboarded.resources.find((r) => r.id === x.id)!.inputs.name);
    expect(nets).toEqual(["net_acme_private", "net_monitoring"]);
    // Same URN as the active tenant's gateway: going offboarded updates it, never replaces it.
    expect(g.urn).toBe(byName(plans.active, "acme-gateway", SERVICE).urn);
  });
});

describe("backups", () => {
  const p = () => plans.active;
  it("one backup service per tenant on its private network only, secrets as files, no socket", () => {
    for (const t of ["acme", "zeta"]) {
      const s = byName(p(), `${t}-backup`);
      const spec = (s.inputs as any).taskSpec;
      expect(s.inputs.name).toBe(`kestra_${t}_backup`);
      expect(spec.networksAdvanceds).toHaveLength(1);
      expect(p().resources.find((r) => r.id === spec.networksAdvanceds[0].id)!.inputs.name).toBe(`net_${t}_private`);
      expect(spec.containerSpec.mounts ?? []).toEqual([]);
      expect(Object.keys(spec.containerSpec.env).filter((k) => /KEY|PASSWORD/.test(k)).every((k) => k.endsWith("_FILE"))).toBe(true);
      expect(spec.containerSpec.env).toMatchObject({ S3_PREFIX: `staging/postgres/${t}/`, BACKUP_INTERVAL_SECONDS: "21600", PGHOST: "postgres" });
      expect(spec.containerSpec.secrets.map((x: any) => x.fileName).sort()).toEqual(["/run/secrets/backup_s3_credentials", "/run/secrets/pg_password"]);
      // The database password is the tenant's Postgres secret itself (no copy); the key is one file.
      const pgMount = spec.containerSpec.secrets.find((x: any) => x.fileName === "/run/secrets/pg_password");
      expect(pgMount.secretId).toBe(byName(p(), `${t}-pg-password-secret`).id);
      expect(p().resources.some((r) => r.name === `${t}-backup-pg-password`)).toBe(false);
      expect(spec.containerSpec.env.S3_CREDENTIALS_FILE).toBe("/run/secrets/backup_s3_credentials");
      expect(spec.containerSpec.env).not.toHaveProperty("S3_ACCESS_KEY_FILE");
      expect(spec.containerSpec.healthcheck.tests).toEqual(["CMD", "/bin/sh", "/usr/local/bin/kestra-fleet-backup.sh", "health"]);
    }
  });
  it("the backup bucket is protected; its lifecycle expires no current object (the script prunes dumps), replaced versions after retentionDays", () => {
    expect(byName(p(), "backup-bucket").options).toMatchObject({ protect: true, retainOnDelete: true });
    const rules = (byName(p(), "backup-bucket-lifecycle").inputs as any).rules;
    // One rule per kind, none per tenant: adding a tenant leaves the lifecycle as it is.
    expect(rules.map((r: any) => [r.id, r.filter])).toEqual([["staging-postgres", "staging/postgres/"], ["staging-bucket", "staging/bucket/"], ["staging-escrow", "staging/escrow/"]]);
    // No expiry of current dumps: an outage longer than retentionDays must not leave nothing to restore.
    expect(rules[0].expiration).toBeUndefined();
    expect(rules[0]).toMatchObject({ noncurrentVersionExpirationDays: 30 });
    for (const t of ["acme", "zeta"].filter((x) => p().tenants.includes(x))) {
      const env = (byName(p(), `${t}-backup`).inputs as any).taskSpec.containerSpec.env;
      expect(env).toMatchObject({ BACKUP_RETENTION_DAYS: "30", BACKUP_KEEP_LAST: "7" });
      const policy = JSON.parse(byName(p(), `backup-${t}-policy`).inputs.policy as string);
      expect(policy.Statement.find((s: any) => s.Sid === "PruneOwnDumps").Resource).toEqual([`arn:aws:s3:::kestra-fleet-backups-staging/staging/postgres/${t}/*`]);
    }
    expect(rules[1].expiration).toBeUndefined();
  });
  it("the mirror discovers the tenant buckets (kestra-*, read-only) and writes bucket/<t>/ without delete; nothing in it names a tenant", () => {
    const m = byName(p(), "backup-mirror");
    expect((m.inputs as any).taskSpec.containerSpec.env.MIRROR_BUCKETS).toBeUndefined();
    expect((m.inputs as any).taskSpec.containerSpec.env.MIRROR_BUCKET_PREFIX).toBe("kestra-");
    const source = JSON.parse(byName(p(), "backup-mirror-source-policy").inputs.policy as string);
    expect(source.Statement.map((s: any) => [s.Action, s.Resource])).toEqual([
      [["s3:GetBucketLocation", "s3:ListBucket"], ["arn:aws:s3:::kestra-*"]],
      [["s3:GetObject"], ["arn:aws:s3:::kestra-*/*"]],
    ]);
    for (const name of ["backup-mirror", "backup-mirror-source-policy", "backup--mirror-policy", "backup-bucket-lifecycle"]) {
      expect(JSON.stringify(byName(p(), name).inputs), name).not.toMatch(/acme|zeta/);
    }
    const policy = JSON.parse(byName(p(), "backup--mirror-policy").inputs.policy as string);
    expect(JSON.stringify(policy)).not.toMatch(/"s3:Delete[^"]*"\]?,?[^D]*"Effect":"Allow"/);
    expect(byName(p(), "backup--mirror-policy").inputs.name).toBe("backup.staging.-mirror");
    expect(byName(p(), "backup--mirror-user").inputs.name).toBe("backup-staging--mirror");
    expect(policy.Statement[2].Resource).toEqual(["arn:aws:s3:::kestra-fleet-backups-staging/staging/bucket/*"]);
    expect((m.inputs as any).taskSpec.containerSpec.env.S3_PREFIX).toBe("staging/bucket/");
    // Per-tenant mirror metrics for Prometheus, on the monitoring network (besides MinIO's storage network).
    expect((m.inputs as any).taskSpec.containerSpec.env.BACKUP_METRICS_PORT).toBe("9181");
    expect((m.inputs as any).taskSpec.networksAdvanceds.map((n: any) => n.id)).toContain(byName(p(), "monitoring-network").id);
  });
});
