import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../infra/plan/run";
import { dbConnectionLimit, PROFILES } from "../../infra/model/profiles";
import { byName, labelsOf, ofType, planOk, projectWithConfig, SERVICE } from "../helpers";

const spec = (r: { inputs: any }) => r.inputs.taskSpec;
const plans: Record<string, Plan> = {};
beforeAll(async () => {
  plans.staging = await planOk({ stack: "staging" });
  plans.prod = await planOk({ stack: "prod" });
});

describe("ProxyStack", () => {
  it("Traefik: pinned v3.6 security release, no socket, host-mode 80/443, swarm provider through the socket proxy, on a manager, no secret in env", () => {
    const plan = plans.prod;
    const t = byName(plan, "proxy-traefik");
    const c = spec(t).containerSpec;
    expect(c.image).toBe("traefik:v3.6.25@sha256:31267173a15b4944e797a76ffd9c419707c8d8b32fe5b610f80cd0cfa05f372d");
    expect(c.mounts).toEqual([{ type: "volume", source: "traefik_acme", target: "/letsencrypt" }]);
    expect(c.args).toContain("--providers.swarm.endpoint=tcp://platform_proxy_socket_proxy:2375");
    expect(c.args.filter((a: string) => a.includes("docker.sock"))).toEqual([]);
    expect(t.inputs.endpointSpec).toEqual({
      mode: "vip",
      ports: [
        { name: "web", targetPort: 80, publishedPort: 80, publishMode: "host", protocol: "tcp" },
        { name: "websecure", targetPort: 443, publishedPort: 443, publishMode: "host", protocol: "tcp" },
      ],
    });
    expect(c.args).toContain("--providers.swarm.exposedByDefault=false");
    expect(spec(t).placement.constraints).toEqual(["node.role == manager", "node.hostname == swarm-manager-1"]);
    expect(c.env).toEqual({ CLOUDFLARE_DNS_API_TOKEN_FILE: "/run/secrets/cloudflare_dns_api_token" });
    expect(c.secrets.map((s: any) => s.fileName)).toEqual(["/run/secrets/cloudflare_dns_api_token", "/run/secrets/traefik_metrics_users"]);
    expect(c.healthcheck.tests).toEqual(["CMD", "traefik", "healthcheck", "--ping"]);
    expect(spec(t).resources.limits.memoryBytes).toBeGreaterThan(0);
    const acme = byName(plan, "proxy-acme-volume@swarm-manager-1");
    expect(acme.options).toMatchObject({ protect: true, retainOnDelete: true });
    expect(acme.provider).toMatch(/swarm-node-swarm-manager-1$/);
    expect(byName(plan, "proxy-public-network").inputs).toMatchObject({ name: "network_swarm_public", driver: "overlay", attachable: true });
  });
});

describe("Docker socket proxy", () => {
  it("alone mounts the socket, read-only; allows only the swarm provider's read calls; pinned beside Traefik on a manager", () => {
    const plan = plans.prod;
    const p = byName(plan, "proxy-socket-proxy");
    const c = spec(p).containerSpec;
    expect(p.inputs.name).toBe("platform_proxy_socket_proxy");
    expect(labelsOf(p)).toEqual({ "com.docker.stack.namespace": "platform_proxy", "kestra-fleet.role": "socket-proxy" });
    expect(c.image).toBe("wollomatic/socket-proxy:1.13.1@sha256:3935b709275e4ec35d6ed5a5c4a1f0d01ed31eec5e7234efc3357ecd47689002");
    expect(c.mounts).toEqual([{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }]);
    expect(c).toMatchObject({ user: "0:0", capDrops: ["ALL"], readOnly: true });
    expect(c.args).toEqual(expect.arrayContaining([
      "-listenip=0.0.0.0",
      "-allowfrom=tasks.platform_proxy_traefik",
      "-allowGET=(/v1\\.[0-9]+)?/(_ping|version|services|networks|tasks)",
      "-allowHEAD=(/v1\\.[0-9]+)?/_ping",
      "-allowhealthcheck",
    ]));
    // No other method is allowed at all.
    expect(c.args.filter((a: string) => /^-allow(POST|PUT|PATCH|DELETE|CONNECT|TRACE|OPTIONS)/i.test(a))).toEqual([]);
    expect(c.healthcheck.tests).toEqual(["CMD", "/healthcheck"]);
    expect(spec(p).placement.constraints).toEqual(["node.role == manager", "node.hostname == swarm-manager-1"]);
    expect(p.inputs.endpointSpec).toEqual({ mode: "vip" }); // nothing published
    const net = byName(plan, "proxy-docker-api-network");
    expect(net.inputs).toMatchObject({ name: "net_proxy_docker_api", driver: "overlay", internal: true, attachable: false });
    // On that network: the proxy and Traefik, nothing else.
    const onNet = ofType(plan, SERVICE).filter((s) => (spec(s).networksAdvanceds as { id: string }[]).some((n) => n.id === net.id));
    expect(onNet.map((s) => s.name).sort()).toEqual(["proxy-socket-proxy", "proxy-traefik"]);
    expect((spec(p).networksAdvanceds as { id: string }[]).map((n) => n.id)).toEqual([net.id]);
    // Only the socket proxies (Traefik's, Prometheus's) and cAdvisor (on a network shared with Prometheus only) mount a socket.
    const holders = ofType(plan, SERVICE).filter((s) => JSON.stringify(spec(s).containerSpec.mounts ?? []).includes("docker.sock"));
    expect(holders.map((s) => s.name).sort()).toEqual(["monitoring-cadvisor", "monitoring-socket-proxy", "proxy-socket-proxy"]);
  });

  it("the allow-list admits the swarm provider's calls and refuses the rest", () => {
    const c = spec(byName(plans.prod, "proxy-socket-proxy")).containerSpec;
    const pattern = (flag: string) => new RegExp(`^${c.args.find((a: string) => a.startsWith(`-${flag}=`)).slice(flag.length + 2)}$`);
    const get = pattern("allowGET");
    for (const ok of ["/_ping", "/version", "/v1.51/services", "/v1.24/networks", "/v1.44/tasks"]) expect(get.test(ok), ok).toBe(true);
    for (const no of ["/v1.51/containers/json", "/v1.51/services/abc", "/secrets", "/v1.51/configs", "/nodes", "/info", "/events", "/v1.51/exec/x/json", "/v1.51/services/../secrets"]) expect(get.test(no), no).toBe(false);
    expect(pattern("allowHEAD").test("/_ping")).toBe(true);
  });
});

describe("StorageStack (minio)", () => {
  it("MinIO: root credentials as secret files mounted exactly where the *_FILE variables point", () => {
    const plan = plans.staging;
    const m = byName(plan, "storage-minio");
    const c = spec(m).containerSpec;
    const mounted = new Set(c.secrets.map((s: any) => s.fileName));
    for (const [k, v] of Object.entries(c.env as Record<string, string>)) if (k.endsWith("_FILE")) expect(mounted.has(v), k).toBe(true);
    expect(c.env.MINIO_ROOT_USER_FILE).toBe("/run/secrets/minio_root_user");
    expect(c.env.MINIO_ROOT_PASSWORD_FILE).toBe("/run/secrets/minio_root_password");
    expect(c.args).toEqual(["server", "/data", "--console-address", ":9001"]);
    expect(c.healthcheck.tests).toEqual(["CMD", "mc", "ready", "local"]);
    expect(spec(m).placement.constraints).toEqual(["node.hostname == swarm-node-1"]);
    expect(m.inputs.mode).toEqual({ replicated: { replicas: 1 } });
    expect(byName(plan, "storage-minio-volume@swarm-node-1").options).toMatchObject({ protect: true, retainOnDelete: true });
  });

  it("MinIO is on net_storage (alias minio) and, for its routed admin API only, on the public network", () => {
    const plan = plans.staging;
    const m = byName(plan, "storage-minio");
    const nets = spec(m).networksAdvanceds.map((n: any) => ({ name: plan.resources.find((r) => r.id === n.id)!.inputs.name, aliases: n.aliases }));
    expect(nets).toEqual([{ name: "net_storage", aliases: ["minio"] }, { name: "network_swarm_public", aliases: undefined }]);
    const labels = labelsOf(m);
    expect(labels["traefik.http.routers.platform-storage-admin.rule"]).toBe("Host(`s3-staging.example.com`)");
    expect(labels["traefik.http.routers.platform-storage-admin.middlewares"]).toBe("storage-admin-allowlist@file");
    expect(labels["traefik.http.services.platform-storage-admin.loadbalancer.server.port"]).toBe("9000");
    expect(Object.values(labels)).not.toContain("9001");
    const dns = byName(plan, "storage-admin-dns-0").inputs;
    expect(dns).toMatchObject({ name: "s3-staging.example.com", proxied: false });
  });

  it("per tenant: a protected versioned bucket and its own user, attached to the one policy naming the user's own bucket", () => {
    const plan = plans.staging;
    for (const t of plan.tenants) {
      const bucket = byName(plan, `${t}-bucket`);
      expect(bucket.inputs).toEqual({ bucket: `kestra-${t}`, forceDestroy: false });
      expect(bucket.options).toMatchObject({ protect: true, retainOnDelete: true });
      expect(byName(plan, `${t}-bucket-versioning`).inputs).toMatchObject({ versioningConfiguration: { status: "Enabled" } });
      expect(byName(plan, `${t}-bucket-lifecycle`).inputs).toMatchObject({ rules: [{ noncurrentVersionExpirationDays: 30, status: "Enabled" }] });
      // The bucket outlives its tenant: so do its versioning (protected like it) and lifecycle.
      expect(byName(plan, `${t}-bucket-versioning`).options).toMatchObject({ protect: true, retainOnDelete: true });
      expect(byName(plan, `${t}-bucket-lifecycle`).options).toMatchObject({ retainOnDelete: true });
      expect(byName(plan, `${t}-storage-user`).inputs).toMatchObject({ name: `kestra-${t}` });
      expect(plan.resources.some((r) => r.name === `${t}-storage-policy`)).toBe(false);
      expect(byName(plan, `${t}-storage-policy-attachment`).inputs).toEqual({ userName: `kestra-${t}`, policyName: "kestra.own-bucket" });
    }
    // One policy for every tenant: the bucket named like the user, MinIO's ${aws:username}.
    const shared = byName(plan, "storage-own-bucket-policy");
    expect(shared.parent).toMatch(/kestra-fleet:stacks:StorageStack::storage$/);
    const policy = JSON.parse(shared.inputs.policy as string);
    expect(policy.Statement.flatMap((s: any) => s.Resource).sort()).toEqual(["arn:aws:s3:::${aws:username}", "arn:aws:s3:::${aws:username}/*"]);
  });
});

describe("StorageStack (aws)", () => {
  it("declares no MinIO and one AWS bucket, user, key and policy per tenant", async () => {
    const root = projectWithConfig("prod", (c) => {
      c["kestra-fleet:storage"] = { provider: "aws", noncurrentVersionDays: 14, aws: { region: "eu-west-1", bucketPrefix: "acme-ops-" } };
    });
    const plan = await planOk({ stack: "prod", projectRoot: root });
    expect(plan.resources.filter((r) => r.type.startsWith("minio:") || r.type === "pulumi:providers:minio")).toEqual([]);
    expect(plan.resources.some((r) => r.name === "storage-minio" || r.name === "storage-network")).toBe(false);
    for (const t of plan.tenants) {
      const b = byName(plan, `${t}-bucket`);
      expect(b.type).toBe("aws:s3/bucket:Bucket");
      expect(b.inputs).toMatchObject({ bucket: `acme-ops-kestra-${t}`, forceDestroy: false });
      expect(b.options).toMatchObject({ protect: true, retainOnDelete: true });
      expect(byName(plan, `${t}-bucket-public-access`).inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
      expect(byName(plan, `${t}-bucket-encryption`).type).toBe("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
      expect(byName(plan, `${t}-bucket-lifecycle`).inputs).toMatchObject({ rules: [{ noncurrentVersionExpiration: { noncurrentDays: 14 } }] });
      // A retained bucket stays versioned and private after its tenant is removed.
      expect(byName(plan, `${t}-bucket-versioning`).options).toMatchObject({ protect: true, retainOnDelete: true });
      expect(byName(plan, `${t}-bucket-public-access`).options).toMatchObject({ protect: true, retainOnDelete: true });
      expect(byName(plan, `${t}-bucket-encryption`).options).toMatchObject({ retainOnDelete: true });
      expect(byName(plan, `${t}-bucket-lifecycle`).options).toMatchObject({ retainOnDelete: true });
      expect(byName(plan, `${t}-storage-user`).type).toBe("aws:iam/user:User");
      expect(byName(plan, `${t}-storage-key`).type).toBe("aws:iam/accessKey:AccessKey");
      const policy = byName(plan, `${t}-storage-policy`);
      expect(policy.inputs.name).toBe(`acme-ops-kestra-${t}`);
      expect(JSON.parse(policy.inputs.policy as string).Statement.flatMap((s: any) => s.Resource).sort()).toEqual([`arn:aws:s3:::acme-ops-kestra-${t}`, `arn:aws:s3:::acme-ops-kestra-${t}/*`]);
      // Kestra services need no storage network.
      const nets = spec(byName(plan, `${t}-executor`)).networksAdvanceds.map((n: any) => plan.resources.find((r) => r.id === n.id)!.inputs.name);
      expect(nets).toEqual([`net_${t}_private`]);
    }
    expect(plan.violations).toEqual([]);
  });
});

describe("managed Postgres", () => {
  it("creates a role and a protected database on the managed server and no Postgres service or volume", async () => {
    const root = projectWithConfig("prod", (c) => {
      c["kestra-fleet:managedPostgres"] = { host: "db.example.com", port: 5432, username: "pulumi_admin", sslmode: "require" };
    });
    const fs = await import("fs");
    const path = await import("path");
    const f = path.join(root, "tenants", "acme.yaml");
    fs.writeFileSync(f, fs.readFileSync(f, "utf8") + "postgres:\n  mode: managed\n");
    const plan = await planOk({ stack: "prod", projectRoot: root });
    expect(plan.resources.some((r) => r.name === "acme-postgres" || r.name.startsWith("acme-pg18-volume"))).toBe(false);
    expect(byName(plan, "acme-db-role").inputs).toMatchObject({ name: "kestra_acme", login: true, password: "[secret]" });
    // A connection limit from the tenant's profile: its Kestra JVMs' pools (web and backend, one rollout
    // overlap) plus the reserve, for the fixture's acme (no dedicated workers).
    expect(byName(plan, "acme-db-role").inputs.connectionLimit).toBe(dbConnectionLimit(PROFILES.small, 0));
    expect(dbConnectionLimit(PROFILES.small, 0)).toBe(35);
    expect(dbConnectionLimit(PROFILES.small, 2)).toBe(65);
    // PUBLIC (every role of the shared server, other tenants included) loses CONNECT and TEMPORARY on the database.
    const revoke = byName(plan, "acme-db-revoke-public");
    expect(revoke.type).toBe("postgresql:index/grant:Grant");
    expect(revoke.inputs).toEqual({ database: "kestra_acme", role: "public", objectType: "database", privileges: [] });
    expect(ofType(plan, "postgresql:index/grant:Grant")).toHaveLength(1);
    const db = byName(plan, "acme-db");
    expect(db.inputs).toMatchObject({ name: "kestra_acme", owner: "kestra_acme" });
    expect(db.options).toMatchObject({ protect: true, retainOnDelete: true });
    expect(byName(plan, "managed-postgres").inputs).toMatchObject({ host: "db.example.com", password: "[secret]" });
    // globex stays on its container Postgres.
    expect(byName(plan, "globex-postgres").type).toBe(SERVICE);
    expect(ofType(plan, "postgresql:index/database:Database")).toHaveLength(1);
    expect(plan.violations).toEqual([]);
  });
});

describe("Docker providers", () => {
  it("skip the daemon check at configure: the pull-request preview runs without the Swarm SSH key (README, CI)", () => {
    const providers = ofType(plans.prod, "pulumi:providers:docker");
    expect(providers.map((p) => p.name).sort()).toContain("swarm-manager");
    for (const p of providers) expect(p.inputs, p.name).toMatchObject({ disableDockerDaemonCheck: "true" }) // provider inputs travel as strings;
  });
});
