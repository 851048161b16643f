import { ENTRYPOINT_WEBSECURE, LAB_ORIGIN_MIDDLEWARE, ORIGIN_LOCK_MIDDLEWARE, PUBLIC_NETWORK } from "../../infra/model/naming";
import { commaList, display, hostsOfRule, isService, labelsOf, roleOf, routersOf, type ResourceRule } from "../model";

/**
 * Rule 10: a tenant is reachable only over TLS and only through Cloudflare: every router of a tenant
 * web service uses the websecure entrypoint alone, TLS, and the origin-lock middleware (a lab stack's
 * lab-allowlist, which rule lab-stack refuses on any other stack, counts as one), and names its
 * host (so the edge rule can check DNS and Access for it). Traefik must use the public network to
 * reach it (it sits on several networks).
 */
export const tenantRouter: ResourceRule = {
  kind: "resource",
  name: "tenant-router",
  description: "Every tenant router uses the origin-lock middleware, only the websecure entrypoint, TLS, a Host rule, and the public network.",
  level: "mandatory",
  check(r, report) {
    if (!isService(r) || roleOf(r) !== "web") return;
    const labels = labelsOf(r);
    const routers = routersOf(r);
    if (labels["traefik.enable"] !== "true" || !routers.size) {
      report(`${display(r)} is a tenant web service without a Traefik router: set traefik.enable=true and a router on ${ENTRYPOINT_WEBSECURE}`);
    }
    for (const protocol of ["tcp", "udp"] as const) {
      for (const [name] of routersOf(r, protocol)) report(`${display(r)} declares ${protocol} router ${name}: tenant services are routed over HTTPS only; remove it`);
    }
    for (const [name, s] of routers) {
      const where = `router ${name} of ${display(r)}`;
      const entrypoints = commaList(s.entrypoints);
      if (entrypoints.length !== 1 || entrypoints[0] !== ENTRYPOINT_WEBSECURE) {
        report(`${where} uses entrypoints "${s.entrypoints ?? ""}": set traefik.http.routers.${name}.entrypoints=${ENTRYPOINT_WEBSECURE} only`);
      }
      if (s.tls !== "true") report(`${where} has no TLS: set traefik.http.routers.${name}.tls=true`);
      const middlewares = commaList(s.middlewares);
      if (!middlewares.includes(ORIGIN_LOCK_MIDDLEWARE) && !middlewares.includes(LAB_ORIGIN_MIDDLEWARE)) {
        report(`${where} does not use ${ORIGIN_LOCK_MIDDLEWARE}: requests that did not come through Cloudflare would reach it; add it to traefik.http.routers.${name}.middlewares`);
      }
      if (!hostsOfRule(s.rule ?? "").length) report(`${where} has no Host(\`...\`) rule: a tenant router names its host`);
    }
    if (routers.size && labels["traefik.swarm.network"] !== PUBLIC_NETWORK) {
      report(`${display(r)} sets traefik.swarm.network="${labels["traefik.swarm.network"] ?? ""}": set it to ${PUBLIC_NETWORK} (Traefik picks a random network otherwise)`);
    }
  },
};
