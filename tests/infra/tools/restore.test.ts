import { describe, expect, it } from "vitest";
import { loadInputs } from "../../../infra/input/inputs";
import { configFromStackFile } from "../../../infra/input/config/load";
import { EMPTY_CHECK_SQL, PG_RESTORE_ARGS } from "../../../infra/render/backup";
import { restoreProcedure } from "../../../infra/tools/restore";
import { restoreMain } from "../../../infra/tools/restore-cli";
import { FIXTURE_ROOT, tenantsDir, tenantYaml } from "../../helpers";

function inputs(files: Record<string, string>) {
  const r = loadInputs({ stack: "staging", stacks: ["staging", "prod"], config: configFromStackFile(FIXTURE_ROOT, "staging"), tenantsDir: tenantsDir(files) });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.inputs;
}

const text = (steps: { commands: string[] }[]) => steps.flatMap((s) => s.commands).join("\n");

describe("restore procedure", () => {
  it("stops Kestra, refuses a non-empty database, restores with the drill's flags, checks, scales back", () => {
    const i = inputs({ "zeta.yaml": tenantYaml("zeta", "  workers: 2\n") });
    const steps = restoreProcedure({ stack: "staging", tenant: i.tenants[0], settings: i.settings, dump: "zeta-20261123T060000Z.pgdump" });
    const all = text(steps);
    const at = (s: string) => {
      const k = all.indexOf(s);
      expect(k, s).toBeGreaterThanOrEqual(0);
      return k;
    };
    const stop = at("kestra_zeta_kestra=0 kestra_zeta_executor=0 kestra_zeta_worker=0 kestra_zeta_backup=0");
    const check = at(`test "$TABLES" = 0 || {`);
    const restore = at(`pg_restore ${PG_RESTORE_ARGS.join(" ")} -U kestra_zeta -d kestra_zeta`);
    const back = at("kestra_zeta_kestra=1 kestra_zeta_executor=1 kestra_zeta_worker=2 kestra_zeta_backup=1");
    expect(stop).toBeLessThan(check);
    expect(check).toBeLessThan(restore);
    expect(restore).toBeLessThan(back);
    expect(all).toContain("DUMP='zeta-20261123T060000Z.pgdump'");
    expect(all).toContain("kestra-fleet-backups-staging/staging/postgres/zeta/");
    expect(all).toContain("label=com.docker.swarm.service.name=kestra_zeta_postgres");
    expect(all).toContain(EMPTY_CHECK_SQL.replace(/'/g, `'\\''`));
    // The rename-aside step is advice (commented), never run by default.
    expect(steps.find((s) => s.title.includes("rename it aside"))!.commands.every((c) => c.startsWith("#"))).toBe(true);
  });
  it("a suspended tenant keeps Kestra at 0; an offboarded one has no Kestra service to scale", () => {
    const i = inputs({ "susp.yaml": tenantYaml("susp", "status: suspended\n"), "gone.yaml": tenantYaml("gone", "status: offboarded\n") });
    const susp = text(restoreProcedure({ stack: "staging", tenant: i.tenants.find((t) => t.name === "susp")!, settings: i.settings }));
    expect(susp).toContain("docker service scale --detach=false kestra_susp_backup=1");
    expect(susp).not.toContain("kestra_susp_kestra=1");
    const gone = text(restoreProcedure({ stack: "staging", tenant: i.tenants.find((t) => t.name === "gone")!, settings: i.settings }));
    expect(gone).toContain("docker service scale --detach=false kestra_gone_backup=0\n");
    expect(gone).not.toContain("kestra_gone_kestra");
  });
  it("managed Postgres: the role's password comes from the escrow, pg_restore runs against the managed server", () => {
    const i = inputs({ "mgd.yaml": tenantYaml("mgd") });
    const tenant = { ...i.tenants[0], postgres: { mode: "managed" as const } };
    const settings = { ...i.settings, managedPostgres: { host: "pg.example.net", port: 5432, username: "admin", sslmode: "require" as const, database: "postgres" } };
    const all = text(restoreProcedure({ stack: "staging", tenant, settings }));
    expect(all).toContain("kestra-fleet-backups-staging/staging/escrow/mgd/credentials.json.enc");
    expect(all).toContain(`pg_restore ${PG_RESTORE_ARGS.join(" ")} -d 'host=pg.example.net port=5432 dbname=kestra_mgd user=kestra_mgd sslmode=require'`);
    expect(all.indexOf('test "$TABLES" = 0')).toBeLessThan(all.indexOf("pg_restore --exit-on-error"));
    expect(all).not.toContain("docker exec");
  });
  it("the CLI prints it and refuses a dump of another tenant", () => {
    let out = "";
    let err = "";
    const dir = tenantsDir({ "zeta.yaml": tenantYaml("zeta") });
    expect(restoreMain(["--stack", "staging", "--tenant", "zeta", "--tenants", dir, "--root", FIXTURE_ROOT], (s) => (out += s), (s) => (err += s))).toBe(0);
    expect(out).toContain("# 1. ");
    expect(restoreMain(["--stack", "staging", "--tenant", "zeta", "--dump", "acme-20261123T060000Z.pgdump", "--tenants", dir, "--root", FIXTURE_ROOT], () => {}, (s) => (err += s))).toBe(2);
    expect(err).toContain("is not a dump of zeta");
    expect(restoreMain(["--stack", "staging", "--tenant", "nobody", "--tenants", dir, "--root", FIXTURE_ROOT], () => {}, (s) => (err += s))).toBe(1);
  });
});
