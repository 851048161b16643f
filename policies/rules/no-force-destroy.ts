import { T, describe, type ResourceRule } from "../model";

/** Rule 2: deleting a bucket never deletes its objects. */
export const noForceDestroy: ResourceRule = {
  kind: "resource",
  name: "no-force-destroy",
  description: "No bucket has forceDestroy.",
  level: "mandatory",
  check(r, report) {
    if ((r.type === T.minioBucket || r.type === T.awsBucket) && r.props.forceDestroy === true) {
      report(`bucket ${describe(r)} has forceDestroy: its objects would be deleted unrecoverably; remove it`);
    }
  },
};
