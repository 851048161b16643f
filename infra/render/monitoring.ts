/**
 * The monitoring stack's files, rendered from the stack settings alone (never from the tenant list:
 * adding a tenant changes none of them, so no shared service restarts). Pure.
 * - Prometheus finds its targets with Docker Swarm service discovery through a read-only socket proxy
 *   of its own, and relabels them by the fleet's service labels (kestra-fleet.tenant, kestra-fleet.role).
 * - A tenant's Kestra is scraped through the tenant's gateway (socat on the tenant's private network
 *   and the monitoring network: stacks/tenant-gateway.ts), with that tenant's own scrape credential
 *   (basic auth): one job per tenant and component, so the configuration lists the tenants (and is a
 *   Swarm secret: it holds their credentials). It is the one shared file onboarding changes (README,
 *   "Adding a tenant": why).
 * - Alert rules and Alertmanager's routing.
 */
import { createHmac } from "crypto";
import { stringify } from "yaml";
import type { Settings } from "../input/config/schema";
import {
  ALERTMANAGER_PORT,
  ALERTMANAGER_SERVICE,
  BLACKBOX_PORT,
  BLACKBOX_SERVICE,
  CADVISOR_PORT,
  KESTRA_MANAGEMENT_PORT,
  LABEL_ROLE,
  LABEL_STATUS,
  LABEL_TENANT,
  MONITORING_NETWORK,
  MONITORING_PROXY_NETWORK,
  MONITORING_NODES_NETWORK,
  MONITORING_SOCKET_PROXY_SERVICE,
  tenantHost,
  NODE_EXPORTER_PORT,
  PUBLIC_NETWORK,
  PROMETHEUS_PORT,
  PROMETHEUS_SERVICE,
  RELAY_BACKEND_PORT,
  RELAY_BACKUP_PORT,
  RELAY_WEB_PORT,
  SOCKET_PROXY_PORT,
  STORAGE_SERVICE,
  TRAEFIK_METRICS_PORT,
  BACKUP_MIRROR_SERVICE,
  MIRROR_METRICS_PORT,
  type ServiceRole,
} from "../model/naming";
import { BACKUP_METRICS, BACKUP_METRICS_PATH, type BackupMetric, backupMetricName, MIRROR_PASS_METRICS, MIRROR_TENANT_METRICS, type MirrorMetric, mirrorMetricName } from "./backup";
import { socketProxyArgs } from "./socket-proxy";
import { TRAEFIK_METRICS_USER } from "./traefik";

/** The scrape job of the tenants' backup services (through their gateways). */
export const BACKUP_JOB = "backup";
/** The scrape job of the bucket mirror (a platform service on the monitoring network). */
export const MIRROR_JOB = "backup-mirror";

/** A Swarm secret (it holds every tenant's scrape credential). */
export const PROMETHEUS_CONFIG_FILE = "/run/secrets/prometheus.yml";
export const PROMETHEUS_RULES_FILE = "/etc/prometheus/rules/kestra-fleet.yml";
export const PROMETHEUS_DATA_DIR = "/prometheus";
export const ALERTMANAGER_CONFIG_FILE = "/etc/alertmanager/alertmanager.yml";
export const ALERTMANAGER_DATA_DIR = "/alertmanager";

/** The user of the scrape credential on every tenant's management port (the password is the tenant's own). */
export const SCRAPE_USER = "prometheus";

/**
 * A tenant's own scrape password: HMAC-SHA256 of the tenant's name keyed by the monitoring stack's
 * scrape key (base64url, 43 characters). Tenant A's Kestra holds A's password only, which B's
 * management port refuses; Prometheus holds every tenant's, never the key. Deterministic: the same
 * key and tenant give the same password (no churn), and no resource per tenant is needed.
 */
export function tenantScrapePassword(key: string, tenant: string): string {
  if (!key) throw new Error("the scrape key is empty");
  return createHmac("sha256", key).update(`kestra-fleet scrape credential\0${tenant}`).digest("base64url");
}
/** Prometheus reads the password of Traefik's metrics router (basic auth) from this secret file. */
export const TRAEFIK_METRICS_PASSWORD_FILE = "/run/secrets/traefik_metrics_password";
/** Kestra's health check reads the same credential from this netrc secret file (curl --netrc-file). */
export const MANAGEMENT_NETRC_FILE = "/run/secrets/kestra_management_netrc";
/** Alertmanager's receiver secret (webhook URL or SMTP password), a secret file. */
export const ALERT_SECRET_FILE = "/run/secrets/alert_receiver_secret";

/**
 * The Docker API calls of Prometheus's dockerswarm service discovery, read in prometheus/prometheus
 * discovery/moby: role `tasks` lists tasks (GET /tasks), services (GET /services, their labels and
 * ports), nodes (GET /nodes, hostnames and addresses) and networks (GET /networks, names); role `nodes`
 * lists nodes; the Docker client negotiates its API version first (HEAD/GET /_ping). Newer releases
 * also inspect each task's container (GET /containers/<id>/json) for image labels and skip a failed
 * inspect: refused here, as every other path and method (write calls, secrets, configs, /info, events).
 */
export const PROMETHEUS_SWARM_API_GET = "(/v1\\.[0-9]+)?/(_ping|version|services|tasks|nodes|networks)";
export const PROMETHEUS_SWARM_API_HEAD = "(/v1\\.[0-9]+)?/_ping";

export function monitoringSocketProxyArgs(): string[] {
  return socketProxyArgs(PROMETHEUS_SERVICE, PROMETHEUS_SWARM_API_GET, PROMETHEUS_SWARM_API_HEAD);
}

/** dockerswarm_sd's endpoint: the monitoring socket proxy on its internal overlay. */
export const MONITORING_SD_HOST = `http://${MONITORING_SOCKET_PROXY_SERVICE}:${SOCKET_PROXY_PORT}`;

/** Prometheus's label name for a Swarm service label (dockerswarm SD sanitises `.` and `-` to `_`). */
export function serviceLabelMeta(label: string): string {
  return `__meta_dockerswarm_service_label_${label.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/** A dockerswarm_sd job over the running tasks of the services carrying `kestra-fleet.role=<role>`, on the monitoring network. */
function swarmJob(job: string, role: ServiceRole, port: number, extra: Record<string, unknown> = {}, relabel: Record<string, unknown>[] = [], network = MONITORING_NETWORK) {
  return {
    job_name: job,
    ...extra,
    dockerswarm_sd_configs: [
      {
        host: MONITORING_SD_HOST,
        role: "tasks",
        port,
        refresh_interval: "30s",
        filters: [
          { name: "label", values: [`${LABEL_ROLE}=${role}`] },
          { name: "desired-state", values: ["running"] },
        ],
      },
    ],
    relabel_configs: [
      // A task has one address per network: scrape it on the monitoring network only.
      { source_labels: ["__meta_dockerswarm_network_name"], regex: network, action: "keep" },
      { source_labels: ["__meta_dockerswarm_node_hostname"], target_label: "node" },
      { source_labels: ["__meta_dockerswarm_service_name"], target_label: "swarm_service" },
      ...relabel,
    ],
  };
}

/** Lifecycle statuses in which a tenant has no running Kestra (suspended: 0 replicas; offboarded: none). */
export const KESTRA_STOPPED_STATUSES = "suspended|offboarded";

/** The tenant's lifecycle status from its gateway's service label, as the target label `status`. */
const statusRelabel = { source_labels: [serviceLabelMeta(LABEL_STATUS)], target_label: "status" };

/** A tenant's scrape credential, for Prometheus's per-tenant jobs. */
export interface TenantScrape {
  tenant: string;
  password: string;
}

const KESTRA_COMPONENTS = [
  { component: "backend", port: RELAY_BACKEND_PORT },
  { component: "web", port: RELAY_WEB_PORT },
] as const;

/**
 * A tenant's Kestra component behind its gateway: `backend` (8081 of the gateway) or `web` (8082), one
 * job per tenant and component, presenting that tenant's credential to that tenant's targets only.
 * Every such job of a component has the same discovery (one object, so the YAML repeats it as an
 * alias and Prometheus shares one discoverer between the jobs); the tenant's gateway is kept by its
 * tenant label. The `job` label is the component's (`kestra-backend`, `kestra-web`), as alert rules and
 * dashboards expect; the job's own name carries the tenant.
 */
function kestraJobs(scrape: readonly TenantScrape[]): Record<string, unknown>[] {
  return KESTRA_COMPONENTS.flatMap(({ component, port }) => {
    const shared = swarmJob(`kestra-${component}`, "gateway", port, {}, [
      { source_labels: [serviceLabelMeta(LABEL_TENANT)], target_label: "tenant" },
      { source_labels: [serviceLabelMeta(LABEL_TENANT)], target_label: "instance" },
      { source_labels: [serviceLabelMeta(LABEL_STATUS)], regex: KESTRA_STOPPED_STATUSES, action: "drop" },
      statusRelabel,
      { target_label: "component", replacement: component },
      { target_label: "job", replacement: `kestra-${component}` },
    ]);
    const [network, ...rest] = shared.relabel_configs;
    return scrape.map((s) => ({
      job_name: `kestra-${component}/${s.tenant}`,
      metrics_path: "/prometheus",
      basic_auth: { username: SCRAPE_USER, password: s.password },
      dockerswarm_sd_configs: shared.dockerswarm_sd_configs,
      relabel_configs: [network, { source_labels: [serviceLabelMeta(LABEL_TENANT)], regex: s.tenant, action: "keep" }, ...rest],
    }));
  });
}

/**
 * A tenant's backup service behind its gateway (8083 -> the backup's metrics port): the script's
 * Prometheus text file. The tenant label comes from the gateway's service label (discovery), never from
 * the scraped file: the file's own `tenant` label (then `exported_tenant`) is dropped.
 */
function backupJob() {
  return swarmJob(
    BACKUP_JOB,
    "gateway",
    RELAY_BACKUP_PORT,
    { metrics_path: BACKUP_METRICS_PATH, metric_relabel_configs: [{ regex: "exported_tenant", action: "labeldrop" }] },
    [
      { source_labels: [serviceLabelMeta(LABEL_TENANT)], target_label: "tenant" },
      { source_labels: [serviceLabelMeta(LABEL_TENANT)], target_label: "instance" },
      // Backups run in every status; the label says which (an offboarded tenant's gateway forwards the backup only).
      statusRelabel,
    ],
  );
}

/**
 * The bucket mirror (MinIO storage only): its file's `tenant` label is the owner of each mirrored bucket,
 * written by the platform's own service (no tenant writes it), so it is kept as it is; the target itself
 * carries no tenant label.
 */
function mirrorJob() {
  return swarmJob(MIRROR_JOB, "mirror", MIRROR_METRICS_PORT, { metrics_path: BACKUP_METRICS_PATH }, [{ target_label: "instance", replacement: BACKUP_MIRROR_SERVICE }]);
}

/** cAdvisor's container labels reduced to the fleet's: tenant and service of `kestra_<tenant>_<service>`, and the Swarm service. */
const CADVISOR_METRIC_RELABEL = [
  { source_labels: ["container_label_com_docker_swarm_service_name"], target_label: "container_service" },
  { source_labels: ["container_label_com_docker_swarm_service_name"], regex: "kestra_([a-z0-9-]+)_(.+)", target_label: "tenant", replacement: "$1" },
  { source_labels: ["container_label_com_docker_swarm_service_name"], regex: "kestra_([a-z0-9-]+)_(.+)", target_label: "tenant_service", replacement: "$2" },
  { regex: "container_label_.+", action: "labeldrop" },
];

/** The blackbox module that probes a tenant through Cloudflare Access with the probe's service token. */
export const PROBE_MODULE = "http_access";
/**
 * What the probe fetches: Kestra's UI index. It answers 200 without Kestra credentials: in Kestra 1.x the
 * basic-auth filter is mapped to the API only (webserver/.../filter/AuthenticationFilter.java:
 * `@Filter("/api/v1/**")`, "we want to authenticate only Kestra endpoints"), and `/ui/**` is a Micronaut
 * static-resource mapping (cli/src/main/resources/application.yml `micronaut.router.static-resources.ui`)
 * whose single-page app shows its own login form. `/ping` is open too, but only through Kestra's default
 * `open-urls`, which a configured list (the fleet sets one for `webhooksPublic`) overrides, and it skips
 * the UI's static route: `/ui/` proves more. A 302 is Access's login redirect (the token was refused), a 401 would mean an API path.
 */
export const PROBE_PATH = "/ui/";
export const BLACKBOX_CONFIG_FILE = "/run/secrets/blackbox.yml";

/**
 * The external probe: one target per tenant web service, discovered like the rest. The URL is built
 * from the service's tenant label and the stack's host pattern alone (never from a router rule or
 * any other label): the exporter sends the Access service token to whatever it probes, so it is only
 * ever asked for a tenant's own host. A tenant label that is not a tenant name is dropped.
 */
/** A tenant name in RE2 (Prometheus anchors it): the schema's pattern less its look-ahead. */
export const PROBE_TENANT_RE = "[a-z][a-z0-9-]*[a-z0-9]";

export function probeTargetRelabels(hostPattern: string): Record<string, unknown>[] {
  const tenant = serviceLabelMeta(LABEL_TENANT);
  return [
    { source_labels: [tenant], regex: PROBE_TENANT_RE, action: "keep" },
    { source_labels: [tenant], regex: `(${PROBE_TENANT_RE})`, target_label: "__param_target", replacement: `https://${tenantHost(hostPattern, "${1}")}${PROBE_PATH}` },
    { source_labels: ["__param_target"], target_label: "instance" },
    { source_labels: [tenant], target_label: "tenant" },
    { target_label: "__address__", replacement: `${BLACKBOX_SERVICE}:${BLACKBOX_PORT}` },
  ];
}

function blackboxJob(hostPattern: string) {
  return {
    ...swarmJob(
      "blackbox",
      "web",
      BLACKBOX_PORT,
      { metrics_path: "/probe", params: { module: [PROBE_MODULE] }, scrape_interval: "60s", scrape_timeout: "20s" },
      probeTargetRelabels(hostPattern),
      // One address per web task: the one on the public network (the only network all web services share).
      PUBLIC_NETWORK,
    ),
  };
}

/** The probe module both variants share; `http` adds what differs (Access headers, or the lab's TLS check). */
function blackboxConfig(comment: string, http: Record<string, unknown>): string {
  return (
    `# Rendered by kestra-fleet: do not edit. ${comment}\n` +
    stringify({
      modules: {
        [PROBE_MODULE]: {
          prober: "http",
          timeout: "15s",
          http: { method: "GET", valid_status_codes: [200], follow_redirects: false, fail_if_not_ssl: true, preferred_ip_protocol: "ip4", ...http },
        },
      },
    })
  );
}

/** blackbox exporter's configuration: it holds the probe's service token, so it is a Swarm secret. */
export function renderBlackboxConfig(clientId: string, clientSecret: string): string {
  return blackboxConfig("Holds the probe's Access service token: delivered as a Swarm secret.", {
    headers: { "CF-Access-Client-Id": clientId, "CF-Access-Client-Secret": clientSecret },
  });
}

/**
 * The same probe in a lab stack without Cloudflare (`edge.provider: none`): no Access in front, so
 * no service token headers; the lab's Traefik serves its self-signed default certificate, so the
 * probe checks TLS is there (`fail_if_not_ssl`) but not who signed it. Holds no secret; it stays a
 * Swarm secret like the Cloudflare variant (one mount, one shape).
 */
export function renderLabBlackboxConfig(): string {
  return blackboxConfig("Lab stack without Cloudflare: no Access headers, self-signed certificate accepted.", { tls_config: { insecure_skip_verify: true } });
}

/** What Prometheus's configuration is rendered from: stack-level settings only. */
export interface PrometheusInputs {
  stack: string;
  /** `hostPattern` of the stack: the probe's targets are its tenant hosts. */
  hostPattern: string;
  /** Every tenant whose Kestra is declared, with its own scrape credential. */
  scrape: readonly TenantScrape[];
  /** The Docker name of Traefik's metrics network (infra/render/metrics-network.ts proxyMetricsNetworkName). */
  proxyMetricsNetwork?: string;
}

export function prometheusConfigObject({ stack, hostPattern, scrape, proxyMetricsNetwork = MONITORING_PROXY_NETWORK }: PrometheusInputs): Record<string, unknown> {
  return {
    global: { scrape_interval: "30s", scrape_timeout: "10s", evaluation_interval: "30s", external_labels: { fleet_stack: stack } },
    rule_files: [PROMETHEUS_RULES_FILE],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`${ALERTMANAGER_SERVICE}:${ALERTMANAGER_PORT}`] }] }] },
    scrape_configs: [
      { job_name: "prometheus", static_configs: [{ targets: [`127.0.0.1:${PROMETHEUS_PORT}`] }] },
      { job_name: "alertmanager", static_configs: [{ targets: [`${ALERTMANAGER_SERVICE}:${ALERTMANAGER_PORT}`] }] },
      ...kestraJobs(scrape),
      backupJob(),
      mirrorJob(),
      // Traefik's metrics router answers only with its own credential (not a tenant's scrape
      // credential, which that tenant's Kestra holds): infra/render/traefik.ts.
      // Scraped on net_monitoring_proxy (Prometheus's and Traefik's alone), the only range the router admits.
      swarmJob("traefik", "proxy", TRAEFIK_METRICS_PORT, { basic_auth: { username: TRAEFIK_METRICS_USER, password_file: TRAEFIK_METRICS_PASSWORD_FILE } }, [], proxyMetricsNetwork),
      swarmJob("node-exporter", "node-exporter", NODE_EXPORTER_PORT, {}, [{ source_labels: ["__meta_dockerswarm_node_hostname"], target_label: "instance" }]),
      swarmJob("cadvisor", "cadvisor", CADVISOR_PORT, { metric_relabel_configs: CADVISOR_METRIC_RELABEL }, [
        { source_labels: ["__meta_dockerswarm_node_hostname"], target_label: "instance" },
      ], MONITORING_NODES_NETWORK),
      blackboxJob(hostPattern),
    ],
  };
}

/** Docker refuses a Swarm secret over 500 KiB (swarmkit's MaxSecretSize). */
export const SWARM_SECRET_MAX_BYTES = 500 * 1024;

export function renderPrometheusConfig(inputs: PrometheusInputs): string {
  const text = "# Rendered by kestra-fleet: do not edit. Holds every tenant's scrape credential: a Swarm secret.\n" + stringify(prometheusConfigObject(inputs), { lineWidth: 0 });
  const size = Buffer.byteLength(text);
  if (size > SWARM_SECRET_MAX_BYTES) throw new Error(`Prometheus's configuration for ${inputs.scrape.length} tenants is ${size} bytes, over the ${SWARM_SECRET_MAX_BYTES} bytes of a Swarm secret`);
  return text;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "critical" | "warning" };
  annotations: { summary: string; action: string };
}

/** A fixed Swarm service (MinIO) seen by cAdvisor within a day but not now: its container is gone. */
const goneSince = (selector: string, by: string) =>
  `max by (${by}) (max_over_time(container_last_seen{${selector}}[1d])) unless max by (${by}) (container_last_seen{${selector}})`;

const backupMetric = (m: BackupMetric, range: string) => `max by (tenant) (max_over_time(${backupMetricName(m)}{job="${BACKUP_JOB}"}[${range}]))`;

/**
 * The backup alerts, from the backup script's metrics (infra/render/backup.ts BACKUP_METRICS). Every
 * value is taken with max_over_time over a window: a backup task's restart leaves a scrape or two
 * without samples (stale), which must neither resolve a firing alert nor reset a pending one. After a
 * restart the script publishes the time of the newest dump in the bucket, so a recent backup stays
 * recent (no alert) and an old one stays old (the gap is not hidden).
 */
export function backupAlertRules(): AlertRule[] {
  const runbook = "README Data safety > Backups; docs/operations.md Restoring a tenant";
  return [
    {
      alert: "BackupTooOld",
      expr: `time() - ${backupMetric("last_success_timestamp_seconds", "15m")} > 2 * ${backupMetric("interval_seconds", "15m")}`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Tenant {{ $labels.tenant }}: the last successful database backup is {{ $value | humanizeDuration }} old, more than two backup periods",
        action: `docker service logs --since 24h kestra_{{ $labels.tenant }}_backup (pg_dump, version or upload errors); test now: docker exec <task> sh /usr/local/bin/kestra-fleet-backup.sh once (${runbook})`,
      },
    },
    {
      alert: "BackupNeverSucceeded",
      // Scraped, but no success known for an hour: no dump in the bucket and none since the task started (or the bucket cannot be listed and dumps fail).
      expr: `${backupMetric("interval_seconds", "1h")} unless on (tenant) ${backupMetric("last_success_timestamp_seconds", "1h")}`,
      for: "1h",
      labels: { severity: "critical" },
      annotations: {
        summary: "Tenant {{ $labels.tenant }}: no successful database backup is known (none in the bucket, none since the backup task started)",
        action: `docker service logs kestra_{{ $labels.tenant }}_backup (could not list the bucket? dumps failing?) (${runbook})`,
      },
    },
    {
      alert: "BackupFailing",
      expr: `${backupMetricName("consecutive_failures")}{job="${BACKUP_JOB}"} >= 3`,
      for: "0m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Tenant {{ $labels.tenant }}: the last {{ $value | humanize }} database dumps failed (retried every 5 minutes)",
        action: `docker service logs --since 1h kestra_{{ $labels.tenant }}_backup (${runbook})`,
      },
    },
    {
      alert: "BackupMetricsDown",
      // The gateway exists (discovered) but the backup does not answer behind it: service down, restarting in a loop, or an image without busybox httpd.
      expr: `up{job="${BACKUP_JOB}"} == 0`,
      for: "15m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Tenant {{ $labels.tenant }}: the backup service's metrics cannot be scraped: backups are not watched",
        action: "docker service ps kestra_{{ $labels.tenant }}_backup --no-trunc; docker service logs kestra_{{ $labels.tenant }}_backup | grep -i metrics (an image without busybox-extras: rebuild images/backup)",
      },
    },
    {
      alert: "BackupMetricsAbsent",
      // cAdvisor sees the tenant's backup container, but no backup target of that tenant exists (its gateway is missing).
      expr: `max by (tenant) (container_last_seen{tenant_service="backup"}) unless on (tenant) up{job="${BACKUP_JOB}"}`,
      for: "15m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Tenant {{ $labels.tenant }} runs a backup service but Prometheus has no backup target for it (no gateway?)",
        action: "docker service ps kestra_{{ $labels.tenant }}_gateway; pulumi up restores a missing gateway",
      },
    },
  ];
}

const mirrorMetric = (m: MirrorMetric) => `${mirrorMetricName(m)}{job="${MIRROR_JOB}"}`;

/**
 * The bucket mirror's alerts (MinIO storage), per tenant from its per-tenant series: one tenant's
 * failing bucket raises that tenant's alert while the others' copies go on and stay quiet.
 */
export function mirrorAlertRules(): AlertRule[] {
  const runbook = "docs/operations.md Runbook: bucket mirror failing";
  return [
    {
      alert: "MirrorTenantFailing",
      // Two passes in a row: a transient error of one pass does not page.
      expr: `max by (tenant) (${mirrorMetric("consecutive_failures")}) >= 2`,
      for: "0m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Tenant {{ $labels.tenant }}: its bucket could not be mirrored off the node in {{ $value | humanize }} passes in a row (the other tenants' copies go on)",
        action: `docker service logs --since 24h ${BACKUP_MIRROR_SERVICE} | grep 'could not mirror kestra-{{ $labels.tenant }}' (an object name too long under the backup prefix? an unreadable object?) (${runbook})`,
      },
    },
    {
      alert: "MirrorTenantTooOld",
      // The last complete copy is older than three passes while passes go on: failing, or never succeeding since a restart.
      expr: `max by (tenant) (time() - ${mirrorMetric("last_success_timestamp_seconds")}) > on () group_left () (3 * max(${mirrorMetric("interval_seconds")}))`,
      for: "0m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Tenant {{ $labels.tenant }}: the last complete off-node copy of its bucket is {{ $value | humanizeDuration }} old",
        action: `docker service logs --since 24h ${BACKUP_MIRROR_SERVICE} (${runbook})`,
      },
    },
    {
      alert: "MirrorPassesStopped",
      // No pass has ended for three intervals: the buckets cannot be listed (MinIO or the key), or the loop is stuck.
      expr: `time() - max(max_over_time(${mirrorMetric("last_pass_timestamp_seconds")}[15m])) > 3 * max(max_over_time(${mirrorMetric("interval_seconds")}[15m])) or (max(max_over_time(${mirrorMetric("interval_seconds")}[1h])) unless max(max_over_time(${mirrorMetric("last_pass_timestamp_seconds")}[1h])))`,
      for: "1h",
      labels: { severity: "critical" },
      annotations: {
        summary: "The bucket mirror has not completed a pass for three intervals: no tenant bucket is being copied off the node",
        action: `docker service logs --since 24h ${BACKUP_MIRROR_SERVICE} | grep 'could not list' (MinIO down? the mirror's source key?) (${runbook})`,
      },
    },
    {
      alert: "MirrorMetricsDown",
      expr: `up{job="${MIRROR_JOB}"} == 0`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "The bucket mirror's metrics cannot be scraped: the off-node copies are not watched",
        action: `docker service ps ${BACKUP_MIRROR_SERVICE} --no-trunc; docker service logs ${BACKUP_MIRROR_SERVICE} | grep -i metrics (an image without busybox-extras: rebuild images/backup)`,
      },
    },
    {
      alert: "MirrorMetricsAbsent",
      // cAdvisor sees the mirror's container but Prometheus has no target for it (not on the monitoring network?).
      expr: `max by (container_service) (container_last_seen{container_service="${BACKUP_MIRROR_SERVICE}"}) unless on () max(up{job="${MIRROR_JOB}"})`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "The bucket mirror runs but Prometheus has no target for it",
        action: `docker service inspect ${BACKUP_MIRROR_SERVICE} (on net_monitoring? BACKUP_METRICS_PORT set?); pulumi up restores it`,
      },
    },
  ];
}

/** The fleet's alert rules; `docs` in README "Monitoring" says what to do about each. */
export function alertRules(): AlertRule[] {
  return [
    {
      alert: "KestraBackendDown",
      // Never for a suspended or offboarded tenant (its targets are dropped; the selector guards series of an older config).
      expr: `up{job="kestra-backend",status!~"${KESTRA_STOPPED_STATUSES}"} == 0`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: { summary: "Kestra backend of tenant {{ $labels.tenant }} does not answer on its management port", action: "docker service ps kestra_{{ $labels.tenant }}_executor; docker service logs kestra_{{ $labels.tenant }}_executor" },
    },
    {
      alert: "KestraWebDown",
      expr: `up{job="kestra-web",status!~"${KESTRA_STOPPED_STATUSES}"} == 0`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: { summary: "Kestra web server of tenant {{ $labels.tenant }} does not answer on its management port", action: "docker service ps kestra_{{ $labels.tenant }}_kestra; docker service logs kestra_{{ $labels.tenant }}_kestra" },
    },
    {
      alert: "KestraBackendStalled",
      // Jobs wait for a worker thread, and neither a task nor an execution has ended for 15 minutes.
      expr:
        '(sum by (tenant) (kestra_worker_job_pending{job="kestra-backend"}) > 0)' +
        ' unless on (tenant) (sum by (tenant) (increase(kestra_worker_ended_count_total{job="kestra-backend"}[15m])) > 0)' +
        ' unless on (tenant) (sum by (tenant) (increase(kestra_executor_execution_end_count_total{job="kestra-backend"}[15m])) > 0)',
      for: "15m",
      labels: { severity: "critical" },
      annotations: { summary: "Tenant {{ $labels.tenant }}: jobs are queued but no task or execution has ended for 30 minutes", action: "look for a stuck task in the tenant's UI (Executions, state RUNNING); restart the backend: docker service update --force kestra_{{ $labels.tenant }}_executor" },
    },
    {
      alert: "PostgresDown",
      expr: goneSince('tenant_service="postgres"', "tenant"),
      for: "2m",
      labels: { severity: "critical" },
      annotations: { summary: "Postgres of tenant {{ $labels.tenant }} has no running container", action: "docker service ps kestra_{{ $labels.tenant }}_postgres --no-trunc (a Pending task: is its node up?)" },
    },
    {
      alert: "MinioDown",
      expr: goneSince(`container_service="${STORAGE_SERVICE}"`, "container_service"),
      for: "2m",
      labels: { severity: "critical" },
      annotations: { summary: "MinIO has no running container: every tenant's storage is down", action: `docker service ps ${STORAGE_SERVICE} --no-trunc; docker service logs ${STORAGE_SERVICE}` },
    },
    {
      alert: "DiskAlmostFull",
      expr:
        '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|nsfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|nsfs"} > 0.85',
      for: "15m",
      labels: { severity: "warning" },
      annotations: { summary: "{{ $labels.instance }}: {{ $labels.mountpoint }} is {{ $value | humanizePercentage }} full", action: "docker system df -v on the node; grow the disk or move volumes (Postgres, MinIO, Prometheus) before it fills" },
    },
    {
      alert: "CertificateExpiringSoon",
      expr: "min by (cn) (traefik_tls_certs_not_after) - time() < 14 * 86400",
      for: "1h",
      labels: { severity: "warning" },
      annotations: { summary: "Certificate {{ $labels.cn }} expires in {{ $value | humanizeDuration }}", action: "docker service logs platform_proxy_traefik | grep -i acme (renewal runs 30 days ahead: check the DNS token and rate limits)" },
    },
    {
      alert: "TenantOverProfileMemory",
      expr:
        'max by (tenant, tenant_service) (container_memory_working_set_bytes{tenant!=""} / (container_spec_memory_limit_bytes{tenant!=""} > 0)) > 0.9',
      for: "15m",
      labels: { severity: "warning" },
      annotations: { summary: "Tenant {{ $labels.tenant }}: {{ $labels.tenant_service }} uses {{ $value | humanizePercentage }} of its memory limit", action: "the tenant needs a larger kestra.size (tenant file), or its flows hold too much in memory" },
    },
    {
      alert: "TenantOverProfileCpu",
      expr:
        'sum by (tenant, tenant_service) (rate(container_cpu_cfs_throttled_periods_total{tenant!=""}[5m])) / sum by (tenant, tenant_service) (rate(container_cpu_cfs_periods_total{tenant!=""}[5m])) > 0.5',
      for: "30m",
      labels: { severity: "warning" },
      annotations: { summary: "Tenant {{ $labels.tenant }}: {{ $labels.tenant_service }} is CPU-throttled in {{ $value | humanizePercentage }} of periods", action: "the tenant needs a larger kestra.size or dedicated workers (kestra.workers)" },
    },
    {
      alert: "TenantUnreachable",
      expr: 'probe_success{job="blackbox"} == 0',
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "{{ $labels.instance }} (tenant {{ $labels.tenant }}) fails from outside, through Cloudflare Access",
        action: "curl -sS -o /dev/null -w '%{http_code}' -H CF-Access-Client-Id:… -H CF-Access-Client-Secret:… the URL: 302 = Access refused the probe token (expired?), 5xx = Traefik or Kestra web; check KestraWebDown",
      },
    },
    ...backupAlertRules(),
    ...mirrorAlertRules(),
    {
      alert: "MonitoringTargetDown",
      expr: 'up{job=~"traefik|node-exporter|cadvisor|alertmanager|blackbox"} == 0',
      for: "10m",
      labels: { severity: "warning" },
      annotations: { summary: "{{ $labels.job }} on {{ $labels.instance }} cannot be scraped", action: "docker service ps {{ $labels.swarm_service }}" },
    },
    {
      alert: "TraefikMetricsAbsent",
      expr: 'absent(up{job="traefik"} == 1)',
      for: "10m",
      labels: { severity: "critical" },
      annotations: { summary: "Traefik is not scraped: the proxy is down or off net_monitoring_proxy", action: "docker service ps platform_proxy_traefik" },
    },
  ];
}

export function renderAlertRules(): string {
  return "# Rendered by kestra-fleet: do not edit.\n" + stringify({ groups: [{ name: "kestra-fleet", rules: alertRules() }] }, { lineWidth: 0 });
}

/** Alertmanager's configuration: every alert to the stack's one receiver, grouped by alert and tenant. */
export function alertmanagerConfigObject(settings: Settings): Record<string, unknown> {
  const a = settings.monitoring.alerts;
  if (!a) throw new Error("alertmanagerConfigObject: monitoring.alerts is required (validated in the stack config)");
  const receiver: Record<string, unknown> = { name: "operators" };
  if (a.receiver === "webhook") {
    receiver.webhook_configs = [{ url_file: ALERT_SECRET_FILE, send_resolved: true }];
  } else {
    receiver.email_configs = [
      {
        to: a.to,
        from: a.from,
        smarthost: a.smarthost,
        require_tls: true,
        send_resolved: true,
        ...(a.username ? { auth_username: a.username, auth_password_file: ALERT_SECRET_FILE } : {}),
      },
    ];
  }
  return {
    route: { receiver: "operators", group_by: ["alertname", "tenant"], group_wait: "30s", group_interval: "5m", repeat_interval: "4h" },
    receivers: [receiver],
    // A backend that is down is also stalled: say it once.
    inhibit_rules: [{ source_matchers: ["alertname = KestraBackendDown"], target_matchers: ["alertname = KestraBackendStalled"], equal: ["tenant"] }],
  };
}

export function renderAlertmanagerConfig(settings: Settings): string {
  return "# Rendered by kestra-fleet: do not edit.\n" + stringify(alertmanagerConfigObject(settings), { lineWidth: 0 });
}

/** The netrc file Kestra's health check authenticates with (curl --netrc-file). */
export function managementNetrc(password: string): string {
  return `machine 127.0.0.1 login ${SCRAPE_USER} password ${password}\n`;
}

/**
 * Kestra's container health check. With monitoring, every management endpoint (health included)
 * needs the scrape credential, read by curl from a secret file: nothing of it in the service spec.
 */
export function kestraHealthcheck(authenticated: boolean) {
  const auth = authenticated ? ["--netrc-file", MANAGEMENT_NETRC_FILE] : [];
  return {
    tests: ["CMD", "curl", "-fsS", ...auth, "-o", "/dev/null", `http://127.0.0.1:${KESTRA_MANAGEMENT_PORT}/health`],
    interval: "30s",
    timeout: "10s",
    retries: 5,
    startPeriod: "180s",
  };
}

/**
 * The metric families each scrape job provides that the alert rules and dashboards use (checked by
 * the tests: a rule or panel naming anything else fails). Sources: Kestra core MetricRegistry
 * (`kestra.` prefix, Micrometer's Prometheus naming) and Micrometer's JVM binders; Traefik's
 * Prometheus metrics (router and service labels, TLS certificates); node exporter's cpu, meminfo,
 * filesystem, loadavg and netdev collectors; cAdvisor's container metrics.
 */
export const METRICS_BY_JOB: Record<string, readonly string[]> = {
  "kestra-backend": [
    "kestra_executor_execution_end_count_total",
    "kestra_executor_execution_started_count_total",
    "kestra_worker_job_pending",
    "kestra_worker_job_running",
    "kestra_worker_ended_count_total",
    "jvm_memory_used_bytes",
  ],
  "kestra-web": ["jvm_memory_used_bytes"],
  traefik: ["traefik_router_requests_total", "traefik_router_request_duration_seconds_bucket", "traefik_tls_certs_not_after", "traefik_open_connections"],
  "node-exporter": [
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_load1",
    "node_network_receive_bytes_total",
  ],
  cadvisor: [
    "container_last_seen",
    "container_cpu_usage_seconds_total",
    "container_cpu_cfs_periods_total",
    "container_cpu_cfs_throttled_periods_total",
    "container_memory_working_set_bytes",
    "container_spec_memory_limit_bytes",
    "container_fs_usage_bytes",
  ],
  blackbox: ["probe_success", "probe_duration_seconds", "probe_http_status_code"],
  // The backup script's metrics (infra/render/backup.ts).
  [BACKUP_JOB]: (Object.keys(BACKUP_METRICS) as BackupMetric[]).map(backupMetricName),
  // The bucket mirror's metrics (infra/render/backup.ts).
  [MIRROR_JOB]: ([...Object.keys(MIRROR_PASS_METRICS), ...Object.keys(MIRROR_TENANT_METRICS)] as MirrorMetric[]).map(mirrorMetricName),
  // Every job: Prometheus's own series.
  "*": ["up"],
};

const PROMQL_WORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** The metric names a PromQL expression selects (functions, keywords, label names, strings and durations left out). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/\[[^\]]*\]/g, "");
  const out = new Set<string>();
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const before = bare[m.index! - 1];
    if (PROMQL_WORDS.has(word.toLowerCase()) || (before && /[0-9.]/.test(before))) continue;
    // A name followed by "(" is a function.
    if (bare.slice(m.index! + word.length).trimStart().startsWith("(")) continue;
    out.add(word);
  }
  return [...out].sort();
}
