/** Resource profiles of a tenant's services by `kestra.size`. CPU in cores, memory in MiB. */
export type Size = "small" | "medium" | "large";

export interface ServiceResources {
  cpuReservation: number;
  cpuLimit: number;
  memoryReservationMiB: number;
  memoryLimitMiB: number;
}

export interface Profile {
  web: ServiceResources;
  backend: ServiceResources;
  worker: ServiceResources;
  postgres: ServiceResources;
  /** Worker threads of the backend's embedded worker and of each dedicated worker. */
  workerThreads: number;
  /** /dev/shm of Postgres. */
  postgresShmMiB: number;
  /**
   * Database connections one Kestra JVM may hold (its HikariCP pool, `datasources.postgres.maximum-pool-size`
   * in the rendered config; 10 is HikariCP's own default). The tenant's connection limit on a managed
   * server follows from it (dbConnectionLimit).
   */
  dbPool: number;
}

const r = (cpuReservation: number, cpuLimit: number, memoryReservationMiB: number, memoryLimitMiB: number): ServiceResources => ({
  cpuReservation,
  cpuLimit,
  memoryReservationMiB,
  memoryLimitMiB,
});

export const PROFILES: Record<Size, Profile> = {
  small: { web: r(0.25, 1, 768, 1024), backend: r(0.5, 2, 1536, 2048), worker: r(0.5, 2, 1536, 2048), postgres: r(0.25, 1, 512, 1024), workerThreads: 4, postgresShmMiB: 256, dbPool: 10 },
  medium: { web: r(0.5, 2, 1536, 2048), backend: r(1, 4, 3072, 4096), worker: r(1, 4, 3072, 4096), postgres: r(0.5, 2, 1024, 2048), workerThreads: 8, postgresShmMiB: 512, dbPool: 10 },
  large: { web: r(1, 2, 2048, 3072), backend: r(2, 8, 6144, 8192), worker: r(2, 8, 6144, 8192), postgres: r(1, 4, 2048, 4096), workerThreads: 16, postgresShmMiB: 1024, dbPool: 10 },
};

/** Connections of a tenant's role beyond Kestra's pools: the backup (psql's version check, pg_dump), a restore's psql, an operator. */
export const DB_CONNECTION_RESERVE = 5;

/**
 * A tenant role's connection limit on a managed Postgres server (`CONNECTION LIMIT`): every Kestra JVM
 * the tenant may run at once with its full pool, plus DB_CONNECTION_RESERVE. JVMs: the web server and
 * the workers update start-first (one extra task of each during a rollout), the backend stop-first.
 * Without it one tenant can take every connection of the shared server.
 */
export function dbConnectionLimit(profile: Profile, workers: number): number {
  const jvms = 2 + 1 + (workers > 0 ? workers + 1 : 0);
  return jvms * profile.dbPool + DB_CONNECTION_RESERVE;
}

/** Platform services. */
export const PLATFORM_RESOURCES = {
  traefik: r(0.25, 1, 128, 512),
  minio: r(0.5, 2, 1024, 2048),
  /** wollomatic/socket-proxy: a small Go binary, a handful of requests every 15 s. */
  socketProxy: r(0.05, 0.25, 16, 64),
  /**
   * A tenant's gateway: socat, one process of about 1 MiB per open connection (Kestra's storage
   * traffic) plus two scrapes every 30 s with monitoring.
   */
  gateway: r(0.05, 0.5, 24, 160),
  prometheus: r(0.25, 2, 512, 2048),
  alertmanager: r(0.05, 0.5, 32, 128),
  nodeExporter: r(0.05, 0.25, 16, 64),
  cadvisor: r(0.1, 0.5, 64, 256),
  grafana: r(0.1, 1, 128, 512),
  blackbox: r(0.05, 0.5, 16, 64),
  /** A tenant's dump service and the bucket mirror: mostly asleep, pg_dump/mc bursts. */
  backup: r(0.05, 1, 64, 512),
};

const MiB = 1024 * 1024;

/** Swarm's units: nano-CPUs and bytes. */
export function swarmResources(res: ServiceResources) {
  return {
    limits: { nanoCpus: Math.round(res.cpuLimit * 1e9), memoryBytes: res.memoryLimitMiB * MiB },
    reservation: { nanoCpus: Math.round(res.cpuReservation * 1e9), memoryBytes: res.memoryReservationMiB * MiB },
  };
}

/**
 * JVM options bounding the heap to 70% of the container's memory limit, leaving room for
 * metaspace, threads and direct buffers.
 */
export function javaOpts(res: ServiceResources): string {
  const heap = Math.floor(res.memoryLimitMiB * 0.7);
  return `-Xmx${heap}m -XX:+ExitOnOutOfMemoryError`;
}
