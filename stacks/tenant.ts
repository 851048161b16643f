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
import { dbPasswordLogicalName, KESTRA_MANAGEMENT_PORT, LABEL_ROLE, LABEL_TENANT, pgVolumeLogicalName, POSTGRES_ALIAS, tenantHost, tenantNames, tenantUrl, type ServiceRole, type TenantNames } from "../infra/model/naming";
import { dbConnectionLimit, javaOpts, PROFILES, swarmResources, type ServiceResources } from "../infra/model/profiles";
import { ENTRYPOINT_PATH, SECRET_FILE_PREFIX } from "../infra/render/entrypoint";
import { FLOW_DIR, FLOW_MOUNT, gitSecretNames, gitSyncEnv, gitSyncOf, renderGitSyncFlow } from "../infra/render/flow";
import { renderKestraConfig, tenantKestraConfigInput } from "../infra/render/kestra-config";
import { edgeRouting, identityLabels, labelList, tenantWebLabels, type Labels } from "../infra/render/labels";
import { postgresDataTarget, postgresHealthcheck, postgresMajor } from "../infra/render/postgres";
import type { Tenant } from "../infra/input/tenants/schema";
import { kestraConstraints, placementSpec } from "../infra/model/placement";
import { escrowPlaintext } from "../infra/render/backup";
import type { BackupStack } from "./backup";
import { TenantEdge } from "./edge";
import { TenantGateway } from "./tenant-gateway";
import { TenantBackup } from "./tenant-backup";
import type { StorageBackend } from "./storage";
import { endpointSpec, hashedConfig, hashedSecret, LOG_DRIVER, networkOptions, RESTART_POLICY, secretMount } from "./swarm";
import { kestraHealthcheck, MANAGEMENT_NETRC_FILE, managementNetrc, SCRAPE_USER } from "../infra/render/monitoring";

export const KESTRA_CONFIG_FILE = "kestra_application.yml";
export const KESTRA_CONFIG_PATH = `/run/secrets/${KESTRA_CONFIG_FILE}`;
export const POSTGRES_PASSWORD_FILE = "postgres_password";

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
    const labelsFor = (role: ServiceRole): Labels => identityLabels(n.stack, role, tenant.name);
    const objectLabels = { [LABEL_TENANT]: tenant.name };

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

    // --- Database -------------------------------------------------------------------------
    // Protected: Postgres keeps the password it was initialised with (POSTGRES_PASSWORD_FILE acts on an
    // empty data directory only), so a replaced value would lock Kestra and the backup out and rewrite
    // the escrow with a password the database does not know. Rotation: docs/operations.md#database-password.
    const dbPassword = new random.RandomPassword(dbPasswordLogicalName(t), { length: 32, special: false }, { parent: this, protect: true });
    let dbReady: pulumi.Resource[] = [];
    let pgSecret: docker.Secret | undefined;
    if (tenant.postgres.mode === "managed") {
      const provider = args.managedPostgres;
      if (!provider) throw new Error(`TenantStack ${tenant.name}: managed Postgres needs the managed server's provider`);
      // A shared server: a connection limit per tenant role (one tenant cannot take every connection)...
      const role = new postgresql.Role(
        `${t}-db-role`,
        { name: n.dbUser, login: true, password: pulumi.secret(dbPassword.result), connectionLimit: dbConnectionLimit(profile, tenant.kestra.workers) },
        { parent: this, provider },
      );
      const db = new postgresql.Database(
        `${t}-db`,
        { name: n.database, owner: role.name },
        { parent: this, provider, protect: true, retainOnDelete: true },
      );
      // ...and no CONNECT or TEMPORARY for PUBLIC (what CREATE DATABASE grants every role by default):
      // only the owner (the tenant's role) connects. An empty privilege list revokes all of PUBLIC's.
      const revokePublic = new postgresql.Grant(
        `${t}-db-revoke-public`,
        { database: db.name, role: "public", objectType: "database", privileges: [] },
        { parent: this, provider },
      );
      dbReady = [db, revokePublic];
    } else {
      if (!args.dataNode) throw new Error(`TenantStack ${tenant.name}: container Postgres needs its data node's Docker provider`);
      const node = tenant.postgres.node ?? settings.swarm.dataNode;
      const major = postgresMajor(settings.images.postgres);
      if (major === undefined) throw new Error(`TenantStack ${tenant.name}: images.postgres ${settings.images.postgres} has no major version in its tag`);
      const volume = new docker.Volume(
        pgVolumeLogicalName(t, major, node),
        { name: n.pgVolume, driver: "local", labels: labelList({ ...objectLabels, [LABEL_ROLE]: "postgres" }) },
        { parent: this, provider: args.dataNode, protect: true, retainOnDelete: true },
      );
      pgSecret = hashedSecret(`${t}-pg-password-secret`, { prefix: n.secretPrefix, purpose: "pg_password", content: dbPassword.result, labels: objectLabels }, on);
      const postgres = new docker.Service(
        `${t}-postgres`,
        {
          name: n.services.postgres,
          labels: labelList(labelsFor("postgres")),
          mode: { replicated: { replicas: 1 } },
          taskSpec: {
            containerSpec: {
              image: settings.images.postgres,
              env: { POSTGRES_USER: n.dbUser, POSTGRES_DB: n.database, POSTGRES_PASSWORD_FILE: `/run/secrets/${POSTGRES_PASSWORD_FILE}` },
              secrets: [secretMount(pgSecret, POSTGRES_PASSWORD_FILE)],
              mounts: [
                { type: "volume", source: n.pgVolume, target: postgresDataTarget(settings.images.postgres) },
                // Swarm has no shm_size: a sized tmpfs instead of Docker's 64 MiB default.
                { type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: profile.postgresShmMiB * 1024 * 1024 } },
              ],
              healthcheck: postgresHealthcheck(n.dbUser, n.database),
              stopGracePeriod: "120s",
            },
            networksAdvanceds: [{ id: privateNetwork.id, aliases: [POSTGRES_ALIAS] }],
            // The volume is local to this node: the task must never start elsewhere on an empty one.
            placement: { constraints: [`node.hostname == ${node}`] },
            resources: swarmResources(profile.postgres),
            restartPolicy: RESTART_POLICY,
            logDriver: LOG_DRIVER,
          },
          endpointSpec: endpointSpec(settings),
          // Never two postmasters on one volume.
          updateConfig: { order: "stop-first", parallelism: 1, failureAction: "pause", monitor: "60s" },
          rollbackConfig: { order: "stop-first", parallelism: 1 },
        },
        { ...on, dependsOn: [volume] },
      );
      dbReady = [postgres];
      this.services.postgres = postgres.name;
    }

    // --- Kestra credentials and configuration ---------------------------------------------
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
        pgPasswordSecret: pgSecret,
        key: backupKey,
        endpoint: args.backup.endpoint,
        bucket: args.backup.bucket,
        script: args.backup.scriptConfig,
        dependsOn: dbReady,
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

    const mon = args.monitoring;
    const kestraConfig = pulumi
      .all([dbPassword.result, adminPassword.result, encryptionKey.base64, storage.kestraStorage, mon ? mon.scrapePassword : pulumi.output("")])
      .apply(([dbPass, adminPass, key, storageBlock, scrapePass]) =>
        renderKestraConfig(
          tenantKestraConfigInput(tenant, settings, {
            dbPassword: dbPass,
            adminPassword: adminPass,
            encryptionKey: key,
            storage: storageBlock,
            ...(mon ? { managementAuth: { username: SCRAPE_USER, password: scrapePass } } : {}),
          }),
        ),
      );
    const configSecret = hashedSecret(`${t}-kestra-config`, { prefix: n.secretPrefix, purpose: "config", content: kestraConfig, labels: objectLabels }, on);
    // The health check's netrc: this tenant's own scrape credential.
    const netrc = mon
      ? hashedSecret(`${t}-management-netrc`, { prefix: n.secretPrefix, purpose: "netrc", content: mon.scrapePassword.apply(managementNetrc), labels: objectLabels }, on)
      : undefined;
    const entrypoint = args.kestraEntrypoint;

    // --- Git sync: flow file, ENV_GIT_SYNC_* and credential files -----------------------
    const sync = gitSyncOf(tenant, settings);
    const hasPassphrase = !!args.gitCredential?.passphrase;
    const flow = sync
      ? hashedConfig(`${t}-git-sync-flow`, { prefix: n.secretPrefix, purpose: "flow_git_sync", content: renderGitSyncFlow(args.flowTemplate, sync, hasPassphrase), labels: objectLabels }, on)
      : undefined;
    const gitSecrets = gitSecretNames(sync, hasPassphrase).map((secretName) => {
      const value = gitSecretValue(secretName, args.gitCredential);
      const s = hashedSecret(
        `${t}-git-secret-${secretName.toLowerCase().replace(/_/g, "-")}`,
        { prefix: n.secretPrefix, purpose: secretName.toLowerCase(), content: pulumi.secret(value), labels: objectLabels },
        on,
      );
      return secretMount(s, `${SECRET_FILE_PREFIX}${secretName}`);
    });
    const taskEnv = gitSyncEnv(sync);

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
    // Logical-name suffix and Docker name of each Kestra service.
    const kestraNames = {
      web: { logical: "kestra", docker: n.services.web },
      backend: { logical: "executor", docker: n.services.backend },
      worker: { logical: "worker", docker: n.services.worker },
    } as const;
    const kestraService = (role: keyof typeof kestraNames, spec: { args: string[]; res: ServiceResources; replicas: number; env?: Record<string, string>; extraSecrets?: typeof gitSecrets; flow?: boolean; networks: { id: pulumi.Input<string> }[]; labels?: Labels; order: "stop-first" | "start-first" }) =>
      new docker.Service(
        `${t}-${kestraNames[role].logical}`,
        {
          name: kestraNames[role].docker,
          labels: labelList({ ...labelsFor(role), ...(spec.labels ?? {}) }),
          mode: { replicated: { replicas: kestraRuns ? spec.replicas : 0 } },
          taskSpec: {
            containerSpec: {
              image: tenant.kestra.image ?? settings.images.kestra,
              commands: ["/bin/sh", ENTRYPOINT_PATH],
              args: spec.args,
              env: { JAVA_OPTS: javaOpts(spec.res), ...(spec.env ?? {}) },
              secrets: [
                secretMount(configSecret, KESTRA_CONFIG_FILE),
                ...(netrc ? [secretMount(netrc, MANAGEMENT_NETRC_FILE.replace("/run/secrets/", ""))] : []),
                ...(spec.extraSecrets ?? []),
              ],
              configs: [
                { configId: entrypoint.id, configName: entrypoint.name, fileName: ENTRYPOINT_PATH, fileMode: 0o555 },
                ...(spec.flow && flow ? [{ configId: flow.id, configName: flow.name, fileName: FLOW_MOUNT, fileMode: 0o444 }] : []),
              ],
              // With monitoring, /health needs the scrape credential: curl reads it from the netrc secret file.
              healthcheck: kestraHealthcheck(!!mon),
              // Kestra waits up to 5 minutes for running tasks; Swarm's default is 10 s.
              stopGracePeriod: "6m",
            },
            networksAdvanceds: spec.networks,
            // Where this tenant's Kestra may run: stack config swarm.placement and the tenant file's kestra.placement (infra/model/placement.ts).
            placement: placementSpec(kestraConstraints(settings.swarm.placement, tenant)),
            resources: swarmResources(spec.res),
            restartPolicy: RESTART_POLICY,
            logDriver: LOG_DRIVER,
          },
          endpointSpec: endpointSpec(settings),
          updateConfig: { order: spec.order, parallelism: 1, failureAction: "rollback", monitor: "3m" },
          rollbackConfig: { order: spec.order, parallelism: 1 },
        },
        { ...on, dependsOn: [...dbReady, ...(gateway ? [gateway] : [])] },
      );

    const web = kestraService("web", {
      args: ["server", "webserver", "--config", KESTRA_CONFIG_PATH],
      res: profile.web,
      replicas: 1,
      networks: [{ id: privateNetwork.id }, { id: args.publicNetworkId }],
      labels: tenantWebLabels(n.router, host, edgeRouting(settings)),
      order: "start-first",
    });
    const backendArgs = ["server", "standalone", "--config", KESTRA_CONFIG_PATH, "--worker-thread", String(profile.workerThreads)];
    if (flow) backendArgs.push("--flow-path", FLOW_DIR);
    const backend = kestraService("backend", {
      args: backendArgs,
      res: profile.backend,
      replicas: 1,
      env: taskEnv,
      extraSecrets: gitSecrets,
      flow: true,
      networks: [{ id: privateNetwork.id }],
      // Two standalone servers (two schedulers and executors) must never share the database.
      order: "stop-first",
    });
    this.services.web = web.name;
    this.services.backend = backend.name;
    if (tenant.kestra.workers > 0) {
      const worker = kestraService("worker", {
        args: ["server", "worker", "--config", KESTRA_CONFIG_PATH, "-t", String(profile.workerThreads)],
        res: profile.worker,
        replicas: tenant.kestra.workers,
        env: taskEnv,
        extraSecrets: gitSecrets,
        networks: [{ id: privateNetwork.id }],
        order: "start-first",
      });
      this.services.worker = worker.name;
    }

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

/** The value of one Kestra secret file for git sync. */
function gitSecretValue(name: string, cred: GitCredential | undefined): string {
  switch (name) {
    case "GIT_USERNAME":
      // Any non-empty user works with a token on GitHub and GitLab; Bitbucket wants x-token-auth.
      return cred?.username ?? "x-access-token";
    case "GIT_TOKEN":
      return cred?.token ?? "";
    case "GIT_SSH_KEY":
      return cred?.sshKey ?? "";
    case "GIT_SSH_PASSPHRASE":
      return cred?.passphrase ?? "";
    default:
      throw new Error(`unknown git secret ${name}`);
  }
}
