import { describe, expect, it } from "vitest";
import { BUCKET_ACTIONS, OBJECT_ACTIONS, storagePolicyDocument } from "../../../infra/render/storage";
import { tenantNames } from "../../../infra/model/naming";

const arnBucket = (r: string) => r.replace(/^arn:aws:s3:::/, "").replace(/\/\*$/, "");

describe("storage policy document", () => {
  // Shapes: short, hyphenated, one a prefix of another, longest allowed.
  for (const tenant of ["abc", "acme", "acme-eu", "a" + "b1-".repeat(9) + "cd"]) {
    it(`names only ${tenant}'s bucket ARNs`, () => {
      const bucket = tenantNames(tenant).bucket;
      const doc = storagePolicyDocument(bucket);
      const resources = doc.Statement.flatMap((s) => s.Resource);
      expect(resources.sort()).toEqual([`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`]);
      for (const r of resources) {
        expect(arnBucket(r)).toBe(bucket);
        expect(arnBucket(r)).not.toContain("*");
      }
    });
  }

  it("does not reach a tenant whose name extends another's (acme vs acme-eu)", () => {
    const acme = storagePolicyDocument("kestra-acme").Statement.flatMap((s) => s.Resource);
    expect(acme.some((r) => r.includes("kestra-acme-eu"))).toBe(false);
  });

  it("grants exactly Kestra's least privilege, no admin or listing of all buckets", () => {
    const doc = storagePolicyDocument("kestra-acme");
    expect(doc.Statement[0]).toEqual({ Sid: "Bucket", Effect: "Allow", Action: [...BUCKET_ACTIONS], Resource: ["arn:aws:s3:::kestra-acme"] });
    expect(doc.Statement[1]).toEqual({ Sid: "Objects", Effect: "Allow", Action: [...OBJECT_ACTIONS], Resource: ["arn:aws:s3:::kestra-acme/*"] });
    const actions = doc.Statement.flatMap((s) => s.Action);
    for (const forbidden of ["s3:*", "s3:ListAllMyBuckets", "s3:DeleteBucket", "s3:PutBucketPolicy", "admin:*"]) expect(actions).not.toContain(forbidden);
  });

  it("refuses a name that is not a bucket name", () => {
    expect(() => storagePolicyDocument("kestra-*")).toThrow();
  });
});
