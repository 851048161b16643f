import { T, describe, type ResourceRule } from "../model";

/**
 * Added rule: a Swarm secret or config in use cannot be deleted, so it must be replaced by creating
 * the new one first (content-hashed names, deleteBeforeReplace false).
 */
export const swarmObjectsRoll: ResourceRule = {
  kind: "resource",
  name: "swarm-objects-roll",
  description: "Swarm secrets and configs are replaced create-before-delete.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.secret && r.type !== T.config) return;
    if (r.options.deleteBeforeReplace === true) report(`${describe(r)} is deleted before its replacement is created: a service still using it blocks the update; name it by content hash and drop deleteBeforeReplace`);
  },
};
