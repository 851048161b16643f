/**
 * The bucket mirror, run for real: the rendered script in its `mirror` loop with the e2e `mc` stand-in
 * (a local object store that, like S3, refuses a key over 1024 bytes), its metrics served by busybox
 * httpd and fetched over HTTP. One tenant's bad object must not stop the copy of the tenants after it,
 * and each tenant's outcome is its own series. Then the mirror alerts (`promtool test rules`).
 */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { BACKUP_METRICS_PATH, backupKindPrefix, renderBackupScript } from "../../../infra/render/backup";
import { TENANT_BUCKET_PREFIX } from "../../../infra/model/naming";
import { MIRROR_JOB } from "../../../infra/render/monitoring";
import { tmpDir } from "../../files";
import { requireTool } from "../../tools";
import { freePort, promtoolRuleTest, type RuleEval } from "./promtool";

const MC_STANDIN = path.join(__dirname, "../../../e2e/standins/mc");
const INTERVAL = 3600;
const TARGET_PREFIX = backupKindPrefix("staging", "bucket");

let promtool = "";
beforeAll(() => {
  requireTool("busybox", "busybox");
  requireTool("shellcheck", "shellcheck");
  promtool = requireTool("promtool", "prometheus");
}, 320_000);


const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) if (p.pid) try { process.kill(-p.pid, "SIGTERM"); } catch { /* already gone */ }
});

/** Tenant buckets in the source: aaa holds an object whose key is too long under the target prefix; bbb and ccc are fine. */
function setup() {
  const work = tmpDir("kf-mirror-run-");
  const s3 = path.join(work, "s3");
  const source = path.join(s3, "minio:9000");
  const put = (bucket: string, key: string, body: string) => {
    const f = path.join(source, bucket, key);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, body);
  };
  // 5 folders of 200 characters: a 1,010-byte key, over S3's 1,024 bytes once under staging/bucket/aaa/.
  const longKey = [...Array(5)].map((_, i) => `${i}`.repeat(200)).join("/") + "/f.txt";
  put(`${TENANT_BUCKET_PREFIX}aaa`, longKey, "long");
  put(`${TENANT_BUCKET_PREFIX}aaa`, "main/ok.txt", "aaa ok");
  put(`${TENANT_BUCKET_PREFIX}bbb`, "main/flow.yml", "bbb data");
  put(`${TENANT_BUCKET_PREFIX}ccc`, "x/y/z.bin", "ccc data");
  put("other-bucket", "secret.txt", "not a tenant");
  const bin = path.join(work, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "mc"), `#!/bin/sh\nexec sh ${MC_STANDIN} "$@"\n`, { mode: 0o755 });
  for (const f of ["ak", "sk", "sak", "ssk"]) fs.writeFileSync(path.join(work, f), "x\n");
  const state = path.join(work, "state");
  const script = path.join(work, "backup.sh");
  fs.writeFileSync(script, renderBackupScript().split("/tmp/kestra-fleet-backup").join(state));
  const target = path.join(s3, "backup.example.net:9000", "kf-backups", TARGET_PREFIX);
  const env = (port?: number) => ({
    PATH: `${bin}:${process.env.PATH}`,
    E2E_S3_ROOT: s3,
    BACKUP_INTERVAL_SECONDS: String(INTERVAL),
    S3_ENDPOINT: "https://backup.example.net:9000",
    S3_BUCKET: "kf-backups",
    S3_PREFIX: TARGET_PREFIX,
    S3_ACCESS_KEY_FILE: path.join(work, "ak"),
    S3_SECRET_KEY_FILE: path.join(work, "sk"),
    MIRROR_SOURCE_ENDPOINT: "http://minio:9000",
    MIRROR_SOURCE_ACCESS_KEY_FILE: path.join(work, "sak"),
    MIRROR_SOURCE_SECRET_KEY_FILE: path.join(work, "ssk"),
    MIRROR_BUCKET_PREFIX: TENANT_BUCKET_PREFIX,
    ...(port ? { BACKUP_METRICS_PORT: String(port) } : {}),
  });
  return { work, script, state, target, env };
}

describe("bucket mirror: one tenant's failure stops no other tenant's copy", () => {
  it("the rendered script is shellcheck-clean POSIX sh", () => {
    const f = path.join(tmpDir("kf-sc-"), "backup.sh");
    fs.writeFileSync(f, renderBackupScript());
    const r = spawnSync("shellcheck", ["-s", "sh", "-S", "style", f], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
  });

  it("mirror-once copies every other tenant, names the failing one, and exits 1", () => {
    const s = setup();
    const r = spawnSync("sh", [s.script, "mirror-once"], { env: s.env(), encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(fs.readFileSync(path.join(s.target, "bbb/main/flow.yml"), "utf8")).toBe("bbb data");
    expect(fs.readFileSync(path.join(s.target, "ccc/x/y/z.bin"), "utf8")).toBe("ccc data");
    expect(fs.existsSync(path.join(s.target, "..", "..", "..", "other-bucket"))).toBe(false);
    expect(r.stdout).toContain(`could not mirror ${TENANT_BUCKET_PREFIX}aaa to ${TARGET_PREFIX}aaa/, the other tenants go on`);
    expect(r.stdout).toContain("Object name too long");
    expect(r.stdout).toContain("mirrored 2 tenant bucket(s), 1 failed");
    // Without the bad object every tenant passes.
    fs.rmSync(path.join(s.work, "s3", "minio:9000", `${TENANT_BUCKET_PREFIX}aaa`, "0".repeat(200)), { recursive: true });
    const ok = spawnSync("sh", [s.script, "mirror-once"], { env: s.env(), encoding: "utf8" });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(fs.readFileSync(path.join(s.target, "aaa/main/ok.txt"), "utf8")).toBe("aaa ok");
  });

  it("the mirror loop publishes each tenant's outcome and stays healthy while one tenant fails", async () => {
    const s = setup();
    const port = await freePort();
    let log = "";
    const p = spawn("sh", [s.script, "mirror"], { env: s.env(port), detached: true });
    p.stdout.on("data", (b) => (log += b));
    p.stderr.on("data", (b) => (log += b));
    running.push(p);
    let text = "";
    let type: string | null = null;
    for (let i = 0; i < 100 && !/last_pass_timestamp_seconds \d/.test(text); i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}${BACKUP_METRICS_PATH}`);
        text = await r.text();
        type = r.headers.get("content-type");
      } catch {
        /* not listening yet */
      }
      if (!/last_pass_timestamp_seconds \d/.test(text)) await new Promise((r) => setTimeout(r, 100));
    }
    expect(text, log).toMatch(/last_pass_timestamp_seconds \d/);
    expect(type).toBe("text/plain");
    const v = (m: string, tenant?: string) => {
      const hit = new RegExp(`^kestra_fleet_mirror_${m}${tenant ? `\\{tenant="${tenant}"\\}` : ""} (\\S+)$`, "m").exec(text);
      return hit ? Number(hit[1]) : undefined;
    };
    expect(v("consecutive_failures", "aaa")).toBe(1);
    expect(v("last_failure_timestamp_seconds", "aaa")).toBeGreaterThan(0);
    expect(v("last_success_timestamp_seconds", "aaa")).toBeUndefined();
    for (const t of ["bbb", "ccc"]) {
      expect(v("consecutive_failures", t), t).toBe(0);
      expect(v("last_success_timestamp_seconds", t), t).toBeGreaterThan(0);
      expect(v("last_failure_timestamp_seconds", t), t).toBeUndefined();
    }
    expect(text).not.toContain('tenant="other-bucket"');
    expect(v("interval_seconds")).toBe(INTERVAL);
    // Every family once, and Prometheus's own parser accepts the file.
    for (const m of ["consecutive_failures", "last_success_timestamp_seconds", "last_pass_timestamp_seconds"]) expect(text.split(`# TYPE kestra_fleet_mirror_${m} gauge`)).toHaveLength(2);
    const lint = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(lint.stdout + lint.stderr).not.toMatch(/error|parse/i);
    expect(fs.readFileSync(path.join(s.target, "ccc/x/y/z.bin"), "utf8")).toBe("ccc data");
    // The health check reads the pass, not one tenant: the task is not restarted in a loop over one bad object.
    const health = spawnSync("sh", [s.script, "health"], { env: s.env(port), encoding: "utf8" });
    expect(health.status, health.stdout).toBe(0);
  }, 30_000);
});

const ruleTest = (series: { series: string; values: string }[], evals: RuleEval[]) => promtoolRuleTest(promtool, series, evals);

const m = (metric: string, values: string, tenant?: string) => ({
  series: `kestra_fleet_mirror_${metric}{job="${MIRROR_JOB}",instance="platform_backup_mirror"${tenant ? `,tenant="${tenant}"` : ""}}`,
  values,
});

describe("mirror alerts (promtool test rules)", () => {
  it("a tenant failing two passes in a row fires for that tenant only", () => {
    // Passes every hour (t = 0, 60, 120 min); aaa fails from the first, bbb succeeds.
    const r = ruleTest(
      [
        m("interval_seconds", "3600x200"),
        m("last_pass_timestamp_seconds", "0x59 3600x60 7200x81"),
        m("consecutive_failures", "1x59 2x60 3x81", "aaa"),
        m("consecutive_failures", "0x200", "bbb"),
        m("last_success_timestamp_seconds", "0x59 3600x60 7200x81", "bbb"),
      ],
      [
        { at: "30m", alert: "MirrorTenantFailing", firing: [] },
        { at: "90m", alert: "MirrorTenantFailing", firing: [{ tenant: "aaa", severity: "critical" }], value: "2" },
        { at: "150m", alert: "MirrorTenantFailing", firing: [{ tenant: "aaa", severity: "critical" }], value: "3" },
        { at: "150m", alert: "MirrorTenantTooOld", firing: [] },
        { at: "150m", alert: "MirrorPassesStopped", firing: [] },
      ],
    );
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("a tenant whose last copy is older than three passes warns, while the others stay quiet", () => {
    const r = ruleTest(
      [m("interval_seconds", "3600x300"), m("last_success_timestamp_seconds", "0x300", "aaa"), m("last_success_timestamp_seconds", "0+60x300", "bbb")],
      [
        { at: "170m", alert: "MirrorTenantTooOld", firing: [] },
        { at: "190m", alert: "MirrorTenantTooOld", firing: [{ tenant: "aaa", severity: "warning" }], value: "3h 10m 0s" },
      ],
    );
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("passes that stop (the buckets cannot be listed) fire once for the whole mirror", () => {
    const r = ruleTest(
      [m("interval_seconds", "3600x500"), m("last_pass_timestamp_seconds", "0x500")],
      [
        { at: "179m", alert: "MirrorPassesStopped", firing: [] },
        { at: "250m", alert: "MirrorPassesStopped", firing: [{ severity: "critical" }] },
      ],
    );
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("the rule tests can fail: a healthy tenant does not raise MirrorTenantFailing", () => {
    const r = ruleTest([m("consecutive_failures", "0x100", "bbb")], [{ at: "90m", alert: "MirrorTenantFailing", firing: [{ tenant: "bbb", severity: "critical" }], value: "0" }]);
    expect(r.status).not.toBe(0);
  });
});
