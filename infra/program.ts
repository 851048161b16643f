/**
 * The fleet: validated inputs in, resources declared, operator outputs out. Run by `pulumi up`
 * (infra/index.ts) and, unchanged, by the offline plan and the tests under Pulumi's mocks.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as docker from "@pulumi/docker";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { MonitoringStack } from "../stacks/monitoring";
import { BackupStack } from "../stacks/backup";
import { ProxyStack } from "../stacks/proxy";
import { KestraShared } from "../stacks/kestra-shared";
import { StorageStack } from "../stacks/storage";
import { setObjectNameKey } from "../stacks/swarm";
import { TenantStack } from "../stacks/tenant";
import type { FleetInputs } from "./input/inputs";
import { edgeOf } from "./input/config/schema";
import type { Tenant } from "./input/tenants/schema";
import { MONITORING_NETWORK, PUBLIC_NETWORK, STORAGE_NETWORK } from "./model/naming";
import { readFlowTemplate } from "./render/flow";

export interface TenantOutputs {
  url: string;
  adminEmail: string;
  adminPassword: pulumi.Output<string>;
  /** Kestra's encryption key (secret): without it, a restored database's encrypted values are unreadable. */
  encryptionKey: pulumi.Output<string>;
  bucket: pulumi.Output<string>;
  services: Record<string, pulumi.Output<string>>;
  status: string;
  accessApplicationId?: pulumi.Output<string>;
  webhookAccessApplicationId?: pulumi.Output<string>;
  serviceTokenClientId?: pulumi.Output<string>;
  serviceTokenClientSecret?: pulumi.Output<string>;
}

/**
 * Declares the fleet. `declareTenants`, when given, receives the function declaring one tenant and
 * calls it for every tenant of `inputs.tenants`, in order, possibly later (the offline plan declares
 * large fleets in batches: infra/plan/run.ts); the returned `tenants` record fills as it does.
 */
export function defineFleet(inputs: FleetInputs, flowTemplate: string = readFlowTemplate(), declareTenants?: (declare: (tenant: Tenant) => void) => void) {
  const { settings, secrets, stack } = inputs;

  // The key of every hashed Swarm secret and config name (infra/model/naming.ts swarmObjectHash): random,
  // kept in the state (encrypted), so names change with content but reveal nothing about it, and
  // stay the same from run to run. Protected: a new key renames (and rolls) every object once.
  const objectNameKey = new random.RandomBytes("swarm-object-name-key", { length: 32 }, { protect: true });
  setObjectNameKey(objectNameKey.hex);

  // Providers: the Swarm manager for services, networks, secrets and configs; one per node that
  // holds a local volume (a volume is created on the node the provider talks to). No daemon check at
  // configure: a preview (no refresh) asks nothing of Docker, so the pull-request preview runs without
  // the Swarm SSH key (README, CI); `up` and a refresh reach the daemon on their first call.
  const dockerProvider = (name: string, host: string) => new docker.Provider(name, { host, disableDockerDaemonCheck: true });
  const manager = dockerProvider("swarm-manager", settings.swarm.dockerHost);
  const nodeProviders = new Map<string, docker.Provider>();
  const nodeProvider = (node: string) => {
    let p = nodeProviders.get(node);
    if (!p) {
      p = dockerProvider(`swarm-node-${node}`, settings.swarm.nodes[node]);
      nodeProviders.set(node, p);
    }
    return p;
  };
  // Cloudflare's provider only behind Cloudflare: a lab stack that leaves it out (edge.provider none)
  // registers no Cloudflare provider or resource, so the engine never loads the cloudflare plugin.
  const edge = edgeOf(settings);
  const cf = edge.provider === "cloudflare" ? new cloudflare.Provider("cloudflare", { apiToken: pulumi.secret(required(secrets.cloudflareApiToken, "cloudflareApiToken")) }) : undefined;
  // Monitoring first: the proxy and every tenant's relay join its network.
  const monitoring = settings.monitoring.enabled
    ? new MonitoringStack("monitoring", {
        settings,
        stack,
        manager,
        dataNode: nodeProvider(settings.monitoring.node ?? settings.swarm.dataNode),
        alertReceiverSecret: secrets.alertReceiverSecret ? pulumi.secret(secrets.alertReceiverSecret) : undefined,
        cloudflare: cf,
        // Every tenant whose Kestra is declared (stacks/tenant.ts: all but offboarded ones).
        scrapeTenants: inputs.tenants.filter((t) => t.status !== "offboarded").map((t) => t.name),
      })
    : undefined;

  const proxy = new ProxyStack("proxy", {
    settings,
    acmeDnsApiToken: edge.provider === "cloudflare" ? pulumi.secret(required(secrets.acmeDnsApiToken, "acmeDnsApiToken")) : undefined,
    manager,
    proxyNode: nodeProvider(settings.proxy.node),
    monitoringNetworkId: monitoring?.network.id,
    metricsNetworkId: monitoring?.proxyMetricsNetwork.id,
    metricsPassword: monitoring?.traefikMetricsPassword,
  });
  const storage = new StorageStack("storage", {
    settings,
    manager,
    storageNode: settings.storage.minio ? nodeProvider(settings.storage.minio.node) : undefined,
    publicNetworkId: proxy.publicNetwork.id,
    cloudflare: cf,
  });

  let managed: postgresql.Provider | undefined;
  if (settings.managedPostgres && inputs.tenants.some((t) => t.postgres.mode === "managed")) {
    const m = settings.managedPostgres;
    managed = new postgresql.Provider("managed-postgres", {
      host: m.host,
      port: m.port,
      username: m.username,
      password: pulumi.secret(secrets.managedPostgresPassword ?? ""),
      sslmode: m.sslmode,
      database: m.database,
      superuser: false,
    });
  }

  const backup = new BackupStack("backup", {
    settings,
    stack,
    manager,
    storage,
    escrowPassphrase: pulumi.secret(secrets.backupEscrowPassphrase),
    targetUser: secrets.backupTargetUser !== undefined ? pulumi.secret(secrets.backupTargetUser) : undefined,
    targetPassword: secrets.backupTargetPassword !== undefined ? pulumi.secret(secrets.backupTargetPassword) : undefined,
    monitoringNetworkId: monitoring?.network.id,
  });

  const kestraShared = new KestraShared("kestra", { manager });

  const tenants: Record<string, TenantOutputs> = {};
  const declareTenant = (tenant: Tenant) => {
    const ts = new TenantStack(`${tenant.name}-tenant`, {
      tenant,
      settings,
      stack,
      manager,
      dataNode: tenant.postgres.mode === "container" ? nodeProvider(tenant.postgres.node ?? settings.swarm.dataNode) : undefined,
      publicNetworkId: proxy.publicNetwork.id,
      storage,
      cloudflare: cf,
      flowTemplate,
      kestraEntrypoint: kestraShared.entrypoint,
      gitCredential: inputs.gitCredentials[tenant.name],
      managedPostgres: tenant.postgres.mode === "managed" ? managed : undefined,
      monitoring: monitoring ? { networkId: monitoring.network.id, scrapePassword: monitoring.scrapePasswordFor(tenant.name), probePolicyId: monitoring.probePolicy?.id } : undefined,
      backup,
    });
    const out: TenantOutputs = {
      url: ts.url,
      adminEmail: ts.adminEmail,
      adminPassword: ts.adminPassword,
      encryptionKey: ts.encryptionKey,
      bucket: ts.bucket,
      services: ts.services,
      status: tenant.status,
      accessApplicationId: ts.edge?.application.id,
    };
    if (ts.edge?.webhookApplication) out.webhookAccessApplicationId = ts.edge.webhookApplication.id;
    if (ts.edge?.serviceToken) {
      out.serviceTokenClientId = ts.edge.serviceToken.clientId;
      out.serviceTokenClientSecret = pulumi.secret(ts.edge.serviceToken.clientSecret);
    }
    tenants[tenant.name] = out;
  };
  if (declareTenants) declareTenants(declareTenant);
  else for (const tenant of inputs.tenants) declareTenant(tenant);

  return {
    stack,
    tenants,
    proxy: {
      service: proxy.service.name,
      publicNetwork: PUBLIC_NETWORK,
      ...(edge.provider === "cloudflare" ? { ingressAddresses: edge.cloudflare.ingressAddresses } : { edge: "none", allowList: edge.allowList }),
      ...(settings.lab ? { lab: true } : {}),
    },
    storage: {
      provider: storage.provider,
      service: storage.service?.name,
      network: storage.provider === "minio" ? STORAGE_NETWORK : undefined,
      adminEndpoint: storage.adminEndpoint,
    },
    monitoring: monitoring
      ? {
          grafanaUrl: monitoring.grafanaUrl,
          grafanaAdminUser: "admin",
          grafanaAdminPassword: monitoring.grafanaAdminPassword,
          prometheus: monitoring.prometheus.name,
          alertmanager: monitoring.alertmanager.name,
          network: MONITORING_NETWORK,
          retention: settings.monitoring.retention,
        }
      : undefined,
    backup: { bucket: backup.bucket, endpoint: backup.endpoint, mirrorService: backup.mirrorService?.name },
  };
}

/** A credential the validated inputs guarantee on this path (infra/input/config/load.ts requires it). */
function required(value: string | undefined, key: string): string {
  if (value === undefined) throw new Error(`${key} is required behind Cloudflare (validated in the stack config)`);
  return value;
}
