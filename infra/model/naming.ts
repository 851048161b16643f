/**
 * Every external name the fleet uses, derived from a tenant name and nothing else.
 * Pure: no Pulumi, no I/O. Tenant names are validated before they get here
 * (^[a-z][a-z0-9-]*[a-z0-9]$, 3-30 characters, no "--"); tests/infra/model/naming.test.ts proves that
 * every derived name then satisfies Swarm, DNS, S3, Postgres and Kestra naming rules.
 */
import { createHmac } from "crypto";

/** The global overlay network Traefik routes on. */
export const PUBLIC_NETWORK = "network_swarm_public";
/** The overlay network joining MinIO and every tenant's gateway (never a Kestra service). */
export const STORAGE_NETWORK = "net_storage";
/** Internal overlay between Traefik and the Docker socket proxy, and nothing else. */
export const DOCKER_API_NETWORK = "net_proxy_docker_api";
/** Swarm stack (namespace label) of the global proxy and of the global storage. */
export const PROXY_STACK = "platform_proxy";
export const STORAGE_STACK = "platform_storage";
export const PROXY_SERVICE = "platform_proxy_traefik";
/** The filtering proxy between Traefik and the Docker socket (port 2375, on DOCKER_API_NETWORK only). */
export const SOCKET_PROXY_SERVICE = "platform_proxy_socket_proxy";
export const SOCKET_PROXY_PORT = 2375;
export const STORAGE_SERVICE = "platform_storage_minio";
/** Swarm stack of the platform's backup services, and the bucket mirror service. */
export const BACKUP_STACK = "platform_backup";
/** What every tenant's Kestra shares (the entry-point wrapper config: stacks/kestra-shared.ts). */
export const KESTRA_SHARED_STACK = "platform_kestra";
export const BACKUP_MIRROR_SERVICE = "platform_backup_mirror";
/** The IAM policy of the mirror's read-only key on every tenant bucket (the policy pack knows it by this name). */
export const MIRROR_SOURCE_POLICY_NAME = "backup.mirror-source";
/** Every tenant bucket's name starts with this (`tenantNames().bucket`): what the mirror discovers. */
export const TENANT_BUCKET_PREFIX = "kestra-";
export const ACME_VOLUME = "traefik_acme";
export const MINIO_VOLUME = "minio_data";
/**
 * Network alias of the storage host: MinIO's on the storage network, and each tenant's storage
 * gateway's on the tenant's private network (the name Kestra's config uses; Java rejects "_").
 */
export const MINIO_ALIAS = "minio";
/** MinIO's S3 API port. */
export const MINIO_S3_PORT = 9000;
/** Network alias of a tenant's Postgres on its private network. */
export const POSTGRES_ALIAS = "postgres";

/** Traefik entrypoints and the origin-lock middleware (defined in Traefik's file provider). */
export const ENTRYPOINT_WEB = "web";
export const ENTRYPOINT_WEBSECURE = "websecure";
export const ORIGIN_LOCK_MIDDLEWARE = "cloudflare-only@file";
export const STORAGE_ADMIN_MIDDLEWARE = "storage-admin-allowlist@file";
export const CERT_RESOLVER = "letsencrypt";
/**
 * A lab stack's origin lock (`kestra-fleet:edge: { provider: none }`): Traefik admits only the
 * stack's `edge.allowList`. Defined only in a lab stack's dynamic file; the policy pack refuses it elsewhere.
 */
export const LAB_ORIGIN_MIDDLEWARE = "lab-allowlist@file";

/** Kestra's ports: 8080 API + UI (routed), 8081 management (never routed). */
export const KESTRA_HTTP_PORT = 8080;
export const KESTRA_MANAGEMENT_PORT = 8081;

/** Service labels every service carries; the policy pack reads them. */
export const LABEL_STACK = "com.docker.stack.namespace";
export const LABEL_TENANT = "kestra-fleet.tenant";
export const LABEL_ROLE = "kestra-fleet.role";
/**
 * On the Traefik service of a stack declared `kestra-fleet:lab: true` (value "true"): how the policy
 * pack, which sees resources and not stack config, learns that the stack is a lab stack.
 */
export const LABEL_LAB = "kestra-fleet.lab";
/** A tenant's lifecycle status (active, suspended, offboarded) on its gateway and backup services: Prometheus relabels by it. */
export const LABEL_STATUS = "kestra-fleet.status";

export type ServiceRole =
  | "web"
  | "backend"
  | "worker"
  | "postgres"
  | "gateway"
  | "proxy"
  | "socket-proxy"
  | "storage"
  | "prometheus"
  | "alertmanager"
  | "node-exporter"
  | "cadvisor"
  | "grafana"
  | "blackbox"
  | "backup"
  | "mirror";
export type NetworkRole = "private" | "public" | "storage" | "docker-api" | "monitoring";

/**
 * The monitoring stack (optional, on by default): Prometheus and Alertmanager on an internal overlay
 * that no Kestra service joins; each tenant's gateway joins it and the tenant's private network.
 */
export const MONITORING_STACK = "platform_monitoring";
export const MONITORING_NETWORK = "net_monitoring";
/** Internal overlay between Prometheus and its own Docker socket proxy, and nothing else. */
export const MONITORING_DOCKER_API_NETWORK = "net_monitoring_docker_api";
/** Internal overlay between Prometheus and cAdvisor (which reads the Docker socket), and nothing else. */
export const MONITORING_NODES_NETWORK = "net_monitoring_nodes";
/** Overlay giving Alertmanager a route out (the monitoring network is internal). */
export const MONITORING_EGRESS_NETWORK = "net_monitoring_egress";
/**
 * Internal overlay between Prometheus and the blackbox exporter, and nothing else: the exporter's
 * unauthenticated `/probe` (which sends the Access service token to whatever target it is given)
 * answers there and on its own egress network only.
 */
export const MONITORING_PROBE_NETWORK = "net_monitoring_probe";
/** The blackbox exporter's own route out, shared with no other service. */
export const MONITORING_PROBE_EGRESS_NETWORK = "net_monitoring_probe_egress";
/** Internal overlay between Prometheus and Traefik, and nothing else: Traefik's metrics answer there only (fixed subnet, monitoring.proxyMetricsSubnet). */
export const MONITORING_PROXY_NETWORK = "net_monitoring_proxy";
export const PROMETHEUS_SERVICE = "platform_monitoring_prometheus";
export const MONITORING_SOCKET_PROXY_SERVICE = "platform_monitoring_socket_proxy";
export const ALERTMANAGER_SERVICE = "platform_monitoring_alertmanager";
export const NODE_EXPORTER_SERVICE = "platform_monitoring_node_exporter";
export const CADVISOR_SERVICE = "platform_monitoring_cadvisor";
export const BLACKBOX_SERVICE = "platform_monitoring_blackbox";
export const BLACKBOX_PORT = 9115;
export const GRAFANA_SERVICE = "platform_monitoring_grafana";
export const GRAFANA_VOLUME = "grafana_data";
export const GRAFANA_PORT = 3000;
export const PROMETHEUS_VOLUME = "prometheus_data";
export const ALERTMANAGER_VOLUME = "alertmanager_data";
export const PROMETHEUS_PORT = 9090;
export const ALERTMANAGER_PORT = 9093;
export const NODE_EXPORTER_PORT = 9100;
export const CADVISOR_PORT = 8080;
/** A tenant's gateway (with monitoring): 8081 forwards to the backend's management port, 8082 to the web server's. */
export const RELAY_BACKEND_PORT = 8081;
export const RELAY_WEB_PORT = 8082;
/** 8083 of the gateway forwards to the tenant's backup service's metrics port (busybox httpd, /metrics.txt). */
export const RELAY_BACKUP_PORT = 8083;
export const BACKUP_METRICS_PORT = 9180;
/** The bucket mirror's metrics port (busybox httpd, /metrics.txt), on the monitoring network only. */
export const MIRROR_METRICS_PORT = 9181;
/** Traefik's metrics entry point (not published: reachable on its overlays only). */
export const TRAEFIK_METRICS_PORT = 8082;
export const ENTRYPOINT_METRICS = "metrics";
/**
 * Traefik's metrics are served only through a router on the metrics entry point behind basic auth
 * (`--metrics.prometheus.manualRouting=true`); the htpasswd file of that middleware is this Swarm
 * secret file of the Traefik service (infra/render/traefik.ts).
 */
export const TRAEFIK_METRICS_USERS_FILE = "/run/secrets/traefik_metrics_users";

/**
 * Logical name of a tenant's database password (random.RandomPassword). Postgres reads its password
 * file only on an empty data directory: a new value of this resource locks Kestra and the backup out
 * of an existing database, so the resource is protected and the plan diff and the deploy guard refuse
 * its replacement (rotation: docs/operations.md#database-password).
 */
export const DB_PASSWORD_SUFFIX = "-db-password";
export const dbPasswordLogicalName = (logical: string) => `${logical}${DB_PASSWORD_SUFFIX}`;
/** Whether a URN or logical name is a tenant's database password. */
export const isDbPasswordName = (urnOrName: string) => (urnOrName.split("::").pop() ?? "").endsWith(DB_PASSWORD_SUFFIX);
export const DB_PASSWORD_ROTATION_DOC = "docs/operations.md#database-password";

/** Kestra's webhook paths (with and without the OSS tenant `main`). */
export const WEBHOOK_PATHS = ["/api/v1/main/executions/webhook/", "/api/v1/executions/webhook/"] as const;

export interface TenantNames {
  tenant: string;
  /** Swarm stack namespace, `kestra_<t>`. */
  stack: string;
  privateNetwork: string;
  pgVolume: string;
  bucket: string;
  services: { postgres: string; web: string; backend: string; worker: string; gateway: string; backup: string };
  /** Postgres database and role (per-tenant server: constant-ish; managed server: unique per tenant). */
  database: string;
  dbUser: string;
  /** Traefik router and service name. */
  router: string;
  /** Prefix of Swarm secret and config names (a content hash is appended). */
  secretPrefix: string;
  /** Pulumi logical-name prefix: every URN of the tenant carries it. */
  logical: string;
}

export function tenantNames(tenant: string): TenantNames {
  const snake = tenant.replace(/-/g, "_");
  const stack = `kestra_${tenant}`;
  return {
    tenant,
    stack,
    privateNetwork: `net_${tenant}_private`,
    pgVolume: `pg_${tenant}_data`,
    bucket: `${TENANT_BUCKET_PREFIX}${tenant}`,
    services: {
      postgres: `${stack}_postgres`,
      web: `${stack}_kestra`,
      backend: `${stack}_executor`,
      worker: `${stack}_worker`,
      gateway: `${stack}_gateway`,
      backup: `${stack}_backup`,
    },
    database: `kestra_${snake}`,
    dbUser: `kestra_${snake}`,
    router: `kestra-${tenant}`,
    secretPrefix: stack,
    logical: tenant,
  };
}

/**
 * Pulumi logical name of a volume local to `node` (`acme-pg18-volume@swarm-node-1`): the node is part
 * of the volume's identity (its URN). A local volume does not follow its service to another node, so
 * a node change must never read as the same volume: it reads as a new volume on the new node plus the
 * delete of the protected volume on the old one, which the engine refuses (the preview fails, nothing
 * is changed) until an operator moves the data deliberately (README: Moving a volume to another node).
 */
export function nodeLocalName(base: string, node: string): string {
  return `${base}@${node}`;
}

/**
 * Pulumi logical name of a tenant's Postgres data volume (`acme-pg18-volume@swarm-node-1`): the
 * Postgres major of `images.postgres` and the data node are both part of its identity. A new major
 * cannot read the old data directory, so a major change by the image tag alone reads as a new volume
 * plus the delete of the protected old one, which the engine refuses in preview before anything
 * changes (docs/operations.md: Upgrading Postgres across a major version). A minor change keeps it.
 * A name rather than a volume label: Docker returns an existing same-named local volume without
 * updating its labels, so a label would diff forever after a deliberate upgrade.
 */
export function pgVolumeLogicalName(tenant: string, postgresMajor: number, node: string): string {
  return nodeLocalName(`${tenant}-pg${postgresMajor}-volume`, node);
}

/** Host name of a tenant from the stack's pattern, e.g. `{tenant}-kestra.example.com`. */
export function tenantHost(pattern: string, tenant: string): string {
  return pattern.split("{tenant}").join(tenant);
}

/** Full public URL with the trailing slash Kestra wants in `kestra.url`. */
export function tenantUrl(pattern: string, tenant: string): string {
  return `https://${tenantHost(pattern, tenant)}/`;
}

/**
 * What forces the replacement of a Swarm secret or config: every one of its inputs (`data`, `labels`;
 * the name is derived from these). A labels-only change must give a new name too, or Docker refuses
 * the replacement (created before the old object is deleted) with a name conflict.
 */
export interface SwarmObjectInputs {
  /** The object's content, before base64. */
  data: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * HMAC-SHA256, keyed by the stack's object-name key, over a canonical form of the inputs (labels
 * sorted by key, so their order does not matter). Keyed, so a name reveals nothing about the content:
 * an unkeyed hash of a human-chosen value (an SMTP password, an SSH passphrase) shown in a PR comment,
 * `docker secret ls` or a socket proxy would confirm a guess of it. The key is the stack's
 * `swarm-object-name-key` (infra/program.ts): stable in the state, so unchanged inputs keep their name.
 */
export function swarmObjectHash(inputs: SwarmObjectInputs, key: string): string {
  const labels = Object.keys(inputs.labels)
    .sort()
    .map((k) => [k, inputs.labels[k]]);
  return createHmac("sha256", key).update(JSON.stringify({ data: inputs.data, labels })).digest("hex");
}

/**
 * Name of a Swarm secret or config: a prefix plus the first 12 hex digits of the hash of every input
 * that forces its replacement (content and labels), so a changed object gets a new name (the old one
 * stays while services still use it) and an unchanged one keeps its name.
 */
export function contentName(prefix: string, purpose: string, inputs: SwarmObjectInputs, key: string): string {
  return `${prefix}_${purpose}_${swarmObjectHash(inputs, key).slice(0, 12)}`;
}

/** Names reserved for the platform: never tenant names. */
export const RESERVED_TENANT_NAMES = [
  "admin", "api", "www", "traefik", "minio", "s3", "kestra", "proxy", "infra",
  "platform", "storage", "public", "dashboard", "mail", "status", "auth", "sso", "grafana",
] as const;

/**
 * Cloudflare's limits (developers.cloudflare.com/cloudflare-one/account-limits): 500 Access
 * applications and 50 service tokens per account. `includesPerPolicy`: the page documents no number
 * of include rules per reusable policy; it documents 1,000 rules per Access rule group (the same
 * include/exclude/require structure) and 1,000 email addresses per rule. Each identity of a tenant
 * (and of the platform admins) is one include rule of the tenant's allow policy, so the policy is
 * held to 1,000 include rules in all, the documented bound of its closest relative.
 */
export const CLOUDFLARE_LIMITS = { accessApplications: 500, serviceTokens: 50, includesPerPolicy: 1000 } as const;
