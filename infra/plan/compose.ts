/**
 * A Swarm stack file (Compose v3.9) equivalent to the services the plan declares for one Swarm stack
 * (`kestra_<t>`, `platform_proxy`, `platform_storage`). Written by `--out` for review, and checked in
 * tests with `docker stack config`, which validates a stack file offline. Networks, volumes, secrets and
 * configs are external: the program creates them.
 */
import { stringify } from "yaml";
import { LABEL_STACK } from "../model/naming";
import { labelMap } from "../render/labels";
import type { Plan, PlanResource } from "./run";

const SERVICE = "docker:index/service:Service";

type Obj = Record<string, any>;

const labels = (r: PlanResource) => labelMap(r.inputs.labels as { label: string; value: string }[] | undefined);

const cpus = (nano: number) => String(nano / 1e9);
const mem = (bytes: number) => `${Math.round(bytes / (1024 * 1024))}M`;

/** Swarm stacks present in the plan, by the namespace label of their services. */
export function swarmStacks(plan: Plan): string[] {
  return [...new Set(plan.resources.filter((r) => r.type === SERVICE).map((r) => labels(r)[LABEL_STACK]).filter(Boolean))].sort();
}

/** Compose interpolates `$`: a literal dollar (a regular expression in an argument) is written `$$`. */
const esc = <T>(v: T): T => (typeof v === "string" ? (v.replace(/\$/g, "$$$$") as T) : Array.isArray(v) ? (v.map(esc) as T) : v);

export function composeFor(plan: Plan, stack: string): string {
  const byId = new Map(plan.resources.filter((r) => r.id).map((r) => [r.id as string, r]));
  const nameOf = (id: string) => (byId.get(id)?.inputs.name as string) ?? id;
  const services: Obj = {};
  const networks: Obj = {};
  const volumes: Obj = {};
  const secrets: Obj = {};
  const configs: Obj = {};
  for (const r of plan.resources.filter((x) => x.type === SERVICE && labels(x)[LABEL_STACK] === stack)) {
    const i = r.inputs as Obj;
    const c = i.taskSpec.containerSpec as Obj;
    const key = String(i.name).startsWith(`${stack}_`) ? String(i.name).slice(stack.length + 1) : String(i.name);
    const svc: Obj = { image: c.image };
    if (c.commands) svc.entrypoint = esc(c.commands);
    if (c.args) svc.command = esc(c.args);
    if (c.env) svc.environment = Object.fromEntries(Object.entries(c.env as Obj).map(([k, v]) => [k, esc(v)]));
    if (c.secrets) {
      svc.secrets = c.secrets.map((s: Obj) => {
        secrets[s.secretName] = { external: true };
        return { source: s.secretName, target: s.fileName, mode: s.fileMode };
      });
    }
    if (c.configs) {
      svc.configs = c.configs.map((s: Obj) => {
        configs[s.configName] = { external: true };
        return { source: s.configName, target: s.fileName, mode: s.fileMode };
      });
    }
    if (c.mounts) {
      svc.volumes = c.mounts.map((m: Obj) => {
        if (m.type === "volume") volumes[m.source] = { external: true };
        const v: Obj = { type: m.type, target: m.target };
        if (m.source) v.source = m.source;
        if (m.readOnly) v.read_only = true;
        if (m.bindOptions?.propagation) v.bind = { propagation: m.bindOptions.propagation };
        if (m.tmpfsOptions?.sizeBytes) v.tmpfs = { size: m.tmpfsOptions.sizeBytes };
        return v;
      });
    }
    const h = c.healthcheck as Obj | undefined;
    if (h) svc.healthcheck = { test: esc(h.tests), interval: h.interval, timeout: h.timeout, retries: h.retries, start_period: h.startPeriod };
    if (c.stopGracePeriod) svc.stop_grace_period = c.stopGracePeriod;
    if (c.user) svc.user = c.user;
    if (c.readOnly) svc.read_only = true;
    if (c.capDrops) svc.cap_drop = c.capDrops;
    const t = i.taskSpec as Obj;
    svc.networks = {};
    for (const n of i.taskSpec.networksAdvanceds ?? []) {
      const name = nameOf(n.id);
      networks[name] = { external: true };
      svc.networks[name] = n.aliases ? { aliases: n.aliases } : null;
    }
    if (i.endpointSpec?.ports) {
      svc.ports = i.endpointSpec.ports.map((p: Obj) => ({ target: p.targetPort, published: p.publishedPort, protocol: p.protocol, mode: p.publishMode }));
    }
    const deploy: Obj = i.mode?.global ? { mode: "global", labels: labels(r) } : { mode: "replicated", replicas: i.mode?.replicated?.replicas ?? 1, labels: labels(r) };
    if (t.logDriver) svc.logging = { driver: t.logDriver.name, options: t.logDriver.options };
    if (i.endpointSpec?.mode) deploy.endpoint_mode = i.endpointSpec.mode;
    if (t.placement?.constraints) deploy.placement = { constraints: t.placement.constraints };
    if (t.resources) {
      deploy.resources = {
        limits: { cpus: cpus(t.resources.limits.nanoCpus), memory: mem(t.resources.limits.memoryBytes) },
        reservations: { cpus: cpus(t.resources.reservation.nanoCpus), memory: mem(t.resources.reservation.memoryBytes) },
      };
    }
    if (t.restartPolicy) {
      deploy.restart_policy = { condition: t.restartPolicy.condition, delay: t.restartPolicy.delay, max_attempts: t.restartPolicy.maxAttempts, window: t.restartPolicy.window };
    }
    const upd = (u: Obj | undefined) =>
      u && Object.fromEntries(Object.entries({ order: u.order, parallelism: u.parallelism, failure_action: u.failureAction, monitor: u.monitor }).filter(([, v]) => v !== undefined));
    if (i.updateConfig) deploy.update_config = upd(i.updateConfig);
    if (i.rollbackConfig) deploy.rollback_config = upd(i.rollbackConfig);
    svc.deploy = deploy;
    services[key] = svc;
  }
  const doc: Obj = { version: "3.9", services };
  if (Object.keys(networks).length) doc.networks = networks;
  if (Object.keys(volumes).length) doc.volumes = volumes;
  if (Object.keys(secrets).length) doc.secrets = secrets;
  if (Object.keys(configs).length) doc.configs = configs;
  return `# ${stack}: equivalent Swarm stack file rendered by kestra-fleet for review (the program deploys it with Pulumi).\n` + stringify(doc, { lineWidth: 0 });
}
