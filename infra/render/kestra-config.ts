/**
 * Kestra's application.yml for one tenant: a pure function of the tenant, the stack settings and
 * the generated credentials. Delivered as a Swarm secret (it holds passwords), passed with --config.
 * Keys as Kestra 1.x reads them (see shared/reference/platform-facts.md).
 */
import { stringify } from "yaml";
import type { Settings } from "../config/schema";
import { POSTGRES_ALIAS, WEBHOOK_PATHS, KESTRA_MANAGEMENT_PORT, tenantNames, tenantUrl } from "../naming";
import type { Tenant } from "../tenants/schema";

export interface KestraConfigInput {
  /** `https://<host>/`. */
  url: string;
  database: { host: string; port: number; name: string; username: string; password: string; sslmode?: string };
  /** The `kestra.storage` block, from the storage backend. */
  storage: Record<string, unknown>;
  adminEmail: string;
  adminPassword: string;
  /** base64 of 32 random bytes, identical on every component of the tenant. */
  encryptionKey: string;
  webhooksPublic: boolean;
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
}

/** Everything of a tenant's config that does not come from generated credentials, plus those. */
export function tenantKestraConfigInput(tenant: Tenant, settings: Settings, creds: KestraCredentials): KestraConfigInput {
  return {
    url: tenantUrl(settings.hostPattern, tenant.name),
    database: { ...tenantDatabase(tenant, settings), password: creds.dbPassword },
    storage: creds.storage,
    adminEmail: tenant.kestra.adminEmail,
    adminPassword: creds.adminPassword,
    encryptionKey: creds.encryptionKey,
    webhooksPublic: tenant.access.webhooks === "public",
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
    },
    // Management port: health and metrics only. /env and /loggers (and the other operational
    // endpoints) are switched off, since the port has no authentication.
    endpoints: {
      all: { port: KESTRA_MANAGEMENT_PORT },
      env: { enabled: false },
      loggers: { enabled: false },
      threaddump: { enabled: false },
      beans: { enabled: false },
      routes: { enabled: false },
      refresh: { enabled: false },
      stop: { enabled: false },
      caches: { enabled: false },
    },
  };
}

export function renderKestraConfig(input: KestraConfigInput): string {
  return "# Rendered by kestra-fleet: do not edit. Holds credentials: delivered as a Swarm secret.\n" + stringify(kestraConfigObject(input), { lineWidth: 0 });
}
