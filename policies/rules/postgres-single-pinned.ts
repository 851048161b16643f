import { LABEL_ROLE, LABEL_TENANT } from "../../infra/naming";
import { T, describe, labelsOf, networksOf, roleOf, services, tenantOf, type StackRule } from "../model";

/** Rule 8: one postmaster per volume, never moved to an empty volume, reachable only by its tenant. */
export const postgresSinglePinned: StackRule = {
  kind: "stack",
  name: "postgres-single-pinned",
  description: "Postgres services run one replica, carry a placement constraint and are attached only to their own tenant's private network.",
  level: "mandatory",
  check(all, report) {
    for (const s of services(all).filter((x) => roleOf(x) === "postgres")) {
      const replicas = s.props.mode?.replicated?.replicas;
      if (s.props.mode?.global || replicas !== 1) report(`${describe(s)} must run exactly one replica (has ${s.props.mode?.global ? "global mode" : replicas})`, s.urn);
      const constraints: string[] = s.props.taskSpec?.placement?.constraints ?? [];
      if (!constraints.some((c) => /^node\.(hostname|id|labels\.[^=!]+)\s*==/.test(c))) {
        report(`${describe(s)} has no placement constraint pinning it to its data node: a rescheduled task would start on an empty volume`, s.urn);
      }
      const t = tenantOf(s);
      for (const n of networksOf(s, all)) {
        const l = labelsOf(n);
        if (l[LABEL_ROLE] !== "private" || l[LABEL_TENANT] !== t) report(`${describe(s)} is attached to ${describe(n)}: Postgres belongs on its own tenant's private network only`, s.urn);
      }
    }
  },
};
