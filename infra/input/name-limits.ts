/**
 * Every external name a tenant gets, checked at load time against the limit of the service that
 * receives it, so that a name AWS, Docker, Cloudflare or PostgreSQL would refuse in the middle of a
 * `pulumi up` is refused before anything is declared. Pure.
 *
 * Most names are a fixed prefix plus the tenant name (3-30 characters), but some also carry stack
 * config (`hostPattern`, `storage.aws.bucketPrefix`) or tenant fields (`displayName`). A problem
 * is blamed on the stack config key when even a 3-character tenant name overflows, else on the
 * tenant field that makes the name long, with the length that would fit.
 */
import type { Settings } from "./config/schema";
import { CLOUDFLARE_LIMITS, contentName, tenantHost, tenantNames, type TenantNames } from "../model/naming";
import { accessApplicationName } from "../render/access";
import { BACKUP_SECRET_PURPOSES } from "../render/backup";
import { gitSecretNames, gitSyncOf } from "../render/flow";
import { backupPolicyName, backupUserName } from "../render/backup";
import { awsIamUserName, tenantBucket } from "../render/storage";
import type { Tenant } from "./tenants/schema";

/**
 * Limits, with their sources: moby/swarmkit manager/controlapi/common.go (service names 63, secret
 * and config names 64); RFC 1035 (DNS labels 63, names 253); S3 bucket naming rules (3-63); AWS IAM
 * quotas (user names 64, policy names 128); PostgreSQL NAMEDATALEN-1 (63 bytes).
 * Cloudflare documents no length for Access application or policy names: 150 is our conservative
 * bound (a 100-character displayName with a stack name fits).
 */
export const NAME_LIMITS = {
  swarmService: 63,
  swarmObject: 64,
  dnsLabel: 63,
  dnsName: 253,
  s3Bucket: 63,
  awsIamUser: 64,
  awsIamPolicy: 128,
  postgresIdentifier: 63,
  cloudflareAccessName: 150,
} as const;

/** A Swarm secret or config name as `contentName` makes it, its hash shown as zeros (only its length counts). */
function swarmObjectName(prefix: string, purpose: string): string {
  return contentName(prefix, purpose, { data: "", labels: {} }, "").replace(/[0-9a-f]+$/, (h) => "0".repeat(h.length));
}

/** The shortest tenant name (tenant names are 3-30 characters). */
const SHORTEST = "abc";

export interface DerivedName {
  /** What receives the name, for messages: "AWS IAM user name". */
  what: string;
  max: number;
  /** The name for a tenant name, every other input as loaded. */
  make: (tenantName: string) => string;
  /** Stack config key (without namespace) and path inside it that also shape the name. */
  config?: { key: string; path: string[] };
  /** Tenant field other than `name` that shapes the name when set. */
  tenantField?: string;
}

/** Every external name of `tenant` on `stack` whose length a service limits. */
export function derivedNames(tenant: Tenant, settings: Settings, stack: string): DerivedName[] {
  const out: DerivedName[] = [];
  const names = (t: string) => tenantNames(t);
  out.push(
    { what: "DNS label", max: NAME_LIMITS.dnsLabel, make: (t) => tenantHost(settings.hostPattern, t).split(".")[0], config: { key: "hostPattern", path: [] } },
    { what: "host name", max: NAME_LIMITS.dnsName, make: (t) => tenantHost(settings.hostPattern, t), config: { key: "hostPattern", path: [] } },
  );
  // Every service name the tenant may get (also those its current settings do not deploy: a later
  // change of mode or provider must not meet a name Docker refuses).
  for (const role of Object.keys(names(tenant.name).services) as (keyof TenantNames["services"])[]) {
    out.push({ what: "Swarm service name", max: NAME_LIMITS.swarmService, make: (t) => names(t).services[role] });
  }
  // Swarm secrets and configs: `<prefix>_<purpose>_<12 hex>`. Purposes as in stacks/tenant.ts; for
  // ssh the passphrase secret is counted whether or not one is set today (it can be added later
  // without a change to the tenant file).
  const sync = gitSyncOf(tenant, settings);
  // netrc: the health check's credential, with monitoring on (counted always, like the passphrase).
  const purposes: string[] = ["config", "netrc", ...Object.values(BACKUP_SECRET_PURPOSES)];
  if (tenant.postgres.mode === "container") purposes.push("pg_password");
  if (sync) purposes.push("flow_git_sync", ...gitSecretNames(sync, true).map((s) => s.toLowerCase()));
  for (const purpose of purposes) {
    out.push({ what: "Swarm secret or config name", max: NAME_LIMITS.swarmObject, make: (t) => swarmObjectName(names(t).secretPrefix, purpose) });
  }
  if (tenant.postgres.mode === "managed") {
    out.push(
      { what: "PostgreSQL database name", max: NAME_LIMITS.postgresIdentifier, make: (t) => names(t).database },
      { what: "PostgreSQL role name", max: NAME_LIMITS.postgresIdentifier, make: (t) => names(t).dbUser },
    );
  }
  const aws = settings.storage.provider === "aws";
  const bucketKey = aws ? { key: "storage", path: ["aws", "bucketPrefix"] } : undefined;
  out.push({ what: "S3 bucket name", max: NAME_LIMITS.s3Bucket, make: (t) => tenantBucket(settings, t), config: bucketKey });
  if (aws) {
    out.push(
      { what: "AWS IAM user name", max: NAME_LIMITS.awsIamUser, make: (t) => awsIamUserName(tenantBucket(settings, t)), config: bucketKey },
      { what: "AWS IAM policy name", max: NAME_LIMITS.awsIamPolicy, make: (t) => tenantBucket(settings, t), config: bucketKey },
    );
  }
  if (settings.backup.target.provider === "aws") {
    // The tenant's backup key on the AWS backup target (stacks/backup.ts).
    out.push(
      { what: "AWS IAM user name", max: NAME_LIMITS.awsIamUser, make: (t) => backupUserName(stack, t) },
      { what: "AWS IAM policy name", max: NAME_LIMITS.awsIamPolicy, make: (t) => backupPolicyName(stack, t) },
    );
  }
  const shown = tenant.displayName !== undefined ? "displayName" : undefined;
  const appName = (t: string, webhooks: boolean) => accessApplicationName({ name: t, displayName: tenant.displayName }, stack, webhooks);
  out.push({ what: "Cloudflare Access application name", max: NAME_LIMITS.cloudflareAccessName, make: (t) => appName(t, tenant.access.webhooks === "public"), tenantField: shown });
  return out;
}

export interface NameProblem {
  /** Where to point: a tenant field, or a stack config key (with a sub-path). */
  at: { tenantField: string } | { configKey: string; path: string[] };
  message: string;
}

/** Problems of the names of one tenant; empty when every name fits. */
export function nameLimitProblems(tenant: Tenant, settings: Settings, stack: string): NameProblem[] {
  const out: NameProblem[] = [];
  const seen = new Set<string>();
  for (const d of derivedNames(tenant, settings, stack)) {
    const name = d.make(tenant.name);
    if (name.length <= d.max) continue;
    const key = `${d.what}|${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const shortest = d.make(SHORTEST);
    if (d.config && shortest.length > d.max) {
      out.push({
        at: { configKey: d.config.key, path: d.config.path },
        message: `gives the ${d.what} "${shortest}" (${shortest.length} characters) even for a 3-character tenant name, over the limit of ${d.max}`,
      });
      continue;
    }
    const long = `makes the ${d.what} "${name}" ${name.length} characters long, over the limit of ${d.max}`;
    if (d.tenantField && shortest.length > d.max) {
      out.push({ at: { tenantField: d.tenantField }, message: `${long}: shorten it` });
      continue;
    }
    let fits = tenant.name.length - 1;
    while (fits > SHORTEST.length && d.make("a".repeat(fits)).length > d.max) fits--;
    const given = d.config ? ` with ${[d.config.key, ...d.config.path].join(".")} as set for this stack` : "";
    out.push({ at: { tenantField: "name" }, message: `${long}: a tenant name of at most ${fits} characters fits${given}` });
  }
  return out;
}

/** Include rules of a tenant's allow policy, tenant and admins together, against Cloudflare's bound. */
export function includesProblem(count: number): string | undefined {
  const max = CLOUDFLARE_LIMITS.includesPerPolicy;
  return count > max ? `gives ${count} include rules with the platform admins (kestra-fleet:cloudflare.admins), over the ${max} one Cloudflare Access policy takes` : undefined;
}
