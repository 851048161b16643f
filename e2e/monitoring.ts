/**
 * Monitoring on the real Swarm: Prometheus runs the program's rendered configuration unchanged,
 * discovers every tenant's Kestra through the socket proxy and scrapes it through that tenant's
 * forwarder with the scrape credential; it shares no network with a tenant workload; no tenant reaches
 * another's forwarder; onboarding a tenant updates no platform service (the gap is measured).
 */
import * as fs from "fs";
import * as path from "path";
import { MONITORING_NETWORK, PUBLIC_NETWORK } from "../infra/model/naming";
import type { Plan } from "../infra/plan/run";
import { PROMETHEUS_CONFIG_FILE, SCRAPE_USER } from "../infra/render/monitoring";
import { type Stacks, type State, tenantOf, WORK } from "./context";
import { rotateEdit } from "./deployment";
import { type Docker, sleep } from "./docker";
import { SHARED } from "./isolation";
import { createObjects, makeProject, planOf, servicesOf, stackFileOf, stacksOf, withStandins } from "./plan";
import { activeTargets, forwarderJobsOf, instantQuery, type KestraJob, prometheusConfigOf, scrapePasswordsOf, type Target, tenantTargetProblems } from "./prometheus";
import { check } from "./report";
import { minioContainer, provisionStorage } from "./storage";
import { addresses, containersOf, converge, deploy, probe } from "./swarm";

/** The tenant the onboarding step adds (a copy of the fixture's beta without a worker). */
export const ONBOARDED_TENANT = "gamma";
/** Discovery refreshes every 30 s and scrapes every 30 s: a new target is up within about a minute. */
const SCRAPE_WAIT_MS = 3 * 60_000;

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
export async function monitoringChecks(d: Docker, plan: Plan, stacks: Stacks, tenantStacks: string[]): Promise<void> {
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
export async function onboarding(d: Docker, hostname: string, outBefore: string, planBefore: Plan, state: State, peak: (when: string) => void): Promise<void> {
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

  provisionStorage(d, minioContainer(d, stacks3), plan3);
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
  // `docker stack deploy` of a redeployed stack re-issues every service's unchanged spec (Version.Index and
  // UpdatedAt move, no task restarts), which `pulumi up` would not: there, its other services must keep
  // their containers; services of stacks not redeployed must not change at all.
  const redeployed = new Set(changedStacks.flatMap((s) => stacks3.get(s)!.map((x) => x.name)));
  const containersPart = (state?: string) => state?.slice(state.lastIndexOf("["));
  const changed = (n: string) => (redeployed.has(n) ? containersPart(statesBefore.get(n)) !== containersPart(statesAfter.get(n)) : statesBefore.get(n) !== statesAfter.get(n));
  const touched = platformServices.filter((n) => n !== prom.name && changed(n)).map((n) => `${n}: ${statesBefore.get(n)} -> ${statesAfter.get(n)}`);
  peak("onboarded");
  check(
    `onboarding ${ONBOARDED_TENANT} (one more tenant file, its stack deployed): discovered and scraped up (${jobs.map((j) => j.job).join(", ")}) ${upAfter.toFixed(0)} s after its deploy, ${(upAfter - healthyAfter).toFixed(0)} s after its services were healthy (the gap); no platform service but Prometheus (new scrape jobs) updated or restarted (${platformServices.join(", ")}: Version.Index, UpdatedAt, containers compared; containers only in the redeployed platform_monitoring)`,
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
