/**
 * Backups: the program's backup service, its script unchanged, dumps a tenant's Postgres and
 * uploads the dump; the dump restores with the restore procedure's flags; the service serves its
 * metrics.
 */
import * as fs from "fs";
import * as path from "path";
import { BACKUP_METRICS_PORT } from "../infra/model/naming";
import type { Plan } from "../infra/plan/run";
import { BACKUP_METRICS_PATH, BACKUP_SCRIPT_PATH, EMPTY_CHECK_SQL, PG_RESTORE_ARGS } from "../infra/render/backup";
import { type Suite, WORK } from "./context";
import type { Docker } from "./docker";
import { tenantServiceOf } from "./plan";
import { check } from "./report";
import { containersOf, psql } from "./swarm";

/** Tables of the current database with their row count and an md5 of their rows in a fixed order. */
const TABLE_SUMS_SQL =
  "SELECT format('%I.%I %s %s', n.nspname, c.relname, " +
  "(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text, " +
  "(xpath('/row/m/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), chr(32))) AS m FROM %I.%I t', n.nspname, c.relname), false, true, '')))[1]::text) " +
  "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
  "WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1";

/** Where the mc stand-in keeps what the backup script uploads (inside the backup container). */
const STANDIN_S3_ROOT = "/var/lib/kestra-fleet-e2e-s3";

/**
 * Restore drill with the real backup service: the program's script in its `once` mode dumps and
 * uploads (through the mc stand-in); the suite fetches the uploaded dump, restores it with the
 * restore procedure's flags into a fresh database on the tenant's Postgres (after the procedure's
 * emptiness check), and compares every table's row count and checksum with the source.
 */
async function restoreDrill(d: Docker, backupService: string, tenant: string, pg: Plan["resources"][number]): Promise<void> {
  const env = (pg.inputs.taskSpec as any).containerSpec.env as Record<string, string>;
  const user = env.POSTGRES_USER;
  const pgc = containersOf(d, String(pg.inputs.name))[0];
  const bc = containersOf(d, backupService)[0];
  const problems: string[] = [];
  const source = psql(d, pgc, user, env.POSTGRES_DB, TABLE_SUMS_SQL).out.trim();
  const once = await d.runAsync(["exec", bc, "/bin/sh", BACKUP_SCRIPT_PATH, "once"]);
  const uploaded = /uploaded (\S+\.pgdump)/.exec(once.out)?.[1];
  if (once.code !== 0 || !uploaded) problems.push(`${backupService}: '${BACKUP_SCRIPT_PATH} once' exited ${once.code}: ${(once.out + once.err).trim().split("\n").slice(-3).join(" / ")}`);
  const stored = uploaded ? d.run(["exec", bc, "find", STANDIN_S3_ROOT, "-type", "f", "-path", `*/${uploaded}`]).out.trim().split("\n").filter(Boolean) : [];
  if (uploaded && stored.length !== 1) problems.push(`${uploaded} found ${stored.length} times in the mc stand-in's store, not once`);
  const dumpFile = path.join(WORK, `${tenant}.pgdump`);
  if (stored.length === 1) {
    const db = "kestra_fleet_e2e_restore";
    const cp = d.run(["cp", `${bc}:${stored[0]}`, dumpFile]);
    psql(d, pgc, user, env.POSTGRES_DB, `DROP DATABASE IF EXISTS ${db}`);
    const created = psql(d, pgc, user, env.POSTGRES_DB, `CREATE DATABASE ${db} OWNER "${user}"`);
    const empty = psql(d, pgc, user, db, EMPTY_CHECK_SQL).out.trim();
    if (cp.code !== 0) problems.push(`docker cp of the dump: ${cp.err.trim()}`);
    else if (created.code !== 0 || empty !== "0") problems.push(`fresh database: ${created.err.trim()} (user tables: ${empty})`);
    else {
      const r = d.run(["exec", "-i", pgc, "pg_restore", ...PG_RESTORE_ARGS, "-U", user, "-d", db], fs.readFileSync(dumpFile));
      if (r.code !== 0) problems.push(`pg_restore ${PG_RESTORE_ARGS.join(" ")}: ${r.err.trim()}`);
      const restored = psql(d, pgc, user, db, TABLE_SUMS_SQL).out.trim();
      // A Kestra stand-in that restarted meanwhile adds a row: the source is read again after.
      const after = psql(d, pgc, user, env.POSTGRES_DB, TABLE_SUMS_SQL).out.trim();
      if (!/kestra_fleet_e2e_contract [1-9]/.test(source)) problems.push(`no rows of the Kestra stand-in in the source: ${source || "no tables"}`);
      if (restored !== source && restored !== after) problems.push(`restored [${restored.replace(/\n/g, "; ")}] differs from the source [${source.replace(/\n/g, "; ")}]`);
    }
    psql(d, pgc, user, env.POSTGRES_DB, `DROP DATABASE IF EXISTS ${db}`);
    fs.rmSync(dumpFile, { force: true });
  }
  check(
    `${tenant}: the backup service's dump (${uploaded ?? "none"}) restores with the procedure's flags (${PG_RESTORE_ARGS.join(" ")}) into a fresh database: same tables, row counts, checksums`,
    !problems.length,
    problems.length ? problems.join("; ") : source.replace(/\n/g, "; "),
  );
  // The same task serves its metrics (busybox httpd) with the dump just taken as its last success.
  const metrics = d.run(["exec", bc, "curl", "-fsS", "--max-time", "5", `http://127.0.0.1:${BACKUP_METRICS_PORT}${BACKUP_METRICS_PATH}`]);
  const last = Number(new RegExp(`^kestra_fleet_backup_last_success_timestamp_seconds\\{tenant="${tenant}"\\} (\\d+)$`, "m").exec(metrics.out)?.[1]);
  check(
    `${tenant}: the backup service serves kestra_fleet_backup_* on :${BACKUP_METRICS_PORT}${BACKUP_METRICS_PATH}, the last success within the last 10 minutes`,
    metrics.code === 0 && Date.now() / 1000 - last < 600,
    metrics.code === 0 ? metrics.out.split("\n").filter((l) => l && !l.startsWith("#")).join("; ") : metrics.err.trim(),
  );
}

/** The restore drill of every tenant (see restoreDrill). */
export async function backupChecks(s: Suite): Promise<void> {
  for (const t of s.tenantStacks) {
    const b = s.stacks.get(t)!.find((x) => x.role === "backup");
    if (!b) check(`${t}: deploys a backup service`, false);
    else await restoreDrill(s.d, b.name, b.tenant!, tenantServiceOf(s.plan, b.tenant!, "postgres")!);
  }
}
