/**
 * Deployment: the fixture project planned by the program's own CLI, its Swarm objects created and
 * its stacks deployed (images by role, see ./standins); then what the deployment itself must show:
 * each stack's tasks, each Kestra logged in to its own Postgres, no secret in a service's spec, a
 * rotated secret rolling only what mounts it, Postgres data surviving updates and redeploys.
 */
import * as os from "os";
import * as path from "path";
import type { Plan } from "../infra/plan/run";
import { type State, type Suite, WORK } from "./context";
import { type Docker, sleep } from "./docker";
import { createObjects, makeProject, planOf, secretValues, servicesOf, stacksOf, tenantServiceOf, withoutStandin } from "./plan";
import { check, log, t0 } from "./report";
import { buildStandins, MINIO_IMAGE, standinsPresent } from "./standins";
import { minioContainer, provisionStorage } from "./storage";
import { containersOf, CONVERGE_MS, converge, deploy, psql, removeStack } from "./swarm";

export const ROTATED_TENANT = "alpha";

/** The rotation step's edit: a new admin e-mail for one tenant (new config secret content). */
export const rotateEdit = (name: string, text: string) => (name === ROTATED_TENANT ? text.replace(/adminEmail: (\S+)@/, "adminEmail: rotated.$1@") : text);

/**
 * Plans the fixture, builds the images when missing, creates the plan's objects, deploys its stacks
 * and waits for them to converge. Undefined when they did not (the checks that follow need them).
 */
export async function deployFixture(d: Docker, state: State, peak: (when: string) => void): Promise<Suite | undefined> {
  if (d.must(["info", "--format", "{{.Swarm.LocalNodeState}}"]).trim() !== "active") {
    d.must(["swarm", "init", "--advertise-addr", "127.0.0.1", "--task-history-limit", "0"]);
    state.swarmInit = true;
  }
  const hostname = d.must(["info", "--format", "{{.Name}}"]).trim() || os.hostname();
  const project = makeProject(path.join(WORK, "project"), hostname);
  log(`planning the e2e fixture project (node ${hostname})`);
  const out = path.join(WORK, "out1");
  const plan = planOf(project, out);
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
  // MinIO first: the plan's buckets, users and policies exist before a Kestra looks for its bucket
  // (as the minio provider creates them once the storage service is up).
  for (const s of deployed) {
    deploy(d, out, s, stacks.get(s)!);
    state.stacks.push(s);
    if (s !== "platform_storage") continue;
    const cs = await converge(d, stacks.get(s)!);
    if (!check(`the MinIO service (real server, ${MINIO_IMAGE}) converges and answers mc ready local`, cs.ok, cs.detail)) return undefined;
    provisionStorage(d, minioContainer(d, stacks), plan);
  }
  log(`deployed ${deployed.join(", ")}`);
  const all = deployed.flatMap((s) => stacks.get(s)!);
  const c = await converge(d, all);
  check(`every service converges (running, healthy) within ${CONVERGE_MS / 60000} min: ${all.map((s) => s.name).join(", ")}`, c.ok, c.detail);
  peak("converged");
  if (!c.ok) return undefined;
  return { d, hostname, plan, out, stacks, tenantStacks, deployed, state, peak };
}

/** Every service the first deployment runs. */
export const deployedServices = (s: Suite) => s.deployed.flatMap((x) => s.stacks.get(x)!);

/** docker stack ps lists exactly each tenant's tasks; each tenant's Kestra reached its own Postgres. */
export function deploymentChecks(s: Suite): void {
  const { d, plan, stacks, tenantStacks } = s;
  // docker stack ps lists exactly the tenant's tasks.
  for (const s of tenantStacks) {
    const expected = stacks.get(s)!.flatMap((x) => Array.from({ length: x.replicas }, (_, i) => `${x.name}.${i + 1}`)).sort();
    const running = d.must(["stack", "ps", s, "--filter", "desired-state=running", "--format", "{{.Name}}"]).split("\n").filter(Boolean).sort();
    const allTasks = d.must(["stack", "ps", s, "--format", "{{.Name}}"]).split("\n").filter(Boolean);
    const foreign = allTasks.filter((n) => !stacks.get(s)!.some((x) => n.startsWith(`${x.name}.`)));
    check(`docker stack ps ${s} lists exactly its tasks`, JSON.stringify(running) === JSON.stringify(expected) && !foreign.length, `running ${running.join(" ")}; expected ${expected.join(" ")}${foreign.length ? `; foreign ${foreign.join(" ")}` : ""}`);
  }

  // Each tenant's Kestra reached its own Postgres with its config's credentials.
  for (const s of tenantStacks) {
    const svcs = stacks.get(s)!;
    const tenant = svcs[0].tenant!;
    const pg = tenantServiceOf(plan, tenant, "postgres")!;
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
}

/** No secret value of the plan in `docker service inspect` of any deployed service. */
export function noSecretInSpecs(s: Suite): void {
  const { d, plan } = s;
  const all = deployedServices(s);
  const values = secretValues(plan);
  const inspect = d.must(["service", "inspect", ...all.map((s) => s.name)]);
  const leaks = values.filter(({ value: v }) => inspect.includes(v) || inspect.includes(Buffer.from(v).toString("base64")));
  check(`docker service inspect of ${all.length} services holds none of ${values.length} secret values`, !leaks.length, leaks.map((l) => `value of ${l.what} found`).join("; "));
}

/**
 * A marker row in one tenant's Postgres; a rotated secret (new content, new hashed name) rolls only
 * the services that mount it and the old object can be removed; the marker survives a forced update
 * and a redeploy. Returns the rotated project's `--out` folder and plan (onboarding starts from it).
 */
export async function rotationAndData(s: Suite): Promise<{ out: string; plan: Plan }> {
  const { d, plan, stacks, state, hostname, peak } = s;
  // A marker row in one tenant's Postgres, read back after a forced update and a redeploy.
  const rot = `kestra_${ROTATED_TENANT}`;
  const pg = tenantServiceOf(plan, ROTATED_TENANT, "postgres")!;
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
  return { out: out2, plan: plan2 };
}
