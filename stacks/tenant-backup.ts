/**
 * TenantBackup: one tenant's scheduled database dumps. A service `kestra_<t>_backup` on the
 * tenant's private network runs the backup script (a Swarm config) from the backup image: every
 * `backup.interval` a pg_dump in custom format, checked with pg_restore --list, uploaded to the
 * stack's backup bucket under `<stack>/postgres/<t>/` with a key that can write and read that prefix only.
 * Credentials are Swarm secrets; no Docker socket; the health check fails when the last successful
 * dump is older than two intervals. It runs in every lifecycle status (a suspended or offboarded
 * tenant's data keeps being backed up). It publishes its metrics (last success, interval, attempts,
 * failures, dump size) on BACKUP_METRICS_PORT of the private network, where the tenant's gateway forwards
 * Prometheus's scrapes.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../infra/input/config/schema";
import { BACKUP_METRICS_PORT, LABEL_TENANT, POSTGRES_ALIAS, type TenantNames } from "../infra/model/naming";
import { PLATFORM_RESOURCES, swarmResources } from "../infra/model/profiles";
import { BACKUP_SCRIPT_PATH, BACKUP_SECRET_PURPOSES, backupCredentialsFile, backupPrefixes, durationSeconds } from "../infra/render/backup";
import { identityLabels, labelList } from "../infra/render/labels";
import type { Tenant } from "../infra/input/tenants/schema";
import type { BackupKey } from "./backup";
import { placementSpec, tenantServiceConstraints } from "../infra/model/placement";
import { endpointSpec, hashedSecret, LOG_DRIVER, RESTART_POLICY, secretMount } from "./swarm";

export interface TenantBackupArgs {
  tenant: Tenant;
  names: TenantNames;
  /** The Pulumi stack: the first segment of every key in the backup bucket. */
  stack: string;
  settings: Settings;
  manager: docker.Provider;
  privateNetworkId: pulumi.Input<string>;
  dbPassword: pulumi.Input<string>;
  /**
   * The tenant's Postgres password secret (Postgres in a container): mounted here too, so the backup
   * needs no copy of it. Absent with a managed database: the backup then holds its own.
   */
  pgPasswordSecret?: docker.Secret;
  key: BackupKey;
  endpoint: string;
  bucket: string;
  script: docker.ServiceConfig;
  /** The database must exist before the first dump. */
  dependsOn: pulumi.Resource[];
}

/** Where the backup service reaches the tenant's database. */
export function backupDatabaseEnv(tenant: Tenant, names: TenantNames, settings: Settings): Record<string, string> {
  if (tenant.postgres.mode === "managed") {
    const m = settings.managedPostgres!;
    return { PGHOST: m.host, PGPORT: String(m.port), PGUSER: names.dbUser, PGDATABASE: names.database, PGSSLMODE: m.sslmode };
  }
  return { PGHOST: POSTGRES_ALIAS, PGPORT: "5432", PGUSER: names.dbUser, PGDATABASE: names.database, PGSSLMODE: "disable" };
}

/** The file name of the backup key's credentials secret under /run/secrets. */
export const BACKUP_CREDENTIALS_FILE = "backup_s3_credentials";

export class TenantBackup extends pulumi.ComponentResource {
  readonly service: docker.Service;

  constructor(name: string, args: TenantBackupArgs, opts: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:TenantBackup", name, {}, opts);
    const { tenant, names: n, settings } = args;
    const t = n.logical;
    const on = { parent: this, provider: args.manager };
    const objectLabels = { [LABEL_TENANT]: tenant.name };
    const secret = (logical: string, purpose: string, content: pulumi.Input<string>) =>
      hashedSecret(`${t}-${logical}`, { prefix: n.secretPrefix, purpose, content, labels: objectLabels }, on);
    // Purposes short enough for a 30-character tenant (Swarm object names: 64; infra/input/name-limits.ts).
    const pg = args.pgPasswordSecret ?? secret("backup-pg-password", BACKUP_SECRET_PURPOSES.pgPassword, args.dbPassword);
    // Both keys in one file (two lines): one Swarm secret, read by the script's mc_alias_file.
    const credentials = secret(
      "backup-credentials",
      BACKUP_SECRET_PURPOSES.s3Credentials,
      pulumi.all([args.key.accessKey, args.key.secretKey]).apply(([a, k]) => backupCredentialsFile(a, k)),
    );

    this.service = new docker.Service(
      `${t}-backup`,
      {
        name: n.services.backup,
        // The lifecycle status lets the policy pack tell an offboarded tenant from a broken one.
        labels: labelList({ ...identityLabels(n.stack, "backup", tenant.name), "kestra-fleet.status": tenant.status }),
        mode: { replicated: { replicas: 1 } },
        taskSpec: {
          containerSpec: {
            image: settings.images.backup,
            commands: ["/bin/sh", BACKUP_SCRIPT_PATH],
            args: ["dump"],
            env: {
              ...backupDatabaseEnv(tenant, n, settings),
              PGPASSWORD_FILE: "/run/secrets/pg_password",
              BACKUP_TENANT: tenant.name,
              BACKUP_INTERVAL_SECONDS: String(durationSeconds(settings.backup.interval)),
              S3_ENDPOINT: args.endpoint,
              S3_BUCKET: args.bucket,
              S3_PREFIX: backupPrefixes(args.stack, tenant.name).postgres,
              // Retention, applied by the script after each successful dump: the newest BACKUP_KEEP_LAST
              // always, the rest once older than BACKUP_RETENTION_DAYS (infra/render/backup.ts retainedDumps).
              BACKUP_RETENTION_DAYS: String(settings.backup.retentionDays),
              BACKUP_KEEP_LAST: String(settings.backup.keepLast),
              S3_CREDENTIALS_FILE: `/run/secrets/${BACKUP_CREDENTIALS_FILE}`,
              // Metrics (Prometheus text, /metrics.txt) for the tenant's gateway: README "Monitoring".
              BACKUP_METRICS_PORT: String(BACKUP_METRICS_PORT),
            },
            secrets: [secretMount(pg, "pg_password"), secretMount(credentials, BACKUP_CREDENTIALS_FILE)],
            configs: [{ configId: args.script.id, configName: args.script.name, fileName: BACKUP_SCRIPT_PATH, fileMode: 0o555 }],
            healthcheck: { tests: ["CMD", "/bin/sh", BACKUP_SCRIPT_PATH, "health"], interval: "60s", timeout: "10s", retries: 3, startPeriod: "120s" },
            stopGracePeriod: "60s",
          },
          logDriver: LOG_DRIVER,
          networksAdvanceds: [{ id: args.privateNetworkId }],
          placement: placementSpec(tenantServiceConstraints(settings.swarm.placement)),
          resources: swarmResources(PLATFORM_RESOURCES.backup),
          restartPolicy: RESTART_POLICY,
        },
        endpointSpec: endpointSpec(settings),
        updateConfig: { order: "stop-first", parallelism: 1, failureAction: "rollback", monitor: "30s" },
        rollbackConfig: { order: "stop-first", parallelism: 1 },
      },
      { ...on, dependsOn: args.dependsOn },
    );
    this.registerOutputs({ service: this.service.name });
  }
}
