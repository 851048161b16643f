/**
 * Cluster fit and cost of a fleet, from what it registered: each service's reservation and limit
 * (`taskSpec.resources`), replicas, placement constraints and tenant label, against the Swarm's
 * nodes (stack config `capacity.nodes`). Pure and deterministic: used by the capacity policies
 * (policies/rules/capacity.ts) and by the plan's report and `--json` (infra/plan).
 *
 * Placement (an estimate of Swarm's scheduler, which filters nodes by constraints and reservations):
 * - a service may run on the nodes that satisfy all its placement constraints (`node.hostname`,
 *   `node.role`, `node.labels.*`, matched against capacity.nodes' names, roles and labels:
 *   infra/model/placement.ts): its eligible nodes;
 * - a service with a `node.hostname == X` constraint runs on X (Postgres on its data node, MinIO and
 *   Traefik on theirs): pinned;
 * - every other task floats: placed one by one, largest reservation first, on the eligible node with
 *   the fewest tasks among those with room left (Swarm's spread) and at least as many CPUs as its CPU
 *   limit (Docker rejects the task at start on a smaller node: it only runs on one that fits), ties by
 *   node name. A task no such node has room for would stay Pending (or be rejected forever).
 * - a global-mode service runs one task on every node it may use.
 *
 * Cost apportioning (documented in README, "Capacity and cost"):
 * - half of a node's monthly price pays for its CPUs, half for its memory: a reservation of c CPUs
 *   and m GiB on node n costs price(n) * (c / cpus(n) + m / memoryGb(n)) / 2;
 * - a pinned task is priced at its node's rates; a floating task at the average rates of the nodes it
 *   may run on (eligible and large enough for its limit; all nodes when none is): its node is Swarm's
 *   choice among them and may change on any update, a tenant's cost must not;
 * - a tenant's direct cost is the sum over its services (reservation x replicas);
 * - platform services (no tenant label: Traefik, MinIO) and unreserved capacity are overhead, shared
 *   by the tenants in proportion to their direct cost: the tenants' monthly costs add up to the
 *   cluster's price.
 * - a tenant's share is the mean of its shares of the cluster's CPUs and memory.
 */
import { LABEL_TENANT } from "../infra/model/naming";
import { nodeMatchesAll, type NodeRole } from "../infra/model/placement";
import { display, labelsOf, servicesOf, type CapacityContext, type NodeSpec, type PolicyResource } from "./model";

export type { CapacityContext, NodeSpec } from "./model";

export interface Task {
  service: PolicyResource;
  tenant?: string;
  /** Reservation, CPUs and GiB. */
  cpus: number;
  memoryGb: number;
  /** Limits (0 when none). */
  limitCpus: number;
  limitMemoryGb: number;
  /** Node named by a `node.hostname ==` constraint. */
  pinned?: string;
  /** Node the estimate puts it on (undefined: no node has room). */
  node?: string;
}

export interface NodeUse {
  name: string;
  cpus: number;
  memoryGb: number;
  reservedCpus: number;
  reservedMemoryGb: number;
  /** Of which services pinned to this node. */
  pinnedCpus: number;
  pinnedMemoryGb: number;
  monthlyCost: number;
  /** Free share of the scarcer resource, 0..1 (negative when over-reserved). */
  headroom: number;
}

export interface TenantCost {
  name: string;
  cpus: number;
  memoryGb: number;
  /** Node its pinned services (Postgres) run on; null when none (managed Postgres). */
  node: string | null;
  /** Mean of its shares of the cluster's CPUs and memory, 0..1. */
  share: number;
  directCost: number;
  monthlyCost: number;
}

export interface CapacityReport {
  currency: string;
  nodes: NodeUse[];
  tenants: TenantCost[];
  totals: {
    cpus: number;
    memoryGb: number;
    reservedCpus: number;
    reservedMemoryGb: number;
    headroom: number;
    monthlyCost: number;
    tenantsDirectCost: number;
    platformCost: number;
    idleCost: number;
  };
  /** Tasks no node has room for, as `service (tenant)` display names. */
  unplaced: string[];
}

const GIB = 1024 ** 3;
const HOSTNAME = /^\s*node\.hostname\s*==\s*(\S+)\s*$/;

const round = (x: number, digits = 2) => {
  const f = 10 ** digits;
  const r = Math.round(x * f) / f;
  return Object.is(r, -0) ? 0 : r;
};

/** The node a service is pinned to by hostname, if any. */
export function pinnedNode(service: PolicyResource): string | undefined {
  const constraints: unknown[] = service.props.taskSpec?.placement?.constraints ?? [];
  for (const c of constraints) {
    const m = HOSTNAME.exec(String(c));
    if (m) return m[1];
  }
  return undefined;
}

/** A service's placement constraints. */
export function constraintsOf(service: PolicyResource): string[] {
  const constraints: unknown[] = service.props.taskSpec?.placement?.constraints ?? [];
  return constraints.map(String);
}

/** The nodes a service may be placed on: those satisfying all its placement constraints (Swarm's filter). */
export function eligibleNodes(service: PolicyResource, nodes: NodeSpec[]): NodeSpec[] {
  const constraints = constraintsOf(service);
  return nodes.filter((n) => nodeMatchesAll(n, constraints));
}

/**
 * The nodes a task of the service can run on: eligible, and with at least as many CPUs as its CPU
 * limit (Docker rejects a container whose limit exceeds its node's CPUs at start; Swarm schedules by
 * reservation and retries the task elsewhere).
 */
export function runnableNodes(service: PolicyResource, nodes: NodeSpec[]): NodeSpec[] {
  const limit = Number(service.props.taskSpec?.resources?.limits?.nanoCpus ?? 0) / 1e9;
  return eligibleNodes(service, nodes).filter((n) => limit <= n.cpus + 1e-9);
}

/** One entry per task: reservation x replicas, one per node for global services. */
export function tasksOf(all: PolicyResource[], nodes: NodeSpec[]): Task[] {
  const out: Task[] = [];
  for (const s of servicesOf(all)) {
    const res = s.props.taskSpec?.resources ?? {};
    const base = {
      service: s,
      tenant: labelsOf(s)[LABEL_TENANT] || undefined,
      cpus: Number(res.reservation?.nanoCpus ?? 0) / 1e9,
      memoryGb: Number(res.reservation?.memoryBytes ?? 0) / GIB,
      limitCpus: Number(res.limits?.nanoCpus ?? 0) / 1e9,
      limitMemoryGb: Number(res.limits?.memoryBytes ?? 0) / GIB,
      pinned: pinnedNode(s),
    };
    if (s.props.mode?.global) {
      for (const n of eligibleNodes(s, nodes)) out.push({ ...base, pinned: n.name });
      continue;
    }
    const replicas = Number(s.props.mode?.replicated?.replicas ?? 1);
    for (let i = 0; i < replicas; i++) out.push({ ...base });
  }
  return out;
}

export function capacityReport(all: PolicyResource[], ctx: CapacityContext): CapacityReport {
  const nodes = [...ctx.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const use = new Map(nodes.map((n) => [n.name, { cpus: 0, mem: 0, pinnedCpus: 0, pinnedMem: 0, tasks: 0 }]));
  const tasks = tasksOf(all, nodes);

  for (const t of tasks) {
    if (t.pinned === undefined) continue;
    const u = use.get(t.pinned);
    if (!u) continue; // pinned to a node capacity does not list: unplaced
    t.node = t.pinned;
    u.cpus += t.cpus;
    u.mem += t.memoryGb;
    u.pinnedCpus += t.cpus;
    u.pinnedMem += t.memoryGb;
    u.tasks++;
  }
  const floating = tasks
    .filter((t) => t.pinned === undefined)
    .sort((a, b) => b.cpus - a.cpus || b.memoryGb - a.memoryGb || (a.service.urn < b.service.urn ? -1 : a.service.urn > b.service.urn ? 1 : 0));
  const EPS = 1e-9;
  for (const t of floating) {
    let best: NodeSpec | undefined;
    for (const n of runnableNodes(t.service, nodes)) {
      const u = use.get(n.name)!;
      if (u.cpus + t.cpus > n.cpus + EPS || u.mem + t.memoryGb > n.memoryGb + EPS) continue;
      if (!best || u.tasks < use.get(best.name)!.tasks) best = n;
    }
    if (!best) continue;
    const u = use.get(best.name)!;
    t.node = best.name;
    u.cpus += t.cpus;
    u.mem += t.memoryGb;
    u.tasks++;
  }

  const total = {
    cpus: nodes.reduce((s, n) => s + n.cpus, 0),
    memoryGb: nodes.reduce((s, n) => s + n.memoryGb, 0),
    price: nodes.reduce((s, n) => s + n.monthlyCost, 0),
  };
  const reservedCpus = tasks.reduce((s, t) => s + t.cpus, 0);
  const reservedMemoryGb = tasks.reduce((s, t) => s + t.memoryGb, 0);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const avg = { cpu: total.cpus ? total.price / 2 / total.cpus : 0, mem: total.memoryGb ? total.price / 2 / total.memoryGb : 0 };
  const rates = new Map<string, { cpu: number; mem: number }>();
  /** Average rates of the nodes a floating service may run on (cached per service). */
  const floatingRate = (s: PolicyResource) => {
    let r = rates.get(s.urn);
    if (!r) {
      const may = runnableNodes(s, nodes);
      const cpus = may.reduce((x, n) => x + n.cpus, 0);
      const mem = may.reduce((x, n) => x + n.memoryGb, 0);
      const price = may.reduce((x, n) => x + n.monthlyCost, 0);
      r = may.length && cpus && mem ? { cpu: price / 2 / cpus, mem: price / 2 / mem } : avg;
      rates.set(s.urn, r);
    }
    return r;
  };
  const costOf = (t: Task) => {
    const n = t.pinned !== undefined ? byName.get(t.pinned) : undefined;
    const rate = n ? { cpu: n.monthlyCost / 2 / n.cpus, mem: n.monthlyCost / 2 / n.memoryGb } : t.pinned === undefined ? floatingRate(t.service) : avg;
    return t.cpus * rate.cpu + t.memoryGb * rate.mem;
  };

  const perTenant = new Map<string, { cpus: number; mem: number; cost: number; node: string | null }>();
  let platformCost = 0;
  for (const t of tasks) {
    const cost = costOf(t);
    if (!t.tenant) {
      platformCost += cost;
      continue;
    }
    let e = perTenant.get(t.tenant);
    if (!e) perTenant.set(t.tenant, (e = { cpus: 0, mem: 0, cost: 0, node: null }));
    e.cpus += t.cpus;
    e.mem += t.memoryGb;
    e.cost += cost;
    if (t.pinned !== undefined && (e.node === null || t.pinned < e.node)) e.node = t.pinned;
  }
  const tenantsDirect = [...perTenant.values()].reduce((s, e) => s + e.cost, 0);
  const headroom = (free: number, size: number) => (size > 0 ? free / size : 0);

  return {
    currency: ctx.currency,
    nodes: nodes.map((n) => {
      const u = use.get(n.name)!;
      return {
        name: n.name,
        cpus: n.cpus,
        memoryGb: n.memoryGb,
        reservedCpus: round(u.cpus),
        reservedMemoryGb: round(u.mem),
        pinnedCpus: round(u.pinnedCpus),
        pinnedMemoryGb: round(u.pinnedMem),
        monthlyCost: round(n.monthlyCost),
        headroom: round(Math.min(headroom(n.cpus - u.cpus, n.cpus), headroom(n.memoryGb - u.mem, n.memoryGb)), 4),
      };
    }),
    tenants: [...perTenant.keys()].sort().map((name) => {
      const e = perTenant.get(name)!;
      return {
        name,
        cpus: round(e.cpus),
        memoryGb: round(e.mem),
        node: e.node,
        share: round(((total.cpus ? e.cpus / total.cpus : 0) + (total.memoryGb ? e.mem / total.memoryGb : 0)) / 2, 6),
        directCost: round(e.cost),
        monthlyCost: round(tenantsDirect > 0 ? (total.price * e.cost) / tenantsDirect : 0),
      };
    }),
    totals: {
      cpus: round(total.cpus),
      memoryGb: round(total.memoryGb),
      reservedCpus: round(reservedCpus),
      reservedMemoryGb: round(reservedMemoryGb),
      headroom: round(Math.min(headroom(total.cpus - reservedCpus, total.cpus), headroom(total.memoryGb - reservedMemoryGb, total.memoryGb)), 4),
      monthlyCost: round(total.price),
      tenantsDirectCost: round(tenantsDirect),
      platformCost: round(platformCost),
      idleCost: round(total.price - tenantsDirect - platformCost),
    },
    unplaced: tasks.filter((t) => t.node === undefined).map((t) => `${display(t.service)}${t.tenant ? ` of tenant ${t.tenant}` : ""}`),
  };
}

/** The context from stack config `capacity` (or CrossGuard config of the same shape). */
export function capacityContext(capacity: {
  currency?: string;
  nodes: Record<string, { cpus: number; memoryGb: number; diskGb?: number; monthlyCost: number; role?: NodeRole; labels?: Record<string, string> }>;
}): CapacityContext {
  return {
    currency: capacity.currency ?? "EUR",
    nodes: Object.keys(capacity.nodes)
      .sort()
      .map((name) => ({ name, ...capacity.nodes[name] })),
  };
}
