import { BUCKET_TYPES, display, type ResourceRule } from "../model";

/** Rule 2: deleting a bucket never deletes its objects. */
export const noForceDestroy: ResourceRule = {
  kind: "resource",
  name: "no-force-destroy",
  description: "No MinIO or AWS bucket has forceDestroy: true.",
  level: "mandatory",
  check(r, report) {
    if (BUCKET_TYPES.includes(r.type) && r.props.forceDestroy === true) {
      report(`bucket ${display(r)} has forceDestroy: true, which deletes its objects unrecoverably with the bucket: remove forceDestroy`);
    }
  },
};
