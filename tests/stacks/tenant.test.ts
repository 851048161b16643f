import { beforeAll, describe, expect, it } from "vitest";
import type { Plan, PlanResource } from "../../infra/plan/run";
import { parse } from "yaml";
import { ENTRYPOINT_PATH, ENTRYPOINT_SCRIPT } from "../../infra/render/entrypoint";
import { byName, fixtureTenants, labelsOf, NETWORK, ofType, planOk, SERVICE, tenantsDir } from "../helpers";

let plan: Plan;
beforeAll(async () => {
  plan = await planOk({ stack: "staging" });
});

const spec = (r: PlanResource) => (r.inputs as any).taskSpec;
const networksOf = (r: PlanResource) => (spec(r).networksAdvanceds as { id: string }[]).map((n) => plan.resources.find((x) => x.id === n.id)!.inputs.name);
const tenantServices = () => ofType(plan, SERVICE).filter((s) => labelsOf(s)["kestra-fleet.tenant"]);

describe("TenantStack services", () => {
  it("network membership: Postgres private only; backend and workers never public; web the only public one; only the gateway on net_storage and net_monitoring", () => {
    for (const s of tenantServices()) {
      const t = labelsOf(s)["kestra-fleet.tenant"];
      const role = labelsOf(s)["kestra-fleet.role"];
      const nets = networksOf(s);
      // No tenant service on another tenant's private network.
      for (const n of nets) if (/^net_.*_private$/.test(n as string)) expect(n).toBe(`net_${t}_private`);
      if (role === "postgres") expect(nets).toEqual([`net_${t}_private`]);
      if (role === "backend" || role === "worker") expect(nets).toEqual([`net_${t}_private`]);
      if (role === "web") expect(nets).toEqual([`net_${t}_private`, "network_swarm_public"]);
      if (role === "gateway") expect(nets).toEqual([`net_${t}_private`, "net_storage", "net_monitoring"]);
    }
  });

  it("gateway: one per tenant, alias minio on the private network only, forwarding to MinIO's service name and the tenant's own management ports", () => {
    const gateways = tenantServices().filter((s) => labelsOf(s)["kestra-fleet.role"] === "gateway");
    expect(gateways.map((g) => g.inputs.name).sort()).toEqual(["kestra_acme_gateway", "kestra_globex_gateway", "kestra_initech_gateway"]);
    const g = byName(plan, "acme-gateway", SERVICE);
    const s = spec(g);
    // The lifecycle status: Prometheus relabels by it (README, Alerts by lifecycle status).
    expect(labelsOf(g)).toEqual({ "com.docker.stack.namespace": "kestra_acme", "kestra-fleet.role": "gateway", "kestra-fleet.status": "active", "kestra-fleet.tenant": "acme" });
    expect(s.containerSpec.image).toBe("alpine/socat:1.8.0.3@sha256:beb4a68d9e4fe6b0f21ea774a0fde6c31f580dde6368939ed70100c5385b015e");
    // Not `minio`: inside the gateway that alias may resolve to the gateway itself.
    expect(s.containerSpec.commands).toEqual(["/bin/sh", "-c"]);
    expect(s.containerSpec.args).toEqual([
      "socat tcp-listen:8081,fork,reuseaddr tcp-connect:kestra_acme_executor:8081 & socat tcp-listen:8082,fork,reuseaddr tcp-connect:kestra_acme_kestra:8081" +
        " & socat tcp-listen:8083,fork,reuseaddr tcp-connect:kestra_acme_backup:9180 & socat tcp-listen:9000,fork,reuseaddr tcp-connect:platform_storage_minio:9000 & wait",
    ]);
    expect(s.networksAdvanceds.map((n: any) => n.aliases)).toEqual([["minio"], undefined, undefined]);
    expect(s.containerSpec.healthcheck.tests[0]).toBe("CMD-SHELL");
    expect(s.containerSpec).toMatchObject({ user: "65534:65534", capDrops: ["ALL"], readOnly: true });
    expect(s.resources.limits.memoryBytes).toBeGreaterThan(0);
    expect(s.restartPolicy.condition).toBe("any");
    expect(g.parent).toMatch(/kestra-fleet:stacks:TenantStack\$kestra-fleet:stacks:TenantGateway::acme-gateway$/);
  });

  it("adding a tenant changes nothing shared: MinIO, its network and the proxy keep their inputs", async () => {
    const files = fixtureTenants();
    delete files["initech.yaml"];
    const fewer = await planOk({ stack: "staging", tenantsDir: tenantsDir(files) });
    expect(fewer.tenants).not.toContain("initech");
    for (const name of ["storage-minio", "storage-network", "proxy-traefik", "proxy-public-network", "proxy-socket-proxy"]) {
      expect(byName(fewer, name).inputs, name).toEqual(byName(plan, name).inputs);
    }
  });

  it("private networks are overlay, not attachable, encrypted as configured", () => {
    const n = byName(plan, "acme-private-network").inputs;
    expect(n).toMatchObject({ driver: "overlay", attachable: false, options: { encrypted: "" } });
  });

  it("Postgres: one replica pinned to its data node, password from a secret file, alias postgres", () => {
    const pg = byName(plan, "globex-postgres");
    const s = spec(pg);
    expect(pg.inputs.mode).toEqual({ replicated: { replicas: 1 } });
    expect(s.placement.constraints).toEqual(["node.hostname == swarm-node-2"]);
    expect(spec(byName(plan, "acme-postgres")).placement.constraints).toEqual(["node.hostname == swarm-node-1"]);
    expect(s.containerSpec.env).toEqual({ POSTGRES_USER: "kestra_globex", POSTGRES_DB: "kestra_globex", POSTGRES_PASSWORD_FILE: "/run/secrets/postgres_password" });
    expect(s.containerSpec.secrets.map((x: any) => x.fileName)).toEqual(["/run/secrets/postgres_password"]);
    // The recovery-aware script (infra/render/postgres.ts; run against a real PostgreSQL in tests/infra/render/postgres-health.test.ts).
    expect(s.containerSpec.healthcheck.tests[0]).toBe("CMD-SHELL");
    expect(s.containerSpec.healthcheck.tests[1]).toContain("pg_isready -q -h 127.0.0.1 -U 'kestra_globex' -d 'kestra_globex'");
    expect(s.containerSpec.healthcheck.startPeriod).toBe("120s");
    expect(s.containerSpec.stopGracePeriod).toBe("120s");
    expect(pg.inputs.updateConfig).toMatchObject({ order: "stop-first" });
    expect(s.networksAdvanceds[0].aliases).toEqual(["postgres"]);
    expect(s.containerSpec.mounts).toEqual([
      { type: "volume", source: "pg_globex_data", target: "/var/lib/postgresql" },
      { type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: 512 * 1024 * 1024 } },
    ]);
  });

  it("the Postgres volume is protected, retained and created on the data node", () => {
    const v = byName(plan, "globex-pg18-volume@swarm-node-2");
    expect(v.options).toMatchObject({ protect: true, retainOnDelete: true });
    expect(v.provider).toMatch(/pulumi:providers:docker::swarm-node-swarm-node-2$/);
  });

  it("web runs `server webserver`; backend `server standalone` with flows and worker threads, one replica, stop-first", () => {
    expect(spec(byName(plan, "acme-kestra")).containerSpec.args).toEqual(["server", "webserver", "--config", "/run/secrets/kestra_application.yml"]);
    const backend = byName(plan, "acme-executor");
    expect(spec(backend).containerSpec.args).toEqual(["server", "standalone", "--config", "/run/secrets/kestra_application.yml", "--worker-thread", "4", "--flow-path", "/app/flows"]);
    expect(backend.inputs.mode).toEqual({ replicated: { replicas: 1 } });
    expect(backend.inputs.updateConfig).toMatchObject({ order: "stop-first" });
    expect(spec(byName(plan, "globex-worker")).containerSpec.args).toEqual(["server", "worker", "--config", "/run/secrets/kestra_application.yml", "-t", "8"]);
  });

  it("every Kestra service: pinned image, health on 8081, limits, JVM heap under the limit, ~6 min grace, stack label", () => {
    for (const s of tenantServices().filter((x) => ["web", "backend", "worker"].includes(labelsOf(x)["kestra-fleet.role"]))) {
      const c = spec(s).containerSpec;
      expect(c.image).toBe("kestra/kestra:v1.3.37");
      // Monitoring is on in the fixture: /health needs the scrape credential, read from the netrc secret file.
      expect(c.healthcheck.tests).toEqual(["CMD", "curl", "-fsS", "--netrc-file", "/run/secrets/kestra_management_netrc", "-o", "/dev/null", "http://127.0.0.1:8081/health"]);
      expect(c.secrets.map((x: any) => x.fileName)).toContain("/run/secrets/kestra_management_netrc");
      expect(c.stopGracePeriod).toBe("6m");
      const limit = spec(s).resources.limits.memoryBytes / (1024 * 1024);
      const heap = Number(/-Xmx([0-9]+)m/.exec(c.env.JAVA_OPTS)![1]);
      expect(heap).toBeLessThan(limit);
      expect(spec(s).resources.reservation.nanoCpus).toBeGreaterThan(0);
      expect(spec(s).restartPolicy.condition).toBe("any");
      expect(labelsOf(s)["com.docker.stack.namespace"]).toBe(`kestra_${labelsOf(s)["kestra-fleet.tenant"]}`);
    }
  });

  it("the git-sync flow and credentials reach backend and workers alike; ENV_GIT_SYNC_* are the same", () => {
    const b = spec(byName(plan, "globex-executor")).containerSpec;
    const w = spec(byName(plan, "globex-worker")).containerSpec;
    expect(b.env).toMatchObject({
      ENV_GIT_SYNC_URL: "git@github.com:globex/kestra-flows.git",
      ENV_GIT_SYNC_BRANCH: "release",
      ENV_GIT_SYNC_DIRECTORY: "flows",
      ENV_GIT_SYNC_TARGET_NAMESPACE: "globex",
    });
    const gitEnv = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("ENV_GIT_SYNC_")));
    expect(gitEnv(w.env)).toEqual(gitEnv(b.env));
    expect(b.secrets.map((s: any) => s.fileName)).toEqual(["/run/secrets/kestra_application.yml", "/run/secrets/kestra_management_netrc", "/run/secrets/kestra_secret_GIT_SSH_KEY"]);
    expect(w.secrets).toEqual(b.secrets);
    expect(b.configs.map((c: any) => c.fileName)).toEqual(["/usr/local/bin/kestra-fleet-entrypoint.sh", "/app/flows/admin/git-sync-flows.yaml"]);
    // The web server needs neither.
    expect(spec(byName(plan, "globex-kestra")).containerSpec.secrets.map((s: any) => s.fileName)).toEqual(["/run/secrets/kestra_application.yml", "/run/secrets/kestra_management_netrc"]);
  });

  it("every tenant's Kestra services mount the one shared entry-point config (platform_kestra), read-only and executable", () => {
    const shared = byName(plan, "kestra-entrypoint");
    expect(shared.type).toBe("docker:index/serviceConfig:ServiceConfig");
    expect(shared.parent).toMatch(/kestra-fleet:stacks:KestraShared::kestra$/);
    expect(String(shared.inputs.name)).toMatch(/^platform_kestra_entrypoint_[0-9a-f]{12}$/);
    expect(Buffer.from(String(shared.inputs.data), "base64").toString("utf8")).toBe(ENTRYPOINT_SCRIPT);
    const kestra = tenantServices().filter((s) => ["web", "backend", "worker"].includes(labelsOf(s)["kestra-fleet.role"]));
    expect(kestra.length).toBeGreaterThan(3);
    for (const k of kestra) {
      expect(spec(k).containerSpec.configs[0], k.name).toEqual({ configId: shared.id, configName: shared.inputs.name, fileName: ENTRYPOINT_PATH, fileMode: 0o555 });
    }
    expect(plan.resources.filter((r) => r.name.endsWith("-kestra-entrypoint"))).toEqual([]);
  });

  it("no service carries a secret: not in env, labels or args, and no Pulumi secret anywhere in a service spec", () => {
    const secretValues = ofType(plan, "random:index/randomPassword:RandomPassword").map((r) => r.name);
    expect(secretValues.length).toBeGreaterThan(0);
    for (const s of ofType(plan, SERVICE)) {
      const text = JSON.stringify(s.inputs);
      expect(text).not.toContain("[secret]");
      expect(text).not.toContain("offline-placeholder");
      expect(text).not.toMatch(/Aa1[A-Za-z0-9]{20,}/); // the shape of a mocked generated password
    }
  });

  it("Swarm secrets and configs are named by content hash and created before the old one is deleted", () => {
    for (const r of [...ofType(plan, "docker:index/secret:Secret"), ...ofType(plan, "docker:index/serviceConfig:ServiceConfig")]) {
      expect(r.inputs.name).toMatch(/_[0-9a-f]{12}$/);
      expect(r.options.deleteBeforeReplace).toBe(false);
      expect((r.inputs.name as string).length).toBeLessThanOrEqual(64);
    }
    expect(byName(plan, "acme-kestra-config").inputs.data).toBe("[secret]");
  });

  it("router labels only on the tenant's web service", () => {
    for (const s of tenantServices()) {
      const traefik = Object.keys(labelsOf(s)).filter((k) => k.startsWith("traefik."));
      if (labelsOf(s)["kestra-fleet.role"] === "web") expect(traefik.length).toBeGreaterThan(0);
      else expect(traefik).toEqual([]);
    }
  });

  it("one network per tenant plus the public, storage, Docker API and monitoring networks", () => {
    expect(ofType(plan, NETWORK).map((n) => n.inputs.name).sort()).toEqual([
      "net_acme_private",
      "net_globex_private",
      "net_initech_private",
      "net_monitoring",
      "net_monitoring_docker_api",
      "net_monitoring_egress",
      "net_monitoring_nodes",
      "net_monitoring_probe",
      "net_monitoring_probe_egress",
      "net_monitoring_proxy",
      "net_proxy_docker_api",
      "net_storage",
      "network_swarm_public",
    ]);
  });
});

describe("the tenant's encryption key", () => {
  it("is protected (a new key orphans every encrypted value in the tenant's database)", () => {
    for (const t of plan.tenants) {
      const key = byName(plan, `${t}-encryption-key`);
      expect(key.type).toBe("random:index/randomBytes:RandomBytes");
      expect(key.options.protect).toBe(true);
    }
  });

  it("is a secret stack output per tenant, equal to the key in the tenant's Kestra config", async () => {
    expect((plan.outputs.tenants as any).acme.encryptionKey).toBe("[secret]");
    const shown = await planOk({ stack: "staging", showSecrets: true });
    for (const t of shown.tenants) {
      const key = (shown.outputs.tenants as any)[t].encryptionKey as string;
      expect(Buffer.from(key, "base64")).toHaveLength(32);
      const config = parse(Buffer.from(byName(shown, `${t}-kestra-config`).inputs.data as string, "base64").toString("utf8"));
      expect(config.kestra.encryption["secret-key"]).toBe(key);
    }
  });
});
