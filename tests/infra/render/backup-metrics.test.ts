/**
 * The backup script's metrics, run for real: the rendered script in its `dump` mode with the e2e
 * `mc` stand-in (a local object store) and stubbed Postgres tools, served by busybox httpd (Debian's
 * busybox, installed when missing; alpine's busybox-extras in the image) and fetched over HTTP. Then the
 * backup alerts on the scenarios around a task restart (`promtool test rules`).
 */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { BACKUP_METRICS, BACKUP_METRICS_PATH, backupMetricName, backupPrefixes, dumpName, renderBackupScript } from "../../../infra/render/backup";
import { tmpDir } from "../../files";
import { requireTool } from "../../tools";
import { freePort, promtoolRuleTest, type RuleEval } from "./promtool";

const MC_STANDIN = path.join(__dirname, "../../../e2e/standins/mc");
const INTERVAL = 3600;
/** The dump prefix of tenant acme in the backup bucket (the program's layout). */
const PREFIX = backupPrefixes("staging", "acme").postgres;

let promtool = "";
beforeAll(() => {
  requireTool("busybox", "busybox");
  promtool = requireTool("promtool", "prometheus");
}, 320_000);


const running: ChildProcess[] = [];
afterEach(() => {
  // The script and its httpd share a process group of their own (detached): end exactly that group.
  for (const p of running.splice(0)) if (p.pid) try { process.kill(-p.pid, "SIGTERM"); } catch { /* already gone */ }
});

interface Setup {
  /** Dumps already in the bucket (names), with their files' contents. */
  bucket?: string[];
  /** The database answers (dumps succeed) or not (psql fails). */
  database: boolean;
  /** `mc ls` fails (the bucket cannot be listed). */
  listFails?: boolean;
}

/** Starts `sh backup.sh dump` with BACKUP_METRICS_PORT; returns how to fetch its metrics. */
async function start(s: Setup) {
  const work = tmpDir("kf-bkm-");
  const bin = path.join(work, "bin");
  const s3 = path.join(work, "s3");
  fs.mkdirSync(bin);
  const prefixDir = path.join(s3, "backup.example.net:9000", "kf-backups", PREFIX);
  fs.mkdirSync(prefixDir, { recursive: true });
  for (const n of s.bucket ?? []) fs.writeFileSync(path.join(prefixDir, n), "old dump");
  fs.writeFileSync(
    path.join(bin, "mc"),
    `#!/bin/sh\n${s.listFails ? 'if [ "$1" = ls ]; then echo "mc: <ERROR> Unable to list" >&2; exit 1; fi\n' : ""}exec sh ${MC_STANDIN} "$@"\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(bin, "psql"), s.database ? "#!/bin/sh\necho 180001\n" : "#!/bin/sh\necho 'psql: error: connection refused' >&2\nexit 2\n", { mode: 0o755 });
  fs.writeFileSync(
    path.join(bin, "pg_dump"),
    '#!/bin/sh\nif [ "$1" = --version ]; then echo "pg_dump (PostgreSQL) 18.1"; exit 0; fi\nfor a; do case "$a" in --file=*) printf "PGDMP0123456789" >"${a#--file=}";; esac; done\n',
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(bin, "pg_restore"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  for (const f of ["pw", "ak", "sk"]) fs.writeFileSync(path.join(work, f), "x\n");
  const state = path.join(work, "state");
  const script = path.join(work, "backup.sh");
  fs.writeFileSync(script, renderBackupScript().split("/tmp/kestra-fleet-backup").join(state));
  const port = await freePort();
  const env = {
    PATH: `${bin}:${process.env.PATH}`,
    E2E_S3_ROOT: s3,
    PGPASSWORD_FILE: path.join(work, "pw"),
    BACKUP_TENANT: "acme",
    BACKUP_INTERVAL_SECONDS: String(INTERVAL),
    BACKUP_METRICS_PORT: String(port),
    S3_ENDPOINT: "https://backup.example.net:9000",
    S3_BUCKET: "kf-backups",
    S3_PREFIX: PREFIX,
    S3_ACCESS_KEY_FILE: path.join(work, "ak"),
    S3_SECRET_KEY_FILE: path.join(work, "sk"),
  };
  let log = "";
  const p = spawn("sh", [script, "dump"], { env, detached: true });
  p.stdout.on("data", (b) => (log += b));
  p.stderr.on("data", (b) => (log += b));
  running.push(p);
  const url = `http://127.0.0.1:${port}${BACKUP_METRICS_PATH}`;
  /** Polls until the served metrics show the first attempt's outcome. */
  const metrics = async (): Promise<{ text: string; type: string | null; values: Record<string, number> }> => {
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(url);
        const text = await r.text();
        if (r.ok && /consecutive_failures\{/.test(text)) {
          const values: Record<string, number> = {};
          for (const m of text.matchAll(/^kestra_fleet_backup_(\w+)\{tenant="acme"\} (\S+)$/gm)) values[m[1]] = Number(m[2]);
          return { text, type: r.headers.get("content-type"), values };
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no metrics at ${url}; script output:\n${log}`);
  };
  return { metrics, port, s3: prefixDir, state, log: () => log };
}

const now = () => Math.floor(Date.now() / 1000);

describe("backup script metrics (served by busybox httpd)", () => {
  it("after a restart with a recent dump in the bucket: its time, at once, while the database is down", async () => {
    const recent = new Date((now() - 1200) * 1000);
    const b = await start({ bucket: [dumpName("acme", new Date(recent.getTime() - 3 * 86400_000)), dumpName("acme", recent), "notes.txt"], database: false });
    const m = await b.metrics();
    expect(m.type).toBe("text/plain"); // Prometheus 3 refuses a scrape without a known content type
    expect(m.values.last_success_timestamp_seconds).toBe(Math.floor(recent.getTime() / 1000));
    expect(m.values.interval_seconds).toBe(INTERVAL);
    expect(m.values.consecutive_failures).toBe(1);
    expect(m.values.last_failure_timestamp_seconds).toBeGreaterThanOrEqual(now() - 30);
    expect(m.values.started_timestamp_seconds).toBeGreaterThanOrEqual(now() - 30);
    expect(m.values.last_dump_size_bytes).toBeUndefined();
    // Every family has its HELP and TYPE, and promtool reads the file as the text format.
    for (const k of Object.keys(m.values)) expect(m.text).toContain(`# TYPE ${backupMetricName(k as keyof typeof BACKUP_METRICS)} gauge`);
    const lint = spawnSync(promtool, ["check", "metrics"], { input: m.text, encoding: "utf8" });
    expect(lint.stdout + lint.stderr).not.toMatch(/error|parse/i);
  }, 30_000);

  it("an old dump stays old after a restart: the gap is not hidden", async () => {
    const old = new Date((now() - 3 * INTERVAL) * 1000);
    const b = await start({ bucket: [dumpName("acme", old)], database: false });
    const m = await b.metrics();
    expect(now() - m.values.last_success_timestamp_seconds).toBeGreaterThan(2 * INTERVAL);
  }, 30_000);

  it("no dump anywhere yet: no last success (the absent-metric alert's case); a successful dump then publishes it with its size", async () => {
    const failing = await start({ database: false });
    const f = await failing.metrics();
    expect(f.values.last_success_timestamp_seconds).toBeUndefined();
    expect(failing.log()).toContain("no dump in the bucket yet");

    const ok = await start({ database: true });
    const m = await ok.metrics();
    expect(m.values.consecutive_failures).toBe(0);
    expect(m.values.last_success_timestamp_seconds).toBeGreaterThanOrEqual(now() - 30);
    expect(m.values.last_dump_size_bytes).toBe("PGDMP0123456789".length);
    expect(m.values.last_duration_seconds).toBeGreaterThanOrEqual(0);
    expect(fs.readdirSync(ok.s3).filter((n) => n.endsWith(".pgdump"))).toHaveLength(1);
  }, 30_000);

  it("a bucket that cannot be listed: the last success is unknown (never invented), and said so", async () => {
    const b = await start({ bucket: [dumpName("acme", new Date())], database: false, listFails: true });
    const m = await b.metrics();
    expect(m.values.last_success_timestamp_seconds).toBeUndefined();
    expect(b.log()).toContain(`could not list backup/kf-backups/${PREFIX}`);
  }, 30_000);

  it("serves the metrics file only: not the state directory (mc's configuration holds the key)", async () => {
    const b = await start({ database: false });
    await b.metrics();
    expect(fs.existsSync(path.join(b.state, "mc"))).toBe(true);
    for (const p of ["/", "/../last-success", "/../mc/alias-backup", "/%2e%2e/started"]) {
      const r = await fetch(`http://127.0.0.1:${b.port}${p}`);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
    }
  }, 30_000);
});

const ruleTest = (series: { series: string; values: string }[], evals: RuleEval[]) => promtoolRuleTest(promtool, series, evals);

const s = (metric: string, values: string) => ({ series: `kestra_fleet_backup_${metric}{job="backup",tenant="acme",instance="acme"}`, values });

describe("backup alerts around a restart (promtool test rules)", () => {
  it("a restart right after a recent success raises nothing: the new task publishes the bucket's time", () => {
    // Success at 100 min (t=6000 s); the task restarts at 101 min (a failed scrape marks the series stale, as Prometheus does), then
    // publishes the same time read from the bucket, dumps at once (t=6300 s) and goes on.
    const r = ruleTest(
      [s("interval_seconds", "3600x100 stale _ 3600x60"), s("last_success_timestamp_seconds", "6000x100 stale _ 6000x3 6300x57"), { series: 'up{job="backup",tenant="acme",instance="acme"}', values: "1x100 0x2 1x60" }],
      ["101m", "103m", "105m", "130m", "160m"].flatMap((at) => ["BackupTooOld", "BackupNeverSucceeded", "BackupMetricsDown"].map((alert) => ({ at, alert, firing: [] }))),
    );
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("a real gap fires, and a restart in the middle of it neither resolves nor resets it", () => {
    // Last success at t=0, interval 1 h: older than two periods from 120 min; restart at 123-124 min.
    const firing = [{ tenant: "acme", severity: "critical" }];
    const r = ruleTest(
      [s("interval_seconds", "3600x122 stale _ 3600x20"), s("last_success_timestamp_seconds", "0x122 stale _ 0x20")],
      [
        { at: "119m", alert: "BackupTooOld", firing: [] },
        { at: "126m", alert: "BackupTooOld", firing, value: "2h 6m 0s" },
        { at: "130m", alert: "BackupTooOld", firing, value: "2h 10m 0s" },
      ],
    );
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("a task that never succeeds fires after an hour even though the health check restarts it every two periods", () => {
    // Interval 15 min: the health check replaces the task after ~33 min; the metric never appears.
    const r = ruleTest(
      [s("interval_seconds", "900x33 stale _ 900x33 stale _ 900x30")],
      [
        { at: "50m", alert: "BackupNeverSucceeded", firing: [] },
        { at: "65m", alert: "BackupNeverSucceeded", firing: [{ tenant: "acme", severity: "critical" }] },
        { at: "95m", alert: "BackupNeverSucceeded", firing: [{ tenant: "acme", severity: "critical" }] },
      ],
    );
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("the rule tests can fail: a recent success does not raise BackupTooOld", () => {
    const r = ruleTest([s("interval_seconds", "3600x140"), s("last_success_timestamp_seconds", "0+60x140")], [{ at: "130m", alert: "BackupTooOld", firing: [{ tenant: "acme", severity: "critical" }], value: "2h 10m 0s" }]);
    expect(r.status).not.toBe(0);
  });
});
