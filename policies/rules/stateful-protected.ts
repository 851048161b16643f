import { TYPES, display, type ResourceRule } from "../model";

/** Volumes, buckets and managed databases: deleting one deletes a client's data. */
export const STATEFUL_TYPES: readonly string[] = [TYPES.volume, TYPES.minioBucket, TYPES.awsBucket, TYPES.database];

/**
 * Rule 1: stateful resources are protected (the engine refuses to delete or replace them) and retained
 * on delete (dropping them from the program never deletes the data). CrossGuard does not show
 * retainOnDelete: it is checked where it is known (the offline plan).
 */
export const statefulProtected: ResourceRule = {
  kind: "resource",
  name: "stateful-protected",
  description: "Docker volumes, MinIO/AWS buckets and managed Postgres databases have protect: true and retainOnDelete: true.",
  level: "mandatory",
  check(r, report) {
    if (!STATEFUL_TYPES.includes(r.type)) return;
    if (r.options.protect !== true) report(`${display(r)} holds data but is not protected: set the resource option protect: true`);
    if (r.options.retainOnDelete === false) report(`${display(r)} holds data but is not retained on delete: set the resource option retainOnDelete: true`);
  },
};
