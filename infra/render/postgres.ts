/** Postgres container details that depend on the pinned image. Pure. */
import { imageParts } from "../images";

/**
 * Where the data volume is mounted. Postgres 18+ images keep data under
 * /var/lib/postgresql/<major>/docker and expect the volume at /var/lib/postgresql; older ones
 * use /var/lib/postgresql/data.
 */
export function postgresDataTarget(image: string): string {
  const tag = imageParts(image)?.tag ?? "";
  const major = Number(/^([0-9]+)/.exec(tag)?.[1] ?? "18");
  return major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
}

export function postgresHealthcheck(user: string, database: string) {
  return {
    // -h 127.0.0.1: without it pg_isready answers through the socket during initdb and passes too early.
    tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database],
    interval: "10s",
    timeout: "5s",
    retries: 6,
    startPeriod: "60s",
  };
}
