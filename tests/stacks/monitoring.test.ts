/**
 * The monitoring stack as the program declares it: on by default, discovered targets, nothing shared
 * changes when a tenant is added, Prometheus on no network with a Kestra service, stateful volumes
 * protected, credentials only in secret files; off, it leaves no trace.
 */
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../infra/plan/run";
import { tenantOf } from "../../infra/plan/report";
import { byName, labelsOf, NETWORK, ofType, planOk, projectWithConfig, SERVICE, tenantsDir, tenantYaml } from "../helpers";

const spec = (r: { inputs: any }) => r.inputs.taskSpec;
const netIds = (s: { inputs: any }) => (spec(s).networksAdvanceds as { id: string }[]).map((n) => n.id as string | null);
let two: Plan;
let three: Plan;
let shown: Plan;
beforeAll(async () => {
  two = await planOk({ stack: "staging", tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme"), "globex.yaml": tenantYaml("globex") }) });
  three = await planOk({ stack: "staging", tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme"), "globex.yaml": tenantYaml("globex"), "hooli.yaml": tenantYaml("hooli") }) });
  // The same fleet with its secrets shown (mocked values): Prometheus's configuration and the Kestra configs are secrets.
  shown = await planOk({ stack: "staging", tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme"), "globex.yaml": tenantYaml("globex"), "hooli.yaml": tenantYaml("hooli") }), showSecrets: true });
});

describe("MonitoringStack", () => {
  it("is on by default: Prometheus pinned, retention from config, volume protected and retained on the configured node", () => {
    const p = byName(three, "monitoring-prometheus");
    const c = spec(p).containerSpec;
    expect(c.image).toMatch(/^prom\/prometheus:v3\.5\.0@sha256:[0-9a-f]{64}$/);
    expect(c.args).toContain("--storage.tsdb.retention.time=30d");
    expect(spec(p).placement.constraints).toEqual(["node.hostname == swarm-node-2"]);
    expect(p.inputs.updateConfig).toMatchObject({ order: "stop-first" });
    for (const v of ["monitoring-prometheus-volume", "monitoring-alertmanager-volume"]) {
      expect(byName(three, v).options).toMatchObject({ protect: true, retainOnDelete: true });
      expect(byName(three, v).provider).toMatch(/swarm-node-swarm-node-2$/);
    }
    // Its configuration is a secret (every tenant's scrape credential); no stack-wide scrape password any more.
    expect(c.secrets.map((s: any) => s.fileName)).toEqual(["/run/secrets/prometheus.yml", "/run/secrets/traefik_metrics_password"]);
    expect(c.args).toContain("--config.file=/run/secrets/prometheus.yml");
    expect(c.env).toBeUndefined();
  });

  it("adding a tenant changes no shared resource but Prometheus's configuration (its scrape jobs): the rest is the new tenant's", () => {
    const prometheus = new Set(["monitoring-prometheus-config", "monitoring-prometheus"]);
    const shared = (plan: Plan) => {
      const owner = tenantOf(plan);
      return Object.fromEntries(plan.resources.filter((r) => !owner.get(r.urn) && !prometheus.has(r.name)).map((r) => [r.urn, r.inputs]));
    };
    expect(shared(three)).toEqual(shared(two));
    expect(byName(three, "monitoring-prometheus-config").inputs.name).not.toBe(byName(two, "monitoring-prometheus-config").inputs.name);
    const owner = tenantOf(three);
    expect(three.resources.filter((r) => owner.get(r.urn) === "hooli").map((r) => r.name)).toContain("hooli-gateway");
  });

  it("each tenant's management port takes its own scrape credential: tenant A's is not accepted by B's config, and Prometheus presents each only to its tenant", () => {
    const text = (r: { inputs: Record<string, unknown> }) => Buffer.from(String(r.inputs.data), "base64").toString("utf8");
    const kestraAuth = (t: string) => (parse(text(byName(shown, `${t}-kestra-config`))) as any).endpoints.all["basic-auth"];
    const netrc = (t: string) => text(byName(shown, `${t}-management-netrc`));
    const prom = parse(text(byName(shown, "monitoring-prometheus-config"))) as { scrape_configs: any[] };
    const tenants = ["acme", "globex", "hooli"];
    const passwords = tenants.map((t) => kestraAuth(t).password as string);
    expect(new Set(passwords).size).toBe(tenants.length);
    tenants.forEach((t, i) => {
      const own = passwords[i];
      expect(kestraAuth(t).username).toBe("prometheus");
      expect(own).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Nothing of this tenant holds another tenant's credential.
      for (const [j, other] of passwords.entries()) if (j !== i) {
        expect(text(byName(shown, `${t}-kestra-config`)), t).not.toContain(other);
        expect(netrc(t), t).not.toContain(other);
      }
      expect(netrc(t)).toBe(`machine 127.0.0.1 login prometheus password ${own}\n`);
      // Prometheus's jobs for this tenant present its password, to its own targets only.
      const jobs = prom.scrape_configs.filter((j) => j.basic_auth?.password === own);
      expect(jobs.map((j) => j.job_name).sort()).toEqual([`kestra-backend/${t}`, `kestra-web/${t}`]);
      for (const j of jobs) expect(j.relabel_configs).toContainEqual({ source_labels: ["__meta_dockerswarm_service_label_kestra_fleet_tenant"], regex: t, action: "keep" });
    });
    // The stack key the passwords derive from is in no service's secret: Prometheus holds the derived passwords only.
    const key = passwords.length && byName(shown, "monitoring-scrape-password");
    expect(key).toBeTruthy();
    // A web server shares the public overlay with every other tenant's: the management ports there differ by credential.
    const tenantNetrcNames = tenants.map((t) => byName(shown, `${t}-management-netrc`).inputs.name);
    expect(new Set(tenantNetrcNames).size).toBe(tenants.length);
  });

  it("Prometheus shares no network with any Kestra service; each gateway joins its own tenant's private network, net_storage and the monitoring network", () => {
    const services = ofType(three, SERVICE);
    const prom = netIds(byName(three, "monitoring-prometheus"));
    for (const s of services.filter((x) => ["web", "backend", "worker", "postgres"].includes(labelsOf(x)["kestra-fleet.role"]))) {
      expect(netIds(s).filter((id) => prom.includes(id)), s.name).toEqual([]);
    }
    const monitoring = byName(three, "monitoring-network");
    expect(monitoring.inputs).toMatchObject({ name: "net_monitoring", internal: true, attachable: false });
    for (const t of ["acme", "globex", "hooli"]) {
      const gateway = byName(three, `${t}-gateway`, SERVICE);
      expect(netIds(gateway)).toEqual([byName(three, `${t}-private-network`).id, byName(three, "storage-network").id, monitoring.id]);
      expect(labelsOf(gateway)).toMatchObject({ "kestra-fleet.role": "gateway", "kestra-fleet.tenant": t });
      expect(spec(gateway).containerSpec.args[0]).toContain(`tcp-connect:kestra_${t}_executor:8081`);
    }
  });

  it("Traefik joins the monitoring network and serves metrics on an unpublished entry point, behind basic auth only Prometheus holds", () => {
    const t = byName(three, "proxy-traefik");
    expect(netIds(t)).toContain(byName(three, "monitoring-network").id);
    expect(spec(t).containerSpec.args).toEqual(expect.arrayContaining(["--entryPoints.metrics.address=:8082", "--metrics.prometheus.manualRouting=true"]));
    expect((t.inputs as any).endpointSpec.ports.map((p: any) => p.publishedPort)).toEqual([80, 443]);
    // The users file (hashed password) is a secret of Traefik; the password a secret of Prometheus.
    const users = byName(three, "proxy-metrics-users");
    expect(spec(t).containerSpec.secrets).toContainEqual(expect.objectContaining({ secretId: users.id, fileName: "/run/secrets/traefik_metrics_users" }));
    const password = byName(three, "monitoring-traefik-metrics-password-secret");
    const prom = spec(byName(three, "monitoring-prometheus")).containerSpec;
    expect(prom.secrets).toContainEqual(expect.objectContaining({ secretId: password.id, fileName: "/run/secrets/traefik_metrics_password" }));
    const holders = ofType(three, SERVICE).filter((s) => (spec(s).containerSpec.secrets ?? []).some((m: any) => m.secretId === users.id || m.secretId === password.id));
    expect(holders.map((s) => s.name).sort()).toEqual(["monitoring-prometheus", "proxy-traefik"]);
    expect(JSON.stringify(spec(t).containerSpec.env ?? {})).not.toMatch(/SHA/);
  });

  it("net_monitoring_proxy: internal, not attachable, fixed subnet and its first host as gateway; Prometheus and Traefik alone; the traefik job scrapes there", () => {
    const net = byName(three, "monitoring-proxy-network");
    expect(net.inputs).toMatchObject({ name: "net_monitoring_proxy", driver: "overlay", internal: true, attachable: false, ipamConfigs: [{ subnet: "10.254.254.0/26", gateway: "10.254.254.1" }] });
    // Create before delete: the old network is still in use by Traefik and Prometheus while the new one is created.
    expect(net.options).toMatchObject({ ignoreChanges: ["options"], deleteBeforeReplace: false });
    const on = ofType(three, SERVICE).filter((s) => netIds(s).includes(net.id));
    expect(on.map((s) => s.name).sort()).toEqual(["monitoring-prometheus", "proxy-traefik"]);
    // Traefik keeps net_monitoring for Grafana's router (traefik.swarm.network), not for its metrics.
    expect(netIds(byName(three, "proxy-traefik"))).toContain(byName(three, "monitoring-network").id);
    const config = Buffer.from(String(byName(shown, "monitoring-prometheus-config").inputs.data), "base64").toString("utf8");
    const job = config.slice(config.indexOf("job_name: traefik"), config.indexOf("job_name: node-exporter"));
    expect(job).toMatch(/source_labels:\s*\n\s*- __meta_dockerswarm_network_name\n\s*regex: net_monitoring_proxy\n\s*action: keep/);
    const dynamic = Buffer.from(String(byName(three, "proxy-dynamic-config").inputs.data), "base64").toString("utf8");
    expect(dynamic).toContain("- 10.254.254.0/26");
  });

  it("net_monitoring_proxy's subnet follows monitoring.proxyMetricsSubnet, in the network and in Traefik's allow-list", async () => {
    const root = projectWithConfig("staging", (c) => {
      c["kestra-fleet:monitoring"] = { ...c["kestra-fleet:monitoring"], proxyMetricsSubnet: "10.200.16.0/24" };
    });
    const plan = await planOk({ stack: "staging", projectRoot: root, tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme") }), showSecrets: true });
    const net = byName(plan, "monitoring-proxy-network");
    expect(net.inputs.ipamConfigs).toEqual([{ subnet: "10.200.16.0/24", gateway: "10.200.16.1" }]);
    expect(Buffer.from(String(byName(plan, "proxy-dynamic-config").inputs.data), "base64").toString("utf8")).toContain("- 10.200.16.0/24");
    expect(plan.violations).toEqual([]);
    // A changed subnet is a new network under a new name (Docker holds one network per name), created
    // before the old one is deleted (Docker refuses to delete a network Traefik and Prometheus still use):
    // the engine replaces it create-first only with deleteBeforeReplace false and a name that differs.
    expect(net.inputs.name).toBe("net_monitoring_proxy_10_200_16_0_24");
    expect(net.inputs.name).not.toBe(byName(three, "monitoring-proxy-network").inputs.name);
    expect(net.options).toMatchObject({ deleteBeforeReplace: false, ignoreChanges: ["options"] });
    // Traefik and Prometheus attach by id (the new network's), and Prometheus scrapes Traefik on the new name.
    const on = ofType(plan, SERVICE).filter((s) => netIds(s).includes(net.id));
    expect(on.map((s) => s.name).sort()).toEqual(["monitoring-prometheus", "proxy-traefik"]);
    const config = Buffer.from(String(byName(plan, "monitoring-prometheus-config").inputs.data), "base64").toString("utf8");
    const job = config.slice(config.indexOf("job_name: traefik"), config.indexOf("job_name: node-exporter"));
    expect(job).toMatch(/- __meta_dockerswarm_network_name\n\s*regex: net_monitoring_proxy_10_200_16_0_24\n\s*action: keep/);
  });

  it("node exporter and cAdvisor run on every node; cAdvisor shares its network with Prometheus only", () => {
    for (const name of ["monitoring-node-exporter", "monitoring-cadvisor"]) expect(byName(three, name).inputs.mode).toEqual({ global: true });
    const nodes = byName(three, "monitoring-nodes-network");
    const on = ofType(three, SERVICE).filter((s) => netIds(s).includes(nodes.id));
    expect(on.map((s) => s.name).sort()).toEqual(["monitoring-cadvisor", "monitoring-prometheus"]);
  });

  it("Grafana: pinned, provisioned dashboards, routed on the monitoring network only, behind Access for the platform admins, password a secret file and output", () => {
    const g = byName(three, "monitoring-grafana");
    const c = spec(g).containerSpec;
    expect(c.image).toMatch(/^grafana\/grafana:12\.1\.1@sha256:[0-9a-f]{64}$/);
    expect(netIds(g)).toEqual([byName(three, "monitoring-network").id]);
    expect(labelsOf(g)).toMatchObject({ "kestra-fleet.role": "grafana", "traefik.swarm.network": "net_monitoring", "traefik.http.routers.platform-grafana.rule": "Host(`grafana-staging.example.com`)", "traefik.http.routers.platform-grafana.middlewares": "cloudflare-only@file" });
    expect(c.env.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe("/run/secrets/grafana_admin_password");
    expect(c.secrets.map((x: any) => x.fileName)).toEqual(["/run/secrets/grafana_admin_password"]);
    expect(c.configs.map((x: any) => x.fileName)).toEqual([
      "/etc/grafana/provisioning/datasources/prometheus.yml",
      "/etc/grafana/provisioning/dashboards/kestra-fleet.yml",
      "/etc/grafana/dashboards/fleet-overview.json",
      "/etc/grafana/dashboards/nodes.json",
      "/etc/grafana/dashboards/tenant.json",
      "/etc/grafana/dashboards/traefik.json",
    ]);
    expect(byName(three, "monitoring-grafana-volume").options).toMatchObject({ protect: true, retainOnDelete: true });
    expect(byName(three, "monitoring-grafana-dns-0").inputs).toMatchObject({ name: "grafana-staging.example.com", proxied: true });
    const app = byName(three, "monitoring-grafana-access-app");
    expect(app.inputs).toMatchObject({ domain: "grafana-staging.example.com", type: "self_hosted" });
    expect(byName(three, "monitoring-grafana-access-admins").inputs).toMatchObject({ decision: "allow", includes: [{ email: { email: "ops@example.com" } }] });
    expect(three.outputs.monitoring).toMatchObject({ grafanaUrl: "https://grafana-staging.example.com/", grafanaAdminUser: "admin", grafanaAdminPassword: "[secret]" });
  });

  it("external probe: one stack-level service token and non_identity policy, referenced by every tenant's Access application", () => {
    const policy = byName(three, "monitoring-probe-policy");
    expect(policy.inputs).toMatchObject({ decision: "non_identity", includes: [{ serviceToken: { tokenId: byName(three, "monitoring-probe-token").id } }] });
    for (const t of ["acme", "globex", "hooli"]) {
      expect((byName(three, `${t}-access-app`).inputs as any).policies).toEqual([
        { id: byName(three, `${t}-access-allow`).id, precedence: 1 },
        { id: policy.id, precedence: 2 },
      ]);
    }
    const b = byName(three, "monitoring-blackbox");
    expect(spec(b).containerSpec.secrets.map((x: any) => x.fileName)).toEqual(["/run/secrets/blackbox.yml"]);
    // /probe sends the token to any target it is given: only Prometheus reaches it, on a network of their own.
    const probeNet = byName(three, "monitoring-probe-network");
    const probeEgress = byName(three, "monitoring-probe-egress-network");
    expect(netIds(b)).toEqual([probeNet.id, probeEgress.id]);
    expect(probeNet.inputs).toMatchObject({ name: "net_monitoring_probe", internal: true, attachable: false });
    expect(probeEgress.inputs).toMatchObject({ name: "net_monitoring_probe_egress", internal: false, attachable: false });
    const members = (id: string | null) => ofType(three, SERVICE).filter((s) => netIds(s).includes(id)).map((s) => s.name).sort();
    expect(members(probeNet.id)).toEqual(["monitoring-blackbox", "monitoring-prometheus"]);
    expect(members(probeEgress.id)).toEqual(["monitoring-blackbox"]);
    expect(byName(three, "monitoring-blackbox-config").inputs.data).toBe("[secret]");
  });

  it("every service of the program rotates its logs", () => {
    for (const s of ofType(three, SERVICE)) expect(spec(s).logDriver, s.name).toEqual({ name: "json-file", options: { "max-size": "10m", "max-file": "5" } });
  });

  it("off: no monitoring resource, no relay, Traefik unchanged, Kestra's health check anonymous", async () => {
    const root = projectWithConfig("staging", (c) => {
      c["kestra-fleet:monitoring"] = { enabled: false };
    });
    const plan = await planOk({ stack: "staging", projectRoot: root, tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme") }) });
    expect(plan.resources.filter((r) => r.name.startsWith("monitoring") || r.name.includes("metrics"))).toEqual([]);
    expect(ofType(plan, NETWORK).map((n) => n.inputs.name)).not.toContain("net_monitoring");
    expect(ofType(plan, NETWORK).map((n) => n.inputs.name)).not.toContain("net_monitoring_proxy");
    expect(spec(byName(plan, "proxy-traefik")).containerSpec.args.filter((a: string) => a.includes("metrics"))).toEqual([]);
    expect(spec(byName(plan, "acme-executor")).containerSpec.healthcheck.tests).toEqual(["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8081/health"]);
    expect(plan.outputs.monitoring).toBeUndefined();
    // The gateway keeps its storage forward only: socat itself, private network and net_storage.
    const g = spec(byName(plan, "acme-gateway", SERVICE));
    expect(g.containerSpec.args).toEqual(["tcp-listen:9000,fork,reuseaddr", "tcp-connect:platform_storage_minio:9000"]);
    expect(g.containerSpec.commands).toBeUndefined();
    expect(g.networksAdvanceds.map((n: any) => plan.resources.find((r) => r.id === n.id)!.inputs.name)).toEqual(["net_acme_private", "net_storage"]);
  });

  it("with AWS storage: the gateway forwards the management ports only (no alias minio, no net_storage); with monitoring off too, there is none", async () => {
    const aws = { provider: "aws", noncurrentVersionDays: 14, aws: { region: "eu-west-1", bucketPrefix: "acme-ops-" } };
    const on = await planOk({ stack: "staging", projectRoot: projectWithConfig("staging", (c) => (c["kestra-fleet:storage"] = aws)), tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme") }) });
    const g = byName(on, "acme-gateway", SERVICE);
    expect(spec(g).containerSpec.args[0]).toBe(
      "socat tcp-listen:8081,fork,reuseaddr tcp-connect:kestra_acme_executor:8081 & socat tcp-listen:8082,fork,reuseaddr tcp-connect:kestra_acme_kestra:8081 & socat tcp-listen:8083,fork,reuseaddr tcp-connect:kestra_acme_backup:9180 & wait",
    );
    expect(spec(g).networksAdvanceds).toEqual([{ id: byName(on, "acme-private-network").id }, { id: byName(on, "monitoring-network").id }]);
    expect(on.violations).toEqual([]);
    const off = await planOk({
      stack: "staging",
      projectRoot: projectWithConfig("staging", (c) => {
        c["kestra-fleet:storage"] = aws;
        c["kestra-fleet:monitoring"] = { enabled: false };
      }),
      tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme") }),
    });
    expect(off.resources.filter((r) => r.name === "acme-gateway")).toEqual([]);
    expect((off.outputs.tenants as any).acme.services.gateway).toBeUndefined();
  });
});
