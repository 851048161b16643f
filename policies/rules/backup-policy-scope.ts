import { MIRROR_SOURCE_POLICY_NAME, TENANT_BUCKET_PREFIX } from "../../infra/model/naming";
import { STORAGE_POLICY_TYPES, asList, display, type ResourceRule } from "../model";
import { isBackupPolicy } from "./storage-policy-scope";

/** What a backup key may do: write, read back and list; never delete (but a tenant's pruning, below) or administer. */
const ALLOWED = new Set(["s3:getbucketlocation", "s3:listbucket", "s3:putobject", "s3:getobject", "s3:abortmultipartupload", "s3:listmultipartuploadparts"]);
const S3_ARN = /^arn:[a-z-]+:s3:::([^/]*)(\/.*)?$/;

/**
 * A write may land only under `<stack>/<kind>/<tenant>/` (a tenant's key) or `<stack>/<kind>/` (the
 * mirror's key) of the backup bucket, `<stack>` being the one its policy is named for
 * (`backup.<stack>.<who>`): two stacks sharing one bucket never write each other's objects.
 */
const writePath = (stack: string) => new RegExp(`^/${stack.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/[a-z]+/(?:[a-z0-9][a-z0-9-]*/)?\\*$`);

/** The stack of a backup policy's name `backup.<stack>.<who>` (`who` holds no dot). */
export function backupPolicyStack(name: unknown): string | undefined {
  if (typeof name !== "string" || !name.startsWith("backup.")) return undefined;
  const rest = name.slice("backup.".length);
  const dot = rest.lastIndexOf(".");
  return dot > 0 ? rest.slice(0, dot) : undefined;
}

/**
 * Added rule: a backup key (policy named `backup.*`) can write and read its prefixes and nothing
 * more. No delete or admin action is allowed (retention is the bucket's lifecycle rule, not the
 * key), object writes only under `<stack>/<kind>/<tenant>/` or `<stack>/<kind>/` of the backup bucket (the
 * stack of the policy's name `backup.<stack>.<who>`), and no
 * wildcard in a bucket name, with one exception: the mirror's source key (`backup.mirror-source`)
 * reads every tenant bucket (`kestra-*`), read-only, so that adding a tenant changes no policy.
 */
export const backupPolicyScope: ResourceRule = {
  kind: "resource",
  name: "backup-policy-scope",
  description: "Backup key policies (backup.*) allow only put/get/list and multipart actions, never a delete; writes only under the policy's own stack prefix (<stack>/<kind>/...); resources are named buckets and prefixes, with no wildcard in a bucket name.",
  level: "mandatory",
  check(r, report) {
    if (!STORAGE_POLICY_TYPES.includes(r.type) || !isBackupPolicy(r)) return;
    const raw = r.props.policy;
    if (raw === undefined) return;
    let doc: any;
    try {
      doc = typeof raw === "string" ? JSON.parse(raw) : raw;
    } catch {
      report(`backup policy ${display(r)} is not valid JSON`);
      return;
    }
    const statements: any[] = Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : [];
    if (!statements.some((s) => s?.Effect === "Allow")) report(`backup policy ${display(r)} allows nothing`);
    for (const s of statements) {
      if (s?.Effect === "Deny") continue;
      if (s?.NotResource !== undefined || s?.NotAction !== undefined) report(`backup policy ${display(r)} allows with NotResource/NotAction: name resources and actions`);
      const actions = asList(s?.Action).map((a) => a.toLowerCase());
      // DeleteObject: only a tenant's dump key pruning its own dumps, on `<stack>/postgres/<tenant>/*` alone
      // (a delete marker on the versioned bucket; versions stay out of reach: DeleteObjectVersion is never allowed).
      if (actions.includes("s3:deleteobject")) {
        const stack = backupPolicyStack(r.props.name);
        const own = stack !== undefined && r.props.name !== MIRROR_SOURCE_POLICY_NAME && !r.props.name.endsWith(".-mirror");
        const ok = own && actions.every((a) => a === "s3:deleteobject") && asList(s?.Resource).every((res) => {
          const m = S3_ARN.exec(res);
          const who = String(r.props.name).slice(String(r.props.name).lastIndexOf(".") + 1);
          return !!m && !/[*?]/.test(m[1]) && m[2] === `/${stack}/postgres/${who}/*`;
        });
        if (!ok) report(`backup policy ${display(r)} allows "s3:deleteobject" outside a tenant's own dumps: only a tenant's dump key may prune, in a statement of its own on <stack>/postgres/<tenant>/* (retention)`);
        if (ok) continue;
      }
      for (const a of actions) if (a !== "s3:deleteobject" && !ALLOWED.has(a)) report(`backup policy ${display(r)} allows "${a}": a backup key writes, reads and lists only (retention is the bucket's lifecycle rule)`);
      const writes = actions.includes("s3:putobject");
      for (const res of asList(s?.Resource)) {
        const m = S3_ARN.exec(res);
        if (!m) report(`backup policy ${display(r)} allows resource "${res}", not an S3 ARN`);
        else if (/[*?]/.test(m[1]) || !m[1]) {
          const mirrorSource = r.props.name === MIRROR_SOURCE_POLICY_NAME && m[1] === `${TENANT_BUCKET_PREFIX}*` && !writes && (m[2] === undefined || m[2] === "/*");
          if (!mirrorSource) report(`backup policy ${display(r)} allows resource "${res}": name the bucket exactly (only ${MIRROR_SOURCE_POLICY_NAME} may read every ${TENANT_BUCKET_PREFIX}* bucket, read-only)`);
        } else if (writes) {
          const stack = backupPolicyStack(r.props.name);
          if (!stack || !(m[2] && writePath(stack).test(m[2])))
            report(`backup policy ${display(r)} lets a key write "${res}": writes are allowed only under <stack>/<kind>/<tenant>/ (or the mirror's <stack>/<kind>/) of the backup bucket, <stack> being ${stack ? `"${stack}", from the policy's name` : "named in the policy's name backup.<stack>.<who>"}`);
        }
      }
    }
  },
};
