/**
 * Inputs whose change makes the provider replace the resource (delete + create), per resource type
 * the program declares. A path is dot-separated Pulumi input names; `*` matches any one key or array
 * index; a pattern also covers everything below it.
 *
 * Sources (read in the providers' code, at the versions @pulumi/* bridge):
 * - docker (terraform-provider-docker v4.5.0, internal/provider/resource_docker_*.go): every input of
 *   docker_network, docker_volume, docker_secret and docker_config is ForceNew. docker_service:
 *   `name`, `auth`, `task_spec.container_spec.hosts`, `.sysctl`, and every attribute of
 *   `task_spec.networks_advanced` (`id`, `name`, `aliases`, `driver_opts`, a set: adding or removing a
 *   network changes an element, hence replaces the service).
 * - minio (terraform-provider-minio, minio/resource_minio_*.go): s3_bucket `bucket`, `bucket_prefix`;
 *   s3_bucket_versioning and ilm_policy `bucket`; iam_user `name`; iam_policy `name`, `name_prefix`;
 *   iam_user_policy_attachment `user_name`, `policy_name`.
 * - random (terraform-provider-random, internal/provider/resource_password.go, resource_bytes.go):
 *   every attribute of random_password (RequiresReplace on each); random_bytes `length`, `keepers`.
 * - postgresql (cyrilgdn/terraform-provider-postgresql, postgresql/resource_postgresql_database.go):
 *   database `template`, `encoding`, `lc_collate`, `lc_ctype`; a role or database rename is in place;
 *   grant (resource_postgresql_grant.go): no update function, every attribute ForceNew.
 * - cloudflare v5 (terraform-provider-cloudflare internal/services/<resource>/schema.go: only the path
 *   parameters carry RequiresReplace): dns_record `zoneId`; zero_trust_access_application `accountId`,
 *   `zoneId`; zero_trust_access_policy and _service_token `accountId` (same generated pattern).
 * - aws v7 (terraform-provider-aws, from the provider documentation, not re-read in code this time):
 *   s3 bucket `bucket`, `bucketPrefix`, `objectLockEnabled`; the bucket's satellite resources
 *   `bucket`, `expectedBucketOwner`; iam access key `user`, `pgpKey`; iam policy `name`, `namePrefix`,
 *   `path`, `description`; user policy attachment `user`, `policyArn`. An IAM user rename is in place.
 */
export const EVERY_INPUT = ["*"];

export const FORCE_NEW: Readonly<Record<string, readonly string[]>> = {
  "docker:index/network:Network": EVERY_INPUT,
  "docker:index/volume:Volume": EVERY_INPUT,
  "docker:index/secret:Secret": EVERY_INPUT,
  "docker:index/serviceConfig:ServiceConfig": EVERY_INPUT,
  "docker:index/service:Service": [
    "name",
    "auth",
    "taskSpec.containerSpec.hosts",
    "taskSpec.containerSpec.sysctl",
    "taskSpec.networksAdvanceds",
  ],
  "minio:index/s3Bucket:S3Bucket": ["bucket", "bucketPrefix"],
  "minio:index/s3BucketVersioning:S3BucketVersioning": ["bucket"],
  "minio:index/ilmPolicy:IlmPolicy": ["bucket"],
  "minio:index/iamUser:IamUser": ["name"],
  "minio:index/iamPolicy:IamPolicy": ["name", "namePrefix"],
  "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment": ["userName", "policyName"],
  // minio/resource_minio_s3_object.go: bucket_name and object_name ForceNew; content is updated in place (a PutObject).
  "minio:index/s3Object:S3Object": ["bucketName", "objectName"],
  "random:index/randomPassword:RandomPassword": EVERY_INPUT,
  "random:index/randomBytes:RandomBytes": ["length", "keepers"],
  "postgresql:index/database:Database": ["template", "encoding", "lcCollate", "lcCtype"],
  "postgresql:index/role:Role": [],
  "postgresql:index/grant:Grant": EVERY_INPUT,
  "cloudflare:index/dnsRecord:DnsRecord": ["zoneId"],
  "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication": ["accountId", "zoneId"],
  "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy": ["accountId"],
  "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken": ["accountId"],
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix", "objectLockEnabled"],
  // Documented: an object's bucket and key force a new object; its content is an update.
  "aws:s3/bucketObjectv2:BucketObjectv2": ["bucket", "key"],
  "aws:s3/bucketV2:BucketV2": ["bucket", "bucketPrefix", "objectLockEnabled"],
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["bucket"],
  "aws:s3/bucketVersioning:BucketVersioning": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketVersioningV2:BucketVersioningV2": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["bucket", "expectedBucketOwner"],
  "aws:iam/user:User": [],
  "aws:iam/accessKey:AccessKey": ["user", "pgpKey"],
  "aws:iam/policy:Policy": ["name", "namePrefix", "path", "description"],
  "aws:iam/userPolicyAttachment:UserPolicyAttachment": ["user", "policyArn"],
};

/** Split a path `a.b[0].c` into segments `a`, `b`, `0`, `c`. */
export function segments(path: string): string[] {
  return path.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== "");
}

/** True when the pattern covers the path: the pattern is a prefix of it (`*` any segment), or the path is a prefix of the pattern (a whole object changed). */
export function covers(pattern: string, path: string): boolean {
  const p = segments(pattern);
  const s = segments(path);
  const n = Math.min(p.length, s.length);
  for (let i = 0; i < n; i++) if (p[i] !== "*" && p[i] !== s[i]) return false;
  return true;
}

/**
 * The changed input paths that force replacement of a resource of this type. A type missing from
 * the table is treated as replaced by any change (the safe assumption for a reviewer), and says so.
 */
export function replacingPaths(type: string, changed: readonly string[]): { paths: string[]; known: boolean } {
  const table = FORCE_NEW[type];
  if (!table) return { paths: [...changed], known: false };
  return { paths: changed.filter((c) => table.some((f) => covers(f, c))), known: true };
}
