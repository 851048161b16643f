/**
 * Where workloads may run: Swarm placement constraints, the forms the fleet accepts, and how they match
 * a node described in stack config (`capacity.nodes`: role and labels). Pure; used by the schemas
 * (validation), the tenant component (rendering) and the capacity policies and report (estimate).
 *
 * Accepted forms (Docker's syntax, `==` or `!=`; docs engine/swarm/services.md "Placement constraints"):
 * - `node.role == manager|worker`
 * - `node.hostname == <name>`
 * - `node.labels.<key> == <value>` (a label set with `docker node update --label-add <key>=<value>`)
 * Swarm semantics: every constraint must hold; `node.labels.k != v` also holds on a node without `k`.
 */
import type { Size } from "./profiles";

export type NodeRole = "manager" | "worker";

export interface NodeFacts {
  name: string;
  /** Undefined: not declared in stack config (a role constraint is then assumed to hold: unknown, not refused). */
  role?: NodeRole;
  labels?: Record<string, string>;
}

export interface Constraint {
  attr: "role" | "hostname" | "label";
  key?: string;
  op: "==" | "!=";
  value: string;
}

const LABEL_KEY = "[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?";
const VALUE = "[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?";
const FORM = new RegExp(`^\\s*node\\.(role|hostname|labels\\.(${LABEL_KEY}))\\s*(==|!=)\\s*(${VALUE})\\s*$`);

/** The constraint's parts, or undefined when it is not one of the accepted forms. */
export function parseConstraint(c: string): Constraint | undefined {
  const m = FORM.exec(c);
  if (!m) return undefined;
  const op = m[3] as "==" | "!=";
  if (m[1] === "role") return ["manager", "worker"].includes(m[4]) ? { attr: "role", op, value: m[4] } : undefined;
  if (m[1] === "hostname") return { attr: "hostname", op, value: m[4] };
  return { attr: "label", key: m[2], op, value: m[4] };
}

/** Why `c` is not an accepted constraint, or undefined. */
export function constraintProblem(c: string): string | undefined {
  if (parseConstraint(c)) return undefined;
  if (/^\s*node\.role\s*(==|!=)/.test(c)) return "node.role is manager or worker";
  return "is not a placement constraint such as `node.role == worker`, `node.labels.size == large` or `node.hostname == node-1` (== or !=)";
}

/**
 * Whether `node` satisfies constraint `c` as Swarm evaluates it. A constraint of another form (Docker
 * has more: node.platform.os, engine.labels, ...) cannot be checked here and is assumed to hold.
 */
export function nodeMatches(node: NodeFacts, c: string): boolean {
  const p = parseConstraint(c);
  if (!p) return true;
  let equal: boolean;
  if (p.attr === "hostname") equal = node.name === p.value;
  else if (p.attr === "role") {
    if (node.role === undefined) return true;
    equal = node.role === p.value;
  } else equal = (node.labels ?? {})[p.key!] === p.value;
  return p.op === "==" ? equal : !equal;
}

/** Whether `node` satisfies every constraint. */
export function nodeMatchesAll(node: NodeFacts, constraints: readonly string[]): boolean {
  return constraints.every((c) => nodeMatches(node, c));
}

/** Stack config `swarm.placement`. */
export interface PlacementSettings {
  /** Every tenant service that is not pinned (Kestra, gateway, backup). */
  tenants: string[];
  /** Added to the Kestra services of the tenants of each size. */
  sizes: Partial<Record<Size, string[]>>;
}

/**
 * The constraints of a tenant's Kestra services (web, backend, workers): the stack's `tenants`, then the
 * tenant file's `kestra.placement` if set, else the stack's for the tenant's size. The tenant file
 * narrows where its Kestra runs; it cannot lift the stack's `tenants` (e.g. off the managers).
 * Duplicates removed, order kept.
 */
export function kestraConstraints(placement: PlacementSettings | undefined, tenant: { kestra: { size: Size; placement?: string[] } }): string[] {
  const own = tenant.kestra.placement ?? placement?.sizes[tenant.kestra.size] ?? [];
  return [...new Set([...(placement?.tenants ?? []), ...own])];
}

/** The constraints of a tenant's other floating services (gateway, backup). */
export function tenantServiceConstraints(placement: PlacementSettings | undefined): string[] {
  return [...new Set(placement?.tenants ?? [])];
}

/** A service's `taskSpec.placement` for `constraints`: none when empty (nothing rendered, no change for stacks without placement). */
export function placementSpec(constraints: readonly string[]): { constraints: string[] } | undefined {
  return constraints.length ? { constraints: [...constraints] } : undefined;
}
