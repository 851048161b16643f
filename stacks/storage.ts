/**
 * StorageStack: where Kestra keeps every execution's files. Two backends behind one interface:
 * - minio: one MinIO-compatible service on the Swarm, on the storage overlay (alias `minio`),
 *   its S3/admin API routed by Traefik at an allow-listed, DNS-only host for the Pulumi provider;
 * - aws: no service at all; AWS S3 buckets and IAM users.
 * Per tenant (`provisionTenant`): one versioned bucket `kestra-<t>` (protected, retained, never
 * force-destroyed) and one user of its own reaching that bucket only (MinIO: the user `kestra-<t>`
 * attached to the stack's one policy naming the bucket `${aws:username}`; AWS: a user, key and policy).
 */
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as docker from "@pulumi/docker";
import * as minio from "@pulumi/minio";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { cloudflareOf, edgeOf, type Settings } from "../infra/input/config/schema";
import { LABEL_ROLE, MINIO_ALIAS, MINIO_VOLUME, nodeLocalName, STORAGE_NETWORK, STORAGE_SERVICE, STORAGE_STACK, type TenantNames } from "../infra/model/naming";
import { PLATFORM_RESOURCES, swarmResources } from "../infra/model/profiles";
import { ingressRecords } from "../infra/render/access";
import { edgeRouting, identityLabels, labelList, storageAdminLabels } from "../infra/render/labels";
import { awsIamUserName, minioStorageBlock, OWN_BUCKET_POLICY, ownBucketPolicyDocument, s3StorageBlock, storagePolicyJson, tenantBucket, type StorageCredentials } from "../infra/render/storage";
import { endpointSpec, hashedSecret, LOG_DRIVER, networkOptions, RESTART_POLICY, secretMount } from "./swarm";

/** What a tenant's Kestra needs from storage. */
export interface TenantStorage {
  bucket: pulumi.Output<string>;
  /** The `kestra.storage` block; holds the secret key (a Pulumi secret). */
  kestraStorage: pulumi.Output<Record<string, unknown>>;
}

/** The one interface the tenant stack sees. */
export interface StorageBackend {
  readonly provider: "minio" | "aws";
  /** Overlay network the tenants' gateways join to reach MinIO (minio only; never a Kestra service). */
  readonly networkId?: pulumi.Output<string>;
  provisionTenant(names: TenantNames, parent: pulumi.Resource): TenantStorage;
}

export interface StorageStackArgs {
  settings: Settings;
  manager: docker.Provider;
  /** Docker provider of the storage node (MinIO's volume). */
  storageNode?: docker.Provider;
  publicNetworkId: pulumi.Input<string>;
  /** Cloudflare's provider: the admin host's DNS-only record. Absent in a lab stack without Cloudflare (no record: the lab resolves the name itself). */
  cloudflare?: cloudflare.Provider;
}

export class StorageStack extends pulumi.ComponentResource implements StorageBackend {
  readonly provider: "minio" | "aws";
  readonly networkId?: pulumi.Output<string>;
  readonly service?: docker.Service;
  readonly adminEndpoint?: string;
  private readonly minioProvider?: minio.Provider;
  /** MinIO only: the one policy every tenant's user is attached to (its own bucket, by user name). */
  private readonly ownBucketPolicy?: minio.IamPolicy;
  private readonly awsProvider?: aws.Provider;
  private readonly settings: Settings;
  private readonly ready: pulumi.Resource[] = [];

  constructor(name: string, args: StorageStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:StorageStack", name, {}, opts);
    this.settings = args.settings;
    this.provider = args.settings.storage.provider;

    if (this.provider === "aws") {
      const cfg = args.settings.storage.aws!;
      this.awsProvider = new aws.Provider("storage-aws", { region: cfg.region as aws.Region }, { parent: this });
    } else {
      const cfg = args.settings.storage.minio!;
      if (!args.storageNode) throw new Error("StorageStack: the minio backend needs the storage node's Docker provider");
      const on = { parent: this, provider: args.manager };
      const network = new docker.Network(
        "storage-network",
        {
          name: STORAGE_NETWORK,
          driver: "overlay",
          attachable: false,
          options: args.settings.swarm.encryptNetworks ? { encrypted: "" } : undefined,
          labels: labelList({ [LABEL_ROLE]: "storage" }),
        },
        { ...on, ...networkOptions() },
      );
      this.networkId = network.id;
      const volume = new docker.Volume(
        nodeLocalName("storage-minio-volume", cfg.node),
        { name: MINIO_VOLUME, driver: "local", labels: labelList({ [LABEL_ROLE]: "storage" }) },
        { parent: this, provider: args.storageNode, protect: true, retainOnDelete: true },
      );
      const rootUser = new random.RandomPassword("storage-root-user", { length: 20, special: false, upper: false }, { parent: this });
      const rootPassword = new random.RandomPassword("storage-root-password", { length: 40, special: false }, { parent: this });
      const labels = identityLabels(STORAGE_STACK, "storage");
      const userSecret = hashedSecret("storage-root-user-secret", { prefix: STORAGE_STACK, purpose: "root_user", content: rootUser.result, labels }, on);
      const passwordSecret = hashedSecret("storage-root-password-secret", { prefix: STORAGE_STACK, purpose: "root_password", content: rootPassword.result, labels }, on);

      this.service = new docker.Service(
        "storage-minio",
        {
          name: STORAGE_SERVICE,
          labels: labelList({ ...labels, ...storageAdminLabels(cfg.adminHost, edgeRouting(args.settings)) }),
          mode: { replicated: { replicas: 1 } },
          taskSpec: {
            containerSpec: {
              image: args.settings.images.minio,
              args: ["server", "/data", "--console-address", ":9001"],
              env: {
                // MinIO falls back to minioadmin:minioadmin when these files are missing: the
                // secrets below are mounted exactly there (policy: file-env-points-at-secret).
                MINIO_ROOT_USER_FILE: "/run/secrets/minio_root_user",
                MINIO_ROOT_PASSWORD_FILE: "/run/secrets/minio_root_password",
                MINIO_BROWSER: "off",
              },
              secrets: [secretMount(userSecret, "minio_root_user"), secretMount(passwordSecret, "minio_root_password")],
              mounts: [{ type: "volume", source: MINIO_VOLUME, target: "/data" }],
              healthcheck: { tests: ["CMD", "mc", "ready", "local"], interval: "15s", timeout: "10s", retries: 5, startPeriod: "30s" },
              stopGracePeriod: "60s",
            },
            networksAdvanceds: [{ id: network.id, aliases: [MINIO_ALIAS] }, { id: args.publicNetworkId }],
            placement: { constraints: [`node.hostname == ${cfg.node}`] },
            resources: swarmResources(PLATFORM_RESOURCES.minio),
            restartPolicy: RESTART_POLICY,
            logDriver: LOG_DRIVER,
          },
          endpointSpec: endpointSpec(args.settings),
          // One volume, one server: never two MinIO processes on /data.
          updateConfig: { order: "stop-first", parallelism: 1, failureAction: "rollback", monitor: "60s" },
          rollbackConfig: { order: "stop-first", parallelism: 1 },
        },
        { ...on, dependsOn: [volume] },
      );

      const cloudflareProvider = args.cloudflare;
      const lab = edgeOf(args.settings).provider === "none";
      if (!lab && !cloudflareProvider) throw new Error("StorageStack: a stack behind Cloudflare needs the Cloudflare provider");
      const adminDns = !cloudflareProvider ? [] : ingressRecords(cloudflareOf(args.settings).ingressAddresses).map(
        (record, i) =>
          new cloudflare.DnsRecord(
            `storage-admin-dns-${i}`,
            {
              zoneId: cloudflareOf(args.settings).zoneId,
              name: cfg.adminHost,
              ...record,
              ttl: 1,
              // DNS-only: the Pulumi provider talks S3/admin API, not a browser behind Access.
              proxied: false,
              comment: "kestra-fleet: MinIO admin API (allow-listed in Traefik)",
            },
            { parent: this, provider: cloudflareProvider },
          ),
      );

      this.adminEndpoint = `https://${cfg.adminHost}`;
      this.minioProvider = new minio.Provider(
        "storage-minio-admin",
        {
          minioServer: `${cfg.adminHost}:443`,
          minioSsl: true,
          minioRegion: "us-east-1",
          minioUser: pulumi.secret(rootUser.result),
          minioPassword: pulumi.secret(rootPassword.result),
          // A lab stack without Cloudflare has no ACME: Traefik answers with its self-signed default
          // certificate, which the provider cannot verify (TLS is still used). Never set otherwise.
          ...(lab ? { minioInsecure: true } : {}),
        },
        { parent: this },
      );
      this.ready.push(this.service, ...adminDns);
      this.ownBucketPolicy = new minio.IamPolicy(
        "storage-own-bucket-policy",
        { name: OWN_BUCKET_POLICY, policy: JSON.stringify(ownBucketPolicyDocument()) },
        { parent: this, provider: this.minioProvider, dependsOn: this.ready },
      );
    }

    this.registerOutputs({ provider: this.provider, service: this.service?.name, adminEndpoint: this.adminEndpoint });
  }

  /** MinIO's admin provider and what must exist before it is used (minio backend only). */
  adminProvider(): { provider: minio.Provider; ready: pulumi.Resource[] } | undefined {
    return this.minioProvider ? { provider: this.minioProvider, ready: this.ready } : undefined;
  }

  provisionTenant(names: TenantNames, parent: pulumi.Resource): TenantStorage {
    const bucket = new TenantBucket(
      `${names.logical}-storage`,
      {
        names,
        settings: this.settings,
        backend:
          this.provider === "aws"
            ? { kind: "aws", provider: this.awsProvider! }
            : { kind: "minio", provider: this.minioProvider!, dependsOn: this.ready, ownBucketPolicy: this.ownBucketPolicy! },
      },
      { parent },
    );
    return { bucket: bucket.bucketName, kestraStorage: bucket.kestraStorage };
  }
}

type BucketBackend = { kind: "minio"; provider: minio.Provider; dependsOn: pulumi.Resource[]; ownBucketPolicy: minio.IamPolicy } | { kind: "aws"; provider: aws.Provider };

/** One tenant's bucket, user and policy. */
export class TenantBucket extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly kestraStorage: pulumi.Output<Record<string, unknown>>;

  constructor(name: string, args: { names: TenantNames; settings: Settings; backend: BucketBackend }, opts: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:TenantBucket", name, {}, opts);
    const t = args.names.logical;
    const days = args.settings.storage.noncurrentVersionDays;
    const stateful = { protect: true, retainOnDelete: true };
    // The bucket outlives its tenant (retained): so must what keeps it versioned and private. Deleting
    // these would suspend versioning, drop the public-access block (AWS), or the lifecycle and default
    // encryption, on a bucket that still holds the client's data. Versioning and the public-access
    // block are protected like the bucket; lifecycle and encryption are retained (their loss costs
    // storage, or falls back to S3's default SSE-S3, but exposes and loses nothing).
    const guards = { protect: true, retainOnDelete: true };
    const kept = { retainOnDelete: true };

    if (args.backend.kind === "minio") {
      const on = { parent: this, provider: args.backend.provider };
      const bucketName = args.names.bucket;
      const bucket = new minio.S3Bucket(`${t}-bucket`, { bucket: bucketName, forceDestroy: false }, { ...on, ...stateful, dependsOn: args.backend.dependsOn });
      new minio.S3BucketVersioning(`${t}-bucket-versioning`, { bucket: bucket.bucket, versioningConfiguration: { status: "Enabled" } }, { ...on, ...guards });
      new minio.IlmPolicy(
        `${t}-bucket-lifecycle`,
        { bucket: bucket.bucket, rules: [{ id: "expire-noncurrent-versions", status: "Enabled", noncurrentVersionExpirationDays: days }] },
        { ...on, ...kept },
      );
      // One user per tenant, named like its bucket: its name is the access key, its generated secret
      // the secret key. Attached to the stack's one own-bucket policy, which MinIO resolves to the
      // bucket named like the user (README "What a tenant is made of").
      const user = new minio.IamUser(`${t}-storage-user`, { name: bucketName, forceDestroy: false }, { ...on, dependsOn: args.backend.dependsOn, additionalSecretOutputs: ["secret"] });
      new minio.IamUserPolicyAttachment(`${t}-storage-policy-attachment`, { userName: user.name, policyName: args.backend.ownBucketPolicy.name }, on);
      this.bucketName = bucket.bucket;
      this.kestraStorage = pulumi
        .secret(pulumi.all([user.name, user.secret]))
        .apply(([accessKey, secretKey]) => minioStorageBlock(bucketName, { accessKey, secretKey } as StorageCredentials));
    } else {
      const on = { parent: this, provider: args.backend.provider };
      const region = args.settings.storage.aws!.region;
      const bucketName = tenantBucket(args.settings, args.names.tenant);
      const tags = { "kestra-fleet:tenant": args.names.tenant };
      const bucket = new aws.s3.Bucket(`${t}-bucket`, { bucket: bucketName, forceDestroy: false, tags }, { ...on, ...stateful });
      new aws.s3.BucketPublicAccessBlock(
        `${t}-bucket-public-access`,
        { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        { ...on, ...guards },
      );
      new aws.s3.BucketVersioning(`${t}-bucket-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, { ...on, ...guards });
      new aws.s3.BucketServerSideEncryptionConfiguration(
        `${t}-bucket-encryption`,
        { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
        { ...on, ...kept },
      );
      new aws.s3.BucketLifecycleConfiguration(
        `${t}-bucket-lifecycle`,
        { bucket: bucket.id, rules: [{ id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: days } }] },
        { ...on, ...kept },
      );
      const user = new aws.iam.User(`${t}-storage-user`, { name: awsIamUserName(bucketName), tags }, on);
      const key = new aws.iam.AccessKey(`${t}-storage-key`, { user: user.name }, { ...on, additionalSecretOutputs: ["secret"] });
      const policy = new aws.iam.Policy(`${t}-storage-policy`, { name: bucketName, policy: storagePolicyJson(bucketName), tags }, on);
      new aws.iam.UserPolicyAttachment(`${t}-storage-policy-attachment`, { user: user.name, policyArn: policy.arn }, on);
      this.bucketName = bucket.bucket;
      this.kestraStorage = pulumi
        .secret(pulumi.all([key.id, key.secret]))
        .apply(([accessKey, secretKey]) => s3StorageBlock(bucketName, region, { accessKey, secretKey }));
    }
    this.registerOutputs({ bucket: this.bucketName });
  }
}
