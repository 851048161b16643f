import { OWN_BUCKET_POLICY } from "../../infra/render/storage";
import { display, ofType, TYPES, type StackRule } from "../model";

const ATTACHMENT = "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment";

/**
 * Added rule: the shared MinIO policy `kestra.own-bucket` reaches the bucket named like the user it is
 * attached to (`${aws:username}`). So it may be attached only to users named exactly like a bucket the
 * stack declares (a tenant's storage user, `kestra-<t>`): attached to any other user it would reach a
 * bucket of that other name, or nothing. Unknown names (a preview) are not judged.
 */
export const ownBucketUsers: StackRule = {
  kind: "stack",
  name: "own-bucket-users",
  description: "The shared MinIO policy kestra.own-bucket is attached only to users named exactly like a MinIO bucket of the stack.",
  level: "mandatory",
  check(all, report) {
    const buckets = new Set(ofType(all, TYPES.minioBucket).map((b) => b.props.bucket).filter((b): b is string => typeof b === "string"));
    for (const a of ofType(all, ATTACHMENT)) {
      if (a.props.policyName !== OWN_BUCKET_POLICY) continue;
      const user = a.props.userName;
      if (typeof user !== "string") continue;
      if (!buckets.has(user)) {
        report(`${display(a)} attaches ${OWN_BUCKET_POLICY} (the bucket named like its user) to user "${user}", which is no bucket of this stack: attach it only to a tenant's storage user, named after its bucket`, a.urn);
      }
    }
  },
};
