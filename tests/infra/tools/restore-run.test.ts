/**
 * The printed restore procedure, run for real by bash with stand-ins for mc, docker, psql and
 * pg_restore (each records its calls) and the real openssl on the real escrow format: a failure at any
 * step stops everything after it. The managed-mode case that matters: a wrong passphrase or an escrow
 * without the password must never reach psql or pg_restore with an empty PGPASSWORD.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configFromStackFile } from "../../../infra/input/config/load";
import { loadInputs } from "../../../infra/input/inputs";
import { escrowEncrypt, escrowPlaintext } from "../../../infra/render/backup";
import { ESCROW_PASSPHRASE_VAR, formatProcedure, restoreProcedure } from "../../../infra/tools/restore";
import { tmpDir } from "../../files";
import { FIXTURE_ROOT, tenantsDir, tenantYaml } from "../../helpers";
import { requireTool } from "../../tools";

const PASSPHRASE = "correct horse battery staple 42";
const DB_PASSWORD = "Rk3pW8sQ2vN7xL4mT9bY6cJ1hF5dG0aZ";

function managedProcedure(): string {
  const r = loadInputs({ stack: "staging", stacks: ["staging", "prod"], config: configFromStackFile(FIXTURE_ROOT, "staging"), tenantsDir: tenantsDir({ "mgd.yaml": tenantYaml("mgd") }) });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const tenant = { ...r.inputs.tenants[0], postgres: { mode: "managed" as const } };
  const settings = { ...r.inputs.settings, managedPostgres: { host: "pg.example.net", port: 5432, username: "admin", sslmode: "require" as const, database: "postgres" } };
  return formatProcedure(restoreProcedure({ stack: "staging", tenant, settings }), "test");
}

/** Runs the procedure in a folder with stand-ins; `escrow` is the escrow object's text. */
function run(escrow: string, passphrase: string) {
  const dir = tmpDir("kf-restore-run-");
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const calls = path.join(dir, "calls.log");
  fs.writeFileSync(path.join(dir, "escrow.enc"), escrow);
  fs.writeFileSync(path.join(dir, "passphrase"), passphrase);
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $* PGPASSWORD=\${PGPASSWORD:-}" >>"${calls}"\n${body}\n`, { mode: 0o755 });
  stub(
    "mc",
    `case "$1" in
  ls) [ "$2" = --json ] && echo '{"status":"success","key":"mgd-20261123T060000Z.pgdump","size":5}'; exit 0 ;;
  cp) case "$2" in *credentials.json.enc) cp "${dir}/escrow.enc" "$3" ;; *) printf dump >"$3" ;; esac ;;
esac`,
  );
  stub("docker", "exit 0");
  stub("pg_restore", `case "$1" in --list) exit 0 ;; esac\ntouch "${dir}/restored"`);
  stub("psql", `case "$*" in *count*) if [ -f "${dir}/restored" ]; then echo 12; else echo 0; fi ;; esac`);
  const script = path.join(dir, "restore.sh");
  fs.writeFileSync(script, managedProcedure());
  const r = spawnSync("bash", [script], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, [ESCROW_PASSPHRASE_VAR]: path.join(dir, "passphrase") },
  });
  const log = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "";
  return { status: r.status, out: r.stdout + r.stderr, log };
}

const escrow = (fields: Partial<{ dbPassword: string }> = { dbPassword: DB_PASSWORD }) =>
  escrowEncrypt(
    escrowPlaintext({ stack: "staging", tenant: "mgd", encryptionKey: "a2V5", adminEmail: "admin@mgd.example.com", adminPassword: "Adm1nPassw0rd", database: "kestra_mgd", dbUser: "kestra_mgd", dbPassword: fields.dbPassword ?? "" }),
    PASSPHRASE,
  );

describe("restore procedure, run by bash (managed Postgres)", () => {
  it("is a bash script that sets -euo pipefail", () => {
    const text = managedProcedure();
    expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(text).toContain("\nset -euo pipefail\n");
  });

  it("with the right passphrase it restores with the escrowed password", () => {
    requireTool("openssl", "openssl");
    const r = run(escrow(), PASSPHRASE);
    expect(r.status, r.out).toBe(0);
    expect(r.log).toMatch(new RegExp(`^pg_restore --exit-on-error .* PGPASSWORD=${DB_PASSWORD}$`, "m"));
    expect(r.log).not.toMatch(/^(psql|pg_restore --exit).*PGPASSWORD=$/m);
  });

  it("a wrong passphrase stops the procedure before psql or pg_restore runs", () => {
    requireTool("openssl", "openssl");
    const r = run(escrow(), "not the passphrase at all");
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/bad decrypt|error/i);
    expect(r.log).not.toMatch(/^psql /m);
    expect(r.log).not.toMatch(/^pg_restore --exit-on-error/m);
    // Kestra was stopped before the escrow step; it stays stopped (scaling back is the last step).
    expect(r.log.match(/^docker service scale/gm)).toHaveLength(1);
  });

  it("an escrow without the database password stops it too", () => {
    requireTool("openssl", "openssl");
    const r = run(escrow({ dbPassword: "" }), PASSPHRASE);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain("the escrow holds no dbPassword");
    expect(r.log).not.toMatch(/^psql /m);
  });

  it("an unset passphrase file variable stops it with the variable's name", () => {
    const script = managedProcedure();
    const dir = tmpDir("kf-restore-run-");
    fs.writeFileSync(path.join(dir, "r.sh"), script);
    const r = spawnSync("bash", ["-c", `sed -n '/^ESCROW=/p' r.sh | bash -euo pipefail`], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(ESCROW_PASSPHRASE_VAR);
  });
});
