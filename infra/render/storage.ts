/**
 * Storage documents of a tenant: the least-privilege policy of its access key (on MinIO one shared
 * policy, ownBucketPolicyDocument, for every tenant's user) and the `kestra.storage` block of its
 * Kestra config, for either backend. Pure.
 */
import type { Settings } from "../input/config/schema";
import { MINIO_ALIAS, tenantNames } from "../model/naming";

/** The tenant's bucket: `kestra-<t>`, behind the stack's prefix on AWS (S3 names are global). */
export function tenantBucket(settings: Settings, tenant: string): string {
  const bucket = tenantNames(tenant).bucket;
  return settings.storage.provider === "aws" ? `${settings.storage.aws?.bucketPrefix ?? ""}${bucket}` : bucket;
}

/** The AWS IAM user holding a tenant's access key (at most 64 characters: checked at load). */
export function awsIamUserName(bucket: string): string {
  return `kestra-fleet-${bucket}`;
}

export const BUCKET_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"] as const;
export const OBJECT_ACTIONS = [
  "s3:GetObject",
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:AbortMultipartUpload",
  "s3:ListMultipartUploadParts",
  "s3:GetObjectVersion",
  "s3:DeleteObjectVersion",
  "s3:GetObjectTagging",
  "s3:PutObjectTagging",
  "s3:DeleteObjectTagging",
] as const;

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: { Sid: string; Effect: "Allow"; Action: string[]; Resource: string[] }[];
}

/** Exactly the bucket and its objects: no wildcard in the bucket part, no admin action. */
export function storagePolicyDocument(bucket: string): PolicyDocument {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`not a bucket name: ${bucket}`);
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "Bucket", Effect: "Allow", Action: [...BUCKET_ACTIONS], Resource: [`arn:aws:s3:::${bucket}`] },
      { Sid: "Objects", Effect: "Allow", Action: [...OBJECT_ACTIONS], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  };
}

export function storagePolicyJson(bucket: string): string {
  return JSON.stringify(storagePolicyDocument(bucket));
}

/**
 * MinIO's policy variable for the name of the authenticated user (for a service account, its parent
 * user). MinIO substitutes it in a Resource before matching (minio/pkg policy Resource.Match); with an
 * empty user name it is left as is, and no bucket name contains `$`: it then matches nothing.
 */
export const OWN_BUCKET_VARIABLE = "${aws:username}";
/**
 * The one storage policy every tenant's MinIO user is attached to: Kestra's actions on the bucket
 * named like the user (a tenant's user is named after its bucket, `kestra-<t>`) and its objects. A
 * dot never occurs in a bucket name, so no tenant's bucket shares the policy's name.
 */
export const OWN_BUCKET_POLICY = "kestra.own-bucket";

/** The shared policy's document: storagePolicyDocument with the user-name variable as the bucket. */
export function ownBucketPolicyDocument(): PolicyDocument {
  const doc = storagePolicyDocument("bucket-placeholder");
  return JSON.parse(JSON.stringify(doc).replaceAll("bucket-placeholder", OWN_BUCKET_VARIABLE)) as PolicyDocument;
}

export interface StorageCredentials {
  accessKey: string;
  secretKey: string;
}

/** MinIO on the storage overlay, plain HTTP inside the cluster, path-style (no virtual hosts). */
export function minioStorageBlock(bucket: string, creds: StorageCredentials): Record<string, unknown> {
  return {
    type: "minio",
    minio: {
      endpoint: MINIO_ALIAS,
      port: 9000,
      secure: false,
      accessKey: creds.accessKey,
      secretKey: creds.secretKey,
      region: "us-east-1",
      bucket,
      vhost: false,
    },
  };
}

/** AWS S3 in the stack's region. */
export function s3StorageBlock(bucket: string, region: string, creds: StorageCredentials): Record<string, unknown> {
  return {
    type: "s3",
    s3: {
      endpoint: `https://s3.${region}.amazonaws.com`,
      region,
      bucket,
      accessKey: creds.accessKey,
      secretKey: creds.secretKey,
    },
  };
}

/** The tenant's `kestra.storage` block for the stack's backend. */
export function tenantStorageBlock(settings: Settings, tenant: string, creds: StorageCredentials): Record<string, unknown> {
  const bucket = tenantBucket(settings, tenant);
  return settings.storage.provider === "aws" ? s3StorageBlock(bucket, settings.storage.aws!.region, creds) : minioStorageBlock(bucket, creds);
}
