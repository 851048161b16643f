/**
 * The Postgres health check script (infra/render/postgres.ts): shellcheck, then run for real against
 * Debian's PostgreSQL (installed when missing): a running server is healthy, a stopped one is not, a
 * slow archive recovery that keeps moving stays healthy past the stall window until it is done, and a
 * recovery stuck on one WAL segment turns unhealthy once the stall window has passed. The old check
 * (pg_isready alone) is unhealthy for the whole recovery: the test shows it.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { postgresHealthcheck, postgresHealthScript } from "../../../infra/render/postgres";
import { tmpDir } from "../../files";
import { requireTool } from "../../tools";

let shellcheck = "";
let bin = "";
beforeAll(() => {
  shellcheck = requireTool("shellcheck", "shellcheck");
  requireTool("pg_config", "postgresql");
  // Debian keeps the server's tools off PATH, under /usr/lib/postgresql/<major>/bin.
  bin = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
  if (!fs.existsSync(path.join(bin, "postgres"))) {
    const majors = fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql").sort() : [];
    bin = majors.length ? `/usr/lib/postgresql/${majors[majors.length - 1]}/bin` : bin;
  }
  if (!fs.existsSync(path.join(bin, "postgres"))) throw new Error(`no postgres server binary under ${bin}: apt-get install -y postgresql`);
}, 320_000);

describe("Postgres health check: static", () => {
  it("is a CMD-SHELL script that passes shellcheck (POSIX sh)", () => {
    const hc = postgresHealthcheck("kestra_acme", "kestra_acme");
    expect(hc.tests[0]).toBe("CMD-SHELL");
    expect(hc.tests[1]).toContain("pg_isready -q -h 127.0.0.1 -U 'kestra_acme' -d 'kestra_acme'");
    const r = spawnSync(shellcheck, ["-s", "sh", "-"], { input: hc.tests[1], encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
  it("shellcheck can fail (an unquoted expansion)", () => {
    expect(spawnSync(shellcheck, ["-s", "sh", "-"], { input: 'rm $1\n', encoding: "utf8" }).status).not.toBe(0);
  });
  it("refuses names it would have to quote", () => {
    expect(() => postgresHealthScript("a'b", "db")).toThrow(/does not quote/);
    expect(() => postgresHealthScript("a", "db", 0)).toThrow(/positive integer/);
  });
});

// --- A real server, as user postgres (it refuses to run as root) ------------------------------------
const asPg = (args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}) =>
  spawnSync("runuser", ["-u", "postgres", "--", ...args], { encoding: "utf8", env: { ...process.env, ...opts.env }, input: opts.input, timeout: 120_000 });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    for (const data of ["primary", "standby"].map((x) => path.join(d, x))) {
      if (fs.existsSync(path.join(data, "postmaster.pid"))) asPg([path.join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
    }
    fs.rmSync(d, { recursive: true, force: true });
  }
});

let nextPort = 25432 + (process.pid % 1000) * 3;
function cluster() {
  const root = tmpDir("kf-pghealth-");
  fs.chmodSync(root, 0o777);
  dirs.push(root);
  const port = nextPort++;
  const sock = path.join(root, "sock");
  fs.mkdirSync(sock, { mode: 0o777 });
  fs.chmodSync(sock, 0o777);
  const conf = (data: string, extra: string) =>
    fs.appendFileSync(data + "/postgresql.conf", `port = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${sock}'\n${extra}`);
  /** Runs the rendered health script with the cluster's data directory as PGDATA; its exit status and output. */
  const health = (data: string, stall: number, state: string) => {
    const script = postgresHealthScript("postgres", "postgres", stall, state);
    const r = asPg(["sh", "-c", script], { env: { PGDATA: data, PGPORT: String(port), PATH: `${bin}:${process.env.PATH}` } });
    return { status: r.status, out: (r.stdout + r.stderr).trim() };
  };
  /** The check before this fix: pg_isready alone. */
  const oldCheck = () => asPg([path.join(bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres"]).status;
  const ctl = (data: string, ...a: string[]) => asPg([path.join(bin, "pg_ctl"), "-D", data, "-l", path.join(root, `${path.basename(data)}.log`), ...a]);
  const psql = (sql: string) => asPg([path.join(bin, "psql"), "-h", sock, "-p", String(port), "-U", "postgres", "-d", "postgres", "-Atqc", sql]);
  return { root, port, sock, conf, health, oldCheck, ctl, psql };
}

/** A primary with a few archived WAL segments, and a base backup of it taken before them. */
function archivedCluster() {
  const c = cluster();
  const primary = path.join(c.root, "primary");
  const arch = path.join(c.root, "archive");
  fs.mkdirSync(arch, { mode: 0o777 });
  fs.chmodSync(arch, 0o777);
  expect(asPg([path.join(bin, "initdb"), "-D", primary, "-U", "postgres", "--auth=trust"]).status).toBe(0);
  c.conf(primary, `wal_level = replica\narchive_mode = on\narchive_command = 'cp %p ${arch}/%f'\n`);
  expect(c.ctl(primary, "-w", "start").status).toBe(0);
  const standby = path.join(c.root, "standby");
  const bb = asPg([path.join(bin, "pg_basebackup"), "-h", c.sock, "-p", String(c.port), "-U", "postgres", "-D", standby, "-X", "fetch"]);
  expect(bb.status, bb.stderr).toBe(0);
  c.psql("create table t (x int)");
  for (let i = 0; i < 6; i++) c.psql(`insert into t values (${i}); select pg_switch_wal()`);
  expect(c.ctl(primary, "-w", "stop").status).toBe(0);
  return { ...c, primary, standby, arch };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Postgres health check: against a real PostgreSQL", () => {
  it("healthy while the server accepts connections; unhealthy when it is down", () => {
    const c = cluster();
    const data = path.join(c.root, "primary");
    expect(asPg([path.join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust"]).status).toBe(0);
    c.conf(data, "");
    expect(c.health(data, 60, path.join(c.root, "state")).status).not.toBe(0);
    expect(c.ctl(data, "-w", "start").status).toBe(0);
    expect(c.health(data, 60, path.join(c.root, "state"))).toEqual({ status: 0, out: "" });
    expect(c.ctl(data, "-m", "immediate", "-w", "stop").status).toBe(0);
    const down = c.health(data, 60, path.join(c.root, "state"));
    expect(down.status).toBe(1);
    expect(down.out).toMatch(/pg_isready answered 2/);
  }, 120_000);

  it("a slow recovery that keeps moving stays healthy past the stall window until the server is ready (the old check failed throughout)", async () => {
    const c = archivedCluster();
    // Each archived segment takes 2 s to restore: the recovery lasts well over the 5 s stall window.
    c.conf(c.standby, `restore_command = 'sleep 2 && cp ${c.arch}/%f "%p"'\nhot_standby = off\n`);
    fs.writeFileSync(path.join(c.standby, "recovery.signal"), "");
    asPg(["chown", "postgres", path.join(c.standby, "recovery.signal")]);
    expect(c.ctl(c.standby, "start").status).toBe(0);
    const state = path.join(c.root, "standby-state");
    const seen: { status: number | null; out: string; old: number | null }[] = [];
    const start = Date.now();
    for (;;) {
      const h = c.health(c.standby, 5, state);
      seen.push({ ...h, old: c.oldCheck() });
      if (h.status === 0 && h.out === "") break;
      if (Date.now() - start > 90_000) throw new Error(`recovery did not end: ${JSON.stringify(seen.slice(-3))}`);
      await sleep(1000);
    }
    const recovering = seen.filter((s) => s.out.startsWith("recovering: "));
    // The recovery lasted longer than the stall window, and the script saw the startup process move.
    expect(Date.now() - start).toBeGreaterThan(5_000);
    expect(new Set(recovering.map((s) => s.out.replace(/ \(unchanged.*$/, ""))).size).toBeGreaterThan(2);
    expect(recovering.some((s) => /startup .*[0-9A-F]{24}/.test(s.out))).toBe(true);
    // Never unhealthy on the way; pg_isready alone answered "rejecting connections" (1) meanwhile.
    expect(seen.filter((s) => s.status !== 0)).toEqual([]);
    // (pg_isready runs just after the script: the recovery may end in between, on the last sample only.)
    expect(recovering.slice(0, -1).every((s) => s.old === 1)).toBe(true);
    expect(recovering.length).toBeGreaterThan(3);
    expect(c.psql("select count(*) from t").stdout.trim()).toBe("6");
  }, 180_000);

  it("a recovery stuck on one WAL segment turns unhealthy once the stall window has passed", async () => {
    const c = archivedCluster();
    // A standby that never gets its next segment (restore fails, no primary): it waits forever.
    c.conf(c.standby, `restore_command = 'false'\nhot_standby = off\n`);
    fs.writeFileSync(path.join(c.standby, "standby.signal"), "");
    expect(c.ctl(c.standby, "start").status).toBe(0);
    const state = path.join(c.root, "standby-state");
    let h = c.health(c.standby, 3, state);
    for (let i = 0; i < 30 && !h.out.startsWith("recovering: "); i++) {
      await sleep(500);
      h = c.health(c.standby, 3, state);
    }
    expect(h.status).toBe(0);
    // Wait for the stuck state to settle, then past the stall window.
    await sleep(4_500);
    h = c.health(c.standby, 3, state);
    for (let i = 0; i < 10 && h.status === 0; i++) {
      await sleep(1000);
      h = c.health(c.standby, 3, state);
    }
    expect(h.status).toBe(1);
    expect(h.out).toMatch(/^unhealthy: recovery has not moved for \d+ s: postgres: .*startup/);
  }, 180_000);
});
