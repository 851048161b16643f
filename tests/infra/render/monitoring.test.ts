/**
 * The monitoring stack's rendered files: Prometheus's configuration passes `promtool check config`, the
 * alert rules pass `promtool check rules` and fire (and stay silent) as unit-tested with `promtool test
 * rules`; the socket proxy's allow-list admits exactly the calls of dockerswarm discovery; Kestra's
 * management endpoints need the scrape credential when monitoring is on.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ALERT_SECRET_FILE,
  alertRules,
  alertmanagerConfigObject,
  kestraHealthcheck,
  managementNetrc,
  PROMETHEUS_RULES_FILE,
  PROMETHEUS_SWARM_API_GET,
  PROMETHEUS_SWARM_API_HEAD,
  prometheusConfigObject,
  renderAlertmanagerConfig,
  renderAlertRules,
  renderBlackboxConfig,
  renderPrometheusConfig,
  SWARM_SECRET_MAX_BYTES,
  tenantScrapePassword,
  TRAEFIK_METRICS_PASSWORD_FILE,
} from "../../../infra/render/monitoring";
import { managementEndpoints } from "../../../infra/render/kestra-config";
import type { Settings } from "../../../infra/input/config/schema";
import { tmpDir } from "../../files";
import { AMTOOL_0_28, requirePinnedDeb, requireTool } from "../../tools";

/** The stack-level inputs of Prometheus's configuration. */
const PROM = { stack: "staging", hostPattern: "{tenant}-kestra.example.com", scrape: [{ tenant: "acme", password: "pw-acme" }, { tenant: "globex", password: "pw-globex" }] };

let promtool = "";
beforeAll(() => {
  promtool = requireTool("promtool", "prometheus");
}, 320_000);

function run(args: string[], cwd: string) {
  const r = spawnSync(promtool, args, { cwd, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** The rendered config with its absolute file paths moved into `dir` (promtool checks that they exist). */
function configIn(dir: string): string {
  const rules = path.join(dir, "rules.yml");
  fs.writeFileSync(rules, renderAlertRules());
  const traefikPassword = path.join(dir, "traefik_metrics_password");
  fs.writeFileSync(traefikPassword, "y\n");
  const text = renderPrometheusConfig(PROM)
    .split(PROMETHEUS_RULES_FILE)
    .join(rules)
    .split(TRAEFIK_METRICS_PASSWORD_FILE)
    .join(traefikPassword);
  const file = path.join(dir, "prometheus.yml");
  fs.writeFileSync(file, text);
  return file;
}

describe("Prometheus configuration", () => {
  it("passes promtool check config (with the rule file)", () => {
    const dir = tmpDir("kf-prom-");
    const r = run(["check", "config", configIn(dir)], dir);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("fails promtool check config when broken (the check can fail)", () => {
    const dir = tmpDir("kf-prom-");
    const file = configIn(dir);
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("role: tasks", "role: containers"));
    expect(run(["check", "config", file], dir).status).not.toBe(0);
  });

  it("discovers every target through the socket proxy; each tenant's Kestra jobs carry that tenant's credential for its own targets only", () => {
    const cfg = prometheusConfigObject(PROM) as { scrape_configs: Record<string, any>[] };
    const jobs = cfg.scrape_configs.map((j) => j.job_name);
    expect(jobs).toEqual(["prometheus", "alertmanager", "kestra-backend/acme", "kestra-backend/globex", "kestra-web/acme", "kestra-web/globex", "backup", "backup-mirror", "traefik", "node-exporter", "cadvisor", "blackbox"]);
    for (const job of cfg.scrape_configs.filter((j) => j.job_name.startsWith("kestra-"))) {
      const [component, tenant] = job.job_name.replace(/^kestra-/, "").split("/");
      expect(job.dockerswarm_sd_configs[0].host).toBe("http://platform_monitoring_socket_proxy:2375");
      expect(job.dockerswarm_sd_configs[0].filters[0]).toEqual({ name: "label", values: ["kestra-fleet.role=gateway"] });
      expect(job.basic_auth).toEqual({ username: "prometheus", password: `pw-${tenant}` });
      // The tenant's own gateway only (its password goes nowhere else); the job label stays the component's.
      expect(job.relabel_configs[1]).toEqual({ source_labels: ["__meta_dockerswarm_service_label_kestra_fleet_tenant"], regex: tenant, action: "keep" });
      expect(job.relabel_configs).toContainEqual({ source_labels: ["__meta_dockerswarm_service_label_kestra_fleet_tenant"], target_label: "tenant" });
      expect(job.relabel_configs).toContainEqual({ target_label: "job", replacement: `kestra-${component}` });
    }
    // One discovery per component, shared by every tenant's job (an alias in the YAML: one discoverer).
    const backends = cfg.scrape_configs.filter((j) => j.job_name.startsWith("kestra-backend/"));
    expect(backends[0].dockerswarm_sd_configs).toBe(backends[1].dockerswarm_sd_configs);
    expect(renderPrometheusConfig(PROM)).toMatch(/dockerswarm_sd_configs: \*a\d+/);
    // Traefik's metrics router wants its own credential, not a tenant's.
    const traefik = cfg.scrape_configs.find((j) => j.job_name === "traefik")!;
    expect(traefik.basic_auth).toEqual({ username: "prometheus", password_file: TRAEFIK_METRICS_PASSWORD_FILE });
    expect(traefik.metrics_path).toBeUndefined(); // /metrics: the router's PathPrefix
    expect(renderPrometheusConfig(PROM)).toBe(renderPrometheusConfig(PROM));
    expect(renderPrometheusConfig(PROM)).not.toMatch(/kestra_[a-z0-9-]+_(executor|kestra)/);
  });

  it("a tenant's scrape password is its own: derived from the stack key and its name, deterministic, unlike any other tenant's", () => {
    const a = tenantScrapePassword("stack-key", "acme");
    expect(a).toBe(tenantScrapePassword("stack-key", "acme"));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tenantScrapePassword("stack-key", "globex")).not.toBe(a);
    expect(tenantScrapePassword("other-key", "acme")).not.toBe(a);
    expect(() => tenantScrapePassword("", "acme")).toThrow(/empty/);
  });

  it("stays within a Swarm secret at Cloudflare's 500 Access applications (one per tenant), and refuses beyond", () => {
    const scrape = (n: number) => Array.from({ length: n }, (_, i) => ({ tenant: `tenant-${String(i).padStart(4, "0")}`, password: tenantScrapePassword("k", `tenant-${i}`) }));
    expect(Buffer.byteLength(renderPrometheusConfig({ ...PROM, scrape: scrape(500) }))).toBeLessThan(SWARM_SECRET_MAX_BYTES);
    expect(() => renderPrometheusConfig({ ...PROM, scrape: scrape(3000) })).toThrow(/over the 512000 bytes of a Swarm secret/);
  });

  it("the monitoring socket proxy admits exactly dockerswarm discovery's read calls", () => {
    const get = new RegExp(`^${PROMETHEUS_SWARM_API_GET}$`);
    const head = new RegExp(`^${PROMETHEUS_SWARM_API_HEAD}$`);
    for (const p of ["/_ping", "/v1.47/tasks", "/v1.51/services", "/nodes", "/v1.43/networks", "/version"]) expect(get.test(p), p).toBe(true);
    for (const p of ["/containers/json", "/v1.47/secrets", "/configs", "/info", "/events", "/services/abc", "/v1.47/tasks/x/logs", "/exec/1/start"]) expect(get.test(p), p).toBe(false);
    expect(head.test("/_ping")).toBe(true);
    expect(head.test("/tasks")).toBe(false);
  });
});

/** Renders a rule's annotation templates for the expected alert ($labels.x and one $value text). */
function annotationsFor(alert: string, labels: Record<string, string>, valueText = ""): Record<string, string> {
  const rule = alertRules().find((r) => r.alert === alert)!;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.annotations)) {
    out[k] = v.replace(/\{\{ \$value \| \w+ \}\}/g, valueText).replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? "");
  }
  return out;
}

interface Case {
  alert: string;
  series: { series: string; values: string }[];
  evalTime: string;
  /** Expected alerts: their labels (alertname excluded) and the text of {{ $value | … }}. */
  expect: { labels: Record<string, string>; value?: string }[];
}

const CASES: Case[] = [
  {
    alert: "KestraBackendDown",
    series: [
      { series: 'up{job="kestra-backend",tenant="acme",instance="acme"}', values: "0x10" },
      { series: 'up{job="kestra-backend",tenant="globex",instance="globex"}', values: "1x10" },
    ],
    evalTime: "6m",
    expect: [{ labels: { job: "kestra-backend", tenant: "acme", instance: "acme", severity: "critical" } }],
  },
  {
    alert: "KestraWebDown",
    series: [{ series: 'up{job="kestra-web",tenant="acme",instance="acme"}', values: "1 1 0x10" }],
    evalTime: "9m",
    expect: [{ labels: { job: "kestra-web", tenant: "acme", instance: "acme", severity: "critical" } }],
  },
  {
    alert: "KestraBackendStalled",
    series: [
      // acme: jobs wait, nothing ends. globex: jobs wait, tasks end (busy, not stalled). initech: nothing waits.
      { series: 'kestra_worker_job_pending{job="kestra-backend",tenant="acme"}', values: "3x40" },
      { series: 'kestra_worker_ended_count_total{job="kestra-backend",tenant="acme"}', values: "5x40" },
      { series: 'kestra_executor_execution_end_count_total{job="kestra-backend",tenant="acme"}', values: "7x40" },
      { series: 'kestra_worker_job_pending{job="kestra-backend",tenant="globex"}', values: "3x40" },
      { series: 'kestra_worker_ended_count_total{job="kestra-backend",tenant="globex"}', values: "0+1x40" },
      { series: 'kestra_worker_job_pending{job="kestra-backend",tenant="initech"}', values: "0x40" },
    ],
    evalTime: "35m",
    expect: [{ labels: { tenant: "acme", severity: "critical" } }],
  },
  {
    alert: "PostgresDown",
    series: [
      { series: 'container_last_seen{tenant="acme",tenant_service="postgres",container_service="kestra_acme_postgres",id="/docker/a"}', values: "60+60x5 _x20" },
      { series: 'container_last_seen{tenant="globex",tenant_service="postgres",container_service="kestra_globex_postgres",id="/docker/b"}', values: "60+60x25" },
    ],
    evalTime: "15m",
    expect: [{ labels: { tenant: "acme", severity: "critical" } }],
  },
  {
    alert: "MinioDown",
    series: [{ series: 'container_last_seen{container_service="platform_storage_minio",id="/docker/m"}', values: "60+60x5 _x20" }],
    evalTime: "15m",
    expect: [{ labels: { container_service: "platform_storage_minio", severity: "critical" } }],
  },
  {
    alert: "DiskAlmostFull",
    series: [
      { series: 'node_filesystem_avail_bytes{instance="node-1",mountpoint="/",fstype="ext4"}', values: "10x30" },
      { series: 'node_filesystem_size_bytes{instance="node-1",mountpoint="/",fstype="ext4"}', values: "100x30" },
      { series: 'node_filesystem_avail_bytes{instance="node-2",mountpoint="/",fstype="ext4"}', values: "50x30" },
      { series: 'node_filesystem_size_bytes{instance="node-2",mountpoint="/",fstype="ext4"}', values: "100x30" },
    ],
    evalTime: "20m",
    expect: [{ labels: { instance: "node-1", mountpoint: "/", fstype: "ext4", severity: "warning" }, value: "90%" }],
  },
  {
    alert: "CertificateExpiringSoon",
    series: [
      { series: 'traefik_tls_certs_not_after{cn="acme-kestra.example.com",serial="1"}', values: "864000x80" },
      { series: 'traefik_tls_certs_not_after{cn="globex-kestra.example.com",serial="2"}', values: "5184000x80" },
    ],
    evalTime: "70m",
    expect: [{ labels: { cn: "acme-kestra.example.com", severity: "warning" }, value: "9d 22h 50m 0s" }],
  },
  {
    alert: "TenantOverProfileMemory",
    series: [
      { series: 'container_memory_working_set_bytes{tenant="acme",tenant_service="executor",id="/docker/a"}', values: "950x30" },
      { series: 'container_spec_memory_limit_bytes{tenant="acme",tenant_service="executor",id="/docker/a"}', values: "1000x30" },
      { series: 'container_memory_working_set_bytes{tenant="globex",tenant_service="executor",id="/docker/b"}', values: "500x30" },
      { series: 'container_spec_memory_limit_bytes{tenant="globex",tenant_service="executor",id="/docker/b"}', values: "1000x30" },
    ],
    evalTime: "20m",
    expect: [{ labels: { tenant: "acme", tenant_service: "executor", severity: "warning" }, value: "95%" }],
  },
  {
    alert: "TenantOverProfileCpu",
    series: [
      { series: 'container_cpu_cfs_throttled_periods_total{tenant="acme",tenant_service="worker",id="/docker/a"}', values: "0+60x50" },
      { series: 'container_cpu_cfs_periods_total{tenant="acme",tenant_service="worker",id="/docker/a"}', values: "0+100x50" },
      { series: 'container_cpu_cfs_throttled_periods_total{tenant="globex",tenant_service="worker",id="/docker/b"}', values: "0+10x50" },
      { series: 'container_cpu_cfs_periods_total{tenant="globex",tenant_service="worker",id="/docker/b"}', values: "0+100x50" },
    ],
    evalTime: "45m",
    expect: [{ labels: { tenant: "acme", tenant_service: "worker", severity: "warning" }, value: "60%" }],
  },
  {
    alert: "TenantUnreachable",
    series: [
      { series: 'probe_success{job="blackbox",tenant="acme",instance="https://acme-kestra.example.com/ui/"}', values: "1 1 0x10" },
      { series: 'probe_success{job="blackbox",tenant="globex",instance="https://globex-kestra.example.com/ui/"}', values: "1x12" },
    ],
    evalTime: "9m",
    expect: [{ labels: { job: "blackbox", tenant: "acme", instance: "https://acme-kestra.example.com/ui/", severity: "critical" } }],
  },
  {
    alert: "BackupTooOld",
    series: [
      // Interval 1 h. acme's last success stays at t=0; globex dumps all the time.
      { series: 'kestra_fleet_backup_interval_seconds{job="backup",tenant="acme",instance="acme"}', values: "3600x140" },
      { series: 'kestra_fleet_backup_last_success_timestamp_seconds{job="backup",tenant="acme",instance="acme"}', values: "0x140" },
      { series: 'kestra_fleet_backup_interval_seconds{job="backup",tenant="globex",instance="globex"}', values: "3600x140" },
      { series: 'kestra_fleet_backup_last_success_timestamp_seconds{job="backup",tenant="globex",instance="globex"}', values: "0+60x140" },
    ],
    evalTime: "130m",
    expect: [{ labels: { tenant: "acme", severity: "critical" }, value: "2h 10m 0s" }],
  },
  {
    alert: "BackupNeverSucceeded",
    series: [
      { series: 'kestra_fleet_backup_interval_seconds{job="backup",tenant="acme",instance="acme"}', values: "3600x70" },
      { series: 'kestra_fleet_backup_interval_seconds{job="backup",tenant="globex",instance="globex"}', values: "3600x70" },
      { series: 'kestra_fleet_backup_last_success_timestamp_seconds{job="backup",tenant="globex",instance="globex"}', values: "0x70" },
    ],
    evalTime: "65m",
    expect: [{ labels: { tenant: "acme", severity: "critical" } }],
  },
  {
    alert: "BackupFailing",
    series: [
      { series: 'kestra_fleet_backup_consecutive_failures{job="backup",tenant="acme",instance="acme"}', values: "0 0 1 2 3x10" },
      { series: 'kestra_fleet_backup_consecutive_failures{job="backup",tenant="globex",instance="globex"}', values: "0 1 2 0x10" },
    ],
    evalTime: "5m",
    expect: [{ labels: { job: "backup", tenant: "acme", instance: "acme", severity: "warning" }, value: "3" }],
  },
  {
    alert: "BackupMetricsDown",
    series: [
      { series: 'up{job="backup",tenant="acme",instance="acme"}', values: "0x20" },
      { series: 'up{job="backup",tenant="globex",instance="globex"}', values: "1x20" },
    ],
    evalTime: "16m",
    expect: [{ labels: { job: "backup", tenant: "acme", instance: "acme", severity: "critical" } }],
  },
  {
    alert: "MirrorTenantFailing",
    series: [
      // acme's bucket fails pass after pass; globex's is copied every time (one mirror task, per-tenant series).
      { series: 'kestra_fleet_mirror_consecutive_failures{job="backup-mirror",instance="platform_backup_mirror",tenant="acme"}', values: "0 1 2x10" },
      { series: 'kestra_fleet_mirror_consecutive_failures{job="backup-mirror",instance="platform_backup_mirror",tenant="globex"}', values: "0x12" },
    ],
    evalTime: "5m",
    expect: [{ labels: { tenant: "acme", severity: "critical" }, value: "2" }],
  },
  {
    alert: "MirrorTenantTooOld",
    series: [
      { series: 'kestra_fleet_mirror_interval_seconds{job="backup-mirror",instance="platform_backup_mirror"}', values: "3600x200" },
      { series: 'kestra_fleet_mirror_last_success_timestamp_seconds{job="backup-mirror",instance="platform_backup_mirror",tenant="acme"}', values: "0x200" },
      { series: 'kestra_fleet_mirror_last_success_timestamp_seconds{job="backup-mirror",instance="platform_backup_mirror",tenant="globex"}', values: "0+60x200" },
    ],
    evalTime: "190m",
    expect: [{ labels: { tenant: "acme", severity: "warning" }, value: "3h 10m 0s" }],
  },
  {
    alert: "MirrorPassesStopped",
    series: [
      { series: 'kestra_fleet_mirror_interval_seconds{job="backup-mirror",instance="platform_backup_mirror"}', values: "3600x300" },
      { series: 'kestra_fleet_mirror_last_pass_timestamp_seconds{job="backup-mirror",instance="platform_backup_mirror"}', values: "0x300" },
    ],
    evalTime: "245m",
    expect: [{ labels: { severity: "critical" } }],
  },
  {
    alert: "MirrorMetricsDown",
    series: [{ series: 'up{job="backup-mirror",instance="platform_backup_mirror"}', values: "0x20" }],
    evalTime: "16m",
    expect: [{ labels: { job: "backup-mirror", instance: "platform_backup_mirror", severity: "warning" } }],
  },
  {
    alert: "MirrorMetricsAbsent",
    series: [{ series: 'container_last_seen{container_service="platform_backup_mirror",id="/docker/m"}', values: "60+60x20" }],
    evalTime: "16m",
    expect: [{ labels: { container_service: "platform_backup_mirror", severity: "warning" } }],
  },
  {
    alert: "BackupMetricsAbsent",
    series: [
      // Both run a backup container; only globex's is a scrape target.
      { series: 'container_last_seen{tenant="acme",tenant_service="backup",container_service="kestra_acme_backup",id="/docker/a"}', values: "60+60x20" },
      { series: 'container_last_seen{tenant="globex",tenant_service="backup",container_service="kestra_globex_backup",id="/docker/b"}', values: "60+60x20" },
      { series: 'up{job="backup",tenant="globex",instance="globex"}', values: "1x20" },
    ],
    evalTime: "16m",
    expect: [{ labels: { tenant: "acme", severity: "critical" } }],
  },
  {
    alert: "MonitoringTargetDown",
    series: [{ series: 'up{job="node-exporter",instance="node-1",swarm_service="platform_monitoring_node_exporter"}', values: "0x20" }],
    evalTime: "15m",
    expect: [{ labels: { job: "node-exporter", instance: "node-1", swarm_service: "platform_monitoring_node_exporter", severity: "warning" } }],
  },
  {
    alert: "TraefikMetricsAbsent",
    series: [{ series: 'up{job="kestra-web",tenant="acme"}', values: "1x20" }],
    evalTime: "15m",
    expect: [{ labels: { severity: "critical" } }],
  },
];

describe("alert rules", () => {
  it("pass promtool check rules", () => {
    const dir = tmpDir("kf-rules-");
    fs.writeFileSync(path.join(dir, "rules.yml"), renderAlertRules());
    const r = run(["check", "rules", "rules.yml"], dir);
    expect(r.out).toContain("SUCCESS: 22 rules found");
    expect(r.status).toBe(0);
  });

  it("every rule has a unit test", () => {
    expect(CASES.map((c) => c.alert).sort()).toEqual(alertRules().map((r) => r.alert).sort());
  });

  function unitTest(cases: Case[]): { status: number | null; out: string } {
    const dir = tmpDir("kf-rules-");
    fs.writeFileSync(path.join(dir, "rules.yml"), renderAlertRules());
    const tests = cases.map((c) => ({
      interval: "1m",
      input_series: c.series,
      alert_rule_test: [
        // Silent before `for` has elapsed, firing for exactly the expected series after.
        { eval_time: "1m", alertname: c.alert, exp_alerts: [] },
        { eval_time: c.evalTime, alertname: c.alert, exp_alerts: c.expect.map((e) => ({ exp_labels: e.labels, exp_annotations: annotationsFor(c.alert, e.labels, e.value) })) },
      ],
    }));
    fs.writeFileSync(path.join(dir, "tests.yml"), stringify({ rule_files: ["rules.yml"], evaluation_interval: "1m", tests }));
    return run(["test", "rules", "tests.yml"], dir);
  }

  it("fire for the broken tenant only, and stay silent for the others (promtool test rules)", () => {
    const r = unitTest(CASES);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  }, 60_000);

  it("the unit tests can fail: a healthy backend does not raise KestraBackendDown", () => {
    const healthy: Case = { ...CASES[0], series: [{ series: 'up{job="kestra-backend",tenant="acme",instance="acme"}', values: "1x10" }] };
    expect(unitTest([healthy]).status).not.toBe(0);
  }, 60_000);
});

/**
 * Prometheus's relabelling, for the actions the probe job uses (replace, keep, labelmap): source
 * labels joined with `;`, the regex anchored at both ends, `$1`/`${1}` expanded in the replacement; a
 * replace whose regex does not match leaves the labels as they are; keep drops the target (undefined).
 */
function relabel(rules: Record<string, any>[], input: Record<string, string>): Record<string, string> | undefined {
  const labels = { ...input };
  for (const r of rules) {
    const action = r.action ?? "replace";
    const re = new RegExp(`^(?:${r.regex ?? "(.*)"})$`);
    const value = (r.source_labels ?? []).map((l: string) => labels[l] ?? "").join(r.separator ?? ";");
    const expand = (m: RegExpExecArray, tpl: string) => tpl.replace(/\$\{?(\d+)\}?/g, (_, i) => m[Number(i)] ?? "");
    if (action === "keep") {
      if (!re.test(value)) return undefined;
    } else if (action === "replace") {
      const m = re.exec(value);
      if (!m) continue;
      const out = expand(m, r.replacement ?? "$1");
      if (out === "") delete labels[r.target_label];
      else labels[r.target_label] = out;
    } else if (action === "labelmap") {
      for (const [k, v] of Object.entries(labels)) {
        const m = re.exec(k);
        if (m) labels[expand(m, r.replacement ?? "$1")] = v;
      }
    } else throw new Error(`relabel action ${action} not simulated`);
  }
  return labels;
}

describe("external probe", () => {
  it("targets are the tenants' own hosts, built from the tenant label and the host pattern, never from another label", () => {
    const job = (prometheusConfigObject(PROM).scrape_configs as Record<string, any>[]).find((j) => j.job_name === "blackbox")!;
    expect(job.dockerswarm_sd_configs[0].filters[0]).toEqual({ name: "label", values: ["kestra-fleet.role=web"] });
    expect(job.params).toEqual({ module: ["http_access"] });
    const web = (tenant: string, extra: Record<string, string> = {}) => ({
      __address__: "10.0.1.5:9115",
      __meta_dockerswarm_network_name: "network_swarm_public",
      __meta_dockerswarm_service_label_kestra_fleet_tenant: tenant,
      __meta_dockerswarm_service_label_traefik_http_routers_acme_rule: "Host(`acme-kestra.example.com`)",
      ...extra,
    });
    expect(relabel(job.relabel_configs, web("acme"))).toMatchObject({
      __param_target: "https://acme-kestra.example.com/ui/",
      __address__: "platform_monitoring_blackbox:9115",
      instance: "https://acme-kestra.example.com/ui/",
      tenant: "acme",
    });
    // A router rule naming another host changes nothing: the target follows the tenant and the pattern only.
    expect(relabel(job.relabel_configs, web("globex", { __meta_dockerswarm_service_label_traefik_http_routers_globex_rule: "Host(`attacker.example.org`)" }))?.__param_target).toBe("https://globex-kestra.example.com/ui/");
    // A tenant label that is no tenant name (a URL, a host, a path) is dropped, not probed.
    for (const bad of ["attacker.example.org/x?", "evil.example.org", "a b", "Acme", ""]) expect(relabel(job.relabel_configs, web(bad)), bad).toBeUndefined();
    // A task on another network than the public one is not a target either.
    expect(relabel(job.relabel_configs, web("acme", { __meta_dockerswarm_network_name: "net_monitoring" }))).toBeUndefined();
  });

  it("the relabel simulator follows Prometheus (anchored RE2, ${1} expansion, keep drops on no match)", () => {
    expect(relabel([{ source_labels: ["a"], regex: "(x+)", target_label: "b", replacement: "<${1}>" }], { a: "xx" })).toEqual({ a: "xx", b: "<xx>" });
    expect(relabel([{ source_labels: ["a"], regex: "(x+)", target_label: "b", replacement: "<${1}>" }], { a: "xxy" })).toEqual({ a: "xxy" });
    expect(relabel([{ source_labels: ["a"], regex: "x", action: "keep" }], { a: "xy" })).toBeUndefined();
  });

  it("the service token sits only in the blackbox configuration (a secret), sent as Access's headers", () => {
    const cfg = parse(renderBlackboxConfig("id.access", "s3cret")) as any;
    expect(cfg.modules.http_access.http.headers).toEqual({ "CF-Access-Client-Id": "id.access", "CF-Access-Client-Secret": "s3cret" });
    expect(cfg.modules.http_access.http).toMatchObject({ follow_redirects: false, valid_status_codes: [200], fail_if_not_ssl: true });
  });
});

describe("Alertmanager", () => {
  const settings = (alerts: unknown) => ({ monitoring: { enabled: true, retention: "30d", alerts } }) as unknown as Settings;
  it("reads the webhook URL from the secret file", () => {
    const cfg = alertmanagerConfigObject(settings({ receiver: "webhook" })) as any;
    expect(cfg.receivers[0].webhook_configs).toEqual([{ url_file: ALERT_SECRET_FILE, send_resolved: true }]);
  });
  it("e-mail and webhook receivers pass amtool check-config of Alertmanager 0.28.1, the deployed image's version", () => {
    const amtool = requirePinnedDeb(AMTOOL_0_28);
    const version = spawnSync(amtool, ["--version"], { encoding: "utf8" });
    expect(`${version.stdout}${version.stderr}`).toContain("version 0.28.1");
    const dir = tmpDir("kf-am-");
    // amtool reads url_file and auth_password_file: they must exist.
    const secret = path.join(dir, "alert_receiver_secret");
    fs.writeFileSync(secret, "https://hooks.example.com/alerts\n");
    for (const [i, alerts] of [
      { receiver: "email", to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:587", username: "am" },
      { receiver: "email", to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:25" },
      { receiver: "webhook" },
    ].entries()) {
      const file = path.join(dir, `am${i}.yml`);
      fs.writeFileSync(file, renderAlertmanagerConfig(settings(alerts)).split(ALERT_SECRET_FILE).join(secret));
      const r = spawnSync(amtool, ["check-config", file], { encoding: "utf8" });
      expect(`${r.stdout}${r.stderr}`).toContain("SUCCESS");
      expect(r.status).toBe(0);
    }
    // The check can fail: a route to a receiver that does not exist, an unknown field.
    const good = renderAlertmanagerConfig(settings({ receiver: "webhook" })).split(ALERT_SECRET_FILE).join(secret);
    fs.writeFileSync(path.join(dir, "bad.yml"), good.replace("receiver: operators", "receiver: nobody"));
    expect(spawnSync(amtool, ["check-config", path.join(dir, "bad.yml")]).status).not.toBe(0);
    fs.writeFileSync(path.join(dir, "bad2.yml"), good.replace("url_file:", "url_fiel:"));
    expect(spawnSync(amtool, ["check-config", path.join(dir, "bad2.yml")]).status).not.toBe(0);
  }, 320_000);

  it("e-mail: the SMTP password from the secret file, none without a user", () => {
    const withUser = alertmanagerConfigObject(settings({ receiver: "email", to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:587", username: "am" })) as any;
    expect(withUser.receivers[0].email_configs[0]).toMatchObject({ auth_username: "am", auth_password_file: ALERT_SECRET_FILE, require_tls: true });
    const anonymous = alertmanagerConfigObject(settings({ receiver: "email", to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:25" })) as any;
    expect(anonymous.receivers[0].email_configs[0].auth_password_file).toBeUndefined();
  });
});

describe("scrape credential", () => {
  it("with monitoring, every management endpoint needs it (basic auth, non-sensitive); without, all but health are closed", () => {
    const on = managementEndpoints({ username: "prometheus", password: "s3cret" }) as any;
    expect(on.all).toEqual({ port: 8081, sensitive: false, "basic-auth": { username: "prometheus", password: "s3cret" } });
    expect(on.health).toBeUndefined();
    expect(on.env).toEqual({ enabled: false });
    const off = managementEndpoints() as any;
    expect(off.all).toEqual({ port: 8081, sensitive: true });
    expect(off.health).toEqual({ sensitive: false });
  });
  it("the health check reads the credential from a file, never from the spec", () => {
    expect(kestraHealthcheck(true).tests).toEqual(["CMD", "curl", "-fsS", "--netrc-file", "/run/secrets/kestra_management_netrc", "-o", "/dev/null", "http://127.0.0.1:8081/health"]);
    expect(kestraHealthcheck(false).tests).toEqual(["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8081/health"]);
    expect(managementNetrc("pw")).toBe("machine 127.0.0.1 login prometheus password pw\n");
  });
});

it("the rendered rules parse back to the rule objects", () => {
  expect((parse(renderAlertRules()) as any).groups[0].rules).toEqual(alertRules());
});
