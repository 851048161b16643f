/**
 * Grafana's dashboards (monitoring/dashboards/*.json): they parse, name the provisioned datasource by
 * its uid everywhere, and query only metrics that the scrape configuration provides. The alert rules
 * are held to the same metric list.
 */
import { describe, expect, it } from "vitest";
import { GRAFANA_DATASOURCE_UID, grafanaDatasources, readDashboards } from "../../infra/render/grafana";
import { alertRules, METRICS_BY_JOB, metricNames, prometheusConfigObject } from "../../infra/render/monitoring";
import { parse } from "yaml";

/** The stack-level inputs of Prometheus's configuration. */
const PROM = { stack: "staging", hostPattern: "{tenant}-kestra.example.com", scrape: [{ tenant: "acme", password: "pw-acme" }, { tenant: "globex", password: "pw-globex" }] };

const dashboards = Object.entries(readDashboards()).map(([file, text]) => ({ file, text, json: JSON.parse(text) as Record<string, any> }));
const provided = new Set(Object.values(METRICS_BY_JOB).flat());

function panelsOf(d: Record<string, any>): Record<string, any>[] {
  return (d.panels ?? []).flatMap((p: Record<string, any>) => [p, ...panelsOf(p)]);
}

describe("dashboards", () => {
  it("the four dashboards exist, parse, and have unique uids", () => {
    expect(dashboards.map((d) => d.file)).toEqual(["fleet-overview.json", "nodes.json", "tenant.json", "traefik.json"]);
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(4);
    for (const d of dashboards) {
      expect(d.json.title, d.file).toMatch(/^Kestra fleet: /);
      expect(d.text.endsWith("\n")).toBe(true);
    }
  });

  it("every panel and query names the provisioned Prometheus datasource by uid", () => {
    const ds = (parse(grafanaDatasources()) as any).datasources;
    expect(ds).toEqual([expect.objectContaining({ uid: GRAFANA_DATASOURCE_UID, type: "prometheus", url: "http://platform_monitoring_prometheus:9090" })]);
    for (const d of dashboards) {
      const panels = panelsOf(d.json);
      expect(panels.length, d.file).toBeGreaterThan(0);
      expect(new Set(panels.map((p) => p.id)).size, d.file).toBe(panels.length);
      for (const p of panels) {
        expect(p.datasource, `${d.file} ${p.title}`).toEqual({ type: "prometheus", uid: GRAFANA_DATASOURCE_UID });
        expect(p.targets.length, `${d.file} ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets) expect(t.datasource, `${d.file} ${p.title}`).toEqual({ type: "prometheus", uid: GRAFANA_DATASOURCE_UID });
      }
      for (const v of d.json.templating.list) expect(v.datasource).toEqual({ type: "prometheus", uid: GRAFANA_DATASOURCE_UID });
    }
  });

  it("every query uses only metrics the scrape configuration provides", () => {
    for (const d of dashboards) {
      const exprs = [...panelsOf(d.json).flatMap((p) => p.targets.map((t: any) => t.expr as string)), ...d.json.templating.list.map((v: any) => (v.query.query as string).replace(/^label_values\((.*),\s*\w+\)$/, "$1"))];
      for (const e of exprs) {
        const names = metricNames(e);
        expect(names.length, `${d.file}: ${e}`).toBeGreaterThan(0);
        for (const n of names) expect(provided.has(n), `${d.file}: ${n} in ${e}`).toBe(true);
      }
    }
  });

  it("the fleet overview has one row per tenant: a table joined on tenant with up, executions, failures, CPU, memory, disk", () => {
    const fleet = dashboards.find((d) => d.file === "fleet-overview.json")!.json;
    const table = fleet.panels.find((p: any) => p.type === "table");
    expect(table.targets.every((t: any) => /^sum by \(tenant\)/.test(t.expr) && t.format === "table" && t.instant)).toBe(true);
    expect(Object.values(table.transformations[1].options.renameByName)).toEqual(["Backend up", "Web up", "Executions / h", "Failures / h", "CPU (cores)", "Memory", "Disk (container layers)"]);
  });
});

describe("the metric list", () => {
  it("names jobs of the Prometheus configuration only", () => {
    // A job's label: its name, or what its relabelling sets (a tenant's Kestra jobs: kestra-backend, kestra-web).
    const jobs = (prometheusConfigObject(PROM).scrape_configs as { job_name: string; relabel_configs?: { target_label?: string; replacement?: string }[] }[]).map(
      (j) => j.relabel_configs?.find((r) => r.target_label === "job")?.replacement ?? j.job_name,
    );
    for (const job of Object.keys(METRICS_BY_JOB)) if (job !== "*") expect(jobs).toContain(job);
  });

  it("covers every metric of the alert rules", () => {
    for (const r of alertRules()) for (const n of metricNames(r.expr)) expect(provided.has(n), `${r.alert}: ${n}`).toBe(true);
  });

  it("metricNames finds metrics, not functions, keywords, labels or durations", () => {
    expect(metricNames('sum by (tenant) (increase(kestra_executor_execution_end_count_total{job="kestra-backend",state="FAILED"}[1h]))')).toEqual(["kestra_executor_execution_end_count_total"]);
    expect(metricNames("min by (cn) (traefik_tls_certs_not_after) - time() < 14 * 86400")).toEqual(["traefik_tls_certs_not_after"]);
    expect(metricNames('a_total / on (tenant) group_left b_bytes unless c{x="d_total"}')).toEqual(["a_total", "b_bytes", "c"]);
    expect(metricNames("1 - node_filesystem_avail_bytes / node_filesystem_size_bytes > 0.85")).toEqual(["node_filesystem_avail_bytes", "node_filesystem_size_bytes"]);
  });
});
