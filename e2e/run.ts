/**
 * `npm run e2e`: deploys the program's tenant stacks on a real single-node Docker Swarm of this
 * machine and checks, from inside the containers and with docker commands, what only a real Swarm
 * shows. Needs root on Debian (installs docker.io and debootstrap when missing). See README, "End-to-end
 * suite". Ends with `N passed, M failed`; exit code 1 when anything failed.
 */
import * as os from "os";
import * as path from "path";
import * as fs from "fs";
import { BACKUP_METRICS_PORT, MINIO_ALIAS, MONITORING_NETWORK, PUBLIC_NETWORK, RELAY_BACKEND_PORT, RELAY_WEB_PORT, STORAGE_NETWORK } from "../infra/naming";
import type { Plan } from "../infra/plan/run";
import { BACKUP_METRICS_PATH, BACKUP_SCRIPT_PATH, EMPTY_CHECK_SQL, PG_RESTORE_ARGS } from "../infra/render/backup";
import { PROMETHEUS_CONFIG_FILE, SCRAPE_USER } from "../infra/render/monitoring";
import { diskMiB, type Docker, type Engine, sleep, startEngine, stopEngine } from "./engine";
import { activeTargets, instantQuery, type KestraJob, forwarderJobsOf, prometheusConfigOf, scrapePasswordsOf, type Target, tenantTargetProblems } from "./monitoring";
import { createObjects, makeProject, planOf, secretValues, servicesOf, stackFileOf, stacksOf, withoutStandin, withStandins } from "./plan";
import { buildStandins, removeStandins, standinsPresent } from "./standins";

const WORK = path.resolve(process.env.KESTRA_FLEET_E2E_DIR ?? "/var/tmp/kestra-fleet-e2e");
const KEEP_IMAGES = process.env.KESTRA_FLEET_E2E_KEEP_IMAGES === "1";
const CONVERGE_MS = 5 * 60_000;
const ROTATED_TENANT = "alpha";
/** The tenant the onboarding step adds (a copy of the fixture's beta without a worker). */
const ONBOARDED_TENANT = "gamma";
/** Discovery refreshes every 30 s and scrapes every 30 s: a new target is up within about a minute. */
const SCRAPE_WAIT_MS = 3 * 60_000;
/** Ports a role's stand-in listens on (what a neighbour could try to reach). */
const PORTS: Record<string, number[]> = { postgres: [5432], web: [8080, 8081], backend: [8080, 8081], worker: [8080, 8081], gateway: [9000, RELAY_BACKEND_PORT, RELAY_WEB_PORT], storage: [9000] };

/** Platform networks several tenants' services share (see the isolation check). */
const SHARED = [PUBLIC_NETWORK, STORAGE_NETWORK, MONITORING_NETWORK];

const t0 = Date.now();
const log = (s: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}`);
const results: { name: string; ok: boolean }[] = [];
function check(name: string, ok: boolean, detail = ""): boolean {
  results.push({ name, ok });
  log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
  return ok;
}

interface Svc {
  name: string;
  role: string;
  tenant?: string;
  replicas: number;
}

// --- Docker queries ---------------------------------------------------------------------------
const containersOf = (d: Docker, service: string) =>
  d.must(["ps", "--filter", `label=com.docker.swarm.service.name=${service}`, "--format", "{{.ID}}"]).split("\n").filter(Boolean);

/** network name -> IP of a container. */
function addresses(d: Docker, container: string): Record<string, string> {
  const out = d.must(["inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}", container]);
  return Object.fromEntries(out.trim().split(/\s+/).filter(Boolean).map((x) => x.split("=") as [string, string]));
}

const TASK_FIELDS = ["Image", "Args", "Env", "Secrets", "Configs", "Mounts"];
/** What makes a task current: its container spec's wiring and the force-update counter. */
const serviceWiring = (d: Docker, service: string) =>
  d.run(["service", "inspect", "--format", TASK_FIELDS.map((f) => `{{json .Spec.TaskTemplate.ContainerSpec.${f}}}`).join("") + "{{.Spec.TaskTemplate.ForceUpdate}}", service]).out.trim();
const taskWiring = (d: Docker, tasks: string[]) =>
  d.run(["inspect", "--format", TASK_FIELDS.map((f) => `{{json .Spec.ContainerSpec.${f}}}`).join("") + "{{.Spec.ForceUpdate}}", ...tasks]).out.trim().split("\n");

/**
 * Waits until every service runs its replicas, all healthy and of the current spec. A rolling update
 * stays "updating" for its monitor period after the last task: that is not waited for.
 */
async function converge(d: Docker, services: Svc[], limitMs = CONVERGE_MS): Promise<{ ok: boolean; detail: string }> {
  const end = Date.now() + limitMs;
  let pending: string[] = [];
  while (Date.now() < end) {
    pending = [];
    for (const s of services) {
      const update = d.run(["service", "inspect", "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", s.name]).out.trim();
      if (/rollback|paused/.test(update)) return { ok: false, detail: `${s.name}: update ${update}; ${lastError(d, s.name)}` };
      const rows = d.run(["ps", "--filter", `label=com.docker.swarm.service.name=${s.name}`, "--format", "{{.Status}}"]).out.split("\n").filter(Boolean);
      const healthy = rows.filter((r) => r.includes("(healthy)")).length;
      const tasks = d.run(["service", "ps", "-q", "--filter", "desired-state=running", s.name]).out.split("\n").filter(Boolean);
      const want = serviceWiring(d, s.name);
      const current = tasks.length > 0 && taskWiring(d, tasks).every((w) => w === want);
      if (rows.length !== s.replicas || healthy !== s.replicas || tasks.length !== s.replicas || !current) pending.push(`${s.name} (${healthy}/${s.replicas} healthy${current ? "" : ", old spec"})`);
    }
    if (!pending.length) return { ok: true, detail: "" };
    await sleep(3000);
  }
  return { ok: false, detail: `after ${limitMs / 1000}s: ${pending.join(", ")}; ${pending.map((p) => lastError(d, p.split(" ")[0])).join("; ")}` };
}

function lastError(d: Docker, service: string): string {
  const errs = d.run(["service", "ps", "--no-trunc", "--format", "{{.CurrentState}} {{.Error}}", service]).out.trim().split("\n").slice(0, 2).join(" | ");
  const logs = d.run(["service", "logs", "--raw", "--tail", "6", service]);
  return `${service}: ${errs} | logs: ${(logs.out + logs.err).trim().split("\n").slice(-6).join(" / ")}`;
}

function deploy(d: Docker, out: string, stack: string, services: Svc[]): void {
  const file = path.join(WORK, "stacks", `${stack}.yml`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, withStandins(fs.readFileSync(stackFileOf(out, stack, services[0].tenant), "utf8"), d.socket));
  d.must(["stack", "deploy", "--resolve-image", "never", "--detach=true", "-c", file, stack]);
}

async function removeStack(d: Docker, stack: string): Promise<void> {
  d.run(["stack", "rm", stack]);
  for (let i = 0; i < 60; i++) {
    if (!d.run(["ps", "-aq", "--filter", `label=com.docker.stack.namespace=${stack}`]).out.trim()) break;
    await sleep(2000);
  }
  // The stack's task network attachments go a moment after its containers.
  await sleep(3000);
}

const psql = (d: Docker, container: string, user: string, db: string, sql: string) => d.run(["exec", container, "psql", "-X", "-q", "-At", "-U", user, "-d", db, "-c", sql]);

/**
 * Probes run inside a container, in parallel: lines "resolves NAME" and "connects IP:PORT" for each
 * name or address it reaches. `control` lines name what it must reach (proof the probe works).
 */
async function probe(d: Docker, container: string | { network: string; image: string }, names: string[], targets: string[], control: { name: string; target?: string }): Promise<{ reached: string[]; controlOk: boolean }> {
  const q = (s: string) => `'${s}'`;
  const script = [
    // Docker's DNS answers the names it knows at once; others go to the host's resolvers: 4 s is plenty.
    `for n in ${[...names, "__none__"].map(q).join(" ")}; do ( [ "$n" = __none__ ] || ! timeout 4 getent hosts "$n" >/dev/null || echo "resolves $n" ) & done`,
    `for t in ${[...targets, "__none__"].map(q).join(" ")}; do ( [ "$t" = __none__ ] || ! socat -u /dev/null "TCP:$t,connect-timeout=3" 2>/dev/null || echo "connects $t" ) & done`,
    `( timeout 4 getent hosts ${q(control.name)} >/dev/null && echo control-resolves ) &`,
    control.target ? `( socat -u /dev/null "TCP:${control.target},connect-timeout=3" 2>/dev/null && echo control-connects ) &` : "echo control-connects",
    "wait",
  ].join("\n");
  const r =
    typeof container === "string"
      ? await d.runAsync(["exec", container, "sh", "-c", script])
      : await d.runAsync(["run", "--rm", "--network", container.network, "--entrypoint", "sh", container.image, "-c", script]);
  const lines = r.out.split("\n").filter(Boolean);
  return { reached: lines.filter((l) => !l.startsWith("control-")), controlOk: lines.includes("control-resolves") && lines.includes("control-connects") };
}

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

/** The rotation step's edit: a new admin e-mail for one tenant (new config secret content). */
const rotateEdit = (name: string, text: string) => (name === ROTATED_TENANT ? text.replace(/adminEmail: (\S+)@/, "adminEmail: rotated.$1@") : text);

type Stacks = ReturnType<typeof stacksOf>;
const tenantOf = (stacks: Stacks, stack: string) => stacks.get(stack)![0].tenant!;
/** A tenant stack's forwarders: its services of a role the Kestra scrape jobs discover. */
const forwardersOf = (stacks: Stacks, stack: string, jobs: KestraJob[]) => stacks.get(stack)!.filter((x) => jobs.some((j) => j.forwarderRole === x.role));

/** Polls Prometheus's active targets until every listed tenant's Kestra jobs are up through its own forwarder. */
async function waitForTargets(d: Docker, prom: string, stacks: Stacks, tenantStacks: string[], jobs: KestraJob[], limitMs = SCRAPE_WAIT_MS) {
  const end = Date.now() + limitMs;
  let problems: string[] = [];
  let found: Target[] = [];
  for (;;) {
    problems = [];
    found = [];
    try {
      const targets = await activeTargets(d, prom);
      for (const s of tenantStacks) {
        const r = tenantTargetProblems(targets, jobs, tenantOf(stacks, s), forwardersOf(stacks, s, jobs).map((x) => x.name));
        problems.push(...r.problems.map((p) => `${tenantOf(stacks, s)}: ${p}`));
        found.push(...r.found);
      }
    } catch (e) {
      problems = [(e as Error).message];
    }
    if (!problems.length || Date.now() > end) return { ok: !problems.length, problems, found };
    await sleep(3000);
  }
}

/**
 * The monitoring stack's claims on the real Swarm: Prometheus (Debian's binary) runs the program's
 * rendered configuration unchanged, discovers every tenant's Kestra through the socket proxy stand-in
 * and scrapes it up, through that tenant's forwarder, with the scrape credential (which the Kestra
 * stand-in demands); Prometheus shares no network with a tenant workload, and no tenant reaches
 * another tenant's forwarder.
 */
async function monitoringChecks(d: Docker, plan: Plan, stacks: Stacks, tenantStacks: string[]): Promise<void> {
  const promSvc = stacks.get("platform_monitoring")!.find((x) => x.role === "prometheus")!;
  const prom = containersOf(d, promSvc.name)[0];
  const cfg = prometheusConfigOf(plan);
  const jobs = forwarderJobsOf(cfg.text);
  const kestraJobs = jobs.filter((j): j is KestraJob & { component: string } => !!j.component);
  const mounted = d.run(["exec", prom, "cat", PROMETHEUS_CONFIG_FILE]).out;
  const version = d.run(["exec", prom, "prometheus", "--version"]).out.split("\n")[0];
  check(
    `${promSvc.name} (${version.trim()}) runs the program's rendered prometheus.yml (${cfg.name}) byte for byte; jobs through the forwarders: ${jobs.map((j) => `${j.job} -> role ${j.forwarderRole}:${j.port}`).join(", ")}`,
    mounted === cfg.text && jobs.length > 0,
    mounted === cfg.text ? "" : "the mounted file differs from the plan's config",
  );

  // Discovered and scraped through each tenant's own forwarder, labelled by relabelling.
  const w = await waitForTargets(d, prom, stacks, tenantStacks, jobs);
  check(
    `Prometheus discovers every tenant's targets (${jobs.map((j) => j.job).join(", ")}) by Swarm service discovery and scrapes them up through that tenant's forwarder, with the tenant label from relabelling`,
    w.ok,
    w.ok ? w.found.map((t) => `${t.labels.job}{tenant="${t.labels.tenant}"} ${t.scrapeUrl} via ${t.discoveredLabels.__meta_dockerswarm_service_name}`).join("; ") : w.problems.join("; "),
  );

  // What was scraped came from the right Kestra: its server and its database are in the series.
  const series = w.ok ? await instantQuery(d, prom, "kestra_fleet_e2e_standin").catch(() => []) : [];
  const wrong: string[] = [];
  for (const s of tenantStacks) {
    const tenant = tenantOf(stacks, s);
    const tenantSvc = (role: string) => servicesOf(plan).find((r) => (r.inputs.labels as any[]).some((l) => l.label === "kestra-fleet.tenant" && l.value === tenant) && (r.inputs.labels as any[]).some((l) => l.label === "kestra-fleet.role" && l.value === role));
    const db = ((tenantSvc("postgres")?.inputs.taskSpec as any)?.containerSpec?.env as Record<string, string>)?.POSTGRES_DB;
    for (const j of kestraJobs) {
      const server = String((tenantSvc(j.component)?.inputs.taskSpec as any)?.containerSpec?.args?.[1]);
      const got = series.filter((x) => x.metric.job === j.job && x.metric.tenant === tenant);
      if (got.length !== 1 || got[0].metric.server !== server || got[0].metric.database !== db) wrong.push(`${j.job}{tenant="${tenant}"}: ${got.map((x) => `server=${x.metric.server} database=${x.metric.database}`).join(", ") || "no series"}, want server=${server} database=${db}`);
    }
  }
  check(`each scrape reached its own tenant's Kestra (the stand-in's series carry the right server and database)`, w.ok && !wrong.length, wrong.join("; "));

  // The management port demands the tenant's own scrape credential (like Kestra's endpoints.all.basic-auth):
  // 401 without, with a wrong one and with another tenant's; 200 with its own.
  const auth: string[] = [];
  const passwords = scrapePasswordsOf(cfg.text);
  const codes = await Promise.all(
    tenantStacks.flatMap((s) =>
      forwardersOf(stacks, s, jobs).flatMap((f) =>
        kestraJobs.filter((j) => j.forwarderRole === f.role).map(async (j) => {
          const tenant = f.tenant ?? "";
          const other = Object.keys(passwords).find((t) => t !== tenant);
          const url = `http://${f.name}:${j.port}/prometheus`;
          const curl = (cred: string) => `curl -s -o /dev/null --max-time 5 -w '%{http_code} ' ${cred} '${url}'`;
          const own = passwords[tenant] ?? "";
          const r = await d.runAsync(["exec", prom, "sh", "-c", [curl(""), curl(`-u '${SCRAPE_USER}:wrong-${own}'`), curl(`-u '${SCRAPE_USER}:${other ? passwords[other] : "none"}'`), curl(`-u '${SCRAPE_USER}:${own}'`)].join("; ")]);
          return { what: `${f.name}:${j.port}`, got: r.out.trim() };
        }),
      ),
    ),
  );
  for (const c of codes) if (c.got !== "401 401 401 200") auth.push(`${c.what}: ${c.got || "no answer"}`);
  check(`the Kestra management port behind each forwarder answers /prometheus 401 without, with a wrong and with another tenant's credential, 200 with its tenant's own (${codes.length} endpoints)`, codes.length > 0 && !auth.length, auth.join("; ") || codes.map((c) => `${c.what}: ${c.got}`).join("; "));

  // Prometheus shares no network with any tenant workload; with a forwarder only the monitoring network.
  const promNets = Object.keys(addresses(d, prom));
  const shared: string[] = [];
  let forwarderShares = 0;
  for (const s of tenantStacks) {
    for (const svc of stacks.get(s)!) {
      const isForwarder = jobs.some((j) => j.forwarderRole === svc.role);
      for (const c of containersOf(d, svc.name)) {
        const common = Object.keys(addresses(d, c)).filter((n) => promNets.includes(n));
        const bad = isForwarder ? common.filter((n) => n !== MONITORING_NETWORK) : common;
        if (bad.length) shared.push(`${svc.name} shares ${bad.join(", ")}`);
        if (isForwarder && common.includes(MONITORING_NETWORK)) forwarderShares++;
      }
    }
  }
  check(`Prometheus (on ${promNets.sort().join(", ")}) shares no network with any tenant service but the forwarders, and with those only ${MONITORING_NETWORK}`, !shared.length && forwarderShares > 0, shared.join("; ") || `${forwarderShares} forwarder containers on ${MONITORING_NETWORK}`);

  // No tenant container reaches another tenant's forwarder (by name or by any of its addresses).
  const reached: string[] = [];
  const probes: Promise<void>[] = [];
  let count = 0;
  for (const a of tenantStacks) {
    for (const b of tenantStacks.filter((x) => x !== a)) {
      const bFwd = forwardersOf(stacks, b, jobs);
      const bAddrs = bFwd.flatMap((f) => containersOf(d, f.name).flatMap((c) => Object.entries(addresses(d, c)).map(([net, ip]) => ({ f, net, ip }))));
      for (const as of stacks.get(a)!) {
        const isForwarder = jobs.some((j) => j.forwarderRole === as.role);
        // Forwarders see each other on the shared platform networks by design (as Prometheus and MinIO
        // see them): only their other addresses are probed from a forwarder.
        const names = isForwarder ? [] : bFwd.map((f) => f.name);
        const targets = bAddrs.filter((x) => !isForwarder || !SHARED.includes(x.net)).flatMap((x) => jobs.filter((j) => j.forwarderRole === x.f.role).map((j) => `${x.ip}:${j.port}`));
        for (const ac of containersOf(d, as.name)) {
          count++;
          const control = as.role === "postgres" ? { name: as.name } : { name: "postgres", target: "postgres:5432" };
          probes.push(
            probe(d, ac, names, targets, control).then((p) => {
              if (!p.controlOk) reached.push(`${as.name}: control probe failed, results meaningless`);
              reached.push(...p.reached.map((l) => `${as.name} ${l} (${b})`));
            }),
          );
        }
      }
    }
  }
  await Promise.all(probes);
  check(`no tenant container (${count} probes) resolves or connects to another tenant's forwarder (forwarder to forwarder only on ${SHARED.filter((n) => n !== PUBLIC_NETWORK).join(", ")}, by design)`, count > 0 && !reached.length, reached.join("; "));
}

/** Version.Index, UpdatedAt and running containers of each service: what an update or a restart changes. */
const serviceStates = (d: Docker, names: string[]) =>
  new Map(names.map((n) => [n, `${d.run(["service", "inspect", "--format", "{{.Version.Index}} {{.UpdatedAt}}", n]).out.trim()} [${containersOf(d, n).sort().join(",")}]`]));

/**
 * Onboarding a tenant under monitoring: the plan with one more tenant file; its new Swarm objects
 * created and its stack deployed; a platform stack whose rendered file changed is redeployed too (what
 * `pulumi up` would do). Passes when the new tenant is scraped up through its forwarder and no platform
 * service was updated or restarted; reports the time from deploy to scraped (the gap).
 */
async function onboarding(d: Docker, hostname: string, outBefore: string, planBefore: Plan, state: { stacks: string[]; created: { kind: string; name: string }[] }, peak: (when: string) => void): Promise<void> {
  const project3 = makeProject(path.join(WORK, "project3"), hostname, rotateEdit);
  const model = fs.readFileSync(path.join(project3.tenants, "beta.yaml"), "utf8");
  fs.writeFileSync(path.join(project3.tenants, `${ONBOARDED_TENANT}.yaml`), model.replace(/beta/g, ONBOARDED_TENANT).replace(/workers: [0-9]+/, "workers: 0"));
  const out3 = path.join(WORK, "out3");
  const plan3 = planOf(project3, out3);
  const stacksBefore = stacksOf(planBefore);
  const stacks3 = stacksOf(plan3);
  const newStack = `kestra_${ONBOARDED_TENANT}`;
  const fileOf = (out: string, stacks: Stacks, s: string) => withStandins(fs.readFileSync(stackFileOf(out, s, stacks.get(s)![0].tenant), "utf8"), d.socket);
  const platform = [...stacksBefore.keys()].filter((s) => state.stacks.includes(s) && !s.startsWith("kestra_"));
  const changedStacks = [...stacksBefore.keys()].filter((s) => state.stacks.includes(s) && fileOf(outBefore, stacksBefore, s) !== fileOf(out3, stacks3, s));
  const platformServices = platform.flatMap((s) => stacks3.get(s)!.map((x) => x.name));
  const prom = stacks3.get("platform_monitoring")!.find((x) => x.role === "prometheus")!;
  const jobs = forwarderJobsOf(prometheusConfigOf(plan3).text);
  const statesBefore = serviceStates(d, platformServices);

  const created = createObjects(d, plan3);
  state.created.push(...created);
  const sharedObjects = created.filter((o) => !o.name.includes(ONBOARDED_TENANT)).map((o) => `${o.kind} ${o.name}`);
  const start = Date.now();
  for (const s of changedStacks) deploy(d, out3, s, stacks3.get(s)!);
  deploy(d, out3, newStack, stacks3.get(newStack)!);
  state.stacks.push(newStack);
  const cv = await converge(d, [...stacks3.get(newStack)!, ...changedStacks.flatMap((s) => stacks3.get(s)!)]);
  const healthyAfter = (Date.now() - start) / 1000;
  const promC = containersOf(d, prom.name)[0];
  const w = cv.ok ? await waitForTargets(d, promC, stacks3, [newStack], jobs) : { ok: false, problems: [cv.detail], found: [] };
  const upAfter = (Date.now() - start) / 1000;
  const others = await waitForTargets(d, promC, stacks3, [...stacks3.keys()].filter((s) => s.startsWith("kestra_") && s !== newStack), jobs, 0);
  const statesAfter = serviceStates(d, platformServices);
  // Prometheus alone may change: its configuration (a secret) gains the new tenant's scrape jobs, each
  // tenant's own credential (README, "Adding a tenant").
  const touched = platformServices.filter((n) => n !== prom.name && statesBefore.get(n) !== statesAfter.get(n)).map((n) => `${n}: ${statesBefore.get(n)} -> ${statesAfter.get(n)}`);
  peak("onboarded");
  check(
    `onboarding ${ONBOARDED_TENANT} (one more tenant file, its stack deployed): discovered and scraped up (${jobs.map((j) => j.job).join(", ")}) ${upAfter.toFixed(0)} s after its deploy, ${(upAfter - healthyAfter).toFixed(0)} s after its services were healthy (the gap); no platform service but Prometheus (new scrape jobs) updated or restarted (${platformServices.join(", ")}: Version.Index, UpdatedAt, containers compared)`,
    w.ok && others.ok && !touched.length && !changedStacks.some((s) => !s.startsWith("kestra_") && s !== "platform_monitoring"),
    [
      w.ok ? "" : w.problems.join("; "),
      others.ok ? "" : `existing tenants: ${others.problems.join("; ")}`,
      changedStacks.length ? `stack files changed by the new tenant and redeployed: ${changedStacks.join(", ")} (healthy ${healthyAfter.toFixed(0)} s after the deploy)` : "",
      touched.length ? `platform services changed: ${touched.join("; ")}` : "",
      sharedObjects.length ? `new objects outside the tenant: ${sharedObjects.join(", ")}` : "",
    ].filter(Boolean).join("; "),
  );
}

// --- The suite ----------------------------------------------------------------------------------
async function suite(engine: Engine, state: { stacks: string[]; created: { kind: string; name: string }[]; builtImages: boolean; swarmInit: boolean }, peak: (when: string) => void) {
  const d = engine.docker;
  if (d.must(["info", "--format", "{{.Swarm.LocalNodeState}}"]).trim() !== "active") {
    d.must(["swarm", "init", "--advertise-addr", "127.0.0.1", "--task-history-limit", "0"]);
    state.swarmInit = true;
  }
  const hostname = d.must(["info", "--format", "{{.Name}}"]).trim() || os.hostname();
  const project = makeProject(path.join(WORK, "project"), hostname);
  log(`planning the e2e fixture project (node ${hostname})`);
  const out1 = path.join(WORK, "out1");
  const plan = planOf(project, out1);
  const pgImage = String((plan.resources.find((r) => (r.inputs.labels as any[])?.some((l) => l.value === "postgres" && l.label === "kestra-fleet.role") && r.type.endsWith("service:Service"))?.inputs.taskSpec as any)?.containerSpec?.image ?? "postgres:18");

  if (!standinsPresent(d)) {
    log("building the stand-in images");
    buildStandins(d, WORK, pgImage, log);
    state.builtImages = true;
  }
  peak("images built");

  state.created.push(...createObjects(d, plan));
  log(`created ${state.created.length} Swarm objects from the plan`);
  const stacks = stacksOf(plan);
  const tenantStacks = [...stacks.keys()].filter((s) => s.startsWith("kestra_")).sort();
  const deployed = ["platform_storage", "platform_monitoring", ...tenantStacks].filter((s) => stacks.has(s));
  log(`not deployed: platform_proxy (Traefik and its socket proxy; Traefik needs the host's ports 80/443; it routes nothing here)`);
  const uncovered = withoutStandin(plan).filter((s) => !s.startsWith("platform_proxy_"));
  if (uncovered.length) log(`NOT COVERED (no stand-in image yet, left out of the stacks): ${uncovered.join(", ")}`);
  log("NOT COVERED: the socket proxy's allow-list (its stand-in forwards every call to the engine's socket), Traefik, Alertmanager, Grafana, the exporters and the external probe, real Kestra metrics (the stand-in serves two series)");
  for (const s of deployed) {
    deploy(d, out1, s, stacks.get(s)!);
    state.stacks.push(s);
  }
  log(`deployed ${deployed.join(", ")}`);
  const all = deployed.flatMap((s) => stacks.get(s)!);
  const c = await converge(d, all);
  check(`every service converges (running, healthy) within ${CONVERGE_MS / 60000} min: ${all.map((s) => s.name).join(", ")}`, c.ok, c.detail);
  peak("converged");
  if (!c.ok) return;

  // docker stack ps lists exactly the tenant's tasks.
  for (const s of tenantStacks) {
    const expected = stacks.get(s)!.flatMap((x) => Array.from({ length: x.replicas }, (_, i) => `${x.name}.${i + 1}`)).sort();
    const running = d.must(["stack", "ps", s, "--filter", "desired-state=running", "--format", "{{.Name}}"]).split("\n").filter(Boolean).sort();
    const allTasks = d.must(["stack", "ps", s, "--format", "{{.Name}}"]).split("\n").filter(Boolean);
    const foreign = allTasks.filter((n) => !stacks.get(s)!.some((x) => n.startsWith(`${x.name}.`)));
    check(`docker stack ps ${s} lists exactly its tasks`, JSON.stringify(running) === JSON.stringify(expected) && !foreign.length, `running ${running.join(" ")}; expected ${expected.join(" ")}${foreign.length ? `; foreign ${foreign.join(" ")}` : ""}`);
  }

  // Each tenant's Kestra reached its own Postgres with its config's credentials.
  const pgOf = (tenant: string) => servicesOf(plan).find((r) => (r.inputs.labels as any[]).some((l) => l.label === "kestra-fleet.tenant" && l.value === tenant) && (r.inputs.labels as any[]).some((l) => l.label === "kestra-fleet.role" && l.value === "postgres"))!;
  for (const s of tenantStacks) {
    const svcs = stacks.get(s)!;
    const tenant = svcs[0].tenant!;
    const pg = pgOf(tenant);
    const env = (pg.inputs.taskSpec as any).containerSpec.env as Record<string, string>;
    const kestraRoles = servicesOf(plan)
      .filter((r) => svcs.some((x) => x.name === r.inputs.name && ["web", "backend", "worker"].includes(x.role)))
      .map((r) => String((r.inputs.taskSpec as any).containerSpec.args[1]))
      .sort();
    const pgc = containersOf(d, String(pg.inputs.name))[0];
    const r = psql(d, pgc, env.POSTGRES_USER, env.POSTGRES_DB, "SELECT DISTINCT service FROM kestra_fleet_e2e_contract ORDER BY 1");
    const seen = r.out.split("\n").filter(Boolean);
    check(`${tenant}: every Kestra server (${kestraRoles.join(", ")}) logged in to its own Postgres with the config's URL, user and password`, JSON.stringify(seen) === JSON.stringify([...new Set(kestraRoles)]), `recorded: ${seen.join(", ") || r.err.trim()}`);
  }

  // Restore drill with the real backup service (see restoreDrill).
  for (const s of tenantStacks) {
    const b = stacks.get(s)!.find((x) => x.role === "backup");
    if (!b) check(`${s}: deploys a backup service`, false);
    else await restoreDrill(d, b.name, b.tenant!, pgOf(b.tenant!));
  }
  peak("restore drill");

  // The storage path: Kestra reaches `minio` through the path the program declares (the tenant's
  // storage gateway when it has one), and no Kestra container is on the shared storage network.
  for (const s of tenantStacks) {
    const svcs = stacks.get(s)!;
    const via = svcs.find((x) => x.role === "gateway") ?? stacks.get("platform_storage")?.find((x) => x.role === "storage");
    const viaIps = via ? containersOf(d, via.name).flatMap((id) => Object.values(addresses(d, id))) : [];
    const problems: string[] = [];
    for (const k of svcs.filter((x) => ["web", "backend", "worker"].includes(x.role))) {
      for (const kc of containersOf(d, k.name)) {
        if (via?.role === "gateway" && Object.keys(addresses(d, kc)).includes(STORAGE_NETWORK)) problems.push(`${k.name} is on ${STORAGE_NETWORK}`);
        const ip = d.run(["exec", kc, "getent", "hosts", MINIO_ALIAS]).out.trim().split(/\s+/)[0];
        if (!ip || !viaIps.includes(ip)) problems.push(`${k.name}: ${MINIO_ALIAS} resolves to ${ip || "nothing"}, not ${via?.name ?? "a storage service"}`);
        const answer = d.run(["exec", kc, "curl", "-fsS", "--max-time", "5", `http://${MINIO_ALIAS}:9000/`]);
        if (!answer.out.includes("storage stand-in")) problems.push(`${k.name}: no answer from the storage stand-in through ${MINIO_ALIAS}:9000 (${answer.err.trim()})`);
      }
    }
    check(`${svcs[0].tenant}: Kestra reaches storage (${MINIO_ALIAS}:9000, answered) only through ${via?.name ?? "nothing"}`, !!via && !problems.length, problems.join("; "));
  }

  // Isolation between tenants.
  for (const a of tenantStacks) {
    for (const b of tenantStacks.filter((x) => x !== a)) {
      const bSvcs = stacks.get(b)!;
      const bContainers = bSvcs.flatMap((s) => containersOf(d, s.name).map((id) => ({ s, ip: addresses(d, id) })));
      const problems: string[] = [];
      const exempt: string[] = [];
      const probes: Promise<void>[] = [];
      for (const as of stacks.get(a)!) {
        for (const ac of containersOf(d, as.name)) {
          const aNets = Object.keys(addresses(d, ac));
          // Peers of one role on a shared platform network see each other there by design: the webs on
          // the public network Traefik routes through, the gateways on net_storage and on
          // net_monitoring. Only there.
          const peerNet = (bs: Svc, net: string) => bs.role === as.role && SHARED.includes(net) && aNets.includes(net);
          const names: string[] = [];
          const targets: string[] = [];
          for (const bs of bSvcs) {
            const shared = SHARED.find((net) => peerNet(bs, net));
            if (shared) exempt.push(`${as.name} -> ${bs.name} on ${shared}`);
            else names.push(bs.name);
          }
          for (const { s: bs, ip } of bContainers) {
            for (const [net, addr] of Object.entries(ip)) {
              if (peerNet(bs, net)) continue;
              for (const port of PORTS[bs.role] ?? []) targets.push(`${addr}:${port}`);
            }
          }
          const control = as.role === "postgres" ? { name: as.name } : { name: "postgres", target: "postgres:5432" };
          probes.push(
            probe(d, ac, names, targets, control).then((p) => {
              if (!p.controlOk) problems.push(`${as.name}: control probe failed (cannot reach its own Postgres), results meaningless`);
              problems.push(...p.reached.map((l) => `${as.name} ${l}`));
            }),
          );
        }
      }
      await Promise.all(probes);
      check(`${a}'s containers neither resolve nor connect to ${b}'s Postgres or services`, !problems.length, [problems.join("; "), exempt.length ? `exempt: ${[...new Set(exempt)].join(", ")}` : ""].filter(Boolean).join("; "));
    }
  }

  // No Postgres reachable from the public network.
  const pgs = tenantStacks.map((s) => stacks.get(s)!.find((x) => x.role === "postgres")!).filter(Boolean);
  const pgTargets = pgs.flatMap((s) => containersOf(d, s.name).flatMap((id) => Object.values(addresses(d, id)).map((ip) => `${ip}:5432`)));
  const web = stacks.get(tenantStacks[0])!.find((x) => x.role === "web")!;
  const pub = await probe(d, { network: PUBLIC_NETWORK, image: "kestra-fleet-e2e/kestra:standin" }, ["postgres", ...pgs.map((s) => s.name)], pgTargets, { name: web.name, target: `${web.name}:8080` });
  check(`no Postgres is reachable from ${PUBLIC_NETWORK} (${pgTargets.length} addresses, ${pgs.length + 1} names)`, pub.controlOk && !pub.reached.length, pub.controlOk ? pub.reached.join("; ") : "control probe (a web service on that network) failed");

  if (stacks.has("platform_monitoring")) await monitoringChecks(d, plan, stacks, tenantStacks);
  peak("monitoring");

  // No secret value in any service definition.
  const values = secretValues(plan);
  const inspect = d.must(["service", "inspect", ...all.map((s) => s.name)]);
  const leaks = values.filter(({ value: v }) => inspect.includes(v) || inspect.includes(Buffer.from(v).toString("base64")));
  check(`docker service inspect of ${all.length} services holds none of ${values.length} secret values`, !leaks.length, leaks.map((l) => `value of ${l.what} found`).join("; "));

  // A marker row in one tenant's Postgres, read back after a forced update and a redeploy.
  const rot = `kestra_${ROTATED_TENANT}`;
  const pg = pgOf(ROTATED_TENANT);
  const pgName = String(pg.inputs.name);
  const pgEnv = (pg.inputs.taskSpec as any).containerSpec.env as Record<string, string>;
  const marker = `e2e-marker-${process.pid}-${t0}`;
  const before = containersOf(d, pgName)[0];
  const w = psql(d, before, pgEnv.POSTGRES_USER, pgEnv.POSTGRES_DB, `CREATE TABLE kestra_fleet_e2e_marker (v text); INSERT INTO kestra_fleet_e2e_marker VALUES ('${marker}')`);
  const readMarker = () => psql(d, containersOf(d, pgName)[0] ?? "none", pgEnv.POSTGRES_USER, pgEnv.POSTGRES_DB, "SELECT v FROM kestra_fleet_e2e_marker").out.trim();

  // Rotation: new content -> new hashed name; the services that mount it roll; the old object goes.
  const project2 = makeProject(path.join(WORK, "project2"), hostname, rotateEdit);
  const out2 = path.join(WORK, "out2");
  const plan2 = planOf(project2, out2);
  const mounts = (p: Plan) =>
    new Map(servicesOf(p).filter((r) => String(r.inputs.name).startsWith(`${rot}_`)).map((r) => [String(r.inputs.name), ((r.inputs.taskSpec as any).containerSpec.secrets ?? []).map((s: any) => String(s.secretName)) as string[]]));
  const m1 = mounts(plan);
  const m2 = mounts(plan2);
  const oldNames = [...new Set([...m1.values()].flat())].filter((n) => ![...m2.values()].flat().includes(n));
  const newNames = [...new Set([...m2.values()].flat())].filter((n) => ![...m1.values()].flat().includes(n));
  const rolled = [...m2].filter(([, s]) => s.some((n) => newNames.includes(n))).map(([n]) => n);
  const kept = [...m2.keys()].filter((n) => !rolled.includes(n));
  const idsBefore = new Map([...m2.keys()].map((n) => [n, containersOf(d, n).sort().join(",")]));
  state.created.push(...createObjects(d, plan2));
  deploy(d, out2, rot, stacks.get(rot)!);
  await sleep(2000);
  const cr = await converge(d, stacks.get(rot)!);
  const specOk = rolled.every((n) => newNames.every((s) => !m2.get(n)!.includes(s) || d.must(["service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}", n]).includes(`"${s}"`)));
  const rolledOk = rolled.every((n) => containersOf(d, n).sort().join(",") !== idsBefore.get(n));
  const keptOk = kept.every((n) => containersOf(d, n).sort().join(",") === idsBefore.get(n));
  const removed = oldNames.map((n) => ({ n, r: d.run(["secret", "rm", n]) }));
  check(
    `${rot}: rotating a secret (${oldNames.join(", ")} -> ${newNames.join(", ")}) rolls ${rolled.join(", ")}, leaves ${kept.join(", ") || "nothing"}, and the old object can be removed`,
    oldNames.length > 0 && newNames.length > 0 && rolled.length > 0 && cr.ok && specOk && rolledOk && keptOk && removed.every((x) => x.r.code === 0),
    [cr.detail, specOk ? "" : "spec still names the old secret", rolledOk ? "" : "a mounting service kept its container", keptOk ? "" : "a service not mounting it was restarted", ...removed.filter((x) => x.r.code).map((x) => `secret rm ${x.n}: ${x.r.err.trim()}`)].filter(Boolean).join("; "),
  );
  state.created = state.created.filter((o) => !(o.kind === "secret" && oldNames.includes(o.name) && removed.find((x) => x.n === o.name)?.r.code === 0));
  peak("rotated");

  // Postgres data survives a forced update (stop-first) and a redeploy of the stack.
  d.must(["service", "update", "--force", "--detach", pgName]);
  await sleep(2000);
  const cu = await converge(d, [stacks.get(rot)!.find((x) => x.role === "postgres")!]);
  const after = containersOf(d, pgName)[0];
  check(`${pgName}: data survives docker service update --force`, w.code === 0 && cu.ok && after !== before && readMarker() === marker, w.code ? w.err : cu.detail);

  await removeStack(d, rot);
  deploy(d, out2, rot, stacks.get(rot)!);
  const cd = await converge(d, stacks.get(rot)!);
  check(`${pgName}: data survives docker stack rm + docker stack deploy of ${rot}`, cd.ok && readMarker() === marker, cd.detail);

  if (stacks.has("platform_monitoring")) await onboarding(d, hostname, out2, plan2, state, peak);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error("npm run e2e needs root (it runs its own dockerd and installs docker.io and debootstrap when missing)");
    return 2;
  }
  log(`work directory ${WORK}`);
  const state = { stacks: [] as string[], created: [] as { kind: string; name: string }[], builtImages: false, swarmInit: false };
  let engine: Engine | undefined;
  let peakMiB = 0;
  const peak = (when: string) => {
    const mib = diskMiB(WORK);
    peakMiB = Math.max(peakMiB, mib);
    log(`disk under ${WORK}: ${mib} MiB (${when})`);
  };
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (!engine) return;
    const d = engine.docker;
    peak("before clean-up");
    for (const s of [...state.stacks].reverse()) d.run(["stack", "rm", s]);
    for (let i = 0; i < 60 && d.run(["ps", "-aq", "--filter", "label=com.docker.stack.namespace"]).out.trim(); i++) await sleep(2000);
    if (engine.pid) {
      await stopEngine(engine, log);
      return;
    }
    // Someone else's engine: remove exactly what this run created.
    await sleep(3000);
    const order = ["secret", "config", "network", "volume"];
    for (const kind of order) for (const o of state.created.filter((x) => x.kind === kind)) d.run([kind, "rm", o.name]);
    if (state.builtImages && !KEEP_IMAGES) removeStandins(d);
    if (state.swarmInit) d.run(["swarm", "leave", "--force"]);
    for (const dir of ["project", "project2", "project3", "out1", "out2", "out3", "stacks"]) fs.rmSync(path.join(WORK, dir), { recursive: true, force: true });
    log("removed this run's stacks and objects");
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      console.log(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    engine = await startEngine(WORK, log);
    await suite(engine, state, peak);
  } catch (e) {
    check("suite ran to the end", false, (e as Error).message);
  } finally {
    try {
      await cleanup();
    } catch (e) {
      check("clean-up", false, (e as Error).message);
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  const secs = Math.round((Date.now() - t0) / 1000);
  console.log(`\ntook ${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, "0")}s; disk peak ${peakMiB} MiB under ${WORK}`);
  console.log(`${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
});
