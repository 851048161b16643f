import { LABEL_ROLE } from "../../infra/model/naming";
import { containerSpecOf, display, labelsOf, servicesOf, type StackRule } from "../model";
import { imageRef } from "./pinned-images";

/** The roles of a tenant's Kestra services (web server, backend, workers): they hold its credentials. */
export const KESTRA_ROLES: readonly string[] = ["web", "backend", "worker"];

/**
 * Kestra's own repository: what the rule allows when no policy config names the stack's
 * (`kestraRepositories`, the repository of `images.kestra`; the offline plan passes it).
 */
export const DEFAULT_KESTRA_REPOSITORIES: readonly string[] = ["kestra/kestra"];

/**
 * A tenant's Kestra receives its database password, storage key, encryption key and Git credentials:
 * it runs an image of the stack's Kestra repository only (a tenant file may pin another release of it,
 * never another image). Repositories compare as written (no registry defaulting): a mirror is named in
 * full in `images.kestra` and so in the allowed list.
 */
export const kestraImageOrigin: StackRule = {
  kind: "stack",
  name: "kestra-image-origin",
  description: "Every Kestra service (web, backend, worker) runs an image of the stack's allowed Kestra repositories (images.kestra; policy config kestraRepositories).",
  level: "mandatory",
  check(all, report, ctx) {
    const allowed = ctx.kestraRepositories?.length ? ctx.kestraRepositories : DEFAULT_KESTRA_REPOSITORIES;
    for (const s of servicesOf(all)) {
      if (!KESTRA_ROLES.includes(labelsOf(s)[LABEL_ROLE] ?? "")) continue;
      const image = containerSpecOf(s).image;
      if (image === undefined) continue; // unknown in a preview
      const repo = typeof image === "string" ? imageRef(image)?.name : undefined;
      if (repo && allowed.includes(repo)) continue;
      report(`${display(s)} runs ${String(image)}: a Kestra service may run only an image of ${allowed.join(", ")} (the stack's images.kestra); it would receive the tenant's database password, storage key and Git credentials`, s.urn);
    }
  },
};
