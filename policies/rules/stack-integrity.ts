import { tenantNames } from "../../infra/naming";
import { T, describe, roleOf, services, tenantOf, type StackRule } from "../model";

const DOCKER_TYPES: string[] = [T.service, T.network, T.volume, T.secret, T.config];

/** Rule 14: Docker names are unique, and every tenant is complete. */
export const stackIntegrity: StackRule = {
  kind: "stack",
  name: "stack-integrity",
  description: "No two Docker resources of a type share a name; every tenant has one database, one web service and one backend.",
  level: "mandatory",
  check(all, report) {
    for (const type of DOCKER_TYPES) {
      const seen = new Map<string, string>();
      for (const r of all.filter((x) => x.type === type && typeof x.props.name === "string")) {
        const other = seen.get(r.props.name);
        if (other) report(`${describe(r)} has the same Docker name as ${other}`, r.urn);
        else seen.set(r.props.name, r.name);
      }
    }
    const tenants = [...new Set(services(all).map(tenantOf).filter((t): t is string => !!t))].sort();
    for (const t of tenants) {
      const mine = services(all).filter((s) => tenantOf(s) === t);
      const count = (role: string) => mine.filter((s) => roleOf(s) === role).length;
      const managed = all.filter((r) => r.type === T.database && r.props.name === tenantNames(t).database).length;
      const anchor = mine[0]?.urn;
      if (count("postgres") + managed !== 1) report(`tenant ${t} has ${count("postgres")} Postgres service(s) and ${managed} managed database(s): exactly one database is expected`, anchor);
      if (count("web") !== 1) report(`tenant ${t} has ${count("web")} web service(s): exactly one is expected`, anchor);
      if (count("backend") !== 1) report(`tenant ${t} has ${count("backend")} backend service(s): exactly one is expected (two standalone servers must never share a database)`, anchor);
    }
  },
};
