/**
 * TenantStack's parts, by concern: the database (container or managed), the Kestra secrets and
 * configuration, and the Kestra services. Plain functions: every resource keeps TenantStack as its
 * parent and its logical name, so no URN moves. The service specs are pure functions returning
 * docker.ServiceArgs.
 */
import * as docker from "@pulumi/docker";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import type { GitCredential, Settings } from "../infra/input/config/schema";
import type { Tenant } from "../infra/input/tenants/schema";
import { LABEL_ROLE, LABEL_TENANT, pgVolumeLogicalName, POSTGRES_ALIAS, type ServiceRole, type TenantNames } from "../infra/model/naming";
import { kestraConstraints, placementSpec } from "../infra/model/placement";
import { dbConnectionLimit, javaOpts, swarmResources, type Profile, type ServiceResources } from "../infra/model/profiles";
import { ENTRYPOINT_PATH, SECRET_FILE_PREFIX } from "../infra/render/entrypoint";
import { FLOW_DIR, FLOW_MOUNT, gitSecretNames, gitSyncEnv, gitSyncOf, renderGitSyncFlow } from "../infra/render/flow";
import { renderKestraConfig, tenantKestraConfigInput } from "../infra/render/kestra-config";
import { identityLabels, labelList, type Labels } from "../infra/render/labels";
import { kestraHealthcheck, MANAGEMENT_NETRC_FILE, managementNetrc, SCRAPE_USER } from "../infra/render/monitoring";
import { postgresDataTarget, postgresHealthcheck, postgresMajor } from "../infra/render/postgres";
import { endpointSpec, hashedConfig, hashedSecret, LOG_DRIVER, RESTART_POLICY, secretMount } from "./swarm";

export const KESTRA_CONFIG_FILE = "kestra_application.yml";
export const KESTRA_CONFIG_PATH = `/run/secrets/${KESTRA_CONFIG_FILE}`;
export const POSTGRES_PASSWORD_FILE = "postgres_password";

const labelsFor = (n: TenantNames, tenant: Tenant, role: ServiceRole): Labels => identityLabels(n.stack, role, tenant.name);

// --- Database ---------------------------------------------------------------------------

export interface PostgresServiceSpec {
  names: TenantNames;
  tenant: Tenant;
  settings: Settings;
  profile: Profile;
  /** The node holding the volume: the task never starts elsewhere. */
  node: string;
  pgSecret: docker.Secret;
  privateNetworkId: pulumi.Input<string>;
}

/** The container Postgres's Swarm service (pure). */
export function postgresServiceArgs(s: PostgresServiceSpec): docker.ServiceArgs {
  const { names: n, settings, profile } = s;
  return {
    name: n.services.postgres,
    labels: labelList(labelsFor(n, s.tenant, "postgres")),
    mode: { replicated: { replicas: 1 } },
    taskSpec: {
      containerSpec: {
        image: settings.images.postgres,
        env: { POSTGRES_USER: n.dbUser, POSTGRES_DB: n.database, POSTGRES_PASSWORD_FILE: `/run/secrets/${POSTGRES_PASSWORD_FILE}` },
        secrets: [secretMount(s.pgSecret, POSTGRES_PASSWORD_FILE)],
        mounts: [
          { type: "volume", source: n.pgVolume, target: postgresDataTarget(settings.images.postgres) },
          // Swarm has no shm_size: a sized tmpfs instead of Docker's 64 MiB default.
          { type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: profile.postgresShmMiB * 1024 * 1024 } },
        ],
        healthcheck: postgresHealthcheck(n.dbUser, n.database),
        stopGracePeriod: "120s",
      },
      networksAdvanceds: [{ id: s.privateNetworkId, aliases: [POSTGRES_ALIAS] }],
      // The volume is local to this node: the task must never start elsewhere on an empty one.
      placement: { constraints: [`node.hostname == ${s.node}`] },
      resources: swarmResources(profile.postgres),
      restartPolicy: RESTART_POLICY,
      logDriver: LOG_DRIVER,
    },
    endpointSpec: endpointSpec(settings),
    // Never two postmasters on one volume.
    updateConfig: { order: "stop-first", parallelism: 1, failureAction: "pause", monitor: "60s" },
    rollbackConfig: { order: "stop-first", parallelism: 1 },
  };
}

export interface TenantDatabaseArgs {
  tenant: Tenant;
  settings: Settings;
  names: TenantNames;
  profile: Profile;
  manager: docker.Provider;
  dataNode?: docker.Provider;
  managedPostgres?: postgresql.Provider;
  dbPassword: pulumi.Output<string>;
  privateNetworkId: pulumi.Input<string>;
}

export interface TenantDatabase {
  /** What Kestra and the backup wait for: the managed database and its grant, or the Postgres service. */
  ready: pulumi.Resource[];
  /** The container Postgres's password secret (container mode only). */
  pgSecret?: docker.Secret;
  /** The container Postgres's service (container mode only). */
  service?: docker.Service;
}

/** The tenant's database: a role and database on the managed server, or a Postgres service on its pinned volume. */
export function declareTenantDatabase(parent: pulumi.Resource, a: TenantDatabaseArgs): TenantDatabase {
  const { tenant, settings, names: n, profile } = a;
  const t = n.logical;
  const objectLabels = { [LABEL_TENANT]: tenant.name };
  if (tenant.postgres.mode === "managed") {
    const provider = a.managedPostgres;
    if (!provider) throw new Error(`TenantStack ${tenant.name}: managed Postgres needs the managed server's provider`);
    // A shared server: a connection limit per tenant role (one tenant cannot take every connection)...
    const role = new postgresql.Role(
      `${t}-db-role`,
      { name: n.dbUser, login: true, password: pulumi.secret(a.dbPassword), connectionLimit: dbConnectionLimit(profile, tenant.kestra.workers) },
      { parent, provider },
    );
    const db = new postgresql.Database(`${t}-db`, { name: n.database, owner: role.name }, { parent, provider, protect: true, retainOnDelete: true });
    // ...and no CONNECT or TEMPORARY for PUBLIC (what CREATE DATABASE grants every role by default):
    // only the owner (the tenant's role) connects. An empty privilege list revokes all of PUBLIC's.
    const revokePublic = new postgresql.Grant(
      `${t}-db-revoke-public`,
      { database: db.name, role: "public", objectType: "database", privileges: [] },
      { parent, provider },
    );
    return { ready: [db, revokePublic] };
  }
  if (!a.dataNode) throw new Error(`TenantStack ${tenant.name}: container Postgres needs its data node's Docker provider`);
  const node = tenant.postgres.node ?? settings.swarm.dataNode;
  const major = postgresMajor(settings.images.postgres);
  if (major === undefined) throw new Error(`TenantStack ${tenant.name}: images.postgres ${settings.images.postgres} has no major version in its tag`);
  const volume = new docker.Volume(
    pgVolumeLogicalName(t, major, node),
    { name: n.pgVolume, driver: "local", labels: labelList({ ...objectLabels, [LABEL_ROLE]: "postgres" }) },
    { parent, provider: a.dataNode, protect: true, retainOnDelete: true },
  );
  const on = { parent, provider: a.manager };
  const pgSecret = hashedSecret(`${t}-pg-password-secret`, { prefix: n.secretPrefix, purpose: "pg_password", content: a.dbPassword, labels: objectLabels }, on);
  const service = new docker.Service(
    `${t}-postgres`,
    postgresServiceArgs({ names: n, tenant, settings, profile, node, pgSecret, privateNetworkId: a.privateNetworkId }),
    { ...on, dependsOn: [volume] },
  );
  return { ready: [service], pgSecret, service };
}

// --- Kestra secrets and configuration --------------------------------------------------

export interface KestraSecretsArgs {
  tenant: Tenant;
  settings: Settings;
  names: TenantNames;
  manager: docker.Provider;
  dbPassword: pulumi.Output<string>;
  adminPassword: pulumi.Output<string>;
  encryptionKey: pulumi.Output<string>;
  /** The tenant's `kestra.storage` block (stacks/storage.ts). */
  kestraStorage: pulumi.Input<Record<string, unknown>>;
  /** This tenant's scrape password, with monitoring. */
  scrapePassword?: pulumi.Output<string>;
  flowTemplate: string;
  gitCredential?: GitCredential;
}

export interface KestraSecrets {
  /** application.yml, with every credential in it. */
  config: docker.Secret;
  /** The health check's netrc (with monitoring). */
  netrc?: docker.Secret;
  /** The git-sync flow (when the tenant syncs from git). */
  flow?: docker.ServiceConfig;
  /** The git credential files, as mounts for the backend and workers. */
  gitSecrets: docker.types.input.ServiceTaskSpecContainerSpecSecret[];
  /** ENV_GIT_SYNC_* for the backend and workers. */
  taskEnv: Record<string, string>;
}

/** Kestra's configuration secret, the netrc, the git-sync flow and its credential files. */
export function declareKestraSecrets(parent: pulumi.Resource, a: KestraSecretsArgs): KestraSecrets {
  const { tenant, settings, names: n } = a;
  const t = n.logical;
  const on = { parent, provider: a.manager };
  const objectLabels = { [LABEL_TENANT]: tenant.name };
  const scrape = a.scrapePassword;
  const kestraConfig = pulumi
    .all([a.dbPassword, a.adminPassword, a.encryptionKey, a.kestraStorage, scrape ?? pulumi.output("")])
    .apply(([dbPass, adminPass, key, storageBlock, scrapePass]) =>
      renderKestraConfig(
        tenantKestraConfigInput(tenant, settings, {
          dbPassword: dbPass,
          adminPassword: adminPass,
          encryptionKey: key,
          storage: storageBlock,
          ...(scrape ? { managementAuth: { username: SCRAPE_USER, password: scrapePass } } : {}),
        }),
      ),
    );
  const config = hashedSecret(`${t}-kestra-config`, { prefix: n.secretPrefix, purpose: "config", content: kestraConfig, labels: objectLabels }, on);
  // The health check's netrc: this tenant's own scrape credential.
  const netrc = scrape
    ? hashedSecret(`${t}-management-netrc`, { prefix: n.secretPrefix, purpose: "netrc", content: scrape.apply(managementNetrc), labels: objectLabels }, on)
    : undefined;

  // Git sync: flow file, ENV_GIT_SYNC_* and credential files.
  const sync = gitSyncOf(tenant, settings);
  const hasPassphrase = !!a.gitCredential?.passphrase;
  const flow = sync
    ? hashedConfig(`${t}-git-sync-flow`, { prefix: n.secretPrefix, purpose: "flow_git_sync", content: renderGitSyncFlow(a.flowTemplate, sync, hasPassphrase), labels: objectLabels }, on)
    : undefined;
  const gitSecrets = gitSecretNames(sync, hasPassphrase).map((secretName) => {
    const value = gitSecretValue(secretName, a.gitCredential);
    const s = hashedSecret(
      `${t}-git-secret-${secretName.toLowerCase().replace(/_/g, "-")}`,
      { prefix: n.secretPrefix, purpose: secretName.toLowerCase(), content: pulumi.secret(value), labels: objectLabels },
      on,
    );
    return secretMount(s, `${SECRET_FILE_PREFIX}${secretName}`);
  });
  return { config, netrc, flow, gitSecrets, taskEnv: gitSyncEnv(sync) };
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

// --- Kestra services ---------------------------------------------------------------------

export type KestraRole = "web" | "backend" | "worker";

/** Logical-name suffix of each Kestra service (its URN: never change it). */
const KESTRA_LOGICAL: Record<KestraRole, string> = { web: "kestra", backend: "executor", worker: "worker" };

/** What every Kestra service of a tenant shares. */
export interface KestraCommon {
  tenant: Tenant;
  settings: Settings;
  names: TenantNames;
  /** false: suspended, every service at 0 replicas. */
  runs: boolean;
  secrets: KestraSecrets;
  entrypoint: docker.ServiceConfig;
  /** With monitoring, /health needs the scrape credential. */
  monitored: boolean;
}

/** What sets one Kestra service apart. */
export interface KestraServiceSpec {
  args: string[];
  res: ServiceResources;
  replicas: number;
  env?: Record<string, string>;
  extraSecrets?: docker.types.input.ServiceTaskSpecContainerSpecSecret[];
  /** Mount the git-sync flow (when there is one). */
  flow?: boolean;
  networks: { id: pulumi.Input<string> }[];
  labels?: Labels;
  order: "stop-first" | "start-first";
}

/** One Kestra service's Swarm spec (pure). */
export function kestraServiceArgs(c: KestraCommon, role: KestraRole, spec: KestraServiceSpec): docker.ServiceArgs {
  const { tenant, settings, names: n, secrets } = c;
  const dockerName = { web: n.services.web, backend: n.services.backend, worker: n.services.worker }[role];
  return {
    name: dockerName,
    labels: labelList({ ...labelsFor(n, tenant, role), ...(spec.labels ?? {}) }),
    mode: { replicated: { replicas: c.runs ? spec.replicas : 0 } },
    taskSpec: {
      containerSpec: {
        image: tenant.kestra.image ?? settings.images.kestra,
        commands: ["/bin/sh", ENTRYPOINT_PATH],
        args: spec.args,
        env: { JAVA_OPTS: javaOpts(spec.res), ...(spec.env ?? {}) },
        secrets: [
          secretMount(secrets.config, KESTRA_CONFIG_FILE),
          ...(secrets.netrc ? [secretMount(secrets.netrc, MANAGEMENT_NETRC_FILE.replace("/run/secrets/", ""))] : []),
          ...(spec.extraSecrets ?? []),
        ],
        configs: [
          { configId: c.entrypoint.id, configName: c.entrypoint.name, fileName: ENTRYPOINT_PATH, fileMode: 0o555 },
          ...(spec.flow && secrets.flow ? [{ configId: secrets.flow.id, configName: secrets.flow.name, fileName: FLOW_MOUNT, fileMode: 0o444 }] : []),
        ],
        // With monitoring, /health needs the scrape credential: curl reads it from the netrc secret file.
        healthcheck: kestraHealthcheck(c.monitored),
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
  };
}

export interface KestraServicesArgs extends KestraCommon {
  profile: Profile;
  manager: docker.Provider;
  privateNetworkId: pulumi.Input<string>;
  publicNetworkId: pulumi.Input<string>;
  /** The web service's Traefik labels. */
  webLabels: Labels;
  /** What every Kestra service waits for: the database, and the gateway when there is one. */
  dependsOn: pulumi.Resource[];
}

export interface KestraServices {
  web: docker.Service;
  backend: docker.Service;
  worker?: docker.Service;
}

/** The web server (the only routed one), the standalone backend and the optional dedicated workers. */
export function declareKestraServices(parent: pulumi.Resource, a: KestraServicesArgs): KestraServices {
  const { profile, secrets } = a;
  const service = (role: KestraRole, spec: KestraServiceSpec) =>
    new docker.Service(`${a.names.logical}-${KESTRA_LOGICAL[role]}`, kestraServiceArgs(a, role, spec), { parent, provider: a.manager, dependsOn: a.dependsOn });
  const web = service("web", {
    args: ["server", "webserver", "--config", KESTRA_CONFIG_PATH],
    res: profile.web,
    replicas: 1,
    networks: [{ id: a.privateNetworkId }, { id: a.publicNetworkId }],
    labels: a.webLabels,
    order: "start-first",
  });
  const backendArgs = ["server", "standalone", "--config", KESTRA_CONFIG_PATH, "--worker-thread", String(profile.workerThreads)];
  if (secrets.flow) backendArgs.push("--flow-path", FLOW_DIR);
  const backend = service("backend", {
    args: backendArgs,
    res: profile.backend,
    replicas: 1,
    env: secrets.taskEnv,
    extraSecrets: secrets.gitSecrets,
    flow: true,
    networks: [{ id: a.privateNetworkId }],
    // Two standalone servers (two schedulers and executors) must never share the database.
    order: "stop-first",
  });
  const worker =
    a.tenant.kestra.workers > 0
      ? service("worker", {
          args: ["server", "worker", "--config", KESTRA_CONFIG_PATH, "-t", String(profile.workerThreads)],
          res: profile.worker,
          replicas: a.tenant.kestra.workers,
          env: secrets.taskEnv,
          extraSecrets: secrets.gitSecrets,
          networks: [{ id: a.privateNetworkId }],
          order: "start-first",
        })
      : undefined;
  return { web, backend, worker };
}
