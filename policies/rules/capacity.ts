import { capacityReport, eligibleNodes, tasksOf, type CapacityReport, type NodeSpec } from "../capacity";
import { display, labelsOf, servicesOf, type PolicyResource, type StackRule } from "../model";
import { LABEL_TENANT } from "../../infra/model/naming";

const num = (x: number) => x.toFixed(2);
const pct = (x: number) => `${Math.round(x * 100)} %`;

/** Headroom under this share of a node (or of the cluster) is a warning. */
export const HEADROOM_WARNING = 0.15;

/** A few names and a count: messages stay readable at 1,000 tenants. */
function some(names: string[], max = 5): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/**
 * Rule 15: the fleet fits the Swarm. What services pinned to a node (Postgres on its data node, MinIO,
 * Traefik) reserve fits that node; what all services reserve fits the cluster; and every floating
 * task finds a node with room in the placement estimate (policies/capacity.ts). Swarm leaves a task
 * that fits nowhere Pending: a tenant that would not start.
 */
export const capacity: StackRule = {
  kind: "stack",
  name: "capacity",
  description: "Reservations (x replicas) of the services pinned to a node fit that node, all reservations fit the cluster, and every task fits some node (stack config capacity.nodes).",
  level: "mandatory",
  check(all, report, ctx) {
    if (!ctx.capacity) return;
    const r: CapacityReport = capacityReport(all, ctx.capacity);
    for (const n of r.nodes) {
      const over = [n.pinnedCpus > n.cpus ? `${num(n.pinnedCpus)} CPUs (it has ${num(n.cpus)})` : "", n.pinnedMemoryGb > n.memoryGb ? `${num(n.pinnedMemoryGb)} GiB of memory (it has ${num(n.memoryGb)} GiB)` : ""].filter(Boolean);
      if (!over.length) continue;
      // Services pinned by hostname, and global services (a task on every node).
      const pinned = [...new Set(tasksOf(all, ctx.capacity.nodes).filter((x) => x.pinned === n.name).map((x) => display(x.service)))];
      report(`services pinned to node ${n.name} reserve ${over.join(" and ")}: ${pinned.length} service(s) (${some(pinned)}); move tenants' postgres.node to another data node or give ${n.name} more resources`);
    }
    const t = r.totals;
    if (t.reservedCpus > t.cpus) report(`services reserve ${num(t.reservedCpus)} CPUs, the cluster has ${num(t.cpus)} (${r.nodes.length} node(s)): add nodes or lower reservations; tasks beyond capacity stay Pending`);
    if (t.reservedMemoryGb > t.memoryGb) report(`services reserve ${num(t.reservedMemoryGb)} GiB of memory, the cluster has ${num(t.memoryGb)} GiB (${r.nodes.length} node(s)): add nodes or lower reservations; tasks beyond capacity stay Pending`);
    if (r.unplaced.length && t.reservedCpus <= t.cpus && t.reservedMemoryGb <= t.memoryGb) {
      report(`${r.unplaced.length} task(s) fit no node with room left (${some(r.unplaced)}): the cluster's total suffices but no single node does; add or enlarge nodes; such tasks stay Pending`);
    }
  },
};

/** Rule 15b (advisory): the nodes and the cluster keep 15 % of their CPU and memory free (updates start new tasks first; a node may fail). */
export const capacityHeadroom: StackRule = {
  kind: "stack",
  name: "capacity-headroom",
  description: `Each node and the cluster keep at least ${pct(HEADROOM_WARNING)} of their CPUs and memory unreserved.`,
  level: "advisory",
  check(all, report, ctx) {
    if (!ctx.capacity) return;
    const r = capacityReport(all, ctx.capacity);
    for (const n of r.nodes) {
      if (n.headroom >= HEADROOM_WARNING || n.headroom < 0) continue;
      report(`node ${n.name} keeps ${pct(n.headroom)} headroom (reserved ${num(n.reservedCpus)} of ${num(n.cpus)} CPUs, ${num(n.reservedMemoryGb)} of ${num(n.memoryGb)} GiB): below ${pct(HEADROOM_WARNING)}; plan more capacity`);
    }
    const t = r.totals;
    if (t.headroom < HEADROOM_WARNING && t.headroom >= 0) {
      report(`the cluster keeps ${pct(t.headroom)} headroom (reserved ${num(t.reservedCpus)} of ${num(t.cpus)} CPUs, ${num(t.reservedMemoryGb)} of ${num(t.memoryGb)} GiB): below ${pct(HEADROOM_WARNING)}; plan more capacity`);
    }
  },
};

/** A service's limits against the nodes it may be placed on (its constraints): those too small for each limit. */
function limitShortfalls(s: PolicyResource, nodes: NodeSpec[]) {
  const [t] = tasksOf([s], nodes);
  if (!t) return undefined;
  const eligible = eligibleNodes(s, nodes);
  const tenant = labelsOf(s)[LABEL_TENANT];
  return {
    t,
    eligible,
    who: `${display(s)}${tenant ? ` of tenant ${tenant}` : ""}`,
    fix: tenant ? `give tenant ${tenant} a smaller kestra.size, a placement on larger nodes (swarm.placement.sizes, or kestra.placement in its tenant file), or larger nodes` : "lower the service's limit (infra/model/profiles.ts) or use a larger node",
    cpuShort: eligible.filter((n) => t.limitCpus > n.cpus),
    memShort: eligible.filter((n) => t.limitMemoryGb > n.memoryGb),
  };
}

/**
 * Rule 15c: Docker rejects a task whose CPU limit exceeds its node's CPU count ("Range of CPUs is from
 * 0.01 to 2.00, as there are only 2 CPUs available"). Swarm filters nodes by constraints and
 * reservations, not limits: a task may land on such a node, be rejected there, and be retried. A
 * service is refused when NO node it may be placed on (its placement constraints: infra/model/placement.ts)
 * can run it: it would be rejected forever. A memory limit above every eligible node's memory is
 * refused too: the container could never have it. Some (not all) eligible nodes too small: advisory
 * (limits-placement below).
 */
export const limitsFitNodes: StackRule = {
  kind: "stack",
  name: "limits-fit-nodes",
  description: "Some node a service may be placed on (by its placement constraints) has at least its CPU (and memory) limit.",
  level: "mandatory",
  check(all, report, ctx) {
    if (!ctx.capacity) return;
    for (const s of servicesOf(all)) {
      const f = limitShortfalls(s, ctx.capacity.nodes);
      if (!f || !f.eligible.length) continue; // no eligible node at all: the capacity rule reports it unplaced
      const where = f.t.pinned ? "it is pinned to" : "it may be placed on";
      if (f.cpuShort.length === f.eligible.length) {
        report(
          `${f.who} has a CPU limit of ${num(f.t.limitCpus)}; node(s) ${f.cpuShort.map((n) => `${n.name} (${num(n.cpus)} CPUs)`).join(", ")} ${where} cannot run it: Docker rejects the task ("Range of CPUs is from 0.01 to ${num(Math.max(...f.cpuShort.map((n) => n.cpus)))}") and retries forever; ${f.fix}`,
          s.urn,
        );
      }
      if (f.memShort.length === f.eligible.length) {
        report(`${f.who} has a memory limit of ${num(f.t.limitMemoryGb)} GiB; node(s) ${f.memShort.map((n) => `${n.name} (${num(n.memoryGb)} GiB)`).join(", ")} ${where} cannot give it that much; ${f.fix}`, s.urn);
      }
    }
  },
};

/**
 * Rule 15d (advisory): a service may be placed on some node too small for its CPU limit, while another
 * eligible node fits: Swarm may put a task there, Docker rejects it at start, and it runs only once
 * Swarm retries it on a node that fits (restarts, delays). A placement constraint fixes it.
 */
export const limitsPlacement: StackRule = {
  kind: "stack",
  name: "limits-placement",
  description: "No node a service may be placed on is smaller than its CPU or memory limit (else Docker rejects its task there at start).",
  level: "advisory",
  check(all, report, ctx) {
    if (!ctx.capacity) return;
    for (const s of servicesOf(all)) {
      const f = limitShortfalls(s, ctx.capacity.nodes);
      if (!f || !f.eligible.length) continue;
      const short = [...new Set([...f.cpuShort, ...f.memShort])].sort((a, b) => (a.name < b.name ? -1 : 1));
      if (!short.length || f.cpuShort.length === f.eligible.length || f.memShort.length === f.eligible.length) continue;
      const fit = f.eligible.filter((n) => !short.includes(n)).map((n) => n.name);
      report(
        `${f.who} (limits ${num(f.t.limitCpus)} CPUs, ${num(f.t.limitMemoryGb)} GiB) may be placed on ${short.map((n) => `${n.name} (${num(n.cpus)} CPUs, ${num(n.memoryGb)} GiB)`).join(", ")}, where Docker rejects its task at start; it runs once Swarm retries it on ${some(fit)}. Constrain it to nodes that fit: swarm.placement.sizes (node labels) or the tenant file's kestra.placement`,
        s.urn,
      );
    }
  },
};
