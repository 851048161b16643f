/**
 * TenantStack: one client's complete Kestra. Private overlay network, Postgres on a pinned node
 * (or a database on the managed server), the web server (API + UI, the only routed service), the
 * backend (`server standalone`: executor, scheduler, worker, the git-sync flow), optional dedicated
 * workers, the tenant's bucket and its Cloudflare edge. Credentials are generated here and reach
 * containers only as Swarm secret files.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as docker from "@pulumi/docker";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { edgeOf, type GitCredential, type Settings } from "../infra/input/config/schema";
import type { Tenant } from "../infra/input/tenants/schema";
import { dbPasswordLogicalName, LABEL_ROLE, LABEL_TENANT, tenantHost, tenantNames, tenantUrl, type TenantNames } from "../infra/model/naming";
import { PROFILES } from "../infra/model/profiles";
import { escrowPlaintext } from "../infra/render/backup";
import { edgeRouting, labelList, tenantWebLabels } from "../infra/render/labels";
import type { BackupStack } from "./backup";
import { TenantEdge } from "./edge";
import type { StorageBackend } from "./storage";
import { networkOptions } from "./swarm";
import { TenantBackup } from "./tenant-backup";
import { TenantGateway } from "./tenant-gateway";
import { declareKestraSecrets, declareKestraServices, declareTenantDatabase } from "./tenant-parts";

export { KESTRA_CONFIG_FILE, KESTRA_CONFIG_PATH, POSTGRES_PASSWORD_FILE } from "./tenant-parts";

export interface TenantStackArgs {
  tenant: Tenant;
  settings: Settings;
  stack: string;
  manager: docker.Provider;
  /** Docker provider of the node holding the Postgres volume (container mode). */
  dataNode?: docker.Provider;
  publicNetworkId: pulumi.Input<string>;
  storage: StorageBackend;
  /** Cloudflare's provider: the tenant's edge (DNS, Access). Absent in a lab stack without Cloudflare: no edge. */
  cloudflare?: cloudflare.Provider;
  flowTemplate: string;
  /** The Kestra entry-point wrapper every tenant's Kestra mounts (one Swarm config: stacks/kestra-shared.ts). */
  kestraEntrypoint: docker.ServiceConfig;
  /** The tenant's git credential when its auth is token or ssh (plain: wrapped as secret here). */
  gitCredential?: GitCredential;
  /** Provider of the stack's managed PostgreSQL server (managed mode). */
  managedPostgres?: postgresql.Provider;
  /** The stack's backup target: the tenant's dump key and escrow object come from it. */
  backup: BackupStack;
  /** The monitoring stack, when on: its network (for the tenant's gateway) and scrape credential. */
  monitoring?: TenantMonitoring;
}

export interface TenantMonitoring {
  networkId: pulumi.Input<string>;
  /** This tenant's own scrape password (no other tenant's management port accepts it). */
  scrapePassword: pulumi.Output<string>;
  /** The external probe's Access policy, added to the tenant's Access application (absent without Cloudflare). */
  probePolicyId?: pulumi.Input<string>;
}

export class TenantStack extends pulumi.ComponentResource {
  readonly names: TenantNames;
  readonly url: string;
  readonly adminEmail: string;
  readonly adminPassword: pulumi.Output<string>;
  /** Kestra's `kestra.encryption.secret-key` (base64 of 32 bytes), a secret: escrow it with the backups. */
  readonly encryptionKey: pulumi.Output<string>;
  readonly bucket: pulumi.Output<string>;
  readonly services: Record<string, pulumi.Output<string>> = {};
  /** Absent when the tenant is offboarded (no DNS, no Access), and in a lab stack without Cloudflare. */
  readonly edge?: TenantEdge;
  readonly backup: TenantBackup;

  constructor(name: string, args: TenantStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:TenantStack", name, {}, opts);
    const { tenant, settings } = args;
    const n = tenantNames(tenant.name);
    const t = n.logical;
    const profile = PROFILES[tenant.kestra.size];
    // Lifecycle: suspended runs every Kestra service at 0 replicas; offboarded declares no Kestra
    // service, no DNS and no Access (its gateway, with monitoring, forwards the backup's metrics only).
    // Database, volume, bucket, credentials, keys and backups stay in every status (the random credentials stay in state, so reactivation reuses them).
    const kestraRuns = tenant.status === "active";
    const kestraDeclared = tenant.status !== "offboarded";
    const on = { parent: this, provider: args.manager };
    this.names = n;
    this.url = tenantUrl(settings.hostPattern, tenant.name);
    this.adminEmail = tenant.kestra.adminEmail;
    const host = tenantHost(settings.hostPattern, tenant.name);

    const privateNetwork = new docker.Network(
      `${t}-private-network`,
      {
        name: n.privateNetwork,
        driver: "overlay",
        attachable: false,
        options: settings.swarm.encryptNetworks ? { encrypted: "" } : undefined,
        labels: labelList({ [LABEL_ROLE]: "private", [LABEL_TENANT]: tenant.name }),
      },
      { ...on, ...networkOptions() },
    );

    // --- Database: protected password, then the managed database or the Postgres service ------
    // Protected: Postgres keeps the password it was initialised with (POSTGRES_PASSWORD_FILE acts on an
    // empty data directory only), so a replaced value would lock Kestra and the backup out and rewrite
    // the escrow with a password the database does not know. Rotation: docs/operations.md#database-password.
    const dbPassword = new random.RandomPassword(dbPasswordLogicalName(t), { length: 32, special: false }, { parent: this, protect: true });
    const database = declareTenantDatabase(this, {
      tenant,
      settings,
      names: n,
      profile,
      manager: args.manager,
      dataNode: args.dataNode,
      managedPostgres: args.managedPostgres,
      dbPassword: dbPassword.result,
      privateNetworkId: privateNetwork.id,
    });
    if (database.service) this.services.postgres = database.service.name;

    // --- Kestra credentials ---------------------------------------------------------------
    const adminPassword = new random.RandomPassword(
      `${t}-admin-password`,
      { length: 24, special: false, minUpper: 2, minLower: 2, minNumeric: 2 },
      { parent: this },
    );
    // Kestra encrypts secret values in its database with this key: a new key orphans every one of
    // them. Protected (the engine refuses to replace or delete it) and exported as a secret output,
    // so an operator escrows it with the tenant's backups.
    const encryptionKey = new random.RandomBytes(`${t}-encryption-key`, { length: 32 }, { parent: this, protect: true });
    this.adminPassword = pulumi.secret(adminPassword.result);
    this.encryptionKey = pulumi.secret(encryptionKey.base64);

    const storage = args.storage.provisionTenant(n, this);
    this.bucket = storage.bucket;

    // --- Backups and escrow ---------------------------------------------------------------
    const escrow = pulumi
      .all([encryptionKey.base64, adminPassword.result, dbPassword.result])
      .apply(([key, adminPass, dbPass]) =>
        escrowPlaintext({ stack: args.stack, tenant: tenant.name, encryptionKey: key, adminEmail: tenant.kestra.adminEmail, adminPassword: adminPass, database: n.database, dbUser: n.dbUser, dbPassword: dbPass }),
      );
    const backupKey = args.backup.provisionTenant(tenant.name, escrow, this);
    this.backup = new TenantBackup(
      `${t}-backup`,
      {
        tenant,
        names: n,
        stack: args.stack,
        settings,
        manager: args.manager,
        privateNetworkId: privateNetwork.id,
        dbPassword: dbPassword.result,
        pgPasswordSecret: database.pgSecret,
        key: backupKey,
        endpoint: args.backup.endpoint,
        bucket: args.backup.bucket,
        script: args.backup.scriptConfig,
        dependsOn: database.ready,
      },
      { parent: this },
    );
    this.services.backup = this.backup.service.name;

    if (!kestraDeclared) {
      // The backup runs on: with monitoring, a gateway forwards its metrics (only those: no Kestra, no
      // storage door), so its alerts keep working and BackupMetricsAbsent does not fire for nothing.
      if (args.monitoring) {
        const gateway = new TenantGateway(
          `${t}-gateway`,
          { names: n, settings, manager: args.manager, privateNetworkId: privateNetwork.id, monitoringNetworkId: args.monitoring.networkId, status: tenant.status },
          { parent: this },
        );
        this.services.gateway = gateway.service.name;
      }
      this.registerOutputs({ url: this.url, adminEmail: this.adminEmail, adminPassword: this.adminPassword, bucket: this.bucket, services: this.services, encryptionKey: this.encryptionKey, status: tenant.status });
      return;
    }

    // --- Kestra secrets and configuration: application.yml, netrc, git-sync flow and credentials
    const mon = args.monitoring;
    const secrets = declareKestraSecrets(this, {
      tenant,
      settings,
      names: n,
      manager: args.manager,
      dbPassword: dbPassword.result,
      adminPassword: adminPassword.result,
      encryptionKey: encryptionKey.base64,
      kestraStorage: storage.kestraStorage,
      scrapePassword: mon?.scrapePassword,
      flowTemplate: args.flowTemplate,
      gitCredential: args.gitCredential,
    });

    // --- Gateway: the tenant's only door to MinIO (net_storage) and Prometheus's only door to the
    // tenant's management ports (net_monitoring); Kestra's services stay off every shared network.
    const gateway =
      args.storage.networkId || mon
        ? new TenantGateway(
            `${t}-gateway`,
            { names: n, settings, manager: args.manager, privateNetworkId: privateNetwork.id, storageNetworkId: args.storage.networkId, monitoringNetworkId: mon?.networkId, status: tenant.status },
            { parent: this },
          )
        : undefined;
    if (gateway) this.services.gateway = gateway.service.name;

    // --- Kestra services ------------------------------------------------------------------
    const kestra = declareKestraServices(this, {
      tenant,
      settings,
      names: n,
      runs: kestraRuns,
      secrets,
      entrypoint: args.kestraEntrypoint,
      monitored: !!mon,
      profile,
      manager: args.manager,
      privateNetworkId: privateNetwork.id,
      publicNetworkId: args.publicNetworkId,
      webLabels: tenantWebLabels(n.router, host, edgeRouting(settings)),
      dependsOn: [...database.ready, ...(gateway ? [gateway] : [])],
    });
    this.services.web = kestra.web.name;
    this.services.backend = kestra.backend.name;
    if (kestra.worker) this.services.worker = kestra.worker.name;

    if (args.cloudflare) {
      this.edge = new TenantEdge(`${t}-edge`, { tenant, host, stack: args.stack, settings, cloudflare: args.cloudflare, probePolicyId: mon?.probePolicyId }, { parent: this });
    } else if (edgeOf(settings).provider === "cloudflare") {
      throw new Error(`TenantStack ${t}: a stack behind Cloudflare needs the Cloudflare provider`);
    }

    this.registerOutputs({
      url: this.url,
      adminEmail: this.adminEmail,
      adminPassword: this.adminPassword,
      encryptionKey: this.encryptionKey,
      bucket: this.bucket,
      services: this.services,
      accessApplicationId: this.edge?.application.id,
      status: tenant.status,
    });
  }
}
