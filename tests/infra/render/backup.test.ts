import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import {
  backupCredentialsFile,
  backupWriterPolicy,
  dumpName,
  ESCROW_ITERATIONS,
  escrowEncrypt,
  escrowEncryptAsync,
  backupKindPrefix,
  backupPrefixes,
  escrowKey,
  lifecycleRules,
  mirrorSourcePolicy,
  TENANT_BUCKET_PREFIX,
  parseDumpName,
  renderBackupScript,
  retainedDumps,
} from "../../../infra/render/backup";
import { tenantNames } from "../../../infra/model/naming";
import { tmpDir } from "../../files";

const d = (s: string) => new Date(s);

describe("dump names", () => {
  it("round-trip and sort by time", () => {
    const n = dumpName("acme-eu", d("2026-11-23T06:00:00.000Z"));
    expect(n).toBe("acme-eu-20261123T060000Z.pgdump");
    expect(parseDumpName(`postgres/acme-eu/${n}`)).toEqual({ tenant: "acme-eu", at: d("2026-11-23T06:00:00Z") });
  });
  it("refuse what is not a dump", () => {
    for (const bad of ["acme-20261323T060000Z.pgdump", "acme-20261123T060000Z.sql", "acme-20261123T0600Z.pgdump", "../acme-20261123T060000Z.pgdump.x", "20261123T060000Z.pgdump"]) {
      expect(parseDumpName(bad), bad).toBeUndefined();
    }
  });
});

describe("retention rule: the newest keepLast dumps always, the rest for `days` (pruned by the script after a new dump)", () => {
  const names: string[] = [];
  for (let day = 1; day <= 40; day++) for (const h of [0, 6, 12, 18]) names.push(dumpName("acme", new Date(Date.UTC(2026, 9, day, h))));
  names.push(dumpName("acme-eu", d("2026-11-09T00:00:00Z")), "postgres/acme/notes.txt");
  it("keeps the last `days` of dumps of the tenant, newest first, and never fewer than keepLast", () => {
    const now = d("2026-11-09T12:00:00Z");
    const kept = retainedDumps(names, "acme", now, 30, 7);
    expect(kept[0]).toBe("acme-20261109T120000Z.pgdump");
    // Cutoff 2026-10-10T12:00: that dump is kept, the one before is not.
    expect(kept.at(-1)).toBe("acme-20261010T120000Z.pgdump");
    expect(kept).not.toContain("acme-20261010T060000Z.pgdump");
    expect(kept.some((n) => n.startsWith("acme-eu"))).toBe(false);
    expect(kept).not.toContain("acme-20261109T180000Z.pgdump"); // not yet taken
    expect(kept).toHaveLength(30 * 4 + 1);
  });
  it("an outage longer than the retention keeps the newest keepLast dumps, whatever their age", () => {
    // The last dump was taken on 2026-10-09 (the backup stopped); 90 days later the newest 7 remain.
    const before = names.filter((n) => (parseDumpName(n)?.at.getTime() ?? Infinity) < d("2026-10-10T00:00:00Z").getTime());
    const kept = retainedDumps(before, "acme", d("2027-01-07T00:00:00Z"), 30, 7);
    expect(kept).toEqual(before.filter((n) => n.startsWith("acme-2026")).sort().reverse().slice(0, 7));
    expect(retainedDumps(before, "acme", d("2027-01-07T00:00:00Z"), 30, 1)).toEqual(["acme-20261009T180000Z.pgdump"]);
  });
  it("the backup script prunes exactly what retainedDumps drops, only after a successful dump (mc stand-in)", () => {
    const MC = path.join(__dirname, "../../../e2e/standins/mc");
    const work = tmpDir("kf-prune-");
    const bin = path.join(work, "bin");
    fs.mkdirSync(bin);
    const s3 = path.join(work, "s3");
    const prefix = backupPrefixes("staging", "acme").postgres;
    const dir = path.join(s3, "backup.example.net:9000", "kf-backups", prefix);
    fs.mkdirSync(dir, { recursive: true });
    // 12 dumps, one a day, the newest 20 days old; retention 5 days, keep 4.
    const nowS = Math.floor(Date.now() / 1000);
    const old = [...Array(12)].map((_, i) => dumpName("acme", new Date((nowS - (20 + i) * 86400) * 1000)));
    for (const n of old) fs.writeFileSync(path.join(dir, n), "old");
    fs.writeFileSync(path.join(dir, dumpName("acme-eu", new Date((nowS - 40 * 86400) * 1000))), "another tenant's prefix never holds it; ignored anyway");
    fs.writeFileSync(path.join(bin, "mc"), `#!/bin/sh\nexec sh ${MC} "$@"\n`, { mode: 0o755 });
    const db = (up: boolean) => fs.writeFileSync(path.join(bin, "psql"), up ? "#!/bin/sh\necho 180001\n" : "#!/bin/sh\nexit 2\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "pg_dump"), '#!/bin/sh\nif [ "$1" = --version ]; then echo "pg_dump (PostgreSQL) 18.1"; exit 0; fi\nfor a; do case "$a" in --file=*) printf PGDMP >"${a#--file=}";; esac; done\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "pg_restore"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    for (const f of ["pw", "ak", "sk"]) fs.writeFileSync(path.join(work, f), "x\n");
    const script = path.join(work, "backup.sh");
    fs.writeFileSync(script, renderBackupScript().split("/tmp/kestra-fleet-backup").join(path.join(work, "state")));
    const env = {
      PATH: `${bin}:${process.env.PATH}`, E2E_S3_ROOT: s3, PGPASSWORD_FILE: path.join(work, "pw"), BACKUP_TENANT: "acme", BACKUP_INTERVAL_SECONDS: "21600",
      S3_ENDPOINT: "https://backup.example.net:9000", S3_BUCKET: "kf-backups", S3_PREFIX: prefix, S3_ACCESS_KEY_FILE: path.join(work, "ak"), S3_SECRET_KEY_FILE: path.join(work, "sk"),
      BACKUP_RETENTION_DAYS: "5", BACKUP_KEEP_LAST: "4",
    };
    const listed = () => fs.readdirSync(dir).filter((n) => n.startsWith("acme-2")).sort().reverse();
    // The database is down: the dump fails and nothing is pruned, however old the dumps are.
    db(false);
    expect(spawnSync("sh", [script, "once"], { env, encoding: "utf8" }).status).not.toBe(0);
    expect(listed()).toEqual([...old].sort().reverse());
    // A successful dump: the new one plus the newest three old ones remain (keep 4; none is younger than 5 days but the new one).
    db(true);
    const r = spawnSync("sh", [script, "once"], { env, encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const after = listed();
    expect(after).toHaveLength(4);
    expect(after.slice(1)).toEqual([...old].sort().reverse().slice(0, 3));
    expect(after).toEqual(retainedDumps([...old, after[0]], "acme", new Date(), 5, 4));
    expect(r.stdout).toContain(`pruned ${prefix}${[...old].sort()[0]}`);
    expect(fs.readdirSync(dir).some((n) => n.startsWith("acme-eu"))).toBe(true);
  });
  it("lifecycle rules: one per kind of the stack, none per tenant; no current object expires (the script prunes dumps), replaced versions after `days`", () => {
    expect(lifecycleRules("prod", 14)).toEqual([
      { id: "prod-postgres", prefix: "prod/postgres/", noncurrentDays: 14 },
      { id: "prod-bucket", prefix: "prod/bucket/", noncurrentDays: 14 },
      { id: "prod-escrow", prefix: "prod/escrow/", noncurrentDays: 14 },
    ]);
  });
  it("layout: <stack>/<kind>/<tenant>/, under the kind's rule; a tenant's prefix never covers another tenant's", () => {
    const rules = lifecycleRules("prod", 14);
    for (const t of ["acme", "acme-eu"]) {
      const p = backupPrefixes("prod", t);
      expect(p).toEqual({ postgres: `prod/postgres/${t}/`, bucket: `prod/bucket/${t}/`, escrow: `prod/escrow/${t}/` });
      for (const [kind, prefix] of Object.entries(p)) expect(rules.find((r) => prefix.startsWith(r.prefix))!.id).toBe(`prod-${kind}`);
    }
    expect(escrowKey("prod", "acme")).toBe("prod/escrow/acme/credentials.json.enc");
    expect(`${backupPrefixes("prod", "acme-eu").postgres}x`.startsWith(backupPrefixes("prod", "acme").postgres)).toBe(false);
    expect(tenantNames("acme").bucket.startsWith(TENANT_BUCKET_PREFIX)).toBe(true);
    for (const bad of ["", "a/b", "..", "-x"]) expect(() => backupKindPrefix(bad, "postgres"), bad).toThrow();
  });
  it("two stacks sharing one backup bucket never share a key, a prefix or a lifecycle rule", () => {
    // The same tenant name on staging and prod: dumps, mirror copies and escrow apart.
    const staging = backupPrefixes("staging", "acme");
    const prod = backupPrefixes("prod", "acme");
    for (const a of Object.values(staging)) for (const b of Object.values(prod)) expect(a.startsWith(b) || b.startsWith(a), `${a} ${b}`).toBe(false);
    expect(escrowKey("staging", "acme")).not.toBe(escrowKey("prod", "acme"));
    // A stack named like another's prefix still gets its own segment ("prod" vs "prod-eu").
    expect(backupPrefixes("prod-eu", "acme").postgres.startsWith(backupKindPrefix("prod", "postgres"))).toBe(false);
    const ids = [...lifecycleRules("staging", 7), ...lifecycleRules("prod", 30)];
    expect(new Set(ids.map((r) => r.id)).size).toBe(ids.length);
    for (const r of lifecycleRules("staging", 7)) for (const q of lifecycleRules("prod", 30)) expect(r.prefix.startsWith(q.prefix) || q.prefix.startsWith(r.prefix)).toBe(false);
    // Each stack's keys are confined to its own prefixes.
    const w = backupWriterPolicy("kf-backups", [staging.postgres]);
    expect(w.Statement.find((st) => st.Sid === "WriteReadOwnPrefix")!.Resource).toEqual(["arn:aws:s3:::kf-backups/staging/postgres/acme/*"]);
  });
});

describe("backup key policies", () => {
  it("a writer key lists, writes and reads its prefix only, and is denied deletes; a tenant's pruning key may DeleteObject there only", () => {
    const prune = backupWriterPolicy("kf-backups", ["prod/postgres/acme/"], { prune: true });
    expect(prune.Statement.find((s) => s.Sid === "PruneOwnDumps")).toEqual({ Sid: "PruneOwnDumps", Effect: "Allow", Action: ["s3:DeleteObject"], Resource: ["arn:aws:s3:::kf-backups/prod/postgres/acme/*"] });
    expect(prune.Statement.find((s) => s.Effect === "Deny")!.Action).toEqual(["s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:PutBucketVersioning"]);
    const p = backupWriterPolicy("kf-backups", ["prod/postgres/acme/"]);
    const allowed = p.Statement.filter((s) => s.Effect === "Allow");
    expect(allowed.flatMap((s) => s.Action).some((a) => /delete/i.test(a))).toBe(false);
    expect(allowed.flatMap((s) => s.Resource)).toEqual(["arn:aws:s3:::kf-backups", "arn:aws:s3:::kf-backups", "arn:aws:s3:::kf-backups/prod/postgres/acme/*"]);
    expect(p.Statement.find((s) => s.Action.includes("s3:ListBucket"))!.Condition).toEqual({ StringLike: { "s3:prefix": ["prod/postgres/acme/*"] } });
    expect(p.Statement.find((s) => s.Effect === "Deny")?.Action).toContain("s3:DeleteObject");
  });
  it("refuses a bare or wildcard prefix", () => {
    expect(() => backupWriterPolicy("kf-backups", ["*"])).toThrow();
    expect(() => backupWriterPolicy("kf-backups", [])).toThrow();
    expect(() => backupWriterPolicy("kf-backups", ["prod/postgres/*/"])).toThrow();
    expect(() => backupWriterPolicy("kf-backups", ["prod/bucket/"])).not.toThrow(); // a kind of a stack: the mirror's
    expect(() => backupWriterPolicy("kf-backups", ["postgres/acme/"])).not.toThrow(); // read as stack "postgres", kind "acme": shape only
    expect(() => backupWriterPolicy("kf-backups", ["bucket/"])).toThrow(); // no stack
    expect(() => backupWriterPolicy("kf-backups", ["prod/postgres/acme"])).toThrow();
  });
  it("the mirror reads the tenant buckets only (kestra-*), whatever the tenants", () => {
    const p = mirrorSourcePolicy();
    expect(p.Statement.flatMap((s) => s.Action)).toEqual(["s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject"]);
    expect(p.Statement.flatMap((s) => s.Resource)).toEqual(["arn:aws:s3:::kestra-*", "arn:aws:s3:::kestra-*/*"]);
    for (const bad of ["", "*", "kestra", "k*-"]) expect(() => mirrorSourcePolicy(bad), bad).toThrow();
  });
});

describe("escrow", () => {
  it("is deterministic and decrypts with the openssl command the README gives", () => {
    const plain = JSON.stringify({ tenant: "acme", encryptionKey: "a2V5", dbPassword: "p" }) + "\n";
    const enc = escrowEncrypt(plain, "correct horse battery staple");
    expect(escrowEncrypt(plain, "correct horse battery staple")).toBe(enc);
    expect(escrowEncrypt(plain, "another passphrase!!")).not.toBe(enc);
    expect(enc).not.toContain("acme");
    const dir = tmpDir("kf-escrow-");
    fs.writeFileSync(path.join(dir, "credentials.json.enc"), enc);
    fs.writeFileSync(path.join(dir, "pass"), "correct horse battery staple");
    const out = execFileSync("openssl", ["enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", String(ESCROW_ITERATIONS), "-md", "sha256", "-a", "-pass", `file:${path.join(dir, "pass")}`, "-in", path.join(dir, "credentials.json.enc")]);
    expect(out.toString()).toBe(plain);
    fs.writeFileSync(path.join(dir, "pass"), "wrong passphrase here");
    const bad = spawnSync("openssl", ["enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", String(ESCROW_ITERATIONS), "-md", "sha256", "-a", "-pass", `file:${path.join(dir, "pass")}`, "-in", path.join(dir, "credentials.json.enc")]);
    expect(bad.status !== 0 || bad.stdout.toString() !== plain).toBe(true);
  });

  it("gives the same text when the key is derived on the thread pool (the program's path)", async () => {
    const plain = JSON.stringify({ tenant: "acme", encryptionKey: "a2V5", dbPassword: "p" }) + "\n";
    expect(await escrowEncryptAsync(plain, "correct horse battery staple")).toBe(escrowEncrypt(plain, "correct horse battery staple"));
    await expect(escrowEncryptAsync(plain, "")).rejects.toThrow(/passphrase is empty/);
  });
});

/** shellcheck, installed when missing (never a silent skip). */
function shellcheck(): string {
  const has = spawnSync("sh", ["-c", "command -v shellcheck"]).status === 0;
  if (!has && process.getuid?.() === 0) spawnSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck"], { stdio: "ignore" });
  if (spawnSync("sh", ["-c", "command -v shellcheck"]).status !== 0) throw new Error("shellcheck is missing: run `apt-get update && apt-get install -y shellcheck`");
  return "shellcheck";
}

describe("backup credentials file", () => {
  it("holds the access key and the secret key on two lines", () => {
    expect(backupCredentialsFile("backup-staging-acme", "s3cr3t")).toBe("backup-staging-acme\ns3cr3t\n");
  });
  it("refuses an empty key or a key with a line break (the file would read as other keys)", () => {
    for (const [a, k] of [["", "sk"], ["ak", ""], ["a\nk", "sk"], ["ak", "s\rk"], ["ak", "sk\n"]]) {
      expect(() => backupCredentialsFile(a, k), JSON.stringify([a, k])).toThrow(/backup credentials/);
    }
  });
  it("is read by the script: mc gets both keys; a file without two lines stops the run before mc", () => {
    const dir = tmpDir("kf-creds-");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    // mc records its arguments; pg_dump and psql are never reached in these runs (mc_alias fails or `exit 7` stubs stop them).
    fs.writeFileSync(path.join(bin, "mc"), `#!/bin/sh\nprintf '%s\\n' "$*" >>"${dir}/mc.log"\n`, { mode: 0o755 });
    for (const tool of ["pg_dump", "psql"]) fs.writeFileSync(path.join(bin, tool), "#!/bin/sh\nexit 7\n", { mode: 0o755 });
    const script = path.join(dir, "backup.sh");
    fs.writeFileSync(script, renderBackupScript().replace(/^STATE_DIR=.*$/m, `STATE_DIR=${path.join(dir, "state")}`));
    const run = (creds: string) => {
      fs.writeFileSync(path.join(dir, "creds"), creds);
      fs.rmSync(path.join(dir, "mc.log"), { force: true });
      const env = { PATH: `${bin}:${process.env.PATH}`, BACKUP_INTERVAL_SECONDS: "3600", BACKUP_TENANT: "acme", S3_ENDPOINT: "https://b.example.net", S3_BUCKET: "b", S3_PREFIX: "acme/postgres/", S3_CREDENTIALS_FILE: path.join(dir, "creds"), PGPASSWORD_FILE: path.join(dir, "creds") };
      const r = spawnSync("sh", [script, "once"], { env, encoding: "utf8" });
      return { ...r, mc: fs.existsSync(path.join(dir, "mc.log")) ? fs.readFileSync(path.join(dir, "mc.log"), "utf8") : "" };
    };
    const ok = run(backupCredentialsFile("AKIDEXAMPLE", "SKEXAMPLE"));
    expect(ok.mc).toBe("alias set backup https://b.example.net AKIDEXAMPLE SKEXAMPLE --api S3v4\n");
    expect(ok.status).not.toBe(0); // the stubbed pg_dump/psql fail afterwards: only the alias is checked here
    for (const bad of ["AKIDEXAMPLE\n", "", "\nSKEXAMPLE\n"]) {
      const r = run(bad);
      expect(r.mc, JSON.stringify(bad)).toBe("");
      expect(r.status).not.toBe(0);
      expect(r.stdout).toContain("does not hold an access key and a secret key on two lines");
    }
  });
});

describe("backup script", () => {
  it("is POSIX sh that shellcheck accepts", () => {
    const dir = tmpDir("kf-script-");
    const file = path.join(dir, "backup.sh");
    fs.writeFileSync(file, renderBackupScript());
    const r = spawnSync(shellcheck(), ["-s", "sh", "-S", "style", file], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
  it("mirror: finds the tenant buckets at run time and copies each to bucket/<t>/ (no --remove); other buckets are left alone", () => {
    const work = tmpDir("kf-mirror-");
    const bin = path.join(work, "bin");
    fs.mkdirSync(bin);
    const calls = path.join(work, "calls");
    // mc: `ls source/` lists three buckets as mc prints them; `mirror` and `alias` are recorded.
    const listing = ["[2026-11-23 10:00:00 UTC]     0B kestra-acme/", "[2026-11-23 10:00:00 UTC]     0B kestra-acme-eu/", "[2026-11-23 10:00:00 UTC]     0B other-bucket/"].join("\n");
    fs.writeFileSync(
      path.join(bin, "mc"),
      `#!/bin/sh\necho "$*" >>"${calls}"\ncase "$1" in\n  ls) [ "$2" = source/ ] || exit 4; printf '%s\\n' '${listing.split("\n").join("' '")}' ;;\n  alias|mirror) ;;\n  *) exit 3 ;;\nesac\n`,
      { mode: 0o755 },
    );
    for (const f of ["ak", "sk", "sak", "ssk"]) fs.writeFileSync(path.join(work, f), "x\n");
    const script = path.join(work, "backup.sh");
    fs.writeFileSync(script, renderBackupScript().replace(/^STATE_DIR=.*$/m, `STATE_DIR=${path.join(work, "state")}`));
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      BACKUP_INTERVAL_SECONDS: "3600",
      S3_ENDPOINT: "https://backup.example.net", S3_BUCKET: "kf-backups", S3_ACCESS_KEY_FILE: path.join(work, "ak"), S3_SECRET_KEY_FILE: path.join(work, "sk"),
      MIRROR_SOURCE_ENDPOINT: "http://minio:9000", MIRROR_SOURCE_ACCESS_KEY_FILE: path.join(work, "sak"), MIRROR_SOURCE_SECRET_KEY_FILE: path.join(work, "ssk"),
      MIRROR_BUCKET_PREFIX: TENANT_BUCKET_PREFIX,
      S3_PREFIX: "staging/bucket/",
    };
    const r = spawnSync("sh", [script, "mirror-once"], { env, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const mirrors = fs.readFileSync(calls, "utf8").split("\n").filter((l) => l.startsWith("mirror"));
    expect(mirrors).toEqual([
      "mirror --quiet --overwrite source/kestra-acme backup/kf-backups/staging/bucket/acme",
      "mirror --quiet --overwrite source/kestra-acme-eu backup/kf-backups/staging/bucket/acme-eu",
    ]);
    expect(r.stdout).toContain("mirrored 2 tenant bucket(s)");
    expect(fs.existsSync(path.join(work, "state", "last-success"))).toBe(true);
    // A failing listing fails the pass and records no success.
    fs.writeFileSync(path.join(bin, "mc"), `#!/bin/sh\ncase "$1" in alias) ;; *) exit 5 ;; esac\n`, { mode: 0o755 });
    fs.rmSync(path.join(work, "state"), { recursive: true });
    expect(spawnSync("sh", [script, "mirror-once"], { env, encoding: "utf8" }).status).not.toBe(0);
    expect(fs.existsSync(path.join(work, "state", "last-success"))).toBe(false);
  });
  it("health fails when the last success is older than two intervals", () => {
    const script = renderBackupScript().replace(/^STATE_DIR=.*$/m, `STATE_DIR=${tmpDir("kf-state-")}`);
    const dir = script.match(/^STATE_DIR=(.*)$/m)![1];
    const file = path.join(dir, "s.sh");
    fs.writeFileSync(file, script);
    const now = Math.floor(Date.now() / 1000);
    const health = () => spawnSync("sh", [file, "health"], { env: { PATH: process.env.PATH, BACKUP_INTERVAL_SECONDS: "3600" }, encoding: "utf8" });
    expect(health().status).toBe(1); // no state at all
    fs.writeFileSync(path.join(dir, "started"), `${now - 100}\n`);
    expect(health().status).toBe(0); // first dump pending, within two intervals
    fs.writeFileSync(path.join(dir, "started"), `${now - 7300}\n`);
    expect(health().status).toBe(1); // never succeeded for two intervals
    fs.writeFileSync(path.join(dir, "last-success"), `${now - 7100}\n`);
    expect(health().status).toBe(0);
    fs.writeFileSync(path.join(dir, "last-success"), `${now - 7300}\n`);
    expect(health().status).toBe(1);
  });
});
