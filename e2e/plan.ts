/**
 * Everything the suite deploys comes from the program's offline plan of the e2e fixture project:
 * the Swarm objects (networks, volumes, secrets, configs) from the plan's resources with their
 * mocked values, and each stack from the `--out` stack file, images replaced by stand-ins chosen by
 * the service's role label.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, parseDocument, stringify } from "yaml";
import { LABEL_ROLE, LABEL_STACK, LABEL_TENANT } from "../infra/model/naming";
import type { Plan, PlanResource } from "../infra/plan/run";
import { type Docker, must } from "./docker";
import { STANDIN_BY_ROLE } from "./standins";

export const REPO = path.resolve(__dirname, "..");
export const FIXTURE = path.join(__dirname, "fixture");
export const STACK = "e2e";
/** The Docker socket path the program's socket proxies mount. */
export const DOCKER_SOCKET = "/var/run/docker.sock";
/** The fixture's name for "the local node". */
const FIXTURE_NODE = "e2e-node";

export const T = {
  SERVICE: "docker:index/service:Service",
  NETWORK: "docker:index/network:Network",
  VOLUME: "docker:index/volume:Volume",
  SECRET: "docker:index/secret:Secret",
  CONFIG: "docker:index/serviceConfig:ServiceConfig",
};

type Labels = Record<string, string>;
const labelsOf = (r: PlanResource): Labels => Object.fromEntries(((r.inputs.labels as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]));

/**
 * A working copy of the fixture project: the local host name as every node, and tenant files
 * changed by `editTenant` (the rotation step edits one).
 */
export function makeProject(dir: string, hostname: string, editTenant?: (name: string, text: string) => string): { config: string; tenants: string } {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "tenants"), { recursive: true });
  const doc = parseDocument(fs.readFileSync(path.join(FIXTURE, `Pulumi.${STACK}.yaml`), "utf8"));
  const swarm = doc.getIn(["config", "kestra-fleet:swarm"]) as any;
  const nodes = swarm.get("nodes");
  nodes.set(hostname, nodes.get(FIXTURE_NODE));
  nodes.delete(FIXTURE_NODE);
  swarm.set("dataNode", hostname);
  doc.setIn(["config", "kestra-fleet:proxy", "node"], hostname);
  doc.setIn(["config", "kestra-fleet:storage", "minio", "node"], hostname);
  const config = path.join(dir, `Pulumi.${STACK}.yaml`);
  fs.writeFileSync(config, doc.toString());
  for (const f of fs.readdirSync(path.join(FIXTURE, "tenants"))) {
    const text = fs.readFileSync(path.join(FIXTURE, "tenants", f), "utf8");
    fs.writeFileSync(path.join(dir, "tenants", f), editTenant ? editTenant(f.replace(/\.yaml$/, ""), text) : text);
  }
  return { config, tenants: path.join(dir, "tenants") };
}

/** `npm run plan -- --json --show-secrets --out DIR`: the program's own CLI. */
export function planOf(project: { config: string; tenants: string }, out: string): Plan {
  const json = must("npm", ["run", "-s", "plan", "--", "--stack", STACK, "--config", project.config, "--tenants", project.tenants, "--json", "--show-secrets", "--out", out], {
    env: { ...process.env, npm_config_loglevel: "error" },
    timeoutMs: 300_000,
  });
  return JSON.parse(json) as Plan;
}

export const servicesOf = (plan: Plan) => plan.resources.filter((r) => r.type === T.SERVICE);

/** A tenant's service of a role in the plan (by the tenant and role labels). */
export const tenantServiceOf = (plan: Plan, tenant: string, role: string) => servicesOf(plan).find((r) => labelsOf(r)[LABEL_TENANT] === tenant && labelsOf(r)[LABEL_ROLE] === role);

/** Services of the plan whose role has no stand-in: not deployed (the suite names them). */
export function withoutStandin(plan: Plan): string[] {
  return servicesOf(plan).filter((s) => !STANDIN_BY_ROLE[labelsOf(s)[LABEL_ROLE]]).map((s) => `${s.inputs.name} (role ${labelsOf(s)[LABEL_ROLE]})`);
}

/** Swarm stacks of the plan and their services with a stand-in (Docker names), by the stack namespace label. */
export function stacksOf(plan: Plan): Map<string, { name: string; role: string; tenant?: string; replicas: number }[]> {
  const m = new Map<string, { name: string; role: string; tenant?: string; replicas: number }[]>();
  for (const s of servicesOf(plan)) {
    const l = labelsOf(s);
    if (!STANDIN_BY_ROLE[l[LABEL_ROLE]]) continue;
    const list = m.get(l[LABEL_STACK]) ?? [];
    list.push({ name: String(s.inputs.name), role: l[LABEL_ROLE], tenant: l[LABEL_TENANT], replicas: (s.inputs.mode as any)?.replicated?.replicas ?? 1 });
    m.set(l[LABEL_STACK], list);
  }
  return m;
}

/**
 * Secret values of the plan, each with what it is (names only): each secret's content, and the
 * credentials inside YAML contents (keys naming a password, secret or token).
 */
export function secretValues(plan: Plan): { value: string; what: string }[] {
  const values = new Map<string, string>();
  for (const r of plan.resources.filter((x) => x.type === T.SECRET)) {
    const name = String(r.inputs.name);
    const text = Buffer.from(String(r.inputs.data), "base64").toString("utf8");
    values.set(text, `secret ${name}`);
    const walk = (v: unknown, at: string) => {
      if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
      // A key naming a file (`password_file`, Prometheus's way to read a credential) holds a path, not a value.
      else if (typeof v === "string" && /password|secret|token/i.test(at) && !/_file$/i.test(at)) values.set(v, `${at} in secret ${name}`);
    };
    if (text.includes("\n")) {
      try {
        walk(parse(text), "");
      } catch {
        /* not YAML */
      }
    }
  }
  return [...values].filter(([v]) => v.length >= 8).map(([value, what]) => ({ value, what }));
}

/** Creates the plan's networks, volumes, secrets and configs that do not exist yet; returns what it created. */
export function createObjects(docker: Docker, plan: Plan): { kind: string; name: string }[] {
  const created: { kind: string; name: string }[] = [];
  const labelArgs = (r: PlanResource) => Object.entries(labelsOf(r)).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  const kinds: [string, string, (r: PlanResource) => string[], (r: PlanResource) => string | undefined][] = [
    [T.NETWORK, "network", (r) => ["--driver", String(r.inputs.driver), ...(r.inputs.attachable ? ["--attachable"] : []), ...Object.entries((r.inputs.options as Labels) ?? {}).flatMap(([k, v]) => ["--opt", v ? `${k}=${v}` : k])], () => undefined],
    [T.VOLUME, "volume", (r) => ["--driver", String(r.inputs.driver)], () => undefined],
    [T.SECRET, "secret", () => [], (r) => Buffer.from(String(r.inputs.data), "base64").toString("utf8")],
    [T.CONFIG, "config", () => [], (r) => Buffer.from(String(r.inputs.data), "base64").toString("utf8")],
  ];
  for (const [type, kind, args, data] of kinds) {
    for (const r of plan.resources.filter((x) => x.type === type)) {
      const name = String(r.inputs.name);
      if (docker.run([kind, "inspect", name]).code === 0) continue;
      const content = data(r);
      docker.must([kind, "create", ...labelArgs(r), ...args(r), ...(kind === "network" || kind === "volume" ? [name] : [name, "-"])], content);
      created.push({ kind, name });
    }
  }
  return created;
}

/** The `--out` stack file of a stack: `<tenant>/stack.yml` or `<stack>.yml`. */
export function stackFileOf(out: string, stack: string, tenant?: string): string {
  return tenant ? path.join(out, tenant, "stack.yml") : path.join(out, `${stack}.yml`);
}

/**
 * The stack file with each service's image replaced by its role's stand-in; a service whose role has
 * none is left out (see withoutStandin). Reservations go too: the profiles reserve more CPU than a
 * 2-core test machine has; limits stay. A bind mount of the Docker socket (the socket proxies) is
 * pointed at `dockerSocket`, the suite's private engine socket.
 */
export function withStandins(text: string, dockerSocket?: string): string {
  const doc = parse(text) as { services: Record<string, any> };
  for (const [key, svc] of Object.entries(doc.services)) {
    const role = svc.deploy?.labels?.[LABEL_ROLE];
    const image = STANDIN_BY_ROLE[role];
    if (!image) {
      delete doc.services[key];
      continue;
    }
    svc.image = image;
    if (svc.deploy.resources) delete svc.deploy.resources.reservations;
    // The engine's socket is the suite's private one, not the host's /var/run/docker.sock.
    if (dockerSocket) for (const v of svc.volumes ?? []) if (v.type === "bind" && v.source === DOCKER_SOCKET) v.source = dockerSocket;
  }
  return stringify(doc, { lineWidth: 0 });
}
