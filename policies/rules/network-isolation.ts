import { LABEL_ROLE, LABEL_TENANT } from "../../infra/naming";
import { describe, labelsOf, networksOf, roleOf, services, tenantOf, type StackRule } from "../model";

/** Rule 13: tenants never share a private network, and only web servers face the proxy. */
export const networkIsolation: StackRule = {
  kind: "stack",
  name: "network-isolation",
  description: "No tenant service on another tenant's private network; backends, workers and Postgres not on the public network.",
  level: "mandatory",
  check(all, report) {
    for (const s of services(all)) {
      const t = tenantOf(s);
      for (const n of networksOf(s, all)) {
        const l = labelsOf(n);
        if (l[LABEL_ROLE] === "private" && l[LABEL_TENANT] !== t) {
          report(`${describe(s)} is attached to ${describe(n)}, the private network of ${l[LABEL_TENANT] ? `tenant ${l[LABEL_TENANT]}` : "no tenant"}`, s.urn);
        }
        if (t && l[LABEL_ROLE] === "public" && roleOf(s) !== "web") {
          report(`${describe(s)} (role ${roleOf(s)}) is on the public network: only a tenant's web service is`, s.urn);
        }
      }
    }
  },
};
