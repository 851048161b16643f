/**
 * Docker and Swarm queries the checks share: a service's containers and their addresses, waiting
 * for services to converge, deploying a stack file, psql in a container, and reachability probes run
 * from inside a container.
 */
import * as fs from "fs";
import * as path from "path";
import { WORK } from "./context";
import { type Docker, sleep } from "./docker";
import { stackFileOf, withStandins } from "./plan";

export const CONVERGE_MS = 5 * 60_000;

export interface Svc {
  name: string;
  role: string;
  tenant?: string;
  replicas: number;
}

export const containersOf = (d: Docker, service: string) =>
  d.must(["ps", "--filter", `label=com.docker.swarm.service.name=${service}`, "--format", "{{.ID}}"]).split("\n").filter(Boolean);

/** network name -> IP of a container. */
export function addresses(d: Docker, container: string): Record<string, string> {
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
export async function converge(d: Docker, services: Svc[], limitMs = CONVERGE_MS): Promise<{ ok: boolean; detail: string }> {
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

export function lastError(d: Docker, service: string): string {
  const errs = d.run(["service", "ps", "--no-trunc", "--format", "{{.CurrentState}} {{.Error}}", service]).out.trim().split("\n").slice(0, 2).join(" | ");
  const logs = d.run(["service", "logs", "--raw", "--tail", "6", service]);
  return `${service}: ${errs} | logs: ${(logs.out + logs.err).trim().split("\n").slice(-6).join(" / ")}`;
}

export function deploy(d: Docker, out: string, stack: string, services: Svc[]): void {
  const file = path.join(WORK, "stacks", `${stack}.yml`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, withStandins(fs.readFileSync(stackFileOf(out, stack, services[0].tenant), "utf8"), d.socket));
  d.must(["stack", "deploy", "--resolve-image", "never", "--detach=true", "-c", file, stack]);
}

export async function removeStack(d: Docker, stack: string): Promise<void> {
  d.run(["stack", "rm", stack]);
  for (let i = 0; i < 60; i++) {
    if (!d.run(["ps", "-aq", "--filter", `label=com.docker.stack.namespace=${stack}`]).out.trim()) break;
    await sleep(2000);
  }
  // The stack's task network attachments go a moment after its containers.
  await sleep(3000);
}

export const psql = (d: Docker, container: string, user: string, db: string, sql: string) => d.run(["exec", container, "psql", "-X", "-q", "-At", "-U", user, "-d", db, "-c", sql]);

/**
 * Probes run inside a container, in parallel: lines "resolves NAME" and "connects IP:PORT" for each
 * name or address it reaches. `control` lines name what it must reach (proof the probe works).
 */
export async function probe(d: Docker, container: string | { network: string; image: string }, names: string[], targets: string[], control: { name: string; target?: string }): Promise<{ reached: string[]; controlOk: boolean }> {
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
