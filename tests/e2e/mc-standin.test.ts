/**
 * The e2e suite's `mc` stand-in: the part of mc the backup script uses (alias set, cp, ls), storing
 * uploads where the suite reads them, never keeping the keys.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../files";
import { requireTool } from "../tools";

const MC = path.join(__dirname, "../../e2e/standins/mc");
const mc = (env: Record<string, string>, ...args: string[]) => spawnSync("sh", [MC, ...args], { encoding: "utf8", env: { ...process.env, ...env } });

describe("e2e mc stand-in", () => {
  it("is POSIX sh that shellcheck accepts", () => {
    const r = spawnSync(requireTool("shellcheck", "shellcheck"), ["-s", "sh", "-S", "style", MC], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("stores `mc cp` uploads under <root>/<endpoint>/<bucket>/<key> and never stores the keys", () => {
    const dir = tmpDir("kf-mc-");
    const env = { E2E_S3_ROOT: path.join(dir, "s3"), MC_CONFIG_DIR: path.join(dir, "conf") };
    expect(mc(env, "alias", "set", "backup", "https://backup.example.net:9000", "AKIDSECRETVALUE1", "SKSECRETVALUE2", "--api", "S3v4").status).toBe(0);
    fs.writeFileSync(path.join(dir, "d.pgdump"), "dump bytes");
    const r = mc(env, "cp", "--quiet", path.join(dir, "d.pgdump"), "backup/bkt/postgres/alpha/alpha-20260101T000000Z.pgdump");
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, "s3/backup.example.net:9000/bkt/postgres/alpha/alpha-20260101T000000Z.pgdump"), "utf8")).toBe("dump bytes");
    const conf = fs.readdirSync(env.MC_CONFIG_DIR).map((f) => fs.readFileSync(path.join(env.MC_CONFIG_DIR, f), "utf8")).join("");
    expect(conf).not.toMatch(/SECRETVALUE/);
    expect(r.stdout + r.stderr).not.toMatch(/SECRETVALUE/);
  });

  it("`mc ls` lists a prefix in mc's text format (the backup script reads the newest dump's name), nothing for an empty prefix", () => {
    const dir = tmpDir("kf-mc-");
    const env = { E2E_S3_ROOT: path.join(dir, "s3"), MC_CONFIG_DIR: path.join(dir, "conf") };
    mc(env, "alias", "set", "backup", "https://backup.example.net:9000", "ak", "sk");
    fs.writeFileSync(path.join(dir, "d"), "12345");
    mc(env, "cp", path.join(dir, "d"), "backup/bkt/alpha/postgres/alpha-20260101T000000Z.pgdump");
    const r = mc(env, "ls", "backup/bkt/alpha/postgres/");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\]  5B STANDARD alpha-20260101T000000Z\.pgdump\n$/);
    expect(mc(env, "ls", "backup/bkt/beta/postgres/")).toMatchObject({ status: 0, stdout: "" });
    expect(mc(env, "ls", "nowhere/bkt/").status).toBe(1);
  });

  it("refuses an upload to an unknown alias, empty keys and commands it does not implement", () => {
    const dir = tmpDir("kf-mc-");
    const env = { E2E_S3_ROOT: path.join(dir, "s3"), MC_CONFIG_DIR: path.join(dir, "conf") };
    fs.writeFileSync(path.join(dir, "f"), "x");
    expect(mc(env, "cp", path.join(dir, "f"), "nowhere/b/k").status).toBe(1);
    expect(mc(env, "alias", "set", "backup", "host:9000", "", "sk").status).toBe(1);
    expect(mc(env, "mirror", "a").status).toBe(2);
    expect(mc(env, "rb", "a").status).toBe(2);
    expect(fs.existsSync(env.E2E_S3_ROOT)).toBe(false);
  });
});
