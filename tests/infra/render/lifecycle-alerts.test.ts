/**
 * Alerts by lifecycle status (issue: a suspended tenant's Kestra-down alerts paged forever; an
 * offboarded tenant's backup was watched by nothing). Two halves:
 * - discovery: the rendered scrape jobs' relabeling run by a real Prometheus (Debian's, installed when
 *   missing) on targets carrying the labels dockerswarm discovery gives a tenant's gateway, one per
 *   status: the Kestra jobs keep active tenants (and a gateway without the status label) and drop
 *   suspended and offboarded ones; the backup job keeps every status and labels it;
 * - rules: `promtool test rules` on the series each status produces.
 */
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKUP_JOB, prometheusConfigObject, serviceLabelMeta } from "../../../infra/render/monitoring";
import { BACKUP_METRICS_PATH } from "../../../infra/render/backup";
import { LABEL_ROLE, LABEL_STATUS, LABEL_TENANT, MONITORING_NETWORK } from "../../../infra/model/naming";
import { tmpDir } from "../../files";
import { requireTool } from "../../tools";
import { freePort, promtoolRuleTest, type RuleEval } from "./promtool";

let promtool = "";
let prometheus = "";
beforeAll(() => {
  promtool = requireTool("promtool", "prometheus");
  prometheus = requireTool("prometheus", "prometheus");
}, 320_000);


/** One gateway per status (and one without the label, as before this change), as dockerswarm discovery labels it. */
const GATEWAYS: { tenant: string; status?: string }[] = [
  { tenant: "act", status: "active" },
  { tenant: "sus", status: "suspended" },
  { tenant: "off", status: "offboarded" },
  { tenant: "old" },
];

interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
}

describe("scrape targets by lifecycle status (a real Prometheus runs the rendered relabeling)", () => {
  let proc: ChildProcess | undefined;
  let active: Target[] = [];
  let dropped: Target[] = [];
  beforeAll(async () => {
    const dir = tmpDir("kf-lifecycle-prom-");
    // One Kestra job per tenant and component (each with that tenant's credential), and the backup job.
    const scrape = GATEWAYS.map((g) => ({ tenant: g.tenant, password: `pw-${g.tenant}` }));
    const jobs = (prometheusConfigObject({ stack: "staging", hostPattern: "{tenant}.kestra.example.com", scrape }).scrape_configs as Record<string, any>[]).filter(
      (j) => /^kestra-(backend|web)\//.test(j.job_name) || j.job_name === BACKUP_JOB,
    );
    expect(jobs).toHaveLength(2 * GATEWAYS.length + 1);
    const closed = await freePort();
    const scrape_configs = jobs.map((j) => {
      const { dockerswarm_sd_configs, basic_auth, ...rest } = j;
      expect(dockerswarm_sd_configs).toHaveLength(1);
      return {
        ...rest,
        // The labels dockerswarm_sd gives each gateway task on the monitoring network (its relabeling runs unchanged).
        static_configs: GATEWAYS.map((g, i) => ({
          targets: [`127.0.0.${i + 2}:${closed}`],
          labels: {
            __meta_dockerswarm_network_name: MONITORING_NETWORK,
            __meta_dockerswarm_node_hostname: "node-1",
            __meta_dockerswarm_service_name: `kestra_${g.tenant}_gateway`,
            [serviceLabelMeta(LABEL_ROLE)]: "gateway",
            [serviceLabelMeta(LABEL_TENANT)]: g.tenant,
            ...(g.status ? { [serviceLabelMeta(LABEL_STATUS)]: g.status } : {}),
            // Which job discovered it (Prometheus 2.42 keeps no job name on a dropped target); no relabeling reads it.
            __meta_test_job: j.job_name,
          },
        })),
      };
    });
    fs.writeFileSync(path.join(dir, "prometheus.yml"), stringify({ global: { scrape_interval: "1h" }, scrape_configs }));
    const port = await freePort();
    proc = spawn(prometheus, [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    proc.stderr!.on("data", (b) => (log += b));
    for (let i = 0; i < 150; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/targets?state=any`);
        if (r.ok) {
          const body = (await r.json()) as { data: { activeTargets: Target[]; droppedTargets: Target[] } };
          active = body.data.activeTargets;
          dropped = body.data.droppedTargets;
          if (active.length + dropped.length >= jobs.length * GATEWAYS.length) return;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`Prometheus did not list the targets:\n${log}`);
  }, 60_000);
  afterAll(() => {
    if (proc?.pid) proc.kill("SIGTERM");
  });

  const activeOf = (job: string) => active.filter((t) => t.labels.job === job).map((t) => [t.labels.tenant, t.labels.status ?? ""]).sort();
  /** Dropped targets carry no job label: told apart by their metrics path (the Kestra jobs share /prometheus). */
  const droppedOf = (metricsPath: string) => dropped.filter((t) => t.discoveredLabels.__metrics_path__ === metricsPath).map((t) => t.discoveredLabels[serviceLabelMeta(LABEL_TENANT)]).sort();
  /** Tenants a Kestra job of their own dropped (each tenant's job drops every other tenant's gateway too, by its tenant label). */
  const droppedOwn = () =>
    dropped
      .filter((t) => t.discoveredLabels.__metrics_path__ === "/prometheus" && t.discoveredLabels.__meta_test_job.endsWith(`/${t.discoveredLabels[serviceLabelMeta(LABEL_TENANT)]}`))
      .map((t) => t.discoveredLabels[serviceLabelMeta(LABEL_TENANT)])
      .sort();

  it("the Kestra jobs scrape active tenants (and a gateway without the label) and drop suspended and offboarded ones", () => {
    for (const job of ["kestra-backend", "kestra-web"]) {
      expect(activeOf(job), job).toEqual([["act", "active"], ["old", ""]]);
    }
    // Each tenant's own Kestra jobs (backend, web) drop it when suspended or offboarded; the rest of the
    // dropped targets are other tenants' gateways, which a tenant's job never scrapes.
    expect(droppedOwn()).toEqual(["off", "off", "sus", "sus"]);
    expect(droppedOf("/prometheus")).toHaveLength(2 * GATEWAYS.length * (GATEWAYS.length - 1) + 4);
  });

  it("the backup job scrapes every status and labels it", () => {
    expect(activeOf(BACKUP_JOB)).toEqual([["act", "active"], ["off", "offboarded"], ["old", ""], ["sus", "suspended"]]);
    expect(droppedOf(BACKUP_METRICS_PATH)).toEqual([]);
  });
});

const ruleTest = (series: { series: string; values: string }[], evals: RuleEval[]) => promtoolRuleTest(promtool, series, evals);

const up = (job: string, tenant: string, status: string, values: string) => ({ series: `up{job="${job}",tenant="${tenant}",instance="${tenant}",status="${status}"}`, values });
const backup = (metric: string, tenant: string, status: string, values: string) => ({ series: `kestra_fleet_backup_${metric}{job="backup",tenant="${tenant}",instance="${tenant}",status="${status}"}`, values });
const backupContainer = (tenant: string) => ({ series: `container_last_seen{tenant="${tenant}",tenant_service="backup",container_service="kestra_${tenant}_backup",id="/docker/${tenant}"}`, values: "60+60x140" });

describe("alert rules by lifecycle status (promtool test rules)", () => {
  it("Kestra down pages for an active tenant only: never for a suspended or offboarded one, even if its gateway is scraped", () => {
    const r = ruleTest(
      [up("kestra-backend", "act", "active", "0x20"), up("kestra-backend", "sus", "suspended", "0x20"), up("kestra-backend", "off", "offboarded", "0x20"), up("kestra-web", "act", "active", "0x20"), up("kestra-web", "sus", "suspended", "0x20")],
      [
        { at: "10m", alert: "KestraBackendDown", firing: [{ job: "kestra-backend", tenant: "act", instance: "act", status: "active", severity: "critical" }] },
        { at: "10m", alert: "KestraWebDown", firing: [{ job: "kestra-web", tenant: "act", instance: "act", status: "active", severity: "critical" }] },
      ],
    );
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("an offboarded tenant's backup is watched like any other: old dumps and failures fire, a healthy one is silent, and its target is not 'absent'", () => {
    const r = ruleTest(
      [
        backupContainer("off"),
        backupContainer("sus"),
        backupContainer("act"),
        up("backup", "off", "offboarded", "1x140"),
        up("backup", "sus", "suspended", "1x140"),
        up("backup", "act", "active", "1x140"),
        backup("interval_seconds", "off", "offboarded", "3600x140"),
        backup("last_success_timestamp_seconds", "off", "offboarded", "0x140"),
        backup("consecutive_failures", "off", "offboarded", "0 1 2 3x140"),
        backup("interval_seconds", "sus", "suspended", "3600x140"),
        backup("last_success_timestamp_seconds", "sus", "suspended", "0+60x140"),
        backup("interval_seconds", "act", "active", "3600x140"),
        backup("last_success_timestamp_seconds", "act", "active", "0+60x140"),
      ],
      [
        { at: "130m", alert: "BackupTooOld", firing: [{ tenant: "off", severity: "critical" }], value: "2h 10m 0s" },
        { at: "130m", alert: "BackupFailing", firing: [{ job: "backup", tenant: "off", instance: "off", status: "offboarded", severity: "warning" }], value: "3" },
        { at: "130m", alert: "BackupMetricsAbsent", firing: [] },
        { at: "130m", alert: "BackupMetricsDown", firing: [] },
      ],
    );
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("a backup container without a target still pages BackupMetricsAbsent, whatever the status (the gateway is missing)", () => {
    const r = ruleTest([backupContainer("off"), up("backup", "act", "active", "1x140"), backupContainer("act")], [{ at: "30m", alert: "BackupMetricsAbsent", firing: [{ tenant: "off", severity: "critical" }] }]);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("the rule tests can fail: a suspended tenant expected to page does not", () => {
    const r = ruleTest([up("kestra-backend", "sus", "suspended", "0x20")], [{ at: "10m", alert: "KestraBackendDown", firing: [{ job: "kestra-backend", tenant: "sus", instance: "sus", status: "suspended", severity: "critical" }] }]);
    expect(r.status).not.toBe(0);
  });
});
