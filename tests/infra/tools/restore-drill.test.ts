/**
 * The restore drill on a real PostgreSQL (Debian's postgresql package, installed when missing):
 * Kestra-shaped tables are dumped with exactly the backup's pg_dump flags, restored with exactly
 * the procedure's pg_restore flags into a fresh database after the procedure's emptiness check,
 * and compared table by table (row count and checksum).
 */
import { execFile, spawnSync } from "child_process";
import { promisify } from "util";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupCredentialsFile, EMPTY_CHECK_SQL, PG_DUMP_ARGS, PG_RESTORE_ARGS, renderBackupScript } from "../../../infra/render/backup";
import { tmpDir } from "../../files";

const INSTALL = "apt-get update && apt-get install -y postgresql";

function pgBin(): string {
  const find = () => {
    const base = "/usr/lib/postgresql";
    if (!fs.existsSync(base)) return undefined;
    const v = fs.readdirSync(base).filter((x) => fs.existsSync(path.join(base, x, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a))[0];
    return v ? path.join(base, v, "bin") : undefined;
  };
  let bin = find();
  if (!bin && process.getuid?.() === 0) {
    spawnSync("sh", ["-c", `${INSTALL.replace("apt-get install", "DEBIAN_FRONTEND=noninteractive apt-get install")} -qq`], { stdio: "ignore" });
    bin = find();
  }
  if (!bin) throw new Error(`PostgreSQL server is missing: run \`${INSTALL}\``);
  return bin;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

let bin: string;
let dir: string;
let port: number;
/**
 * Runs a command (as `postgres` when root) asynchronously: synchronous child processes would block
 * the test worker's event loop, and on a loaded machine vitest's worker RPC times out.
 */
const run = async (cmd: string, args: string[], input?: string): Promise<string> => {
  const p = promisify(execFile)(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) {
    p.child.stdin!.write(input);
    p.child.stdin!.end();
  }
  return (await p).stdout;
};
const asPostgres = (cmd: string, args: string[], input?: string) =>
  process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", cmd, ...args], input) : run(cmd, args, input);
const conn = (db: string) => ["-h", dir, "-p", String(port), "-U", "postgres", "-d", db];
const psql = async (db: string, sql: string) => (await asPostgres(path.join(bin, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", ...conn(db), "-c", sql])).trim();

beforeAll(async () => {
  bin = pgBin();
  dir = tmpDir("kf-pg-");
  fs.chmodSync(dir, 0o777);
  if (process.getuid?.() === 0) await run("chown", ["postgres", dir]);
  port = await freePort();
  await asPostgres(path.join(bin, "initdb"), ["-D", path.join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  await asPostgres(path.join(bin, "pg_ctl"), ["-D", path.join(dir, "data"), "-l", path.join(dir, "log"), "-w", "-o", `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=off`, "start"]);
}, 120_000);

afterAll(async () => {
  if (dir && fs.existsSync(path.join(dir, "data", "postmaster.pid"))) await asPostgres(path.join(bin, "pg_ctl"), ["-D", path.join(dir, "data"), "-m", "fast", "-w", "stop"]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Tables shaped like Kestra's JDBC schema: a jsonb `value` plus generated/indexed columns. */
const KESTRA_SCHEMA = `
CREATE TYPE queue_type AS ENUM ('io.kestra.core.models.executions.Execution', 'io.kestra.core.models.flows.FlowInterface', 'io.kestra.core.models.executions.LogEntry');
CREATE TABLE queues (offset_id BIGSERIAL PRIMARY KEY, type queue_type NOT NULL, key VARCHAR(250) NOT NULL, value JSONB NOT NULL, updated TIMESTAMPTZ NOT NULL DEFAULT now(), consumer_indexer BOOLEAN DEFAULT FALSE, consumer_executor BOOLEAN DEFAULT FALSE);
CREATE INDEX queues_type__offset ON queues (type, offset_id);
CREATE TABLE flows (key VARCHAR(250) PRIMARY KEY, value JSONB NOT NULL, deleted BOOLEAN GENERATED ALWAYS AS (CAST(value ->> 'deleted' AS BOOLEAN)) STORED, id VARCHAR(100) GENERATED ALWAYS AS (value ->> 'id') STORED, namespace VARCHAR(150) GENERATED ALWAYS AS (value ->> 'namespace') STORED, revision INTEGER GENERATED ALWAYS AS (CAST(value ->> 'revision' AS INTEGER)) STORED, source_code TEXT NOT NULL);
CREATE INDEX flows_namespace ON flows (deleted, namespace);
CREATE TABLE executions (key VARCHAR(250) PRIMARY KEY, value JSONB NOT NULL, deleted BOOLEAN GENERATED ALWAYS AS (CAST(value ->> 'deleted' AS BOOLEAN)) STORED, namespace VARCHAR(150) GENERATED ALWAYS AS (value ->> 'namespace') STORED, flow_id VARCHAR(150) GENERATED ALWAYS AS (value ->> 'flowId') STORED, state_current VARCHAR(50) GENERATED ALWAYS AS (value #>> '{state,current}') STORED, start_date TIMESTAMPTZ);
CREATE INDEX executions_namespace ON executions (deleted, namespace, flow_id);
CREATE TABLE logs (key VARCHAR(30) PRIMARY KEY, value JSONB NOT NULL, execution_id VARCHAR(150) GENERATED ALWAYS AS (value ->> 'executionId') STORED, level VARCHAR(10) GENERATED ALWAYS AS (value ->> 'level') STORED, message TEXT GENERATED ALWAYS AS (value ->> 'message') STORED, timestamp TIMESTAMPTZ NOT NULL);
CREATE INDEX logs_execution_id ON logs (execution_id);
INSERT INTO flows (key, value, source_code)
  SELECT 'company.team_f' || i || '_1', jsonb_build_object('id', 'f' || i, 'namespace', 'company.team', 'revision', 1, 'deleted', false, 'tasks', jsonb_build_array(jsonb_build_object('id', 'hello', 'type', 'io.kestra.plugin.core.log.Log', 'message', 'héllo ✓ ' || i))), 'id: f' || i || E'\\nnamespace: company.team\\n'
  FROM generate_series(1, 50) i;
INSERT INTO executions (key, value, start_date)
  SELECT 'exec' || i, jsonb_build_object('id', 'exec' || i, 'namespace', 'company.team', 'flowId', 'f' || (i % 50 + 1), 'deleted', false, 'state', jsonb_build_object('current', CASE WHEN i % 7 = 0 THEN 'FAILED' ELSE 'SUCCESS' END)), timestamptz '2026-11-01 00:00:00+00' + i * interval '1 minute'
  FROM generate_series(1, 2000) i;
INSERT INTO logs (key, value, timestamp)
  SELECT 'log' || i, jsonb_build_object('executionId', 'exec' || (i % 2000 + 1), 'level', 'INFO', 'message', repeat('line ' || i || ' ', 5)), timestamptz '2026-11-01 00:00:00+00' + i * interval '1 second'
  FROM generate_series(1, 10000) i;
INSERT INTO queues (type, key, value)
  SELECT 'io.kestra.core.models.executions.Execution', 'exec' || i, jsonb_build_object('id', 'exec' || i) FROM generate_series(1, 3000) i;
`;

const TABLES = ["executions", "flows", "logs", "queues"];
/** Row count and a checksum over every row's text (ordered by the whole row). */
const fingerprint = async (db: string) => {
  const out: Record<string, string> = {};
  for (const t of TABLES) out[t] = await psql(db, `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM ${t} x`);
  return out;
};

describe("restore drill (real PostgreSQL)", () => {
  it("dump with the backup's flags, refuse a non-empty target, restore with the procedure's flags, compare every table", async () => {
    await psql("postgres", "CREATE DATABASE kestra_drill");
    await asPostgres(path.join(bin, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...conn("kestra_drill")], KESTRA_SCHEMA);
    const before = await fingerprint("kestra_drill");
    expect(before.logs.startsWith("10000:")).toBe(true);

    const dump = path.join(dir, "drill-20261123T060000Z.pgdump");
    await asPostgres(path.join(bin, "pg_dump"), [...PG_DUMP_ARGS, ...conn("kestra_drill"), `--file=${dump}`]);
    expect(await asPostgres(path.join(bin, "pg_restore"), ["--list", dump])).toContain("TABLE DATA public logs");

    // The procedure's check refuses the non-empty source database...
    expect(Number(await psql("kestra_drill", EMPTY_CHECK_SQL))).toBe(4);
    // ...and accepts a fresh one.
    await psql("postgres", "CREATE DATABASE kestra_restored");
    expect(await psql("kestra_restored", EMPTY_CHECK_SQL)).toBe("0");
    await asPostgres(path.join(bin, "pg_restore"), [...PG_RESTORE_ARGS, ...conn("kestra_restored"), dump]);
    expect(await fingerprint("kestra_restored")).toEqual(before);
    expect(await psql("kestra_restored", "SELECT count(*) FROM executions WHERE state_current = 'FAILED'")).toBe(String(Math.floor(2000 / 7)));

    // A restore into a non-empty database fails as a whole (single transaction) and changes nothing.
    await expect(asPostgres(path.join(bin, "pg_restore"), [...PG_RESTORE_ARGS, ...conn("kestra_restored"), dump])).rejects.toThrow();
    expect(await fingerprint("kestra_restored")).toEqual(before);
  }, 60_000);
});

describe("the backup script against the real PostgreSQL (mc stubbed by a local copy)", () => {
  const setup = (pgDumpVersion?: string) => {
    const work = tmpDir("kf-script-");
    const s3 = path.join(work, "s3");
    const stubs = path.join(work, "bin");
    fs.mkdirSync(s3);
    fs.mkdirSync(stubs);
    // mc: `alias set` succeeds only with the keys of the credentials file (read from its two lines),
    // `cp SRC ALIAS/BUCKET/KEY` copies into the fake object store.
    fs.writeFileSync(path.join(stubs, "mc"), `#!/bin/sh\nset -eu\nif [ "$1" = alias ]; then [ "$5 $6" = "AKDRILL SKDRILL" ] || exit 4; exit 0; fi\nif [ "$1" = cp ]; then shift; [ "$1" = --quiet ] && shift; mkdir -p "$(dirname "${s3}/$2")"; cp "$1" "${s3}/$2"; exit 0; fi\nexit 3\n`, { mode: 0o755 });
    if (pgDumpVersion) fs.writeFileSync(path.join(stubs, "pg_dump"), `#!/bin/sh\necho "pg_dump (PostgreSQL) ${pgDumpVersion}"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(work, "pw"), "x\n");
    fs.writeFileSync(path.join(work, "creds"), backupCredentialsFile("AKDRILL", "SKDRILL"));
    const state = path.join(work, "state");
    const script = path.join(work, "backup.sh");
    fs.writeFileSync(script, renderBackupScript().replace(/^STATE_DIR=.*$/m, `STATE_DIR=${state}`));
    const env = {
      PATH: `${stubs}:${bin}:${process.env.PATH}`,
      PGHOST: dir, PGPORT: String(port), PGUSER: "postgres", PGDATABASE: "kestra_drill", PGSSLMODE: "disable",
      PGPASSWORD_FILE: path.join(work, "pw"), BACKUP_TENANT: "drill", BACKUP_INTERVAL_SECONDS: "3600",
      S3_ENDPOINT: "https://backup.example.net", S3_BUCKET: "kf-backups", S3_PREFIX: "postgres/drill/",
      S3_CREDENTIALS_FILE: path.join(work, "creds"),
    };
    const script_ = (mode: string) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile("sh", [script, mode], { env, encoding: "utf8" }, (err, stdout, stderr) => resolve({ status: err ? ((err as any).code ?? 1) : 0, stdout, stderr }));
      });
    return { s3, state, backup: script_ };
  };

  it("`once` dumps with the backup flags, verifies, uploads postgres/<t>/<t>-<UTC>.pgdump and records the success", async () => {
    const { s3, state, backup } = setup();
    const r = await backup("once");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const dumps = fs.readdirSync(path.join(s3, "backup", "kf-backups", "postgres", "drill"));
    expect(dumps).toHaveLength(1);
    expect(dumps[0]).toMatch(/^drill-\d{8}T\d{6}Z\.pgdump$/);
    expect(fs.readdirSync(state).filter((f) => f.endsWith(".pgdump"))).toEqual([]); // the local copy is gone
    expect((await backup("health")).status).toBe(0);
    // The uploaded dump restores to the same data.
    await psql("postgres", "CREATE DATABASE kestra_from_script");
    // As the test's own user (the dump sits in its private temp dir); trust auth lets it act as postgres.
    await run(path.join(bin, "pg_restore"), [...PG_RESTORE_ARGS, ...conn("kestra_from_script"), path.join(s3, "backup", "kf-backups", "postgres", "drill", dumps[0])]);
    expect(await fingerprint("kestra_from_script")).toEqual(await fingerprint("kestra_drill"));
  }, 60_000);

  it("refuses a pg_dump of another major and uploads nothing", async () => {
    const { s3, state, backup } = setup("99.1");
    const r = await backup("once");
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("does not match the server's major version");
    expect(fs.existsSync(path.join(s3, "backup"))).toBe(false);
    expect(fs.existsSync(path.join(state, "last-success"))).toBe(false);
  });
});
