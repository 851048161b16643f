/**
 * BackupStack: the stack's off-node backup target and what writes to it.
 * - The dedicated backup bucket (AWS S3, or a MinIO-compatible server off the fleet's nodes),
 *   protected, versioned, with the retention lifecycle of infra/render/backup.ts.
 * - Per tenant (`provisionTenant`): a key that may write and read `<stack>/postgres/<t>/` only, delete
 *   (prune) its own old dumps there and nothing else, never a version, and the tenant's escrow object `<stack>/escrow/<t>/credentials.json.enc` (encryption key and
 *   credentials, encrypted with the stack secret backupEscrowPassphrase), written here by the
 *   program with the target's admin credentials: no service ever holds them.
 * - With MinIO storage: the platform mirror service `platform_backup_mirror`, copying every tenant
 *   bucket to `<stack>/bucket/<t>/` with a read-only key on the sources and a no-delete key on the target.
 * Nothing here depends on the tenant list (lifecycle rules per kind, the mirror discovers the tenant
 * buckets at run time): adding or removing a tenant changes only that tenant's resources.
 */
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as minio from "@pulumi/minio";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../infra/input/config/schema";
import { BACKUP_MIRROR_SERVICE, BACKUP_STACK, LABEL_ROLE, MINIO_ALIAS, MIRROR_METRICS_PORT } from "../infra/model/naming";
import { PLATFORM_RESOURCES, swarmResources } from "../infra/model/profiles";
import {
  backupKindPrefix,
  BACKUP_SCRIPT_PATH,
  backupPolicyName,
  backupPrefixes,
  backupUserName,
  backupWriterPolicy,
  durationSeconds,
  escrowEncryptAsync,
  escrowKey,
  lifecycleRules,
  MIRROR_SOURCE_POLICY_NAME,
  mirrorSourcePolicy,
  renderBackupScript,
  TENANT_BUCKET_PREFIX,
} from "../infra/render/backup";
import { identityLabels, labelList } from "../infra/render/labels";
import type { StorageStack } from "./storage";
import { endpointSpec, hashedConfig, hashedSecret, LOG_DRIVER, RESTART_POLICY, secretMount } from "./swarm";

export interface BackupKey {
  accessKey: pulumi.Output<string>;
  secretKey: pulumi.Output<string>;
}

export interface BackupStackArgs {
  settings: Settings;
  stack: string;
  manager: docker.Provider;
  storage: StorageStack;
  escrowPassphrase: pulumi.Input<string>;
  targetUser?: pulumi.Input<string>;
  targetPassword?: pulumi.Input<string>;
  /** The monitoring network (monitoring on): the mirror serves its per-tenant metrics there to Prometheus. */
  monitoringNetworkId?: pulumi.Input<string>;
}

/** `https://host[:port]` of the backup target's S3 API. */
export function backupEndpoint(settings: Settings): string {
  const t = settings.backup.target;
  return t.provider === "aws" ? `https://s3.${t.aws!.region}.amazonaws.com` : `https://${t.minio!.endpoint}`;
}

/** The mirror's writer: "--" never occurs in a tenant name, so no tenant's key can share its names. */
export const MIRROR_WRITER = "-mirror";

export class BackupStack extends pulumi.ComponentResource {
  readonly bucket: string;
  readonly endpoint: string;
  readonly mirrorService?: docker.Service;
  readonly scriptConfig: docker.ServiceConfig;
  private readonly args: BackupStackArgs;
  private readonly awsProvider?: aws.Provider;
  private readonly minioProvider?: minio.Provider;
  private readonly ready: pulumi.Resource[] = [];

  constructor(name: string, args: BackupStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:BackupStack", name, {}, opts);
    this.args = args;
    const { settings } = args;
    const cfg = settings.backup;
    const days = cfg.retentionDays;
    this.bucket = cfg.target.bucket;
    this.endpoint = backupEndpoint(settings);
    const stateful = { protect: true, retainOnDelete: true };
    // As for tenant buckets: what keeps the bucket versioned and private is protected with it; its
    // lifecycle and encryption are retained (dropping them from the program never deletes them).
    const guards = { protect: true, retainOnDelete: true };
    const kept = { retainOnDelete: true };
    const rules = lifecycleRules(args.stack, days);

    if (cfg.target.provider === "aws") {
      this.awsProvider = new aws.Provider("backup-aws", { region: cfg.target.aws!.region as aws.Region }, { parent: this });
      const on = { parent: this, provider: this.awsProvider };
      const bucket = new aws.s3.Bucket("backup-bucket", { bucket: this.bucket, forceDestroy: false, tags: { "kestra-fleet:role": "backup" } }, { ...on, ...stateful });
      new aws.s3.BucketPublicAccessBlock("backup-bucket-public-access", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, { ...on, ...guards });
      const versioning = new aws.s3.BucketVersioning("backup-bucket-versioning", { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, { ...on, ...guards });
      new aws.s3.BucketServerSideEncryptionConfiguration(
        "backup-bucket-encryption",
        { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
        { ...on, ...kept },
      );
      new aws.s3.BucketLifecycleConfiguration(
        "backup-bucket-lifecycle",
        {
          bucket: bucket.id,
          rules: rules.map((r) => ({
            id: r.id,
            status: "Enabled",
            filter: { prefix: r.prefix },
            expiration: r.expirationDays ? { days: r.expirationDays } : undefined,
            noncurrentVersionExpiration: { noncurrentDays: r.noncurrentDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 2 },
          })),
        },
        { ...on, ...kept, dependsOn: [versioning] },
      );
      this.ready.push(bucket, versioning);
    } else {
      const t = cfg.target.minio!;
      this.minioProvider = new minio.Provider(
        "backup-minio-admin",
        { minioServer: t.endpoint, minioSsl: true, minioRegion: t.region, minioUser: pulumi.secret(args.targetUser ?? ""), minioPassword: pulumi.secret(args.targetPassword ?? "") },
        { parent: this },
      );
      const on = { parent: this, provider: this.minioProvider };
      const bucket = new minio.S3Bucket("backup-bucket", { bucket: this.bucket, forceDestroy: false }, { ...on, ...stateful });
      const versioning = new minio.S3BucketVersioning("backup-bucket-versioning", { bucket: bucket.bucket, versioningConfiguration: { status: "Enabled" } }, { ...on, ...guards });
      new minio.IlmPolicy(
        "backup-bucket-lifecycle",
        {
          bucket: bucket.bucket,
          rules: rules.map((r) => ({
            id: r.id,
            status: "Enabled",
            filter: r.prefix,
            expiration: r.expirationDays ? `${r.expirationDays}d` : undefined,
            noncurrentVersionExpirationDays: r.noncurrentDays,
          })),
        },
        { ...on, ...kept, dependsOn: [versioning] },
      );
      this.ready.push(bucket, versioning);
    }

    const labels = identityLabels(BACKUP_STACK, "mirror");
    const on = { parent: this, provider: args.manager };
    this.scriptConfig = hashedConfig("backup-script", { prefix: BACKUP_STACK, purpose: "script", content: renderBackupScript(), labels }, on);

    if (settings.storage.provider === "minio") {
      const storage = args.storage.adminProvider();
      if (!storage) throw new Error("BackupStack: the minio storage backend has no admin provider");
      const src = { parent: this, provider: storage.provider, dependsOn: storage.ready };
      const reader = new minio.IamUser("backup-mirror-source-user", { name: "backup-mirror-source", forceDestroy: false }, { ...src, additionalSecretOutputs: ["secret"] });
      const readerPolicy = new minio.IamPolicy("backup-mirror-source-policy", { name: MIRROR_SOURCE_POLICY_NAME, policy: JSON.stringify(mirrorSourcePolicy(TENANT_BUCKET_PREFIX)) }, src);
      new minio.IamUserPolicyAttachment("backup-mirror-source-policy-attachment", { userName: reader.name, policyName: readerPolicy.name }, { parent: this, provider: storage.provider });
      const writer = this.writerKey(MIRROR_WRITER, [backupKindPrefix(args.stack, "bucket")]);

      const secret = (n: string, purpose: string, content: pulumi.Input<string>) => hashedSecret(n, { prefix: BACKUP_STACK, purpose, content, labels }, on);
      const secrets = [
        secretMount(secret("backup-mirror-source-access-key", "source_access_key", reader.name), "source_access_key"),
        secretMount(secret("backup-mirror-source-secret-key", "source_secret_key", reader.secret), "source_secret_key"),
        secretMount(secret("backup-mirror-target-access-key", "target_access_key", writer.accessKey), "target_access_key"),
        secretMount(secret("backup-mirror-target-secret-key", "target_secret_key", writer.secretKey), "target_secret_key"),
      ];
      const interval = durationSeconds(cfg.mirrorInterval);
      this.mirrorService = new docker.Service(
        "backup-mirror",
        {
          name: BACKUP_MIRROR_SERVICE,
          labels: labelList(labels),
          mode: { replicated: { replicas: 1 } },
          taskSpec: {
            containerSpec: {
              image: settings.images.backup,
              commands: ["/bin/sh", BACKUP_SCRIPT_PATH],
              args: ["mirror"],
              env: {
                BACKUP_INTERVAL_SECONDS: String(interval),
                S3_ENDPOINT: this.endpoint,
                S3_BUCKET: this.bucket,
                S3_ACCESS_KEY_FILE: "/run/secrets/target_access_key",
                S3_SECRET_KEY_FILE: "/run/secrets/target_secret_key",
                MIRROR_SOURCE_ENDPOINT: `http://${MINIO_ALIAS}:9000`,
                MIRROR_SOURCE_ACCESS_KEY_FILE: "/run/secrets/source_access_key",
                MIRROR_SOURCE_SECRET_KEY_FILE: "/run/secrets/source_secret_key",
                MIRROR_BUCKET_PREFIX: TENANT_BUCKET_PREFIX,
                // Where the copies land: `<stack>/bucket/<tenant>/`.
                S3_PREFIX: backupKindPrefix(args.stack, "bucket"),
                // Per-tenant outcome of every pass (Prometheus text, /metrics.txt), on the monitoring network.
                ...(args.monitoringNetworkId !== undefined ? { BACKUP_METRICS_PORT: String(MIRROR_METRICS_PORT) } : {}),
              },
              secrets,
              configs: [{ configId: this.scriptConfig.id, configName: this.scriptConfig.name, fileName: BACKUP_SCRIPT_PATH, fileMode: 0o555 }],
              healthcheck: { tests: ["CMD", "/bin/sh", BACKUP_SCRIPT_PATH, "health"], interval: "60s", timeout: "10s", retries: 3, startPeriod: "120s" },
              stopGracePeriod: "60s",
            },
            logDriver: LOG_DRIVER,
            // The storage network reaches MinIO by its alias; the target is reached over the node's egress.
            networksAdvanceds: [{ id: args.storage.networkId! }, ...(args.monitoringNetworkId !== undefined ? [{ id: args.monitoringNetworkId }] : [])],
            resources: swarmResources(PLATFORM_RESOURCES.backup),
            restartPolicy: RESTART_POLICY,
          },
          endpointSpec: endpointSpec(settings),
          updateConfig: { order: "stop-first", parallelism: 1, failureAction: "rollback", monitor: "30s" },
          rollbackConfig: { order: "stop-first", parallelism: 1 },
        },
        on,
      );
    }

    this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint, mirrorService: this.mirrorService?.name });
  }

  /** A key writing and reading only under `prefixes`, never deleting (children of `parent`). */
  private writerKey(who: string, prefixes: string[], parent: pulumi.Resource = this, prune = false): BackupKey {
    const { stack } = this.args;
    const policyJson = JSON.stringify(backupWriterPolicy(this.bucket, prefixes, { prune }));
    if (this.awsProvider) {
      const on = { parent, provider: this.awsProvider, dependsOn: this.ready };
      const tags = { "kestra-fleet:role": "backup" };
      const user = new aws.iam.User(`backup-${who}-user`, { name: backupUserName(stack, who), tags }, on);
      const key = new aws.iam.AccessKey(`backup-${who}-key`, { user: user.name }, { ...on, additionalSecretOutputs: ["secret"] });
      const policy = new aws.iam.Policy(`backup-${who}-policy`, { name: backupPolicyName(stack, who), policy: policyJson, tags }, on);
      new aws.iam.UserPolicyAttachment(`backup-${who}-policy-attachment`, { user: user.name, policyArn: policy.arn }, on);
      return { accessKey: key.id, secretKey: key.secret };
    }
    const on = { parent, provider: this.minioProvider!, dependsOn: this.ready };
    const user = new minio.IamUser(`backup-${who}-user`, { name: backupUserName(stack, who), forceDestroy: false }, { ...on, additionalSecretOutputs: ["secret"] });
    const policy = new minio.IamPolicy(`backup-${who}-policy`, { name: backupPolicyName(stack, who), policy: policyJson }, on);
    new minio.IamUserPolicyAttachment(`backup-${who}-policy-attachment`, { userName: user.name, policyName: policy.name }, on);
    return { accessKey: user.name, secretKey: user.secret };
  }

  /**
   * The tenant's dump key (`<stack>/postgres/<t>/` only, no delete) and its escrow object, declared under
   * `parent` (the tenant): they come and go with the tenant, on this target's provider.
   */
  provisionTenant(tenant: string, escrow: pulumi.Output<string>, parent: pulumi.Resource): BackupKey {
    // prune: the tenant's backup deletes its own dumps beyond the retention (never versions).
    const key = this.writerKey(tenant, [backupPrefixes(this.args.stack, tenant).postgres], parent, true);
    const content = pulumi.secret(pulumi.all([escrow, pulumi.output(this.args.escrowPassphrase)]).apply(([plain, pass]) => escrowEncryptAsync(plain, pass)));
    if (this.awsProvider) {
      new aws.s3.BucketObjectv2(
        `backup-${tenant}-escrow`,
        { bucket: this.bucket, key: escrowKey(this.args.stack, tenant), content, contentType: "text/plain", forceDestroy: false },
        { parent, provider: this.awsProvider, dependsOn: this.ready, retainOnDelete: true },
      );
    } else {
      new minio.S3Object(
        `backup-${tenant}-escrow`,
        { bucketName: this.bucket, objectName: escrowKey(this.args.stack, tenant), content, contentType: "text/plain" },
        { parent, provider: this.minioProvider!, dependsOn: this.ready, retainOnDelete: true },
      );
    }
    return key;
  }
}
