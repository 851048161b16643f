import { KESTRA_HTTP_PORT, KESTRA_MANAGEMENT_PORT } from "../../infra/naming";
import { T, describe, labelsOf, roleOf, type ResourceRule } from "../model";

const ROUTED_ROLES = ["web", "proxy", "storage"];

/** Rule 9: only what is meant to be reachable is routed, and never Kestra's management port. */
export const traefikLabelsScope: ResourceRule = {
  kind: "resource",
  name: "traefik-labels-scope",
  description: "Traefik labels only on tenant web services and routed platform services; no router to 8081.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service) return;
    const traefik = Object.entries(labelsOf(r)).filter(([k]) => k.startsWith("traefik."));
    if (!traefik.length) return;
    if (!ROUTED_ROLES.includes(roleOf(r) ?? "")) {
      report(`${describe(r)} (role ${roleOf(r) ?? "none"}) carries Traefik labels: only tenant web services and routed platform services may`);
      return;
    }
    for (const [k, v] of traefik) {
      if (!/^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(k)) continue;
      if (Number(v) === KESTRA_MANAGEMENT_PORT) report(`${describe(r)} routes to port ${KESTRA_MANAGEMENT_PORT} (Kestra management, unauthenticated): never route it`);
      else if (roleOf(r) === "web" && Number(v) !== KESTRA_HTTP_PORT) report(`${describe(r)} routes to port ${v}: a tenant web service is routed to ${KESTRA_HTTP_PORT} only`);
    }
  },
};
