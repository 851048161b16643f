import { LABEL_ROLE, LABEL_TENANT } from "../../infra/model/naming";
import { display, labelsOf, networksOf, roleOf, servicesOf, tenantOf, type StackRule } from "../model";

/** A constraint that ties a task to particular nodes (equality on hostname, id or a node/engine label). */
const PINNING = /^\s*(node\.hostname|node\.id|node\.labels\.[^\s=!]+|engine\.labels\.[^\s=!]+)\s*==\s*\S+/;

/**
 * Rule 8: one postmaster per data volume, never moved to a node with an empty volume, and reachable
 * only by its own tenant. `start-first` updates would run two postmasters on one volume for a moment.
 */
export const postgresSinglePinned: StackRule = {
  kind: "stack",
  name: "postgres-single-pinned",
  description: "Postgres services run exactly one replica (stop-first updates), carry a placement constraint, and are attached only to their own tenant's private network.",
  level: "mandatory",
  check(all, report) {
    for (const s of servicesOf(all).filter((x) => roleOf(x) === "postgres")) {
      const mode = s.props.mode ?? {};
      const replicas = mode.replicated?.replicas;
      if (mode.global) report(`${display(s)} runs in global mode: run exactly one replica (mode.replicated.replicas: 1)`, s.urn);
      else if (replicas !== undefined && replicas !== 1) report(`${display(s)} runs ${replicas} replicas: run exactly one (mode.replicated.replicas: 1)`, s.urn);
      for (const key of ["updateConfig", "rollbackConfig"]) {
        if (s.props[key]?.order === "start-first") report(`${display(s)} has ${key}.order start-first: two postmasters would share the data volume; use stop-first`, s.urn);
      }
      const constraints: string[] = s.props.taskSpec?.placement?.constraints ?? [];
      if (!constraints.some((c) => PINNING.test(String(c)))) {
        report(`${display(s)} has no placement constraint pinning it to its data's node (e.g. node.hostname == <node>): a rescheduled task would start on an empty volume`, s.urn);
      }
      const tenant = tenantOf(s);
      if (!tenant) report(`${display(s)} carries no ${LABEL_TENANT} label: a Postgres service belongs to one tenant`, s.urn);
      for (const n of networksOf(s, all)) {
        const l = labelsOf(n);
        if (l[LABEL_ROLE] !== "private" || l[LABEL_TENANT] !== tenant) {
          report(`${display(s)} is attached to network ${display(n)}: attach Postgres only to its own tenant's private network`, s.urn);
        }
      }
    }
  },
};
