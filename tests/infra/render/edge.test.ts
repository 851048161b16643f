import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { accessIncludes, webhookDestinations } from "../../../infra/render/access";
import { identityLabels, labelList, storageAdminLabels, tenantWebLabels } from "../../../infra/render/labels";
import { createHash } from "crypto";
import { traefikArgs, traefikDynamicConfig, traefikMetricsUsers } from "../../../infra/render/traefik";
import { configFromStackFile, loadConfig } from "../../../infra/input/config/load";
import { TenantSchema } from "../../../infra/input/tenants/schema";
import { FIXTURE_ROOT } from "../../files-root";

const settings = loadConfig(configFromStackFile(FIXTURE_ROOT, "staging")).config!.settings;

describe("Traefik labels", () => {
  it("routes a tenant's web service on websecure with TLS, behind the origin lock, to port 8080", () => {
    expect(tenantWebLabels("kestra-acme", "acme-kestra.example.com")).toEqual({
      "traefik.enable": "true",
      "traefik.http.routers.kestra-acme.rule": "Host(`acme-kestra.example.com`)",
      "traefik.http.routers.kestra-acme.entrypoints": "websecure",
      "traefik.http.routers.kestra-acme.tls": "true",
      "traefik.http.routers.kestra-acme.tls.certresolver": "letsencrypt",
      "traefik.http.routers.kestra-acme.middlewares": "cloudflare-only@file",
      "traefik.http.routers.kestra-acme.service": "kestra-acme",
      "traefik.http.services.kestra-acme.loadbalancer.server.port": "8080",
      "traefik.swarm.network": "network_swarm_public",
    });
  });

  it("never routes to the management port", () => {
    for (const labels of [tenantWebLabels("kestra-a", "a.example.com"), storageAdminLabels("s3.example.com")]) {
      expect(Object.values(labels)).not.toContain("8081");
    }
  });

  it("identity labels carry stack, tenant and role; label lists are sorted", () => {
    expect(identityLabels("kestra_acme", "backend", "acme")).toEqual({ "com.docker.stack.namespace": "kestra_acme", "kestra-fleet.tenant": "acme", "kestra-fleet.role": "backend" });
    const list = labelList({ b: "2", a: "1" });
    expect(list).toEqual([{ label: "a", value: "1" }, { label: "b", value: "2" }]);
  });
});

describe("Traefik configuration", () => {
  const args = traefikArgs(settings);
  it("uses the swarm provider, not exposing services by default, on the public network", () => {
    expect(args).toContain("--providers.swarm=true");
    expect(args).toContain("--providers.swarm.exposedByDefault=false");
    expect(args).toContain("--providers.swarm.network=network_swarm_public");
    expect(args.some((a) => a.startsWith("--providers.docker"))).toBe(false);
  });
  it("redirects web to websecure permanently and trusts forwarded headers only from Cloudflare", () => {
    expect(args).toContain("--entryPoints.web.http.redirections.entryPoint.to=websecure");
    expect(args).toContain("--entryPoints.web.http.redirections.entryPoint.scheme=https");
    expect(args).toContain(`--entryPoints.websecure.forwardedHeaders.trustedIPs=${settings.cloudflare!.originRanges.join(",")}`);
  });
  it("has no dashboard, has ping and an access log, and ACME over Cloudflare DNS", () => {
    expect(args).toContain("--api.dashboard=false");
    expect(args.some((a) => a.startsWith("--api.insecure"))).toBe(false);
    expect(args).toContain("--ping=true");
    expect(args).toContain("--accesslog=true");
    expect(args).toContain("--certificatesResolvers.letsencrypt.acme.dnsChallenge.provider=cloudflare");
  });
  it("defines the origin lock from Cloudflare's ranges and the storage admin allow-list", () => {
    const dyn = parse(traefikDynamicConfig(settings));
    expect(dyn.http.middlewares["cloudflare-only"]).toEqual({ ipAllowList: { sourceRange: settings.cloudflare!.originRanges } });
    expect(dyn.http.middlewares["storage-admin-allowlist"]).toEqual({ ipAllowList: { sourceRange: settings.storage.minio!.adminAllowList } });
  });
  it("serves metrics only through its own router on the metrics entry point, to net_monitoring_proxy's subnet only, then behind basic auth from the secret file", () => {
    expect(settings.monitoring.enabled).toBe(true);
    expect(args).toEqual(expect.arrayContaining(["--entryPoints.metrics.address=:8082", "--metrics.prometheus=true", "--metrics.prometheus.manualRouting=true"]));
    // The default internal router would answer on every network of Traefik, without credentials.
    expect(args.some((a) => a.startsWith("--metrics.prometheus.entryPoint"))).toBe(false);
    const dyn = parse(traefikDynamicConfig(settings));
    expect(dyn.http.routers).toEqual({
      metrics: { entryPoints: ["metrics"], rule: "PathPrefix(`/metrics`)", service: "prometheus@internal", middlewares: ["metrics-allowlist", "metrics-auth"] },
    });
    // The allow-list first (403 to any other peer before a password is checked); no ipStrategy: the TCP peer counts.
    expect(dyn.http.middlewares["metrics-allowlist"]).toEqual({ ipAllowList: { sourceRange: [settings.monitoring.proxyMetricsSubnet] } });
    expect(settings.monitoring.proxyMetricsSubnet).toBe("10.254.254.0/26");
    const moved = { ...settings, monitoring: { ...settings.monitoring, proxyMetricsSubnet: "10.200.0.0/24" } };
    expect(parse(traefikDynamicConfig(moved)).http.middlewares["metrics-allowlist"].ipAllowList.sourceRange).toEqual(["10.200.0.0/24"]);
    expect(dyn.http.middlewares["metrics-auth"]).toEqual({ basicAuth: { usersFile: "/run/secrets/traefik_metrics_users", realm: "traefik-metrics" } });
    const off = { ...settings, monitoring: { ...settings.monitoring, enabled: false } };
    expect(traefikArgs(off).some((a) => a.includes("metrics"))).toBe(false);
    expect(parse(traefikDynamicConfig(off)).http.routers).toBeUndefined();
    expect(parse(traefikDynamicConfig(off)).http.middlewares["metrics-allowlist"]).toBeUndefined();
  });
  it("the users file: {SHA} of the password (what htpasswd -s writes), the same text for the same password", () => {
    // htpasswd -nbs prometheus secret-password
    expect(traefikMetricsUsers("secret-password")).toBe(`prometheus:{SHA}${createHash("sha1").update("secret-password").digest("base64")}\n`);
    expect(traefikMetricsUsers("secret-password")).toBe(traefikMetricsUsers("secret-password"));
    expect(traefikMetricsUsers("other")).not.toBe(traefikMetricsUsers("secret-password"));
    expect(() => traefikMetricsUsers("")).toThrow(/empty/);
  });
});

describe("Access rules", () => {
  const tenant = TenantSchema.parse({
    name: "acme",
    access: { emails: ["Ana@acme.com"], emailDomains: ["acme.com"], groups: ["6F1C2B8E-3D4A-4F5B-9C6D-7E8F9A0B1C2D"] },
    kestra: { adminEmail: "ana@acme.com" },
  });
  it("includes exactly the tenant's identities plus the admins, never everyone", () => {
    const admins = { emails: ["ops@example.com", "ana@acme.com"], emailDomains: [], groups: [] };
    expect(accessIncludes(tenant, admins)).toEqual([
      { email: { email: "ana@acme.com" } },
      { email: { email: "ops@example.com" } },
      { emailDomain: { domain: "acme.com" } },
      { group: { id: "6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d" } },
    ]);
  });
  it("scopes webhook bypass to Kestra's two webhook paths", () => {
    expect(webhookDestinations("acme.example.com")).toEqual(["acme.example.com/api/v1/main/executions/webhook/*", "acme.example.com/api/v1/executions/webhook/*"]);
  });
});
