/**
 * Service labels: the stack/tenant/role labels every service carries, and Traefik's router labels
 * for the services that are routed. Pure.
 */
import {
  CERT_RESOLVER,
  ENTRYPOINT_WEBSECURE,
  KESTRA_HTTP_PORT,
  LABEL_ROLE,
  LABEL_STACK,
  LABEL_TENANT,
  ORIGIN_LOCK_MIDDLEWARE,
  PUBLIC_NETWORK,
  STORAGE_ADMIN_MIDDLEWARE,
  type ServiceRole,
} from "../naming";

export type Labels = Record<string, string>;

export function identityLabels(stack: string, role: ServiceRole, tenant?: string): Labels {
  return tenant ? { [LABEL_STACK]: stack, [LABEL_TENANT]: tenant, [LABEL_ROLE]: role } : { [LABEL_STACK]: stack, [LABEL_ROLE]: role };
}

/** Router labels of a routed service: one router, TLS on websecure, behind the given middleware. */
export function routerLabels(router: string, host: string, port: number, middleware: string): Labels {
  const r = `traefik.http.routers.${router}`;
  return {
    "traefik.enable": "true",
    [`${r}.rule`]: `Host(\`${host}\`)`,
    [`${r}.entrypoints`]: ENTRYPOINT_WEBSECURE,
    [`${r}.tls`]: "true",
    [`${r}.tls.certresolver`]: CERT_RESOLVER,
    [`${r}.middlewares`]: middleware,
    [`${r}.service`]: router,
    [`traefik.http.services.${router}.loadbalancer.server.port`]: String(port),
    "traefik.swarm.network": PUBLIC_NETWORK,
  };
}

/** A tenant's Kestra web service: API + UI on 8080, only through Cloudflare. */
export function tenantWebLabels(router: string, host: string): Labels {
  return routerLabels(router, host, KESTRA_HTTP_PORT, ORIGIN_LOCK_MIDDLEWARE);
}

/** MinIO's S3/admin API for the Pulumi provider: DNS-only host, operators' addresses only. */
export function storageAdminLabels(host: string): Labels {
  return routerLabels("platform-storage-admin", host, 9000, STORAGE_ADMIN_MIDDLEWARE);
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
