import { KESTRA_HTTP_PORT, KESTRA_MANAGEMENT_PORT } from "../../infra/model/naming";
import { display, isService, labelsOf, roleOf, type ResourceRule } from "../model";

/** Roles that Traefik may route to: tenant web servers, the proxy itself (dashboard), MinIO's admin host and Grafana. */
const ROUTED_ROLES = ["web", "proxy", "storage", "grafana"];
const PORT_LABEL = /^traefik\.http\.services\.([^.]+)\.loadbalancer\.server\.port$/;

/**
 * Rule 9: only what is meant to be reachable is routed, and never Kestra's management port (8081:
 * unauthenticated /env and /loggers).
 */
export const traefikLabelsScope: ResourceRule = {
  kind: "resource",
  name: "traefik-labels-scope",
  description: "Traefik labels only on tenant web services and routed platform services (proxy, storage, grafana); no route to port 8081; a web service routes to 8080.",
  level: "mandatory",
  check(r, report) {
    if (!isService(r)) return;
    const labels = labelsOf(r);
    const traefik = Object.keys(labels).filter((k) => k.startsWith("traefik."));
    if (!traefik.length) return;
    const role = roleOf(r);
    if (!ROUTED_ROLES.includes(role ?? "")) {
      report(`${display(r)} (role ${role ?? "none"}) carries Traefik labels (${traefik.join(", ")}): only tenant web services and the routed platform services may; remove them`);
      return;
    }
    const ports = traefik.filter((k) => PORT_LABEL.test(k));
    for (const k of ports) {
      const port = Number(labels[k]);
      if (port === KESTRA_MANAGEMENT_PORT) report(`${display(r)} routes to port ${KESTRA_MANAGEMENT_PORT} (${k}): Kestra's management port is unauthenticated; never route it`);
      else if (role === "web" && port !== KESTRA_HTTP_PORT) report(`${display(r)} routes to port ${labels[k]} (${k}): a tenant web service is routed to ${KESTRA_HTTP_PORT} only`);
    }
    if (role === "web" && labels["traefik.enable"] === "true" && !ports.length) {
      report(`${display(r)} has no traefik.http.services.<name>.loadbalancer.server.port label: Swarm has no port detection; set it to ${KESTRA_HTTP_PORT}`);
    }
  },
};
