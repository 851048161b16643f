import { OWN_BUCKET_POLICY, OWN_BUCKET_VARIABLE } from "../../infra/render/storage";
import { STORAGE_POLICY_TYPES, TYPES, asList, display, type PolicyResource, type ResourceRule } from "../model";

/** Backup keys' policies are named `backup.<...>`: a dot never occurs in a tenant bucket name. */
export function isBackupPolicy(r: PolicyResource): boolean {
  return typeof r.props.name === "string" && r.props.name.startsWith("backup.");
}

/** Kestra's storage needs, on `arn:aws:s3:::<bucket>` (platform facts, MinIO). */
export const BUCKET_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"] as const;
/** Kestra's storage needs, on `arn:aws:s3:::<bucket>/*`. */
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
const ALLOWED = new Set<string>([...BUCKET_ACTIONS, ...OBJECT_ACTIONS].map((a) => a.toLowerCase()));

const S3_ARN = /^arn:[a-z-]+:s3:::([^/]*)(\/.*)?$/;

/**
 * Rule 11: a tenant's storage key reaches its own bucket and nothing else. A storage policy is named
 * after its bucket; every resource it allows is that bucket or objects in it, named exactly (a
 * wildcard in the bucket part, `kestra-a*`, also matches `kestra-ab`), and every allowed action is one
 * of Kestra's least-privilege actions: no `s3:*`, no `s3:ListAllMyBuckets`, no bucket policy, ACL,
 * delete-bucket or `admin:*` action. The MinIO policy `kestra.own-bucket` (shared by every tenant's
 * user) names its bucket `${aws:username}` exactly, which MinIO resolves to the user's name: the rule
 * own-bucket-users checks that only users named after their bucket are attached to it.
 */
export const storagePolicyScope: ResourceRule = {
  kind: "resource",
  name: "storage-policy-scope",
  description: "MinIO/AWS storage policies allow only Kestra's storage actions, on only their own bucket's ARNs (arn:aws:s3:::<bucket> and <bucket>/*).",
  level: "mandatory",
  check(r, report) {
    if (!STORAGE_POLICY_TYPES.includes(r.type)) return;
    if (isBackupPolicy(r)) return; // judged by backup-policy-scope
    const ownBucket = r.props.name === OWN_BUCKET_POLICY;
    if (ownBucket && r.type !== TYPES.minioPolicy) {
      report(`storage policy ${display(r)} names its bucket by ${OWN_BUCKET_VARIABLE}: only MinIO users are named after their bucket; name the bucket`);
      return;
    }
    const bucket: string | undefined = ownBucket ? OWN_BUCKET_VARIABLE : typeof r.props.name === "string" ? r.props.name : undefined;
    const raw = r.props.policy;
    if (raw === undefined) return; // unknown in a preview
    let doc: any;
    try {
      doc = typeof raw === "string" ? JSON.parse(raw) : raw;
    } catch {
      report(`storage policy ${display(r)} is not valid JSON: write an IAM policy document`);
      return;
    }
    const statements: any[] = Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : [];
    if (!statements.length) report(`storage policy ${display(r)} has no statement`);
    const own = bucket ? `arn:aws:s3:::${bucket} and arn:aws:s3:::${bucket}/*` : "its own bucket's ARNs";
    for (const s of statements) {
      if (s?.Effect === "Deny") continue;
      if (s?.NotResource !== undefined || s?.NotAction !== undefined) {
        report(`storage policy ${display(r)} allows with NotResource/NotAction (everything but a list): name the resources and actions explicitly`);
      }
      const resources = asList(s?.Resource);
      if (s?.Resource === undefined && s?.NotResource === undefined) report(`storage policy ${display(r)} has an Allow statement without Resource: allow only ${own}`);
      for (const res of resources) {
        const m = S3_ARN.exec(res);
        if (res.trim() === "*") report(`storage policy ${display(r)} allows the bare resource "*": allow only ${own}`);
        else if (!m) report(`storage policy ${display(r)} allows resource "${res}", which is not an S3 ARN of its bucket: allow only ${own}`);
        else if (/[*?]/.test(m[1]) || (m[1] !== OWN_BUCKET_VARIABLE && m[1].includes("${"))) report(`storage policy ${display(r)} allows resource "${res}": a wildcard in the bucket part also matches other tenants' buckets; allow only ${own}`);
        else if (bucket !== undefined && m[1] !== bucket) report(`storage policy ${display(r)} allows resource "${res}" of bucket ${m[1] || "(none)"}, not its own bucket ${bucket}: allow only ${own}`);
      }
      for (const a of asList(s?.Action)) {
        if (!ALLOWED.has(a.toLowerCase())) {
          report(`storage policy ${display(r)} allows action "${a}": allow only Kestra's storage actions (${BUCKET_ACTIONS.join(", ")} on the bucket; ${OBJECT_ACTIONS.join(", ")} on its objects)`);
        }
      }
    }
  },
};
