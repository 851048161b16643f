import { BUCKET_ACTIONS, OBJECT_ACTIONS } from "../../infra/render/storage";
import { T, describe, type ResourceRule } from "../model";

const BUCKET = new Set<string>(BUCKET_ACTIONS);
const OBJECT = new Set<string>(OBJECT_ACTIONS);
const asList = (x: unknown): string[] => (Array.isArray(x) ? x.map(String) : x === undefined ? [] : [String(x)]);

/**
 * Rule 11: a tenant's key reaches its own bucket and nothing else. A storage policy is named after
 * its bucket; every resource must be that bucket or its objects, and every allowed action one of
 * Kestra's least-privilege actions (so no s3:*, no ListAllMyBuckets, no bucket policy or admin action).
 */
export const storagePolicyScope: ResourceRule = {
  kind: "resource",
  name: "storage-policy-scope",
  description: "Storage policies name only their own bucket's ARNs, without wildcards or admin actions.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.minioPolicy && r.type !== T.awsPolicy) return;
    const bucket = r.props.name;
    let doc: { Statement?: unknown };
    try {
      doc = typeof r.props.policy === "string" ? JSON.parse(r.props.policy) : r.props.policy;
    } catch {
      report(`${describe(r)}: the policy document is not JSON`);
      return;
    }
    const statements = Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : [];
    if (!statements.length) report(`${describe(r)}: the policy has no statement`);
    for (const s of statements as Record<string, unknown>[]) {
      if (s.NotResource !== undefined || s.NotAction !== undefined) report(`${describe(r)} uses NotResource/NotAction: name resources and actions explicitly`);
      if (s.Effect !== "Allow") continue;
      const resources = asList(s.Resource);
      const actions = asList(s.Action);
      for (const res of resources) {
        if (res === "*" || res === "arn:aws:s3:::*") {
          report(`${describe(r)} allows resource "${res}": name arn:aws:s3:::${bucket} and arn:aws:s3:::${bucket}/* only`);
          continue;
        }
        const m = /^arn:aws:s3:::([^/]*)(\/\*)?$/.exec(res);
        if (!m) report(`${describe(r)} allows resource "${res}": only arn:aws:s3:::${bucket} and arn:aws:s3:::${bucket}/*`);
        else if (/[*?]/.test(m[1])) report(`${describe(r)} allows resource "${res}": a wildcard in the bucket part also matches other tenants' buckets`);
        else if (m[1] !== bucket) report(`${describe(r)} allows resource "${res}" of another bucket than ${bucket}`);
      }
      const objectsOnly = resources.every((x) => x.endsWith("/*"));
      const bucketOnly = resources.every((x) => !x.endsWith("/*"));
      for (const a of actions) {
        const ok = (bucketOnly && BUCKET.has(a)) || (objectsOnly && OBJECT.has(a));
        if (!ok) report(`${describe(r)} allows "${a}" on ${resources.join(", ")}: only Kestra's storage actions are allowed (see platform facts)`);
      }
    }
  },
};
