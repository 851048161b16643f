import { TYPES, display, type ResourceRule } from "../model";

/**
 * Added rule: a Swarm secret or config in use by a service cannot be deleted, so its replacement is
 * created first (content-hashed names, deleteBeforeReplace not true).
 */
export const swarmObjectsRoll: ResourceRule = {
  kind: "resource",
  name: "swarm-objects-roll",
  description: "Swarm secrets and configs are replaced create-before-delete (deleteBeforeReplace is not true).",
  level: "mandatory",
  check(r, report) {
    if (r.type !== TYPES.secret && r.type !== TYPES.config) return;
    if (r.options.deleteBeforeReplace === true) {
      report(`${display(r)} is deleted before its replacement is created, which fails while a service uses it: name it by a hash of its content and set deleteBeforeReplace: false`);
    }
  },
};
