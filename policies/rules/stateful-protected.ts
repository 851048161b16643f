import { T, describe, type ResourceRule } from "../model";

const STATEFUL: string[] = [T.volume, T.minioBucket, T.awsBucket, T.database];

/** Rule 1: stateful resources cannot be deleted or replaced by a routine change. */
export const statefulProtected: ResourceRule = {
  kind: "resource",
  name: "stateful-protected",
  description: "Volumes, buckets and managed databases have protect and retainOnDelete.",
  level: "mandatory",
  check(r, report) {
    if (!STATEFUL.includes(r.type)) return;
    if (r.options.protect !== true) report(`${describe(r)} holds data but is not protected: set protect: true`);
    // CrossGuard does not expose retainOnDelete: checked where it is known (the offline plan).
    if (r.options.retainOnDelete === false) report(`${describe(r)} holds data but is not retained on delete: set retainOnDelete: true`);
  },
};
