/**
 * Service labels: the stack/tenant/role labels every service carries, and Traefik's router labels
 * for the services that are routed. Pure.
 */
import { edgeOf, type Settings } from "../input/config/schema";
import {
  CERT_RESOLVER,
  ENTRYPOINT_WEBSECURE,
  KESTRA_HTTP_PORT,
  LABEL_ROLE,
  LABEL_STACK,
  LABEL_TENANT,
  LAB_ORIGIN_MIDDLEWARE,
  ORIGIN_LOCK_MIDDLEWARE,
  PUBLIC_NETWORK,
  STORAGE_ADMIN_MIDDLEWARE,
  type ServiceRole,
} from "../model/naming";

export type Labels = Record<string, string>;

export function identityLabels(stack: string, role: ServiceRole, tenant?: string): Labels {
  return tenant ? { [LABEL_STACK]: stack, [LABEL_TENANT]: tenant, [LABEL_ROLE]: role } : { [LABEL_STACK]: stack, [LABEL_ROLE]: role };
}

/**
 * How routed hosts are reached: the origin-lock middleware and the certificate resolver. Behind
 * Cloudflare: `cloudflare-only` and ACME (Let's Encrypt over Cloudflare's DNS). A lab stack without
 * Cloudflare: its allow-list, and no resolver (Traefik's self-signed default certificate).
 */
export interface EdgeRouting {
  originLock: string;
  certResolver?: string;
}
export const CLOUDFLARE_ROUTING: EdgeRouting = { originLock: ORIGIN_LOCK_MIDDLEWARE, certResolver: CERT_RESOLVER };
export const LAB_ROUTING: EdgeRouting = { originLock: LAB_ORIGIN_MIDDLEWARE };

export function edgeRouting(settings: Settings): EdgeRouting {
  return edgeOf(settings).provider === "cloudflare" ? CLOUDFLARE_ROUTING : LAB_ROUTING;
}

/** Router labels of a routed service: one router, TLS on websecure, behind the given middleware, certificates from `certResolver` (none: Traefik's default certificate). */
export function routerLabels(router: string, host: string, port: number, middleware: string, certResolver: string | undefined): Labels {
  const r = `traefik.http.routers.${router}`;
  return {
    "traefik.enable": "true",
    [`${r}.rule`]: `Host(\`${host}\`)`,
    [`${r}.entrypoints`]: ENTRYPOINT_WEBSECURE,
    [`${r}.tls`]: "true",
    ...(certResolver ? { [`${r}.tls.certresolver`]: certResolver } : {}),
    [`${r}.middlewares`]: middleware,
    [`${r}.service`]: router,
    [`traefik.http.services.${router}.loadbalancer.server.port`]: String(port),
    "traefik.swarm.network": PUBLIC_NETWORK,
  };
}

/** A tenant's Kestra web service: API + UI on 8080, only through Cloudflare (a lab stack: only from its allow-list). */
export function tenantWebLabels(router: string, host: string, routing: EdgeRouting = CLOUDFLARE_ROUTING): Labels {
  return routerLabels(router, host, KESTRA_HTTP_PORT, routing.originLock, routing.certResolver);
}

/** MinIO's S3/admin API for the Pulumi provider: DNS-only host, operators' addresses only. */
export function storageAdminLabels(host: string, routing: EdgeRouting = CLOUDFLARE_ROUTING): Labels {
  return routerLabels("platform-storage-admin", host, 9000, STORAGE_ADMIN_MIDDLEWARE, routing.certResolver);
}

/** Docker provider's label list, sorted by key so plans are stable. */
export function labelList(labels: Labels): { label: string; value: string }[] {
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: labels[label] }));
}

/** The inverse of labelList: a label list (as registered) back to a map. */
export function labelMap(list: readonly { label: string; value: string }[] | undefined): Labels {
  const out: Labels = {};
  for (const l of list ?? []) out[l.label] = l.value;
  return out;
}
