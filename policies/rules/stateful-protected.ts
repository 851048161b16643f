import { isDbPasswordName } from "../../infra/model/naming";
import { TYPES, display, type ResourceRule } from "../model";

/** Volumes, buckets and managed databases: deleting one deletes a client's data. */
export const STATEFUL_TYPES: readonly string[] = [TYPES.volume, TYPES.minioBucket, TYPES.awsBucket, TYPES.database];

/**
 * What keeps a retained bucket versioned and private: deleting one suspends versioning or lifts the
 * public-access block of a bucket that still holds the client's data. Protected and retained like it.
 */
export const BUCKET_GUARD_TYPES: readonly string[] = [TYPES.minioBucketVersioning, TYPES.awsBucketVersioning, TYPES.awsPublicAccessBlock];

/** Other settings of a bucket (lifecycle, default encryption): never deleted from a kept bucket (retained). */
export const BUCKET_SETTING_TYPES: readonly string[] = [TYPES.minioLifecycle, TYPES.awsLifecycle, TYPES.awsEncryption];

/** Generated keys that encrypt data (Kestra's encryption key): a new key orphans what the old one encrypted. */
export const KEY_TYPES: readonly string[] = [TYPES.randomBytes];

/** A tenant's database password: Postgres keeps the value it was initialised with, so a new one locks Kestra out. */
const isDbPassword = (r: { type: string; name: string }) => r.type === TYPES.randomPassword && isDbPasswordName(r.name);

/**
 * Rule 1: stateful resources are protected (the engine refuses to delete or replace them) and retained
 * on delete (dropping them from the program never deletes the data); so are the versioning and
 * public-access block of buckets. Other bucket settings are retained; encryption keys and tenants'
 * database passwords (`<t>-db-password`) are protected.
 * CrossGuard does not show retainOnDelete: it is checked where it is known (the offline plan).
 */
export const statefulProtected: ResourceRule = {
  kind: "resource",
  name: "stateful-protected",
  description:
    "Docker volumes, MinIO/AWS buckets, bucket versioning and public-access blocks, and managed Postgres databases have protect: true and retainOnDelete: true; bucket lifecycle and encryption settings retainOnDelete: true; encryption keys and tenant database passwords protect: true.",
  level: "mandatory",
  check(r, report) {
    const protect = STATEFUL_TYPES.includes(r.type) || BUCKET_GUARD_TYPES.includes(r.type) || KEY_TYPES.includes(r.type) || isDbPassword(r);
    const retain = STATEFUL_TYPES.includes(r.type) || BUCKET_GUARD_TYPES.includes(r.type) || BUCKET_SETTING_TYPES.includes(r.type);
    const what = STATEFUL_TYPES.includes(r.type)
      ? "holds data"
      : KEY_TYPES.includes(r.type)
        ? "encrypts a client's data (a new key orphans every value the old one encrypted)"
        : isDbPassword(r)
          ? "is a tenant's database password (Postgres keeps the old one: a new value locks Kestra and the backup out; rotation: docs/operations.md#database-password)"
          : "keeps a retained bucket versioned, private or managed";
    if (protect && r.options.protect !== true) report(`${display(r)} ${what} but is not protected: set the resource option protect: true`);
    if (retain && r.options.retainOnDelete === false) report(`${display(r)} ${what} but is not retained on delete: set the resource option retainOnDelete: true`);
  },
};
