/**
 * Kestra's application.yml for one tenant: a pure function of the tenant, the stack settings and
 * the generated credentials. Delivered as a Swarm secret (it holds passwords), passed with --config.
 * Keys as Kestra 1.x reads them (see shared/reference/platform-facts.md).
 */
import { stringify } from "yaml";
import type { Settings } from "../input/config/schema";
import { POSTGRES_ALIAS, WEBHOOK_PATHS, KESTRA_MANAGEMENT_PORT, tenantNames, tenantUrl } from "../model/naming";
import { PROFILES } from "../model/profiles";
import type { Tenant } from "../input/tenants/schema";

export interface KestraConfigInput {
  /** `https://<host>/`. */
  url: string;
  database: { host: string; port: number; name: string; username: string; password: string; sslmode?: string };
  /** HikariCP's pool size of each Kestra JVM (the profile's dbPool): the managed role's connection limit counts on it. */
  dbPool: number;
  /** The `kestra.storage` block, from the storage backend. */
  storage: Record<string, unknown>;
  adminEmail: string;
  adminPassword: string;
  /** base64 of 32 random bytes, identical on every component of the tenant. */
  encryptionKey: string;
  webhooksPublic: boolean;
  /** The monitoring stack's scrape credential: management endpoints then need it (see managementEndpoints). */
  managementAuth?: { username: string; password: string };
}

export function jdbcUrl(db: KestraConfigInput["database"]): string {
  const query = db.sslmode ? `?sslmode=${db.sslmode}` : "";
  return `jdbc:postgresql://${db.host}:${db.port}/${db.name}${query}`;
}

export type DatabaseLocation = Omit<KestraConfigInput["database"], "password">;

/**
 * Where a tenant's Kestra finds its database: its container Postgres through the hyphen-free alias,
 * or its database on the stack's managed server.
 */
export function tenantDatabase(tenant: Tenant, settings: Settings): DatabaseLocation {
  const n = tenantNames(tenant.name);
  const m = settings.managedPostgres;
  if (tenant.postgres.mode === "managed") {
    if (!m) throw new Error(`tenant ${tenant.name}: managed Postgres needs managedPostgres in the stack config`);
    return { host: m.host, port: m.port, name: n.database, username: n.dbUser, sslmode: m.sslmode };
  }
  return { host: POSTGRES_ALIAS, port: 5432, name: n.database, username: n.dbUser };
}

/** The generated credentials a tenant's Kestra config holds. */
export interface KestraCredentials {
  dbPassword: string;
  adminPassword: string;
  encryptionKey: string;
  /** The `kestra.storage` block, with the tenant's scoped key. */
  storage: Record<string, unknown>;
  /** The monitoring stack's scrape credential, when monitoring is on. */
  managementAuth?: { username: string; password: string };
}

/** Everything of a tenant's config that does not come from generated credentials, plus those. */
export function tenantKestraConfigInput(tenant: Tenant, settings: Settings, creds: KestraCredentials): KestraConfigInput {
  return {
    url: tenantUrl(settings.hostPattern, tenant.name),
    database: { ...tenantDatabase(tenant, settings), password: creds.dbPassword },
    dbPool: PROFILES[tenant.kestra.size].dbPool,
    storage: creds.storage,
    adminEmail: tenant.kestra.adminEmail,
    adminPassword: creds.adminPassword,
    encryptionKey: creds.encryptionKey,
    webhooksPublic: tenant.access.webhooks === "public",
    ...(creds.managementAuth ? { managementAuth: creds.managementAuth } : {}),
  };
}

/**
 * Script tasks (`io.kestra.plugin.scripts.*`: Python, Shell, Node, …) default to the Docker task
 * runner, and Kestra's containers have no Docker socket (and must never get one: it is root on the
 * node). A global plugin default makes them run as processes inside the worker's container instead.
 * Read in kestra-io/kestra:
 * - `kestra.plugins.defaults` is a list of PluginDefault { type, values, forced (default false) }
 *   (core/.../services/PluginGlobalDefaultConfiguration.java, `@ConfigurationProperties("kestra.plugins")`;
 *   core/.../models/flows/PluginDefault.java);
 * - PluginDefaultService.defaults() applies a default to every map in the flow whose `type` equals the
 *   default's type or starts with it (`pluginType.startsWith(e.getKey())`), so the package prefix covers
 *   every script task; non-forced values only fill properties the task does not set, and the result is
 *   parsed with the non-strict mapper (YamlParser, FAIL_ON_UNKNOWN_PROPERTIES false), so tasks of the
 *   package without a `taskRunner` property (the Eval tasks) and the Docker runner's own map ignore it;
 * - validateDefault() skips a type that is not a plugin class (a prefix), so the default is accepted.
 * Not forced: a flow that names a task runner explicitly keeps it (and a Docker runner fails visibly).
 */
export const SCRIPT_TASK_PREFIX = "io.kestra.plugin.scripts";
export const PROCESS_TASK_RUNNER = "io.kestra.plugin.core.runner.Process";
export const PLUGIN_DEFAULTS = [{ type: SCRIPT_TASK_PREFIX, forced: false, values: { taskRunner: { type: PROCESS_TASK_RUNNER } } }] as const;

/**
 * Management port (8081) endpoints. Kestra's own application.yml sets `endpoints.all.sensitive: false`:
 * every endpoint, `metrics`, `prometheus` and `info` included, answers anonymously. Here every endpoint
 * is sensitive except `health` (the container health check curls /health without credentials).
 * Micronaut's management EndpointsFilter answers 401 to every request for a sensitive endpoint when no
 * EndpointSensitivityHandler bean exists (micronaut-security's), which is the case in Kestra OSS.
 * Kestra's optional `endpoints.all.basic-auth` (core/.../endpoints/BasicAuthEndpointsFilter.java) is not
 * used: it covers every @Endpoint, `health` included, which the health check could then not reach.
 * The endpoints that expose configuration or change state are also switched off altogether.
 *
 * With monitoring on, Prometheus must read `prometheus`: then Kestra's `endpoints.all.basic-auth`
 * (username, password; BasicAuthEndpointsFilter, `@Requires(property = "endpoints.all.basic-auth")`)
 * answers 401 to any request for an @Endpoint without those credentials, `health` included, and the
 * endpoints are left non-sensitive (as Kestra's own test of the filter does: Micronaut's sensitivity
 * check would otherwise refuse them before the credentials count). The health check then reads the
 * credential from a secret file (infra/render/monitoring.ts kestraHealthcheck).
 */
export function managementEndpoints(auth?: { username: string; password: string }): Record<string, unknown> {
  const access = auth
    ? { all: { port: KESTRA_MANAGEMENT_PORT, sensitive: false, "basic-auth": { username: auth.username, password: auth.password } } }
    : { all: { port: KESTRA_MANAGEMENT_PORT, sensitive: true }, health: { sensitive: false } };
  return {
    ...access,
    env: { enabled: false },
    loggers: { enabled: false },
    threaddump: { enabled: false },
    beans: { enabled: false },
    routes: { enabled: false },
    refresh: { enabled: false },
    stop: { enabled: false },
    caches: { enabled: false },
  };
}

export function kestraConfigObject(input: KestraConfigInput): Record<string, unknown> {
  const basicAuth: Record<string, unknown> = { username: input.adminEmail, password: input.adminPassword };
  if (input.webhooksPublic) basicAuth["open-urls"] = [...WEBHOOK_PATHS];
  return {
    datasources: {
      postgres: {
        url: jdbcUrl(input.database),
        "driver-class-name": "org.postgresql.Driver",
        username: input.database.username,
        password: input.database.password,
        "maximum-pool-size": input.dbPool,
      },
    },
    kestra: {
      url: input.url,
      repository: { type: "postgres" },
      queue: { type: "postgres" },
      storage: input.storage,
      encryption: { "secret-key": input.encryptionKey },
      server: {
        "basic-auth": basicAuth,
        "termination-grace-period": "5m",
      },
      "tutorial-flows": { enabled: false },
      "anonymous-usage-report": { enabled: false },
      plugins: { defaults: PLUGIN_DEFAULTS.map((d) => ({ ...d, values: structuredClone(d.values) })) },
    },
    endpoints: managementEndpoints(input.managementAuth),
  };
}

export function renderKestraConfig(input: KestraConfigInput): string {
  return "# Rendered by kestra-fleet: do not edit. Holds credentials: delivered as a Swarm secret.\n" + stringify(kestraConfigObject(input), { lineWidth: 0 });
}
