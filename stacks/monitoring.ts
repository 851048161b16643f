/**
 * MonitoringStack (`platform_monitoring`, optional, on by default): Prometheus with a volume of its own
 * (protected, retained, its node pinned from the stack config), its own read-only Docker socket proxy for
 * Swarm service discovery, Alertmanager with the stack's receiver, node exporter and cAdvisor on every
 * node. Everything it renders depends on the stack settings only: adding a tenant changes none of these
 * services (a tenant brings its own gateway, stacks/tenant-gateway.ts, which discovery finds).
 * Networks: `net_monitoring` (internal; Prometheus, Alertmanager, node exporter, Traefik, the tenants'
 * gateways; no Kestra service), `net_monitoring_docker_api` (Prometheus and its socket proxy only),
 * `net_monitoring_nodes` (Prometheus and cAdvisor only), `net_monitoring_proxy` (Prometheus and
 * Traefik only, fixed subnet: Traefik's metrics admit it alone) and `net_monitoring_egress`
 * (Alertmanager's and the probe's route out).
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { cloudflareOf, edgeOf, type CloudflareSettings, type Settings } from "../infra/input/config/schema";
import {
  ALERTMANAGER_SERVICE,
  ALERTMANAGER_VOLUME,
  BLACKBOX_PORT,
  BLACKBOX_SERVICE,
  CADVISOR_PORT,
  CADVISOR_SERVICE,
  GRAFANA_SERVICE,
  GRAFANA_VOLUME,
  LABEL_ROLE,
  MONITORING_DOCKER_API_NETWORK,
  MONITORING_EGRESS_NETWORK,
  MONITORING_PROBE_EGRESS_NETWORK,
  MONITORING_PROBE_NETWORK,
  MONITORING_NETWORK,
  MONITORING_NODES_NETWORK,
  MONITORING_SOCKET_PROXY_SERVICE,
  MONITORING_STACK,
  NODE_EXPORTER_PORT,
  NODE_EXPORTER_SERVICE,
  PROMETHEUS_SERVICE,
  PROMETHEUS_VOLUME,
  type ServiceRole,
} from "../infra/model/naming";
import { PLATFORM_RESOURCES, swarmResources, type ServiceResources } from "../infra/model/profiles";
import { ingressRecords } from "../infra/render/access";
import {
  GRAFANA_ADMIN_PASSWORD_FILE,
  GRAFANA_DASHBOARDS_DIR,
  GRAFANA_DATA_DIR,
  GRAFANA_PROVISIONING_DIR,
  grafanaDashboardProvider,
  grafanaDatasources,
  grafanaEnv,
  grafanaLabels,
  readDashboards,
} from "../infra/render/grafana";
import { edgeRouting, identityLabels, labelList } from "../infra/render/labels";
import {
  ALERT_SECRET_FILE,
  ALERTMANAGER_CONFIG_FILE,
  ALERTMANAGER_DATA_DIR,
  BLACKBOX_CONFIG_FILE,
  renderBlackboxConfig,
  renderLabBlackboxConfig,
  monitoringSocketProxyArgs,
  PROMETHEUS_CONFIG_FILE,
  PROMETHEUS_DATA_DIR,
  PROMETHEUS_RULES_FILE,
  renderAlertmanagerConfig,
  renderAlertRules,
  renderPrometheusConfig,
  tenantScrapePassword,
  TRAEFIK_METRICS_PASSWORD_FILE,
} from "../infra/render/monitoring";
import { proxyMetricsGateway, proxyMetricsNetworkName } from "../infra/render/metrics-network";
import { socketProxyContainerSpec } from "../infra/render/socket-proxy";
import { endpointSpec, hashedConfig, hashedSecret, LOG_DRIVER, networkOptions, RESTART_POLICY, secretMount } from "./swarm";

export interface MonitoringStackArgs {
  settings: Settings;
  stack: string;
  manager: docker.Provider;
  /** Docker provider of the node holding Prometheus's and Alertmanager's volumes. */
  dataNode: docker.Provider;
  /** Alertmanager's receiver secret (webhook URL or SMTP password), when the receiver needs one. */
  alertReceiverSecret?: pulumi.Input<string>;
  /** Cloudflare's provider: Grafana's DNS record and Access application, the external probe's token. Absent in a lab stack without Cloudflare. */
  cloudflare?: cloudflare.Provider;
  /** Tenants whose Kestra is declared (status not offboarded): each gets a scrape job with its own credential. */
  scrapeTenants: readonly string[];
}

/** The platform admins alone (no tenant identity): Access includes for Grafana. */
function adminIncludes(admins: CloudflareSettings["admins"]) {
  return [
    ...[...new Set(admins.emails.map((e) => e.toLowerCase()))].sort().map((email) => ({ email: { email } })),
    ...[...new Set(admins.emailDomains)].sort().map((domain) => ({ emailDomain: { domain } })),
    ...[...new Set(admins.groups.map((g) => g.toLowerCase()))].sort().map((id) => ({ group: { id } })),
  ];
}

const wget = (url: string) => ({ tests: ["CMD", "wget", "-q", "-O", "/dev/null", url], interval: "30s", timeout: "5s", retries: 3, startPeriod: "30s" });

export class MonitoringStack extends pulumi.ComponentResource {
  /** The network each tenant's gateway joins (and Traefik, to route Grafana). */
  readonly network: docker.Network;
  /** Prometheus's and Traefik's network, nothing else's: Traefik serves its metrics to this subnet only. */
  readonly proxyMetricsNetwork: docker.Network;
  /** Its Docker name, which follows its subnet. */
  readonly proxyMetricsNetworkName: string;
  /** The key every tenant's scrape password derives from (a secret; Prometheus and tenants never get it). */
  private readonly scrapeKey: pulumi.Output<string>;
  /** The password of Traefik's metrics router (a secret): the proxy turns it into its basic-auth users file. */
  readonly traefikMetricsPassword: pulumi.Output<string>;
  readonly prometheus: docker.Service;
  readonly alertmanager: docker.Service;
  readonly grafana: docker.Service;
  /** The external probe's Access policy (non_identity, the probe's service token): every tenant's application adds it. Absent without Cloudflare. */
  readonly probePolicy?: cloudflare.ZeroTrustAccessPolicy;
  readonly grafanaUrl: string;
  /** Grafana's `admin` password (a secret output). */
  readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, args: MonitoringStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:MonitoringStack", name, {}, opts);
    const { settings } = args;
    const mon = settings.monitoring;
    const images = settings.images;
    if (!images.prometheus || !images.alertmanager || !images.nodeExporter || !images.cadvisor || !images.grafana || !images.blackbox || !mon.alerts || !mon.grafanaHost) {
      throw new Error("MonitoringStack: monitoring needs its images and alerts (validated in the stack config)");
    }
    const on = { parent: this, provider: args.manager };
    const encrypted = settings.swarm.encryptNetworks ? { encrypted: "" } : undefined;
    const network = (logical: string, netName: string, internal: boolean, ipamConfigs?: docker.types.input.NetworkIpamConfig[]) =>
      new docker.Network(
        logical,
        { name: netName, driver: "overlay", internal, attachable: false, options: encrypted, ipamConfigs, labels: labelList({ [LABEL_ROLE]: "monitoring" }) },
        { ...on, ...networkOptions() },
      );

    this.network = network("monitoring-network", MONITORING_NETWORK, true);
    const dockerApi = network("monitoring-docker-api-network", MONITORING_DOCKER_API_NETWORK, true);
    const nodes = network("monitoring-nodes-network", MONITORING_NODES_NETWORK, true);
    const egress = network("monitoring-egress-network", MONITORING_EGRESS_NETWORK, false);
    // The blackbox exporter's /probe sends the Access service token to any target it is given and has
    // no authentication: only Prometheus may reach it (README, Security).
    const probe = network("monitoring-probe-network", MONITORING_PROBE_NETWORK, true);
    const probeEgress = network("monitoring-probe-egress-network", MONITORING_PROBE_EGRESS_NETWORK, false);
    // A fixed subnet (Traefik's metrics router admits this range only). The provider
    // (kreuzwerker/terraform-provider-docker, internal/provider/resource_docker_network.go, same schema
    // from v3.6 to v4.5) declares `ipam_config` a Computed, ForceNew set of {subnet, ip_range, gateway,
    // aux_address}, each ForceNew; Read stores what Docker returns (flattenIpamConfigSpec), and Swarm's
    // IPAM fills an overlay's gateway with the subnet's first host when none is given. An input without
    // the gateway would then differ from the state (set element hash) and replace the network, and every
    // service on it, on the next `pulumi up`: so the gateway is set, to that same first host.
    // Its name follows the subnet (proxyMetricsNetworkName): a new subnet is a new network, created
    // before the old one is deleted (Traefik and Prometheus still use the old one until they are
    // updated onto the new one; Docker refuses to delete a network in use, and a delete-first
    // replacement would stop there). The default subnet keeps the name `net_monitoring_proxy`.
    const subnet = mon.proxyMetricsSubnet;
    this.proxyMetricsNetworkName = proxyMetricsNetworkName(subnet);
    this.proxyMetricsNetwork = new docker.Network(
      "monitoring-proxy-network",
      { name: this.proxyMetricsNetworkName, driver: "overlay", internal: true, attachable: false, options: encrypted, ipamConfigs: [{ subnet, gateway: proxyMetricsGateway(subnet) }], labels: labelList({ [LABEL_ROLE]: "monitoring" }) },
      { ...on, ...networkOptions(), deleteBeforeReplace: false },
    );

    const service = (
      logical: string,
      spec: {
        name: string;
        role: ServiceRole;
        image: string;
        res: ServiceResources;
        global?: boolean;
        labels?: Record<string, string>;
        containerSpec: Record<string, unknown>;
        networks: pulumi.Input<string>[];
        placement?: string[];
        order: "start-first" | "stop-first";
      },
      dependsOn: pulumi.Resource[] = [],
    ) =>
      new docker.Service(
        logical,
        {
          name: spec.name,
          labels: labelList({ ...identityLabels(MONITORING_STACK, spec.role), ...(spec.labels ?? {}) }),
          mode: spec.global ? { global: true } : { replicated: { replicas: 1 } },
          taskSpec: {
            containerSpec: { image: spec.image, stopGracePeriod: "30s", ...spec.containerSpec },
            networksAdvanceds: spec.networks.map((id) => ({ id })),
            placement: spec.placement ? { constraints: spec.placement } : undefined,
            resources: swarmResources(spec.res),
            restartPolicy: RESTART_POLICY,
            logDriver: LOG_DRIVER,
          },
          endpointSpec: endpointSpec(settings),
          updateConfig: { order: spec.order, parallelism: 1, failureAction: "rollback", monitor: "30s" },
          rollbackConfig: { order: spec.order, parallelism: 1 },
        },
        { ...on, dependsOn },
      );

    // --- Credentials: one scrape credential per tenant, derived from a stack key (README "Monitoring") ---
    // The RandomPassword keeps its URN: it is the key now, no longer a password every tenant holds.
    const scrape = new random.RandomPassword("monitoring-scrape-password", { length: 32, special: false }, { parent: this });
    this.scrapeKey = pulumi.secret(scrape.result);
    const objectLabels = { [LABEL_ROLE]: "monitoring" };

    // Traefik's metrics: a credential of their own, known to Prometheus and (hashed) to Traefik only.
    const traefikMetrics = new random.RandomPassword("monitoring-traefik-metrics-password", { length: 32, special: false }, { parent: this });
    this.traefikMetricsPassword = pulumi.secret(traefikMetrics.result);
    const traefikMetricsSecret = hashedSecret(
      "monitoring-traefik-metrics-password-secret",
      { prefix: MONITORING_STACK, purpose: "traefik_metrics_password", content: traefikMetrics.result, labels: objectLabels },
      on,
    );

    // --- Prometheus's read-only view of the Swarm ------------------------------------------------
    const socketProxy = service("monitoring-socket-proxy", {
      name: MONITORING_SOCKET_PROXY_SERVICE,
      role: "socket-proxy",
      image: images.socketProxy,
      res: PLATFORM_RESOURCES.socketProxy,
      containerSpec: socketProxyContainerSpec(images.socketProxy, monitoringSocketProxyArgs()),
      networks: [dockerApi.id],
      // The swarm API (services, tasks, nodes) answers on managers only.
      placement: ["node.role == manager"],
      order: "start-first",
    });

    // --- Prometheus ---------------------------------------------------------------------------------
    const node = mon.node ?? settings.swarm.dataNode;
    const stateful = { parent: this, provider: args.dataNode, protect: true, retainOnDelete: true };
    const promVolume = new docker.Volume("monitoring-prometheus-volume", { name: PROMETHEUS_VOLUME, driver: "local", labels: labelList({ [LABEL_ROLE]: "prometheus" }) }, stateful);
    // A secret: it holds every tenant's scrape credential. Onboarding a tenant changes it (and so
    // restarts Prometheus): Prometheus presents one credential per job, so each tenant has jobs of its own.
    const scrapeTenants = [...new Set(args.scrapeTenants)].sort();
    const promConfig = hashedSecret(
      "monitoring-prometheus-config",
      {
        prefix: MONITORING_STACK,
        purpose: "prometheus",
        content: scrape.result.apply((key) =>
          renderPrometheusConfig({ stack: args.stack, hostPattern: settings.hostPattern, proxyMetricsNetwork: this.proxyMetricsNetworkName, scrape: scrapeTenants.map((tenant) => ({ tenant, password: tenantScrapePassword(key, tenant) })) }),
        ),
        labels: objectLabels,
      },
      on,
    );
    const rules = hashedConfig("monitoring-alert-rules", { prefix: MONITORING_STACK, purpose: "rules", content: renderAlertRules(), labels: objectLabels }, on);
    this.prometheus = service(
      "monitoring-prometheus",
      {
        name: PROMETHEUS_SERVICE,
        role: "prometheus",
        image: images.prometheus,
        res: PLATFORM_RESOURCES.prometheus,
        containerSpec: {
          args: [
            `--config.file=${PROMETHEUS_CONFIG_FILE}`,
            `--storage.tsdb.path=${PROMETHEUS_DATA_DIR}`,
            `--storage.tsdb.retention.time=${mon.retention}`,
            "--web.listen-address=:9090",
          ],
          configs: [
            { configId: rules.id, configName: rules.name, fileName: PROMETHEUS_RULES_FILE, fileMode: 0o444 },
          ],
          secrets: [
            secretMount(promConfig, PROMETHEUS_CONFIG_FILE.replace("/run/secrets/", "")),
            secretMount(traefikMetricsSecret, TRAEFIK_METRICS_PASSWORD_FILE.replace("/run/secrets/", "")),
          ],
          mounts: [{ type: "volume", source: PROMETHEUS_VOLUME, target: PROMETHEUS_DATA_DIR }],
          healthcheck: wget("http://127.0.0.1:9090/-/healthy"),
          // Prometheus flushes its head block on shutdown.
          stopGracePeriod: "2m",
        },
        networks: [this.network.id, dockerApi.id, nodes.id, this.proxyMetricsNetwork.id, probe.id],
        // The volume is local to this node.
        placement: [`node.hostname == ${node}`],
        // One TSDB, one process.
        order: "stop-first",
      },
      [promVolume, socketProxy],
    );

    // --- Alertmanager -------------------------------------------------------------------------------
    const amVolume = new docker.Volume("monitoring-alertmanager-volume", { name: ALERTMANAGER_VOLUME, driver: "local", labels: labelList({ [LABEL_ROLE]: "alertmanager" }) }, stateful);
    const amConfig = hashedConfig("monitoring-alertmanager-config", { prefix: MONITORING_STACK, purpose: "alertmanager", content: renderAlertmanagerConfig(settings), labels: objectLabels }, on);
    const amSecrets = args.alertReceiverSecret
      ? [secretMount(hashedSecret("monitoring-alert-receiver-secret", { prefix: MONITORING_STACK, purpose: "alert_receiver", content: args.alertReceiverSecret, labels: objectLabels }, on), ALERT_SECRET_FILE.replace("/run/secrets/", ""))]
      : [];
    this.alertmanager = service(
      "monitoring-alertmanager",
      {
        name: ALERTMANAGER_SERVICE,
        role: "alertmanager",
        image: images.alertmanager,
        res: PLATFORM_RESOURCES.alertmanager,
        containerSpec: {
          args: [`--config.file=${ALERTMANAGER_CONFIG_FILE}`, `--storage.path=${ALERTMANAGER_DATA_DIR}`, "--cluster.listen-address="],
          configs: [{ configId: amConfig.id, configName: amConfig.name, fileName: ALERTMANAGER_CONFIG_FILE, fileMode: 0o444 }],
          secrets: amSecrets,
          mounts: [{ type: "volume", source: ALERTMANAGER_VOLUME, target: ALERTMANAGER_DATA_DIR }],
          healthcheck: wget("http://127.0.0.1:9093/-/healthy"),
        },
        networks: [this.network.id, egress.id],
        placement: [`node.hostname == ${node}`],
        order: "stop-first",
      },
      [amVolume],
    );

    // --- Node exporter and cAdvisor on every node ---------------------------------------------------
    service("monitoring-node-exporter", {
      name: NODE_EXPORTER_SERVICE,
      role: "node-exporter",
      image: images.nodeExporter,
      res: PLATFORM_RESOURCES.nodeExporter,
      global: true,
      containerSpec: {
        args: [
          "--path.rootfs=/host",
          "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)",
          `--web.listen-address=:${NODE_EXPORTER_PORT}`,
        ],
        // The host's file systems, read-only: disk usage of every node (and so of its local volumes).
        mounts: [{ type: "bind", source: "/", target: "/host", readOnly: true, bindOptions: { propagation: "rslave" } }],
        readOnly: true,
        healthcheck: wget(`http://127.0.0.1:${NODE_EXPORTER_PORT}/metrics`),
      },
      networks: [this.network.id],
      order: "stop-first",
    });
    service("monitoring-cadvisor", {
      name: CADVISOR_SERVICE,
      role: "cadvisor",
      image: images.cadvisor,
      res: PLATFORM_RESOURCES.cadvisor,
      global: true,
      containerSpec: {
        args: ["--docker_only=true", "--housekeeping_interval=30s", "--disable_metrics=percpu,sched,tcp,udp,advtcp,hugetlb,referenced_memory,cpu_topology,resctrl,process"],
        // cAdvisor names containers through the Docker API (read-only mount; it is on a network shared
        // with Prometheus only) and reads cgroups and the container layers from the host.
        mounts: [
          { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
          { type: "bind", source: "/sys", target: "/sys", readOnly: true },
          { type: "bind", source: "/var/lib/docker", target: "/var/lib/docker", readOnly: true },
          { type: "bind", source: "/dev/disk", target: "/dev/disk", readOnly: true },
        ],
        healthcheck: wget(`http://127.0.0.1:${CADVISOR_PORT}/healthz`),
      },
      networks: [nodes.id],
      order: "stop-first",
    });

    // --- Grafana: provisioned, behind Cloudflare Access for the platform admins only ----------------
    const host = mon.grafanaHost;
    this.grafanaUrl = `https://${host}/`;
    const adminPassword = new random.RandomPassword("monitoring-grafana-admin-password", { length: 24, special: false, minUpper: 2, minLower: 2, minNumeric: 2 }, { parent: this });
    this.grafanaAdminPassword = pulumi.secret(adminPassword.result);
    const adminSecret = hashedSecret("monitoring-grafana-admin-secret", { prefix: MONITORING_STACK, purpose: "grafana_admin", content: adminPassword.result, labels: objectLabels }, on);
    const grafanaVolume = new docker.Volume("monitoring-grafana-volume", { name: GRAFANA_VOLUME, driver: "local", labels: labelList({ [LABEL_ROLE]: "grafana" }) }, stateful);
    const fileConfig = (logical: string, purpose: string, content: string, fileName: string) => {
      const c = hashedConfig(logical, { prefix: MONITORING_STACK, purpose, content, labels: objectLabels }, on);
      return { configId: c.id, configName: c.name, fileName, fileMode: 0o444 };
    };
    const dashboards = Object.entries(readDashboards()).map(([file, text]) => {
      const base = file.replace(/\.json$/, "");
      return fileConfig(`monitoring-dashboard-${base}`, `dashboard_${base.replace(/-/g, "_")}`, text, `${GRAFANA_DASHBOARDS_DIR}/${file}`);
    });
    this.grafana = service(
      "monitoring-grafana",
      {
        name: GRAFANA_SERVICE,
        role: "grafana",
        image: images.grafana,
        res: PLATFORM_RESOURCES.grafana,
        labels: grafanaLabels(host, edgeRouting(settings)),
        containerSpec: {
          env: grafanaEnv(host),
          secrets: [secretMount(adminSecret, GRAFANA_ADMIN_PASSWORD_FILE.replace("/run/secrets/", ""))],
          configs: [
            fileConfig("monitoring-grafana-datasources", "grafana_datasources", grafanaDatasources(), `${GRAFANA_PROVISIONING_DIR}/datasources/prometheus.yml`),
            fileConfig("monitoring-grafana-dashboards", "grafana_dashboards", grafanaDashboardProvider(), `${GRAFANA_PROVISIONING_DIR}/dashboards/kestra-fleet.yml`),
            ...dashboards,
          ],
          mounts: [{ type: "volume", source: GRAFANA_VOLUME, target: GRAFANA_DATA_DIR }],
          healthcheck: wget("http://127.0.0.1:3000/api/health"),
        },
        networks: [this.network.id],
        placement: [`node.hostname == ${node}`],
        // SQLite on the volume: one process.
        order: "stop-first",
      },
      [grafanaVolume],
    );
    // Behind Cloudflare: Grafana's proxied record and Access application (platform admins), and the
    // external probe's service token. A lab stack without Cloudflare has neither: the probe goes
    // without Access headers (renderLabBlackboxConfig).
    let blackboxContent: pulumi.Input<string> = renderLabBlackboxConfig();
    if (args.cloudflare) {
      const cfs = cloudflareOf(settings);
      const cf = { parent: this, provider: args.cloudflare };
      ingressRecords(cfs.ingressAddresses).forEach(
        (record, i) =>
          new cloudflare.DnsRecord(
            `monitoring-grafana-dns-${i}`,
            { zoneId: cfs.zoneId, name: host, ...record, ttl: 1, proxied: true, comment: `kestra-fleet ${args.stack}: Grafana (Access: platform admins)` },
            cf,
          ),
      );
      const admins = new cloudflare.ZeroTrustAccessPolicy(
        "monitoring-grafana-access-admins",
        { accountId: cfs.accountId, name: `kestra-fleet ${args.stack} Grafana admins`, decision: "allow", includes: adminIncludes(cfs.admins), sessionDuration: cfs.sessionDuration },
        cf,
      );
      new cloudflare.ZeroTrustAccessApplication(
        "monitoring-grafana-access-app",
        {
          accountId: cfs.accountId,
          name: `Kestra fleet Grafana (${args.stack})`,
          type: "self_hosted",
          domain: host,
          destinations: [{ type: "public", uri: host }],
          sessionDuration: cfs.sessionDuration,
          appLauncherVisible: true,
          policies: [{ id: admins.id, precedence: 1 }],
        },
        cf,
      );

      // --- External probe: each tenant's public URL through Cloudflare Access ------------------------
      // One stack-level service token and one non_identity policy admitting it, which every tenant's
      // Access application references (account-level policies are shared): adding a tenant changes neither.
      const probeToken = new cloudflare.ZeroTrustAccessServiceToken(
        "monitoring-probe-token",
        { accountId: cfs.accountId, name: `kestra-fleet ${args.stack} external probe`, duration: "8760h" },
        { ...cf, additionalSecretOutputs: ["clientSecret"] },
      );
      const probePolicy = new cloudflare.ZeroTrustAccessPolicy(
        "monitoring-probe-policy",
        { accountId: cfs.accountId, name: `kestra-fleet ${args.stack} external probe`, decision: "non_identity", includes: [{ serviceToken: { tokenId: probeToken.id } }] },
        cf,
      );
      this.probePolicy = probePolicy;
      blackboxContent = pulumi.all([probeToken.clientId, probeToken.clientSecret]).apply(([id, secret]) => renderBlackboxConfig(id, secret));
    } else if (edgeOf(settings).provider === "cloudflare") {
      throw new Error("MonitoringStack: a stack behind Cloudflare needs the Cloudflare provider");
    }
    const blackboxConfig = hashedSecret(
      "monitoring-blackbox-config",
      { prefix: MONITORING_STACK, purpose: "blackbox", content: blackboxContent, labels: objectLabels },
      on,
    );
    service("monitoring-blackbox", {
      name: BLACKBOX_SERVICE,
      role: "blackbox",
      image: images.blackbox,
      res: PLATFORM_RESOURCES.blackbox,
      containerSpec: {
        args: [`--config.file=${BLACKBOX_CONFIG_FILE}`, `--web.listen-address=:${BLACKBOX_PORT}`],
        secrets: [secretMount(blackboxConfig, BLACKBOX_CONFIG_FILE.replace("/run/secrets/", ""))],
        readOnly: true,
        healthcheck: wget(`http://127.0.0.1:${BLACKBOX_PORT}/-/healthy`),
      },
      // Prometheus asks on net_monitoring_probe (its and the exporter's alone); the probe goes out on
      // the exporter's own egress network. No other service can reach /probe.
      networks: [probe.id, probeEgress.id],
      order: "start-first",
    });

    this.registerOutputs({ prometheus: this.prometheus.name, alertmanager: this.alertmanager.name, network: MONITORING_NETWORK, proxyMetricsNetwork: this.proxyMetricsNetworkName, grafanaUrl: this.grafanaUrl });
  }

  /** A tenant's own scrape password (a secret): its Kestra requires it, Prometheus presents it to that tenant only. */
  scrapePasswordFor(tenant: string): pulumi.Output<string> {
    return pulumi.secret(this.scrapeKey.apply((key) => tenantScrapePassword(key, tenant)));
  }
}
