/**
 * Backups, pure: dump file names, the exact pg_dump / pg_restore flags (shared by the backup
 * service, the restore procedure and the restore drill), the retention rule, the least-privilege
 * policies of the backup keys, the backup script (POSIX sh, delivered as a Swarm config) and the
 * escrow encryption. No Pulumi, no I/O.
 */
import { createCipheriv, createHmac, pbkdf2, pbkdf2Sync } from "crypto";
import { MIRROR_SOURCE_POLICY_NAME, TENANT_BUCKET_PREFIX } from "../model/naming";

/** pg_dump flags of every scheduled dump: custom format (pg_restore reads it), no owner/ACL statements. */
export const PG_DUMP_ARGS = ["--format=custom", "--compress=6", "--no-owner", "--no-privileges"] as const;
/** pg_restore flags of the restore procedure: all or nothing, stop at the first error. */
export const PG_RESTORE_ARGS = ["--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges"] as const;

/**
 * SQL printing the number of user tables of the current database: the restore procedure stops
 * unless it prints 0 (a restore never lands in a non-empty database).
 */
export const EMPTY_CHECK_SQL =
  "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
  "WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'";

/**
 * The backup bucket's layout: the stack first, then one prefix per kind, then the tenant
 * (`<stack>/postgres/<t>/`, `<stack>/bucket/<t>/`, `<stack>/escrow/<t>/`). Two stacks pointed at one
 * bucket then never write, list or expire each other's dumps, mirror copies or escrow objects. Rules
 * and keys that concern every tenant name the stack's kind prefix only, so adding a tenant changes none
 * of them (no lifecycle rule, no mirror policy lists tenants); a tenant's own key names `<stack>/<kind>/<t>/`.
 */
export const BACKUP_KINDS = { postgres: "postgres", bucket: "bucket", escrow: "escrow" } as const;
export type BackupKind = keyof typeof BACKUP_KINDS;

/** A stack name as a key prefix: one path segment. */
const STACK_SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `<stack>/<kind>/`: every tenant's objects of one kind in one stack. */
export function backupKindPrefix(stack: string, kind: BackupKind): string {
  if (!STACK_SEGMENT_RE.test(stack) || stack === "." || stack.includes("..")) throw new Error(`not a stack name usable as a key prefix: ${stack}`);
  return `${stack}/${BACKUP_KINDS[kind]}/`;
}

/** Key prefixes of one tenant of one stack in the backup bucket. */
export const backupPrefixes = (stack: string, tenant: string) => ({
  postgres: `${backupKindPrefix(stack, "postgres")}${tenant}/`,
  bucket: `${backupKindPrefix(stack, "bucket")}${tenant}/`,
  escrow: `${backupKindPrefix(stack, "escrow")}${tenant}/`,
});

export { MIRROR_SOURCE_POLICY_NAME, TENANT_BUCKET_PREFIX };

/** Names of the backup keys and policies: a dot never occurs in a tenant bucket name. */
export const backupUserName = (stack: string, who: string) => `backup-${stack}-${who}`;
export const backupPolicyName = (stack: string, who: string) => `backup.${stack}.${who}`;

/** Name of the escrow object of a tenant (inside its escrow prefix). */
export const escrowKey = (stack: string, tenant: string) => `${backupPrefixes(stack, tenant).escrow}credentials.json.enc`;

/** `<tenant>-YYYYMMDDTHHMMSSZ.pgdump`: sorts by time; the time is UTC. */
export function dumpName(tenant: string, at: Date): string {
  const iso = at.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
  return `${tenant}-${iso}.pgdump`;
}

const DUMP_RE = /^([a-z][a-z0-9-]*[a-z0-9])-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.pgdump$/;

/** Tenant and time of a dump file name (a path prefix is ignored), or undefined when it is not one. */
export function parseDumpName(name: string): { tenant: string; at: Date } | undefined {
  const base = name.split("/").pop() ?? "";
  const m = DUMP_RE.exec(base);
  if (!m) return undefined;
  const [, tenant, y, mo, d, h, mi, s] = m;
  const at = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  if (Number.isNaN(at.getTime()) || dumpName(tenant, at) !== base) return undefined;
  return { tenant, at };
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * The retention rule, as the backup script applies it after every successful upload: a dump of
 * `tenant` is kept when it is among the newest `keepLast` (whatever its age) or younger than `days`;
 * the others are pruned. Nothing is ever pruned without a new dump, so an outage of any length (a
 * Postgres major upgrade before the backup image is rebuilt, a tenant whose backup stopped) leaves at
 * least the last `keepLast` dumps. Returns the kept dumps at `now`, newest first.
 */
export function retainedDumps(names: readonly string[], tenant: string, now: Date, days: number, keepLast: number): string[] {
  return names
    .map((n) => ({ n, p: parseDumpName(n) }))
    .filter((x): x is { n: string; p: { tenant: string; at: Date } } => !!x.p && x.p.tenant === tenant && x.p.at.getTime() <= now.getTime())
    .sort((a, b) => b.p.at.getTime() - a.p.at.getTime())
    .filter((x, i) => i < keepLast || x.p.at.getTime() >= now.getTime() - days * DAY_MS)
    .map((x) => x.n);
}

/** One lifecycle rule of the backup bucket, in a provider-neutral shape. */
export interface LifecycleRule {
  id: string;
  prefix: string;
  /** Days after which current objects under the prefix are deleted (absent: kept). */
  expirationDays?: number;
  /** Days after which replaced/deleted versions under the prefix are deleted. */
  noncurrentDays: number;
}

/**
 * The backup bucket's lifecycle, one rule per kind, whatever the tenants. No kind's current objects
 * expire: S3 and MinIO lifecycles count days, not "the newest N", so an expiry of dumps would delete the
 * last good ones after an outage longer than `days`. The backup script prunes the dumps itself
 * (retainedDumps: the newest `keepLast` whatever their age, and everything younger than `days`);
 * a pruned dump, like a replaced mirrored object or escrow, stays a non-current version for `days`
 * more (versioned bucket), then the lifecycle deletes it.
 */
export function lifecycleRules(stack: string, days: number): LifecycleRule[] {
  return [
    { id: `${stack}-postgres`, prefix: backupKindPrefix(stack, "postgres"), noncurrentDays: days },
    { id: `${stack}-bucket`, prefix: backupKindPrefix(stack, "bucket"), noncurrentDays: days },
    { id: `${stack}-escrow`, prefix: backupKindPrefix(stack, "escrow"), noncurrentDays: days },
  ];
}

/** Actions a backup writer needs on its objects: write, read back, multipart. Never a delete. */
export const BACKUP_OBJECT_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"] as const;
/** Actions the mirror needs on a tenant bucket (read only). */
export const MIRROR_SOURCE_BUCKET_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucket"] as const;
export const MIRROR_SOURCE_OBJECT_ACTIONS = ["s3:GetObject"] as const;
/** Denied explicitly to every backup key. */
export const BACKUP_DENIED_ACTIONS = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:PutBucketVersioning"] as const;

export interface BackupPolicyDocument {
  Version: "2012-10-17";
  Statement: { Sid: string; Effect: "Allow" | "Deny"; Action: string[]; Resource: string[]; Condition?: Record<string, Record<string, string[]>> }[];
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Write and read under the given prefixes of the backup bucket, list only there, never delete. */
export function backupWriterPolicy(bucket: string, prefixes: readonly string[], opts: { prune?: boolean } = {}): BackupPolicyDocument {
  if (!BUCKET_RE.test(bucket)) throw new Error(`not a bucket name: ${bucket}`);
  // `<stack>/<kind>/<tenant>/` (a tenant's key) or `<stack>/<kind>/` (the mirror's key, every tenant of one kind).
  if (!prefixes.length || prefixes.some((p) => !/^[A-Za-z0-9][A-Za-z0-9_.-]*\/[a-z]+\/(?:[a-z0-9][a-z0-9-]*\/)?$/.test(p))) throw new Error(`not backup prefixes: ${prefixes.join(", ")}`);
  const sorted = [...prefixes].sort();
  return {
    Version: "2012-10-17",
    Statement: [
      // GetBucketLocation carries no prefix: a prefix condition on it would deny it (clients ask for the region).
      { Sid: "BucketLocation", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [`arn:aws:s3:::${bucket}`] },
      { Sid: "ListOwnPrefix", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [`arn:aws:s3:::${bucket}`], Condition: { StringLike: { "s3:prefix": sorted.map((p) => `${p}*`) } } },
      { Sid: "WriteReadOwnPrefix", Effect: "Allow", Action: [...BACKUP_OBJECT_ACTIONS], Resource: sorted.map((p) => `arn:aws:s3:::${bucket}/${p}*`) },
      // A tenant's dump key prunes its own old dumps (retainedDumps): DeleteObject only, on its prefix.
      // On the versioned bucket that is a delete marker: the dump stays a non-current version for
      // retentionDays, no more than an overwrite (PutObject) could already cause; versions stay out of reach.
      ...(opts.prune ? [{ Sid: "PruneOwnDumps", Effect: "Allow" as const, Action: ["s3:DeleteObject"], Resource: sorted.map((p) => `arn:aws:s3:::${bucket}/${p}*`) }] : []),
      {
        Sid: "NeverDelete",
        Effect: "Deny",
        Action: BACKUP_DENIED_ACTIONS.filter((a) => !(opts.prune && a === "s3:DeleteObject")),
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      },
    ],
  };
}

/**
 * Read-only on every tenant bucket (`kestra-*`), whatever the tenants: the mirror finds the buckets
 * at run time (ListBuckets: without s3:ListAllMyBuckets, MinIO lists exactly the buckets the key may
 * list), so adding a tenant changes neither this policy nor the mirror service. The wildcard is the
 * point here (one reader of all tenants, never written with); tenant keys still name their bucket.
 */
export function mirrorSourcePolicy(bucketPrefix: string = TENANT_BUCKET_PREFIX): BackupPolicyDocument {
  if (!/^[a-z0-9][a-z0-9-]*-$/.test(bucketPrefix)) throw new Error(`not a bucket name prefix: ${bucketPrefix}`);
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListTenantBuckets", Effect: "Allow", Action: [...MIRROR_SOURCE_BUCKET_ACTIONS], Resource: [`arn:aws:s3:::${bucketPrefix}*`] },
      { Sid: "ReadTenantObjects", Effect: "Allow", Action: [...MIRROR_SOURCE_OBJECT_ACTIONS], Resource: [`arn:aws:s3:::${bucketPrefix}*/*`] },
    ],
  };
}

/** Seconds of a duration such as 30m or 6h. */
export function durationSeconds(d: string): number {
  const m = /^([0-9]+)(m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration in m or h: ${d}`);
  return Number(m[1]) * (m[2] === "h" ? 3600 : 60);
}

/**
 * Purposes of the backup service's own Swarm secrets (`kestra_<t>_<purpose>_<hash>`): its key's
 * credentials file and, with a managed database only, the database password (with Postgres in a
 * container the service mounts the tenant's Postgres password secret itself).
 */
export const BACKUP_SECRET_PURPOSES = { pgPassword: "bkp_pg_pass", s3Credentials: "bkp_s3" } as const;

/**
 * The backup key's credentials file: the access key on its first line, the secret key on its second
 * (one Swarm secret instead of two; the script reads both lines with `read`). Neither key may hold a
 * line break or be empty: the file would read as other keys.
 */
export function backupCredentialsFile(accessKey: string, secretKey: string): string {
  for (const [what, v] of [["access key", accessKey], ["secret key", secretKey]] as const) {
    if (!v || /[\r\n]/.test(v)) throw new Error(`backup credentials: the ${what} is empty or holds a line break`);
  }
  return `${accessKey}\n${secretKey}\n`;
}

export const BACKUP_SCRIPT_PATH = "/usr/local/bin/kestra-fleet-backup.sh";
/** Where the script records its last success (epoch seconds), read by the health check. */
export const BACKUP_STATE_DIR = "/tmp/kestra-fleet-backup";
/**
 * The only directory the metrics server serves (never the state directory: mc's configuration there
 * holds the key), and the file in it. `.txt`: busybox httpd sends it as text/plain (a file without a
 * suffix goes without a Content-Type), the content type of Prometheus's text format; Prometheus 3 refuses
 * a scrape without a known one (prometheus model/textparse/interface.go extractMediaType).
 */
export const BACKUP_METRICS_DIR = `${BACKUP_STATE_DIR}/www`;
export const BACKUP_METRICS_PATH = "/metrics.txt";

/** The metric families the backup script publishes (each \`kestra_fleet_backup_<name>\`, a gauge with a tenant label). */
export const BACKUP_METRICS = {
  interval_seconds: "Seconds between two scheduled dumps (BACKUP_INTERVAL_SECONDS).",
  started_timestamp_seconds: "When this backup task started (epoch seconds).",
  last_success_timestamp_seconds: "When the newest successful dump was taken: this task's last upload, or the newest dump in the bucket found at start (absent while neither is known).",
  last_attempt_timestamp_seconds: "When this task last started a dump.",
  last_failure_timestamp_seconds: "When a dump of this task last failed (absent before the first failure).",
  last_dump_size_bytes: "Size of the last dump this task uploaded.",
  last_duration_seconds: "Seconds the last successful dump and upload took.",
  consecutive_failures: "Failed dumps since the last success of this task (a failed dump is retried every 300 s).",
} as const;
export type BackupMetric = keyof typeof BACKUP_METRICS;
export const backupMetricName = (m: BackupMetric) => `kestra_fleet_backup_${m}`;

/**
 * The metric families the mirror publishes (each `kestra_fleet_mirror_<name>`, a gauge). Per tenant
 * (label `tenant`, the bucket's owner): one tenant's failure is its own series, never another's.
 * Without a tenant label: the pass as a whole (the loop is alive, the tenant buckets could be listed).
 */
export const MIRROR_TENANT_METRICS = {
  last_attempt_timestamp_seconds: "When this task last tried to mirror the tenant's bucket (epoch seconds).",
  last_success_timestamp_seconds: "When this task last mirrored the tenant's bucket completely (absent before the first success).",
  last_failure_timestamp_seconds: "When mirroring the tenant's bucket last failed (absent before the first failure).",
  consecutive_failures: "Passes in a row in which the tenant's bucket could not be mirrored completely.",
} as const;
export const MIRROR_PASS_METRICS = {
  interval_seconds: "Seconds between two mirror passes (BACKUP_INTERVAL_SECONDS).",
  started_timestamp_seconds: "When this mirror task started (epoch seconds).",
  last_pass_timestamp_seconds: "When the last pass over every tenant bucket ended, whatever each tenant's outcome (absent while the buckets could not be listed).",
  last_listing_failure_timestamp_seconds: "When the tenant buckets last could not be listed (absent before the first failure).",
} as const;
export type MirrorMetric = keyof typeof MIRROR_TENANT_METRICS | keyof typeof MIRROR_PASS_METRICS;
export const mirrorMetricName = (m: MirrorMetric) => `kestra_fleet_mirror_${m}`;

/** Where write_metrics (the script) takes each value from: state files, and $success (the newer of this task's last upload and the bucket's newest dump). */
const METRIC_SOURCES: Record<BackupMetric, string> = {
  interval_seconds: "$INTERVAL",
  started_timestamp_seconds: "$(state started)",
  last_success_timestamp_seconds: "$success",
  last_attempt_timestamp_seconds: "$(state last-attempt)",
  last_failure_timestamp_seconds: "$(state last-failure)",
  last_dump_size_bytes: "$(state last-size)",
  last_duration_seconds: "$(state last-duration)",
  consecutive_failures: "$(state consecutive-failures)",
};

/** Where write_mirror_metrics takes each pass-level value from. */
const MIRROR_PASS_SOURCES: Record<keyof typeof MIRROR_PASS_METRICS, string> = {
  interval_seconds: "$INTERVAL",
  started_timestamp_seconds: "$(state started)",
  last_pass_timestamp_seconds: "$(state last-success)",
  last_listing_failure_timestamp_seconds: "$(state last-listing-failure)",
};

/** A single-quoted sh word. */
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The state file of a per-tenant mirror metric: last_attempt_timestamp_seconds -> last-attempt. */
export const mirrorStateFile = (m: keyof typeof MIRROR_TENANT_METRICS) => m.replace(/_timestamp_seconds$/, "").replace(/_/g, "-");

/** The body of write_mirror_metrics: each family's HELP and TYPE once, then its lines (per tenant for the tenant families). */
function mirrorMetricsBlock(): string {
  const head = (m: string, help: string) => `    printf '# HELP kestra_fleet_mirror_%s %s\\n# TYPE kestra_fleet_mirror_%s gauge\\n' ${m} ${shq(help)} ${m}`;
  const pass = Object.entries(MIRROR_PASS_METRICS).map(([m, help]) => `${head(m, help)}\n    mirror_metric ${m} "${MIRROR_PASS_SOURCES[m as keyof typeof MIRROR_PASS_METRICS]}"`);
  const tenant = Object.entries(MIRROR_TENANT_METRICS).map(
    ([m, help]) =>
      `${head(m, help)}\n    for dir in "$STATE_DIR"/mirror/*/; do\n      [ -d "$dir" ] || continue\n      tenant=$(basename "$dir")\n` +
      `      mirror_metric ${m} "$(state "mirror/$tenant/${mirrorStateFile(m as keyof typeof MIRROR_TENANT_METRICS)}")" "$tenant"\n    done`,
  );
  return [...pass, ...tenant].join("\n");
}

/**
 * The backup script, POSIX sh (linted with shellcheck in the tests). Modes:
 * - `dump`: every BACKUP_INTERVAL_SECONDS (aligned to UTC multiples of it), pg_dump with
 *   PG_DUMP_ARGS into a temporary file, verify it with `pg_restore --list`, upload it with
 *   `mc cp` to $S3_BUCKET/$S3_PREFIX<tenant>-<UTC time>.pgdump, record the success;
 * - `mirror`: every BACKUP_INTERVAL_SECONDS, lists the source's buckets (the key sees the tenant
 *   buckets only) and `mc mirror --overwrite`s each one named MIRROR_BUCKET_PREFIX<tenant> to
 *   $S3_BUCKET/$S3_PREFIX<tenant>/ (S3_PREFIX `<stack>/bucket/`; no --remove: deletions never propagate). Discovered at run time:
 *   a new tenant's bucket is mirrored without any change to the service. Each bucket on its own: one
 *   tenant's failure is recorded for that tenant (MIRROR_TENANT_METRICS) and the pass goes on;
 * - `once`: one dump now, its exit status the result (`docker exec <task> sh <script> once`); a
 *   successful dump (here and in `dump`) then prunes the tenant's dumps beyond retainedDumps
 *   (BACKUP_KEEP_LAST, BACKUP_RETENTION_DAYS);
 * - `mirror-once`: one mirror pass now, exit 1 when any tenant's bucket failed (on the mirror's task);
 * - `health`: exit 1 when the last success (of the mirror: the last completed pass) is older than two
 *   intervals (or, before the first, when the container has run longer than two intervals).
 * With BACKUP_METRICS_PORT set on the mirror, the same is done with its per-tenant metrics.
 * With BACKUP_METRICS_PORT set (the tenant's dump service), every attempt rewrites
 * the metrics file (BACKUP_METRICS_DIR, BACKUP_METRICS_PATH) in the Prometheus text format (BACKUP_METRICS, labelled by tenant) from the
 * state files, and `dump` serves it with busybox httpd (alpine's busybox-extras; images/backup) on
 * that port. On start, `dump` reads the time of the tenant's newest dump from the bucket (its key may
 * list its own prefix): a restarted task publishes the real age of the last backup at once, neither
 * "just now" (which would hide a gap) nor nothing (a false alert); then it dumps at once, as always.
 * Credentials only come from files: PGPASSWORD_FILE; the target's keys from S3_CREDENTIALS_FILE
 * (backupCredentialsFile: both keys in one file) or else S3_ACCESS_KEY_FILE and S3_SECRET_KEY_FILE;
 * MIRROR_SOURCE_ACCESS_KEY_FILE, MIRROR_SOURCE_SECRET_KEY_FILE.
 */
export function renderBackupScript(): string {
  return `#!/bin/sh
# kestra-fleet backup: generated by infra/render/backup.ts; do not edit on a node.
set -eu

STATE_DIR=${BACKUP_STATE_DIR}
INTERVAL=\${BACKUP_INTERVAL_SECONDS:?}
METRICS_DIR=${BACKUP_METRICS_DIR}
METRICS_PORT=\${BACKUP_METRICS_PORT:-}

log() { printf '%s kestra-fleet-backup: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

health() {
  now=$(date -u +%s)
  if [ -f "$STATE_DIR/last-success" ]; then
    last=$(cat "$STATE_DIR/last-success")
  elif [ -f "$STATE_DIR/started" ]; then
    last=$(cat "$STATE_DIR/started")
  else
    echo "no backup state: the backup loop is not running"
    exit 1
  fi
  age=$((now - last))
  if [ "$age" -gt $((2 * INTERVAL)) ]; then
    echo "last successful backup is $age s old (more than two intervals of $INTERVAL s)"
    exit 1
  fi
  echo "last successful backup is $age s old"
}

# One gauge in the Prometheus text format, skipped when its value is empty (not known).
metric() {
  [ -n "$3" ] || return 0
  printf '# HELP kestra_fleet_backup_%s %s\\n# TYPE kestra_fleet_backup_%s gauge\\nkestra_fleet_backup_%s{tenant="%s"} %s\\n' "$1" "$2" "$1" "$1" "\${BACKUP_TENANT:-}" "$3"
}

# A state file's value, empty when it does not exist.
state() {
  if [ -f "$STATE_DIR/$1" ]; then cat "$STATE_DIR/$1"; fi
}

# Rewrites the metrics file from the state files (any mode, so a manual 'once' shows too); atomic.
write_metrics() {
  [ -n "$METRICS_PORT" ] || return 0
  case "$mode" in mirror*) write_mirror_metrics; return ;; esac
  local_success=$(state last-success) || return 1
  bucket_success=$(state bucket-last-success) || return 1
  success=$local_success
  if [ -n "$bucket_success" ] && { [ -z "$success" ] || [ "$bucket_success" -gt "$success" ]; }; then success=$bucket_success; fi
  mkdir -p "$METRICS_DIR" || return 1
  {
${Object.entries(BACKUP_METRICS).map(([m, help]) => `    metric ${m} ${JSON.stringify(help)} "${METRIC_SOURCES[m as BackupMetric]}"`).join("\n")}
  } >"$STATE_DIR/metrics.tmp" || return 1
  mv "$STATE_DIR/metrics.tmp" "$METRICS_DIR/metrics.txt"
}

# The time (epoch seconds) of this tenant's newest dump in the bucket, read from its name (UTC);
# nothing when there is none. Fails when the bucket cannot be listed.
newest_dump_time() {
  listing=$(mc ls "backup/$S3_BUCKET/$S3_PREFIX") || return 1
  newest_stamp=$(printf '%s\\n' "$listing" | sed -n "s/^.*[[:space:]]\${BACKUP_TENANT:?}-\\([0-9]\\{8\\}T[0-9]\\{6\\}Z\\)\\.pgdump\$/\\1/p" | sort | tail -n 1) || return 1
  [ -n "$newest_stamp" ] || return 0
  date -u -d "$(printf '%s\\n' "$newest_stamp" | sed 's/^\\(....\\)\\(..\\)\\(..\\)T\\(..\\)\\(..\\)\\(..\\)Z$/\\1-\\2-\\3 \\4:\\5:\\6/')" +%s
}

# busybox httpd: alpine's busybox-extras (images/backup), or a busybox that has the applet.
http_server() {
  for bb in busybox-extras busybox; do
    if command -v "$bb" >/dev/null 2>&1 && "$bb" --list 2>/dev/null | grep -qx httpd; then
      echo "$bb"
      return 0
    fi
  done
  return 1
}

serve_metrics() {
  if bb=$(http_server); then
    "$bb" httpd -f -p "$METRICS_PORT" -h "$METRICS_DIR" &
    log "metrics on :$METRICS_PORT${BACKUP_METRICS_PATH}"
  else
    log "no busybox httpd in this image: metrics are not served (rebuild images/backup)"
  fi
}

# mc keeps its aliases under MC_CONFIG_DIR: set one alias from two secret files.
mc_alias() {
  mc alias set "$1" "$2" "$(cat "$3")" "$(cat "$4")" --api S3v4 >/dev/null
}

# The same from one credentials file: the access key on its first line, the secret key on its second.
mc_alias_file() {
  if { IFS= read -r access_key && IFS= read -r secret_key; } <"$3" && [ -n "$access_key" ] && [ -n "$secret_key" ]; then :; else
    log "$3 does not hold an access key and a secret key on two lines"
    return 1
  fi
  mc alias set "$1" "$2" "$access_key" "$secret_key" --api S3v4 >/dev/null
}

# After a successful upload only: removes this tenant's dumps that are older than BACKUP_RETENTION_DAYS
# and not among the newest BACKUP_KEEP_LAST (names sort by UTC time). A failed dump prunes nothing, so
# an outage of any length keeps the last BACKUP_KEEP_LAST dumps (infra/render/backup.ts retainedDumps).
prune_dumps() {
  if [ -z "\${BACKUP_KEEP_LAST:-}" ] || [ -z "\${BACKUP_RETENTION_DAYS:-}" ]; then return 0; fi
  listing=$(mc ls "backup/$S3_BUCKET/$S3_PREFIX") || return 1
  cutoff=$(($(date -u +%s) - BACKUP_RETENTION_DAYS * 86400))
  stamps=$(printf '%s\\n' "$listing" | sed -n "s/^.*[[:space:]]\${BACKUP_TENANT:?}-\\([0-9]\\{8\\}T[0-9]\\{6\\}Z\\)\\.pgdump\$/\\1/p" | sort -r) || return 1
  n=0
  for stamp in $stamps; do
    n=$((n + 1))
    [ "$n" -gt "$BACKUP_KEEP_LAST" ] || continue
    at=$(date -u -d "$(printf '%s\\n' "$stamp" | sed 's/^\\(....\\)\\(..\\)\\(..\\)T\\(..\\)\\(..\\)\\(..\\)Z$/\\1-\\2-\\3 \\4:\\5:\\6/')" +%s) || return 1
    [ "$at" -lt "$cutoff" ] || continue
    mc rm --quiet "backup/$S3_BUCKET/$S3_PREFIX$BACKUP_TENANT-$stamp.pgdump" >/dev/null || return 1
    log "pruned $S3_PREFIX$BACKUP_TENANT-$stamp.pgdump (older than $BACKUP_RETENTION_DAYS days, beyond the newest $BACKUP_KEEP_LAST)"
  done
}

# Called as an if condition, where set -e does not apply: every step checks its own status.
dump_once() {
  stamp=$(date -u +%Y%m%dT%H%M%SZ) || return 1
  name="\${BACKUP_TENANT:?}-$stamp.pgdump"
  file="$STATE_DIR/$name"
  client=$(pg_dump --version | sed 's/^[^0-9]*\\([0-9]*\\).*/\\1/') || return 1
  server=$(psql -X -tA -c 'SHOW server_version_num') || return 1
  if [ "$client" != "$((server / 10000))" ]; then
    log "pg_dump $client does not match the server's major version $((server / 10000)): use a backup image of the same major"
    return 1
  fi
  pg_dump ${PG_DUMP_ARGS.join(" ")} --file="$file" || { rm -f "$file"; return 1; }
  pg_restore --list "$file" >/dev/null || { rm -f "$file"; return 1; }
  size=$(wc -c <"$file") || { rm -f "$file"; return 1; }
  mc cp --quiet "$file" "backup/$S3_BUCKET/$S3_PREFIX$name" >/dev/null || { rm -f "$file"; return 1; }
  rm -f "$file"
  echo $((size)) >"$STATE_DIR/last-size" || return 1
  date -u +%s >"$STATE_DIR/last-success" || return 1
  log "uploaded $S3_PREFIX$name"
  prune_dumps || log "could not prune old dumps: they are kept until the next successful dump"
}

# The tenant buckets, found at run time: \`mc ls\` prints one "[date] size NAME/" line a bucket. Each
# bucket is mirrored on its own: a failure (an object name too long under the target prefix, an
# unreadable object) is recorded for that tenant (state under $STATE_DIR/mirror/<tenant>/, metrics) and
# the pass goes on with the next tenant. The pass ends with the number of failed tenants in
# $mirror_failed; it fails only when the buckets cannot be listed.
mirror_once() {
  mirror_failed=0
  if listing=$(mc ls source/); then :; else
    date -u +%s >"$STATE_DIR/last-listing-failure"
    log "could not list the tenant buckets of the source"
    write_mirror_metrics || log "could not write the metrics file"
    return 1
  fi
  count=0
  for entry in $(printf '%s\\n' "$listing" | awk '{ print $NF }'); do
    bucket=\${entry%/}
    case "$bucket" in
      "$MIRROR_BUCKET_PREFIX"?*) ;;
      *) continue ;;
    esac
    owner=\${bucket#"$MIRROR_BUCKET_PREFIX"}
    dir="$STATE_DIR/mirror/$owner"
    mkdir -p "$dir" || return 1
    date -u +%s >"$dir/last-attempt" || return 1
    if mc mirror --quiet --overwrite "source/$bucket" "backup/$S3_BUCKET/$S3_PREFIX$owner" >"$STATE_DIR/mirror-output" 2>&1; then
      date -u +%s >"$dir/last-success" || return 1
      echo 0 >"$dir/consecutive-failures" || return 1
      log "mirrored $bucket to $S3_PREFIX$owner/"
      count=$((count + 1))
    else
      failures=0
      if [ -f "$dir/consecutive-failures" ]; then failures=$(cat "$dir/consecutive-failures"); fi
      echo $((failures + 1)) >"$dir/consecutive-failures" || return 1
      date -u +%s >"$dir/last-failure" || return 1
      log "could not mirror $bucket to $S3_PREFIX$owner/, the other tenants go on: $(tail -n 3 "$STATE_DIR/mirror-output" | tr '\\n' ' ')"
      mirror_failed=$((mirror_failed + 1))
    fi
  done
  rm -f "$STATE_DIR/mirror-output"
  log "mirrored $count tenant bucket(s), $mirror_failed failed"
  # The pass ended: the loop is alive (the health check reads this), whatever each tenant's outcome.
  date -u +%s >"$STATE_DIR/last-success" || return 1
  write_mirror_metrics || log "could not write the metrics file"
}

# One gauge line of the mirror (name, value, tenant label if any), skipped when the value is empty.
mirror_metric() {
  [ -n "$2" ] || return 0
  if [ -n "\${3:-}" ]; then labels="{tenant=\\"$3\\"}"; else labels=""; fi
  printf 'kestra_fleet_mirror_%s%s %s\\n' "$1" "$labels" "$2"
}

# The mirror's metrics file: one family at a time (HELP, TYPE, then every tenant's line); atomic.
write_mirror_metrics() {
  [ -n "$METRICS_PORT" ] || return 0
  mkdir -p "$METRICS_DIR" || return 1
  {
${mirrorMetricsBlock()}
  } >"$STATE_DIR/metrics.tmp" || return 1
  mv "$STATE_DIR/metrics.tmp" "$METRICS_DIR/metrics.txt"
}

# One attempt of dump_once or mirror_once, recorded in the state files and the metrics.
attempt() {
  begin=$(date -u +%s)
  echo "$begin" >"$STATE_DIR/last-attempt"
  if "$1"; then
    echo $(($(date -u +%s) - begin)) >"$STATE_DIR/last-duration"
    echo 0 >"$STATE_DIR/consecutive-failures"
    write_metrics || log "could not write the metrics file"
    return 0
  fi
  failures=$(state consecutive-failures)
  echo $((\${failures:-0} + 1)) >"$STATE_DIR/consecutive-failures"
  date -u +%s >"$STATE_DIR/last-failure"
  write_metrics || log "could not write the metrics file"
  return 1
}

loop() {
  while :; do
    if attempt "$1"; then :; else
      log "$1 failed; retrying in 300 s"
      sleep 300
      continue
    fi
    now=$(date -u +%s)
    sleep $((INTERVAL - now % INTERVAL))
  done
}

mode=\${1:-}
case "$mode" in
  health)
    health
    ;;
  dump | mirror | once | mirror-once)
    umask 077
    mkdir -p "$STATE_DIR"
    case "$mode" in *once) ;; *) date -u +%s >"$STATE_DIR/started" ;; esac
    export MC_CONFIG_DIR="$STATE_DIR/mc"
    if [ -n "\${S3_CREDENTIALS_FILE:-}" ]; then
      mc_alias_file backup "$S3_ENDPOINT" "$S3_CREDENTIALS_FILE"
    else
      mc_alias backup "$S3_ENDPOINT" "$S3_ACCESS_KEY_FILE" "$S3_SECRET_KEY_FILE"
    fi
    if [ "$mode" = mirror ] || [ "$mode" = mirror-once ]; then
      mc_alias source "$MIRROR_SOURCE_ENDPOINT" "$MIRROR_SOURCE_ACCESS_KEY_FILE" "$MIRROR_SOURCE_SECRET_KEY_FILE"
      if [ "$mode" = mirror ]; then
        if [ -n "$METRICS_PORT" ]; then
          write_mirror_metrics || log "could not write the metrics file"
          serve_metrics
        fi
        loop mirror_once
      else
        # One pass now: its exit status says whether every tenant's bucket was mirrored.
        mirror_once
        [ "$mirror_failed" -eq 0 ]
      fi
    else
      PGPASSWORD=$(cat "$PGPASSWORD_FILE")
      export PGPASSWORD
      if [ "$mode" = once ]; then
        attempt dump_once
      else
        if [ -n "$METRICS_PORT" ]; then
          # The newest dump already in the bucket: the real age of the last backup, across restarts.
          if newest=$(newest_dump_time); then
            if [ -n "$newest" ]; then echo "$newest" >"$STATE_DIR/bucket-last-success"; else log "no dump in the bucket yet"; fi
          else
            log "could not list backup/$S3_BUCKET/$S3_PREFIX: the last backup's time is unknown until a dump succeeds"
          fi
          write_metrics || log "could not write the metrics file"
          serve_metrics
        fi
        loop dump_once
      fi
    fi
    ;;
  *)
    echo "usage: $0 dump|mirror|once|mirror-once|health" >&2
    exit 2
    ;;
esac
`;
}

/** Escrow format: `openssl enc -aes-256-cbc -pbkdf2 -iter ESCROW_ITERATIONS -md sha256 -a`. */
export const ESCROW_ITERATIONS = 10000;
export const ESCROW_DECRYPT_COMMAND = `openssl enc -d -aes-256-cbc -pbkdf2 -iter ${ESCROW_ITERATIONS} -md sha256 -a -pass file:PASSPHRASE_FILE -in credentials.json.enc`;

/**
 * Encrypts `plaintext` with `passphrase` exactly as `openssl enc -aes-256-cbc -pbkdf2 -iter N -md
 * sha256 -a` does ("Salted__", 8-byte salt, PBKDF2-HMAC-SHA256 key and IV, base64 in 64-column
 * lines), except that the salt is derived from passphrase and plaintext (HMAC) instead of drawn at
 * random: the same credentials give the same object, so an unchanged tenant has no diff.
 */
export function escrowEncrypt(plaintext: string, passphrase: string): string {
  const salt = escrowSalt(plaintext, passphrase);
  return escrowSeal(plaintext, salt, pbkdf2Sync(Buffer.from(passphrase, "utf8"), salt, ESCROW_ITERATIONS, 48, "sha256"));
}

/**
 * escrowEncrypt with the key derivation (the PBKDF2 rounds, ~5 ms a tenant) on libuv's thread pool:
 * the program's per-tenant escrow objects then derive their keys beside the main thread, which keeps
 * registering resources. Same text as escrowEncrypt.
 */
export async function escrowEncryptAsync(plaintext: string, passphrase: string): Promise<string> {
  const salt = escrowSalt(plaintext, passphrase);
  const derived = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(Buffer.from(passphrase, "utf8"), salt, ESCROW_ITERATIONS, 48, "sha256", (err, key) => (err ? reject(err) : resolve(key))),
  );
  return escrowSeal(plaintext, salt, derived);
}

function escrowSalt(plaintext: string, passphrase: string): Buffer {
  if (!passphrase) throw new Error("escrow passphrase is empty");
  return createHmac("sha256", passphrase).update(plaintext).digest().subarray(0, 8);
}

function escrowSeal(plaintext: string, salt: Buffer, derived: Buffer): string {
  const cipher = createCipheriv("aes-256-cbc", derived.subarray(0, 32), derived.subarray(32, 48));
  const body = Buffer.concat([Buffer.from("Salted__", "ascii"), salt, cipher.update(plaintext, "utf8"), cipher.final()]);
  const b64 = body.toString("base64");
  return (b64.match(/.{1,64}/g) ?? []).join("\n") + "\n";
}

/** What the escrow object holds (JSON, then encrypted). Keys sorted for a stable text. */
export function escrowPlaintext(e: {
  stack: string;
  tenant: string;
  encryptionKey: string;
  adminEmail: string;
  adminPassword: string;
  database: string;
  dbUser: string;
  dbPassword: string;
}): string {
  const sorted = Object.fromEntries(Object.entries(e).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify(sorted, null, 2) + "\n";
}
