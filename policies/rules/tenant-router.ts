import { ENTRYPOINT_WEBSECURE, ORIGIN_LOCK_MIDDLEWARE } from "../../infra/naming";
import { T, describe, roleOf, routersOf, type ResourceRule } from "../model";

/** Rule 10: a tenant is only reachable over TLS and only through Cloudflare. */
export const tenantRouter: ResourceRule = {
  kind: "resource",
  name: "tenant-router",
  description: "Every tenant router uses the origin-lock middleware and only the websecure entrypoint, with TLS.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service || roleOf(r) !== "web") return;
    const routers = routersOf(r);
    if (!routers.size) report(`${describe(r)} is a tenant web service without a Traefik router`);
    for (const [name, s] of routers) {
      const entrypoints = (s.entrypoints ?? "").split(",").map((x) => x.trim()).filter(Boolean);
      if (entrypoints.length !== 1 || entrypoints[0] !== ENTRYPOINT_WEBSECURE) {
        report(`router ${name} of ${describe(r)} uses entrypoints "${s.entrypoints ?? ""}": only ${ENTRYPOINT_WEBSECURE}`);
      }
      if (s.tls !== "true") report(`router ${name} of ${describe(r)} has no TLS: set traefik.http.routers.${name}.tls=true`);
      const middlewares = (s.middlewares ?? "").split(",").map((x) => x.trim());
      if (!middlewares.includes(ORIGIN_LOCK_MIDDLEWARE)) {
        report(`router ${name} of ${describe(r)} does not use ${ORIGIN_LOCK_MIDDLEWARE}: requests not coming through Cloudflare would reach it`);
      }
    }
  },
};
