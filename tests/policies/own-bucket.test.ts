/**
 * The shared MinIO storage policy (`kestra.own-bucket`, bucket `${aws:username}`): storage-policy-scope
 * accepts it only in that exact form, and own-bucket-users only lets users named after a bucket of the
 * stack be attached to it.
 */
import { describe, expect, it } from "vitest";
import { OWN_BUCKET_POLICY, ownBucketPolicyDocument } from "../../infra/render/storage";
import { runRules } from "../../policies/evaluate";
import type { PolicyResource } from "../../policies/model";
import { ownBucketUsers } from "../../policies/rules/own-bucket-users";
import { storagePolicyScope } from "../../policies/rules/storage-policy-scope";

const MINIO_POLICY = "minio:index/iamPolicy:IamPolicy";
const ATTACHMENT = "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment";
const BUCKET = "minio:index/s3Bucket:S3Bucket";

const res = (type: string, name: string, props: Record<string, any>): PolicyResource => ({
  urn: `urn:pulumi:test::kestra-fleet::${type}::${name}`,
  type,
  name,
  id: name,
  props,
  secretInputs: [],
  options: {},
  propertyDependencies: {},
});

const policy = (doc: unknown = ownBucketPolicyDocument(), type = MINIO_POLICY) => res(type, "storage-own-bucket-policy", { name: OWN_BUCKET_POLICY, policy: JSON.stringify(doc) });
const fleet = (users: string[]) => [
  policy(),
  ...["kestra-acme", "kestra-globex"].map((b) => res(BUCKET, `${b}-bucket`, { bucket: b, forceDestroy: false })),
  ...users.map((u) => res(ATTACHMENT, `${u}-attachment`, { userName: u, policyName: OWN_BUCKET_POLICY })),
];

describe("storage-policy-scope on the shared own-bucket policy", () => {
  it("accepts Kestra's actions on exactly ${aws:username} and its objects", () => {
    expect(JSON.stringify(ownBucketPolicyDocument())).toContain('"Resource":["arn:aws:s3:::${aws:username}"]');
    expect(runRules([storagePolicyScope], [policy()])).toEqual([]);
  });
  const edit = (f: (d: any) => void) => {
    const d = ownBucketPolicyDocument() as any;
    f(d);
    return runRules([storagePolicyScope], [policy(d)]);
  };
  it("refuses a named bucket, a wildcard next to the variable, another variable, an admin action", () => {
    expect(edit((d) => d.Statement[1].Resource.push("arn:aws:s3:::kestra-acme/*"))[0].message).toContain("not its own bucket ${aws:username}");
    expect(edit((d) => (d.Statement[0].Resource = ["arn:aws:s3:::${aws:username}*"]))[0].message).toContain("wildcard in the bucket part");
    expect(edit((d) => (d.Statement[0].Resource = ["arn:aws:s3:::${aws:userid}"]))[0].message).toContain("wildcard in the bucket part");
    expect(edit((d) => d.Statement[0].Action.push("s3:DeleteBucket"))[0].message).toContain('action "s3:DeleteBucket"');
  });
  it("refuses the variable in a tenant's own policy, and an AWS policy of that name (AWS user names are not bucket names)", () => {
    const tenantPolicy = res(MINIO_POLICY, "acme-storage-policy", { name: "kestra-acme", policy: JSON.stringify(ownBucketPolicyDocument()) });
    expect(runRules([storagePolicyScope], [tenantPolicy]).map((v) => v.message)[0]).toContain("not its own bucket kestra-acme");
    const aws = runRules([storagePolicyScope], [policy(ownBucketPolicyDocument(), "aws:iam/policy:Policy")]);
    expect(aws).toHaveLength(1);
    expect(aws[0].message).toContain("only MinIO users are named after their bucket");
  });
});

describe("own-bucket-users", () => {
  it("passes when every attached user is named like a bucket of the stack", () => {
    expect(runRules([ownBucketUsers], fleet(["kestra-acme", "kestra-globex"]))).toEqual([]);
  });
  it("reports a user that is no bucket's name (it would reach a bucket of its own name)", () => {
    const vs = runRules([ownBucketUsers], fleet(["kestra-acme", "backup-mirror-source"]));
    expect(vs).toHaveLength(1);
    expect(vs[0].message).toContain('user "backup-mirror-source", which is no bucket of this stack');
    expect(vs[0].level).toBe("mandatory");
  });
  it("ignores attachments of other policies and unknown user names (a preview)", () => {
    const rs = fleet([]);
    rs.push(res(ATTACHMENT, "x", { userName: "anyone", policyName: "kestra-acme" }), res(ATTACHMENT, "y", { policyName: OWN_BUCKET_POLICY }));
    expect(runRules([ownBucketUsers], rs)).toEqual([]);
  });
});
