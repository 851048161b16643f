/**
 * Monitoring on the real Swarm: what the suite needs to read the program's own rendered
 * prometheus.yml (from the plan, as deployed) and to ask the running Prometheus stand-in (Debian's
 * prometheus binary) what it discovered and scraped. Nothing here names a tenant service: the
 * forwarder Prometheus scrapes a tenant through is found by the role label the rendered config's
 * discovery filters on.
 */
import { parse } from "yaml";
import { LABEL_ROLE } from "../infra/model/naming";
import type { Plan } from "../infra/plan/run";
import { PROMETHEUS_CONFIG_FILE } from "../infra/render/monitoring";
import type { Docker } from "./docker";
import { T } from "./plan";

/** A scrape job through the tenants' forwarders (a Kestra job has metrics path /prometheus), as the rendered config declares it. */
export interface KestraJob {
  job: string;
  metricsPath: string;
  /** A Kestra job's `component` label (backend, web), which is also the Kestra service's role. */
  component?: string;
  /** The role label discovery filters on: the tenant's forwarder. */
  forwarderRole: string;
  /** The forwarder's port this job scrapes. */
  port: number;
}

const roleLabel = (r: Plan["resources"][number]) => ((r.inputs.labels as { label: string; value: string }[]) ?? []).find((l) => l.label === LABEL_ROLE)?.value;

/** The prometheus.yml the plan deploys (the Swarm secret the Prometheus service mounts at PROMETHEUS_CONFIG_FILE; a --show-secrets plan). */
export function prometheusConfigOf(plan: Plan): { name: string; text: string } {
  const prom = plan.resources.find((r) => r.type === T.SERVICE && roleLabel(r) === "prometheus");
  const ref = ((prom?.inputs.taskSpec as any)?.containerSpec?.secrets ?? []).find((c: any) => c.fileName === PROMETHEUS_CONFIG_FILE);
  const cfg = ref && plan.resources.find((r) => r.type === T.SECRET && r.inputs.name === ref.secretName);
  if (!cfg) throw new Error(`the plan has no Prometheus service mounting a secret at ${PROMETHEUS_CONFIG_FILE}`);
  return { name: String(cfg.inputs.name), text: Buffer.from(String(cfg.inputs.data), "base64").toString("utf8") };
}

/**
 * The scrape jobs of a rendered prometheus.yml that go through the tenants' forwarders: the Kestra jobs
 * (metrics path /prometheus, with a component label) and every other job discovering the same role
 * (such as the backup's metrics). See KestraJob.
 */
export function forwarderJobsOf(configText: string): KestraJob[] {
  const cfg = parse(configText) as { scrape_configs: any[] };
  const jobs = cfg.scrape_configs
    .filter((j) => j.dockerswarm_sd_configs)
    .map((j) => {
      const sd = j.dockerswarm_sd_configs[0];
      const filter = (sd.filters ?? []).find((f: any) => f.name === "label")?.values?.find((v: string) => v.startsWith(`${LABEL_ROLE}=`));
      const component = (j.relabel_configs ?? []).find((r: any) => r.target_label === "component")?.replacement;
      // A Kestra job per tenant (its own credential) relabels `job` to the component's job.
      const job = (j.relabel_configs ?? []).find((r: any) => r.target_label === "job")?.replacement ?? j.job_name;
      return { job: String(job), metricsPath: String(j.metrics_path ?? "/metrics"), ...(component ? { component: String(component) } : {}), forwarderRole: String(filter ?? "").slice(LABEL_ROLE.length + 1), port: Number(sd.port) };
    })
    .filter((j, i, all) => all.findIndex((k) => k.job === j.job && k.port === j.port) === i);
  const kestra = jobs.filter((j) => j.metricsPath === "/prometheus");
  if (!kestra.length || kestra.some((j) => !j.forwarderRole || !j.component)) throw new Error(`the Kestra scrape jobs (metrics path /prometheus) need a ${LABEL_ROLE} filter and a component label`);
  return jobs.filter((j) => kestra.some((k) => k.forwarderRole === j.forwarderRole));
}

/** Each tenant's scrape password, from its Kestra jobs (`basic_auth.password`, kept to its tenant by a keep rule). */
export function scrapePasswordsOf(configText: string): Record<string, string> {
  const cfg = parse(configText) as { scrape_configs: any[] };
  const out: Record<string, string> = {};
  for (const j of cfg.scrape_configs.filter((x) => x.metrics_path === "/prometheus")) {
    const keep = (j.relabel_configs ?? []).find((r: any) => r.action === "keep" && String(r.source_labels?.[0] ?? "").endsWith("kestra_fleet_tenant"));
    if (keep && j.basic_auth?.password) out[String(keep.regex)] = String(j.basic_auth.password);
  }
  return out;
}

export interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapeUrl: string;
  health: string;
  lastError: string;
}

/** GET on Prometheus's API from inside its container (its port is on internal networks only). */
async function api(d: Docker, container: string, pathAndQuery: string): Promise<any> {
  const r = await d.runAsync(["exec", container, "curl", "-fsS", "--max-time", "10", "-G", `http://127.0.0.1:9090${pathAndQuery}`]);
  if (r.code !== 0) throw new Error(`Prometheus API ${pathAndQuery}: ${r.err.trim()}`);
  return JSON.parse(r.out).data;
}

export const activeTargets = async (d: Docker, container: string): Promise<Target[]> => (await api(d, container, "/api/v1/targets?state=active")).activeTargets as Target[];

export async function instantQuery(d: Docker, container: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  return (await api(d, container, `/api/v1/query?query=${encodeURIComponent(query)}`)).result;
}

/**
 * What a tenant's Kestra targets must look like: for each Kestra job, one target labelled with the
 * tenant, up, discovered on a task of the tenant's own forwarder service. Returns the problems (empty
 * when all is well) and the targets found.
 */
export function tenantTargetProblems(targets: Target[], jobs: KestraJob[], tenant: string, forwarders: string[]): { problems: string[]; found: Target[] } {
  const problems: string[] = [];
  const found: Target[] = [];
  for (const j of jobs) {
    const mine = targets.filter((t) => t.labels.job === j.job && t.labels.tenant === tenant);
    if (mine.length !== 1) {
      problems.push(`${j.job}: ${mine.length} targets with tenant="${tenant}"`);
      continue;
    }
    const t = mine[0];
    found.push(t);
    const via = t.discoveredLabels.__meta_dockerswarm_service_name;
    if (!forwarders.includes(via)) problems.push(`${j.job}: discovered on ${via}, not on ${tenant}'s forwarder (${forwarders.join(", ") || "none"})`);
    if (j.component && t.labels.component !== j.component) problems.push(`${j.job}: component="${t.labels.component}"`);
    if (t.health !== "up") problems.push(`${j.job} ${t.scrapeUrl}: ${t.health}${t.lastError ? ` (${t.lastError})` : ""}`);
  }
  return { problems, found };
}
