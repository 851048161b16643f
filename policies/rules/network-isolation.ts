import { LABEL_ROLE, LABEL_TENANT, PUBLIC_NETWORK } from "../../infra/model/naming";
import { display, labelsOf, networksOf, roleOf, servicesOf, tenantOf, type StackRule } from "../model";

/** Tenant roles that never face the proxy. */
const INTERNAL_ROLES = ["backend", "worker", "postgres", "gateway"];

/**
 * Rule 13: tenants never share a private network, and of a tenant only the web server is on the
 * network Traefik routes on.
 */
export const networkIsolation: StackRule = {
  kind: "stack",
  name: "network-isolation",
  description: "No service is attached to another tenant's private network; tenant backends, workers, Postgres and storage gateways are not on the public network.",
  level: "mandatory",
  check(all, report) {
    for (const s of servicesOf(all)) {
      const tenant = tenantOf(s);
      for (const n of networksOf(s, all)) {
        const l = labelsOf(n);
        if (l[LABEL_ROLE] === "private" && l[LABEL_TENANT] !== tenant) {
          const owner = l[LABEL_TENANT] ? `tenant ${l[LABEL_TENANT]}` : "an unlabelled tenant";
          report(`${display(s)}${tenant ? ` of tenant ${tenant}` : ""} is attached to ${display(n)}, the private network of ${owner}: detach it`, s.urn);
        }
        const isPublic = l[LABEL_ROLE] === "public" || n.props.name === PUBLIC_NETWORK;
        if (tenant && isPublic && INTERNAL_ROLES.includes(roleOf(s) ?? "")) {
          report(`${display(s)} (role ${roleOf(s)}) is attached to the public network ${display(n)}: only a tenant's web service is; detach it`, s.urn);
        }
      }
    }
  },
};
