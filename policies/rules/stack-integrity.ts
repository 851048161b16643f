import { BACKUP_STACK, LABEL_ROLE, LABEL_STACK, LABEL_TENANT, MONITORING_SOCKET_PROXY_SERVICE, MONITORING_STACK, PROXY_STACK, STORAGE_STACK, tenantNames } from "../../infra/model/naming";
import { BUCKET_TYPES, DOCKER_TYPES, STORAGE_POLICY_TYPES, TYPES, display, externalName, labelsOf, ofType, roleOf, servicesOf, stackOf, tenantOf, type PolicyResource, type StackRule } from "../model";

/** Types whose name must be unique: Docker objects, buckets, storage policies, managed databases. */
const UNIQUE_NAME_TYPES: readonly string[] = [...DOCKER_TYPES, ...BUCKET_TYPES, ...STORAGE_POLICY_TYPES, TYPES.database];
const TENANT_ROLES = ["web", "backend", "worker", "postgres", "gateway", "backup"];
const PLATFORM_STACKS: Record<string, string> = {
  proxy: PROXY_STACK,
  "socket-proxy": PROXY_STACK,
  storage: STORAGE_STACK,
  prometheus: MONITORING_STACK,
  alertmanager: MONITORING_STACK,
  "node-exporter": MONITORING_STACK,
  cadvisor: MONITORING_STACK,
  grafana: MONITORING_STACK,
  blackbox: MONITORING_STACK,
  mirror: BACKUP_STACK,
};
/** The platform stack a service belongs to: by role (the monitoring stack's socket proxy by name). */
const platformStackOf = (s: PolicyResource, role: string): string => (role === "socket-proxy" && s.props.name === MONITORING_SOCKET_PROXY_SERVICE ? MONITORING_STACK : PLATFORM_STACKS[role]);
/** Label of the tenant's backup service naming its lifecycle status. */
export const LABEL_STATUS = "kestra-fleet.status";

/**
 * Rule 14: the stack is well-formed. No two resources of one type share a name (Docker would refuse
 * the second, or two tenants would share an object); every service carries the labels the other
 * rules rely on; every tenant is complete: exactly one database (Postgres service or managed
 * database), one web service, one backend (none when offboarded) and one backup service.
 */
export const stackIntegrity: StackRule = {
  kind: "stack",
  name: "stack-integrity",
  description: "No two Docker resources (or buckets, storage policies, databases) of a type share a name; every service has its role/stack labels; every tenant has exactly one Postgres service or managed database, one backup service, and (unless offboarded) one web service and one backend.",
  level: "mandatory",
  check(all, report) {
    for (const type of UNIQUE_NAME_TYPES) {
      const seen = new Map<string, PolicyResource>();
      for (const r of ofType(all, type)) {
        const name = externalName(r);
        if (name === undefined) continue;
        const first = seen.get(name);
        if (first) report(`${display(r)} has the same name as ${display(first)} (${type}): give each a unique name`, r.urn);
        else seen.set(name, r);
      }
    }

    for (const s of servicesOf(all)) {
      const role = roleOf(s);
      const tenant = tenantOf(s);
      if (!role || (!TENANT_ROLES.includes(role) && !(role in PLATFORM_STACKS))) {
        report(`${display(s)} has ${role ? `unknown role "${role}"` : "no role"}: label it ${LABEL_ROLE}=${[...TENANT_ROLES, ...Object.keys(PLATFORM_STACKS)].join("|")}`, s.urn);
      } else if (TENANT_ROLES.includes(role)) {
        if (!tenant) report(`${display(s)} (role ${role}) has no ${LABEL_TENANT} label: every tenant service names its tenant`, s.urn);
        else if (stackOf(s) !== tenantNames(tenant).stack) report(`${display(s)} of tenant ${tenant} has ${LABEL_STACK}=${stackOf(s) ?? "(none)"}: set it to ${tenantNames(tenant).stack}`, s.urn);
      } else {
        if (tenant) report(`${display(s)} (platform role ${role}) carries ${LABEL_TENANT}=${tenant}: platform services belong to no tenant`, s.urn);
        if (stackOf(s) !== platformStackOf(s, role)) report(`${display(s)} has ${LABEL_STACK}=${stackOf(s) ?? "(none)"}: set it to ${platformStackOf(s, role)}`, s.urn);
      }
    }

    // Grouped once: the first labelled resource and the services of each tenant, databases by name.
    const firstLabelled = new Map<string, PolicyResource>();
    for (const r of all) {
      const t = labelsOf(r)[LABEL_TENANT];
      if (t && !firstLabelled.has(t)) firstLabelled.set(t, r);
    }
    const servicesByTenant = new Map<string, PolicyResource[]>();
    for (const s of servicesOf(all)) {
      const t = tenantOf(s);
      if (t) servicesByTenant.set(t, [...(servicesByTenant.get(t) ?? []), s]);
    }
    const databasesByName = new Map<unknown, number>();
    for (const d of ofType(all, TYPES.database)) databasesByName.set(d.props.name, (databasesByName.get(d.props.name) ?? 0) + 1);
    for (const t of [...firstLabelled.keys()].sort()) {
      const services = servicesByTenant.get(t) ?? [];
      const count = (role: string) => services.filter((s) => roleOf(s) === role).length;
      const databases = databasesByName.get(tenantNames(t).database) ?? 0;
      const anchor = (services[0] ?? firstLabelled.get(t))?.urn;
      const postgres = count("postgres");
      if (postgres + databases !== 1) {
        report(`tenant ${t} has ${postgres} Postgres service(s) and ${databases} managed database(s) named ${tenantNames(t).database}: exactly one database is expected`, anchor);
      }
      if (count("backup") !== 1) report(`tenant ${t} has ${count("backup")} backup service(s): exactly one (${tenantNames(t).services.backup}) is expected`, anchor);
      const offboarded = services.some((s) => roleOf(s) === "backup" && labelsOf(s)[LABEL_STATUS] === "offboarded");
      if (offboarded) {
        const kestra = count("web") + count("backend") + count("worker");
        if (kestra) report(`tenant ${t} is offboarded but has ${kestra} Kestra service(s): an offboarded tenant runs none`, anchor);
        continue;
      }
      if (count("web") !== 1) report(`tenant ${t} has ${count("web")} web service(s): exactly one (${tenantNames(t).services.web}) is expected`, anchor);
      if (count("backend") !== 1) report(`tenant ${t} has ${count("backend")} backend service(s): exactly one (${tenantNames(t).services.backend}) is expected`, anchor);
    }
  },
};
