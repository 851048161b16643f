/**
 * The plan diff: what changes between an earlier `--json` plan (the baseline, e.g. the target
 * branch's) and this one, per tenant and for the platform, as a reviewer of a pull request needs it.
 * Pure: two plan documents in, a PlanDiff out, rendered as text or Markdown. No credentials, no state:
 * it compares two offline plans, not the deployed stack (the deploy workflow's guard does that).
 */
import { postgresMajor } from "../render/postgres";
import { DB_PASSWORD_ROTATION_DOC, isDbPasswordName, LABEL_ROLE } from "../model/naming";
import { replacingPaths } from "./force-new";

/** The part of a plan resource the diff reads (the `--json` plan's resources). */
export interface DiffResource {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  provider: string | null;
  inputs: Record<string, unknown>;
  options: { protect: boolean; retainOnDelete?: boolean; deleteBeforeReplace?: boolean; ignoreChanges?: string[] };
}

export interface DiffPlan {
  stack: string;
  tenants: string[];
  resources: DiffResource[];
}

export type ChangeKind = "create" | "update" | "replace" | "delete";

export interface ResourceChange {
  kind: ChangeKind;
  urn: string;
  type: string;
  name: string;
  /** Docker or external name, when the resource has one. */
  externalName?: string;
  /** Changed input paths (update and replace), sorted. */
  paths: string[];
  /** The changed paths that force the replacement. */
  replaceBecause: string[];
  /** The Pulumi provider (a node's Docker endpoint) changed. */
  providerChange?: { from: string | null; to: string | null };
  protect: boolean;
  /** Why this change stops the deployment, when it does. */
  blocked?: string;
  /** Anything else a reviewer should know. */
  notes: string[];
}

export interface ServiceRestart {
  tenant?: string;
  name: string;
  urn: string;
  /** The Swarm update order of the service. */
  order: "stop-first" | "start-first";
  /** Whether the service is unavailable while it restarts. */
  outage: string | undefined;
  reason: "task spec changed" | "replaced";
}

export interface DiffGroup {
  /** Tenant name, or undefined for the platform (proxy, storage, providers). */
  tenant?: string;
  changes: ResourceChange[];
}

export interface PlanDiff {
  stack: string;
  groups: DiffGroup[];
  restarts: ServiceRestart[];
  blocked: ResourceChange[];
  counts: Record<ChangeKind, number>;
}

export const OFFBOARDING_DOC = "docs/operations.md#offboarding-a-client (README: Onboarding and offboarding a client)";
export const POSTGRES_UPGRADE_DOC = "docs/operations.md#upgrading-postgres-across-a-major-version";
export const NODE_MOVE_DOC = "README.md#moving-data-to-another-node-switching-network-encryption";

const TENANT_TYPE = "kestra-fleet:stacks:TenantStack";
const SERVICE_TYPE = "docker:index/service:Service";
export const RANDOM_PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";

/** Why a replacement of a tenant's database password stops a deployment. */
export function dbPasswordReplaced(because: string): string {
  return `replaces the tenant's database password${because ? ` (${because})` : ""}: Postgres keeps the old one on its data directory, so Kestra and the backup could no longer log in and the escrow would hold a wrong password; rotate it with ALTER ROLE first, see ${DB_PASSWORD_ROTATION_DOC}`;
}

/** Validates a parsed JSON document as a plan; returns a message naming what is wrong. */
export function planProblem(doc: unknown): string | undefined {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return "is not a plan: expected the JSON object `npm run plan -- --json` prints";
  const d = doc as Record<string, unknown>;
  if (typeof d.stack !== "string") return "is not a plan: `stack` is missing";
  if (!Array.isArray(d.tenants) || !d.tenants.every((t) => typeof t === "string")) return "is not a plan: `tenants` must be a list of names";
  if (!Array.isArray(d.resources)) return "is not a plan: `resources` is missing";
  for (const [i, r] of d.resources.entries()) {
    const x = r as Record<string, unknown> | null;
    if (!x || typeof x !== "object" || typeof x.urn !== "string" || typeof x.type !== "string" || typeof x.name !== "string")
      return `is not a plan: resources[${i}] needs urn, type and name`;
    if (x.inputs !== undefined && (typeof x.inputs !== "object" || x.inputs === null)) return `is not a plan: resources[${i}].inputs must be an object`;
    if (x.options !== undefined && (typeof x.options !== "object" || x.options === null)) return `is not a plan: resources[${i}].options must be an object`;
  }
  return undefined;
}

/** Normalises a validated plan document (missing optional fields filled). */
export function asDiffPlan(doc: unknown): DiffPlan {
  const d = doc as { stack: string; tenants: string[]; resources: Partial<DiffResource>[] };
  return {
    stack: d.stack,
    tenants: d.tenants,
    resources: d.resources.map((r) => ({
      urn: r.urn!,
      type: r.type!,
      name: r.name!,
      parent: r.parent ?? null,
      provider: r.provider ?? null,
      inputs: (r.inputs ?? {}) as Record<string, unknown>,
      options: { protect: false, ...(r.options ?? {}) },
    })),
  };
}

/** The tenant each resource belongs to (through its parents). */
export function ownerOf(plan: DiffPlan): Map<string, string | undefined> {
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const out = new Map<string, string | undefined>();
  for (const r of plan.resources) {
    let owner: string | undefined;
    const seen = new Set<string>();
    for (let cur: DiffResource | undefined = r; cur && !seen.has(cur.urn); cur = cur.parent ? byUrn.get(cur.parent) : undefined) {
      seen.add(cur.urn);
      if (cur.type === TENANT_TYPE) {
        owner = cur.name.replace(/-tenant$/, "");
        break;
      }
    }
    out.set(r.urn, owner);
  }
  return out;
}

/** Paths (`a.b[0].c`) where two JSON values differ, sorted. An added or removed key is one path. */
export function changedPaths(a: unknown, b: unknown, prefix = "", depth = 0): string[] {
  if (Object.is(a, b)) return [];
  // Plans nest a dozen levels; a hostile baseline must not exhaust the stack.
  if (depth > 64) return [prefix || "(value)"]; // reported as changed: beyond any plan's depth
  const isObj = (v: unknown) => !!v && typeof v === "object" && !Array.isArray(v);
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const p = `${prefix}[${i}]`;
      if (i >= a.length || i >= b.length) out.push(p);
      else out.push(...changedPaths(a[i], b[i], p, depth + 1));
    }
    return out;
  }
  if (isObj(a) && isObj(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
    const out: string[] = [];
    for (const k of keys) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (!(k in ao) || !(k in bo)) out.push(p);
      else out.push(...changedPaths(ao[k], bo[k], p, depth + 1));
    }
    return out;
  }
  return [prefix || "(value)"];
}

/** Whether a path is at or under one of the ignoreChanges paths (Pulumi property paths). */
function ignored(path: string, ignoreChanges: readonly string[] | undefined): boolean {
  return (ignoreChanges ?? []).some((ig) => {
    const norm = ig.replace(/\["([^"]+)"\]/g, ".$1").replace(/\[\*\]/g, "[0]");
    const igSeg = norm.split(/\.|\[(\d+)\]/).filter(Boolean);
    const seg = path.split(/\.|\[(\d+)\]/).filter(Boolean);
    if (igSeg.length > seg.length) return false;
    return igSeg.every((s, i) => s === seg[i] || (/^\d+$/.test(s) && ig.includes("[*]") && /^\d+$/.test(seg[i])));
  });
}

function externalName(r: DiffResource): string | undefined {
  const n = r.inputs.name ?? r.inputs.bucket ?? r.inputs.domain;
  return typeof n === "string" && n !== r.name ? n : undefined;
}

function label(r: DiffResource, key: string): string | undefined {
  const labels = r.inputs.labels;
  if (!Array.isArray(labels)) return undefined;
  const hit = labels.find((l) => l && typeof l === "object" && (l as Record<string, unknown>).label === key) as Record<string, unknown> | undefined;
  return typeof hit?.value === "string" ? hit.value : undefined;
}

function at(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const k of path) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

function updateOrder(r: DiffResource): "stop-first" | "start-first" {
  return at(r.inputs, ["updateConfig", "order"]) === "start-first" ? "start-first" : "stop-first";
}

function replicas(r: DiffResource): number {
  const n = at(r.inputs, ["mode", "replicated", "replicas"]);
  return typeof n === "number" ? n : 1;
}

export function diffPlans(baseline: DiffPlan, current: DiffPlan): PlanDiff {
  const before = new Map(baseline.resources.map((r) => [r.urn, r]));
  const after = new Map(current.resources.map((r) => [r.urn, r]));
  const ownerBefore = ownerOf(baseline);
  const ownerAfter = ownerOf(current);
  const changes: { owner?: string; change: ResourceChange }[] = [];
  const restarts: ServiceRestart[] = [];

  for (const r of current.resources) {
    const old = before.get(r.urn);
    const owner = ownerAfter.get(r.urn);
    if (!old) {
      changes.push({ owner, change: { kind: "create", urn: r.urn, type: r.type, name: r.name, externalName: externalName(r), paths: [], replaceBecause: [], protect: r.options.protect, notes: [] } });
      continue;
    }
    const paths = changedPaths(old.inputs, r.inputs).filter((p) => !ignored(p, r.options.ignoreChanges));
    const providerChanged = (old.provider ?? null) !== (r.provider ?? null);
    if (!paths.length && !providerChanged) continue;
    const isComponent = r.type.startsWith("kestra-fleet:") || r.type.startsWith("pulumi:providers:");
    const rep = isComponent ? { paths: [], known: true } : replacingPaths(r.type, paths);
    const kind: ChangeKind = rep.paths.length ? "replace" : "update";
    const change: ResourceChange = {
      kind,
      urn: r.urn,
      type: r.type,
      name: r.name,
      externalName: externalName(r) ?? externalName(old),
      paths,
      replaceBecause: rep.paths,
      protect: old.options.protect || r.options.protect,
      notes: [],
    };
    if (!rep.known && rep.paths.length) change.notes.push("type not in the ForceNew table: assumed replaced");
    if (r.type.startsWith("pulumi:providers:")) change.notes.push("provider configuration changed: read the preview, the engine may re-create what this provider manages");
    if (providerChanged) {
      change.providerChange = { from: old.provider ?? null, to: r.provider ?? null };
      change.notes.push("provider changed: Pulumi only re-points its state, nothing moves on the nodes");
    }
    if (kind === "replace" && r.type === RANDOM_PASSWORD_TYPE && isDbPasswordName(r.urn)) {
      // Protected or not (someone may have unprotected it): never a routine change.
      change.blocked = dbPasswordReplaced(rep.paths.join(", "));
    } else if (change.protect && kind === "replace") {
      change.blocked = `replaces a protected resource (${rep.paths.join(", ")}): its data would be lost; see ${OFFBOARDING_DOC}`;
    } else if (change.protect && providerChanged) {
      change.blocked = `moves a protected resource to another provider (node): the data stays on the old node; see ${NODE_MOVE_DOC}`;
    }
    if (r.type === SERVICE_TYPE && label(r, LABEL_ROLE) === "postgres") {
      const from = postgresMajor(at(old.inputs, ["taskSpec", "containerSpec", "image"]));
      const to = postgresMajor(at(r.inputs, ["taskSpec", "containerSpec", "image"]));
      if (from !== undefined && to !== undefined && from !== to) {
        change.blocked = `changes Postgres from major ${from} to ${to} by the image tag alone: the new server cannot read the old data directory; dump and restore, see ${POSTGRES_UPGRADE_DOC}`;
      }
    }
    if (r.type === SERVICE_TYPE && replicas(r) > 0) {
      const order = updateOrder(r);
      if (kind === "replace") {
        change.notes.push("a named service is replaced delete-first: it is down until the new one is healthy");
        restarts.push({ tenant: owner, name: String(r.inputs.name ?? r.name), urn: r.urn, order, outage: "down between delete and create", reason: "replaced" });
      } else if (paths.some((p) => p === "taskSpec" || p.startsWith("taskSpec."))) {
        restarts.push({
          tenant: owner,
          name: String(r.inputs.name ?? r.name),
          urn: r.urn,
          order,
          outage: order === "stop-first" ? "short outage: stop-first stops the old task before the new one is healthy" : undefined,
          reason: "task spec changed",
        });
      }
    }
    changes.push({ owner, change });
  }
  for (const r of baseline.resources) {
    if (after.has(r.urn)) continue;
    const change: ResourceChange = { kind: "delete", urn: r.urn, type: r.type, name: r.name, externalName: externalName(r), paths: [], replaceBecause: [], protect: r.options.protect, notes: [] };
    if (r.options.protect) change.blocked = `deletes a protected resource: Pulumi refuses until it is unprotected; see ${OFFBOARDING_DOC}`;
    else if (r.options.retainOnDelete) change.notes.push("retainOnDelete: Pulumi forgets it, the object stays");
    changes.push({ owner: ownerBefore.get(r.urn), change });
  }

  const kindOrder: Record<ChangeKind, number> = { delete: 0, replace: 1, update: 2, create: 3 };
  const byOwner = new Map<string | undefined, ResourceChange[]>();
  for (const { owner, change } of changes) byOwner.set(owner, [...(byOwner.get(owner) ?? []), change]);
  const tenants = [...byOwner.keys()].filter((k): k is string => k !== undefined).sort();
  const groups: DiffGroup[] = [...tenants.map((t) => ({ tenant: t })), ...(byOwner.has(undefined) ? [{ tenant: undefined }] : [])].map((g) => ({
    ...g,
    changes: byOwner.get(g.tenant)!.sort((a, b) => kindOrder[a.kind] - kindOrder[b.kind] || (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0)),
  }));
  const all = groups.flatMap((g) => g.changes);
  const counts: Record<ChangeKind, number> = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const c of all) counts[c.kind]++;
  restarts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { stack: current.stack, groups, restarts, blocked: all.filter((c) => c.blocked), counts };
}

export function isEmptyDiff(d: PlanDiff): boolean {
  return d.groups.length === 0;
}

const SYMBOL: Record<ChangeKind, string> = { create: "+", update: "~", replace: "+-", delete: "-" };

function title(c: ResourceChange): string {
  return `${c.type} ${c.name}${c.externalName ? ` (${c.externalName})` : ""}${c.protect ? " [protect]" : ""}`;
}

function detail(c: ResourceChange): string[] {
  const out: string[] = [];
  if (c.kind === "replace") out.push(`replaced because: ${c.replaceBecause.join(", ")}`);
  const rest = c.paths.filter((p) => !c.replaceBecause.includes(p));
  if (rest.length) out.push(`changed: ${rest.join(", ")}`);
  if (c.providerChange) out.push(`provider: ${c.providerChange.from ?? "(default)"} -> ${c.providerChange.to ?? "(default)"}`);
  out.push(...c.notes);
  if (c.blocked) out.push(`BLOCKED: ${c.blocked}`);
  return out;
}

function summary(d: PlanDiff): string {
  const { create, update, replace, delete: del } = d.counts;
  return `${create} to create, ${update} to update, ${replace} to replace, ${del} to delete; ${d.restarts.length} service(s) restart; ${d.blocked.length} blocked`;
}

function restartLine(s: ServiceRestart): string {
  return `${s.name} (${s.reason}, ${s.order}${s.outage ? `: ${s.outage}` : ": no outage"})`;
}

export function formatDiff(d: PlanDiff, baselineName: string): string {
  if (isEmptyDiff(d)) return `Plan diff for stack ${d.stack} against ${baselineName}: no changes.\n`;
  const lines = [`Plan diff for stack ${d.stack} against ${baselineName}: ${summary(d)}`, ""];
  for (const g of d.groups) {
    lines.push(g.tenant ? `Tenant ${g.tenant}` : "Platform");
    for (const c of g.changes) {
      lines.push(`  ${SYMBOL[c.kind].padEnd(2)} ${title(c)}`);
      for (const x of detail(c)) lines.push(`       ${x}`);
    }
    const rs = d.restarts.filter((s) => s.tenant === g.tenant);
    if (rs.length) lines.push("  restarts:", ...rs.map((s) => `    ${restartLine(s)}`));
    lines.push("");
  }
  if (d.blocked.length) {
    lines.push("Blocked (the deployment stops on these):", ...d.blocked.map((c) => `  x ${c.kind} ${title(c)}: ${c.blocked}`), "");
  }
  return lines.join("\n");
}

function md(text: string): string {
  return text.replace(/([\\`*_|<>])/g, "\\$1");
}

export function formatDiffMarkdown(d: PlanDiff, baselineName: string): string {
  const head = `### Plan diff: stack \`${md(d.stack)}\``;
  if (isEmptyDiff(d)) return `${head}\n\nNo changes against ${md(baselineName)}.\n`;
  const lines = [head, "", `Against ${md(baselineName)}: **${summary(d)}**.`, ""];
  if (d.blocked.length) {
    lines.push("> [!CAUTION]", "> This change stops the deployment:");
    for (const c of d.blocked) lines.push(`> - **${c.kind}** \`${c.name}\` (${md(c.type)}): ${md(c.blocked!)}`);
    lines.push("");
  }
  for (const g of d.groups) {
    lines.push(`#### ${g.tenant ? `Tenant \`${g.tenant}\`` : "Platform"}`, "", "| | resource | type | details |", "|---|---|---|---|");
    for (const c of g.changes) {
      const name = `\`${c.name}\`${c.externalName ? ` (\`${c.externalName}\`)` : ""}${c.protect ? " (protected)" : ""}`;
      lines.push(`| ${c.kind} | ${name} | ${md(c.type)} | ${detail(c).map(md).join("<br>") || ""} |`);
    }
    const rs = d.restarts.filter((s) => s.tenant === g.tenant);
    if (rs.length) lines.push("", "Restarts:", ...rs.map((s) => `- ${md(restartLine(s))}`));
    lines.push("");
  }
  return lines.join("\n");
}
