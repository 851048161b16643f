/**
 * The neutral rules as CrossGuard policies: each Rule becomes a ResourceValidationPolicy or a
 * StackValidationPolicy. CrossGuard hands props behind a proxy that throws on values unknown during
 * a preview (copied here to plain values, unknown -> undefined), no secret marks (secretInputs []),
 * options without retainOnDelete, and stack resources whose property dependencies are resource
 * objects (mapped to URNs). Only types are imported from @pulumi/policy: loading this module builds
 * no pack and starts nothing (policies/index.ts does).
 */
import type {
  PolicyConfigSchema,
  PolicyResource as CgStackResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { capacityContext } from "./capacity";
import type { NodeRole } from "../infra/model/placement";
import { withEvaluationCache, type PolicyResource, type Rule, type RuleContext } from "./model";
import { rules } from "./rules";

/** Reads one property; a value CrossGuard cannot know yet (its proxy throws) reads as undefined. */
function read(obj: any, key: string | number): unknown {
  try {
    return plain(obj[key]);
  } catch {
    return undefined;
  }
}

/** A deep, plain copy of CrossGuard props: no proxies, unknown values dropped. */
export function plain(v: unknown, depth = 0): any {
  if (v === null || typeof v !== "object") return v;
  if (depth > 100) return undefined;
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) out.push(read(v, i));
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = read(v, k);
    if (x !== undefined) out[k] = x;
  }
  return out;
}

type ResourceArgsLike = Pick<ResourceValidationArgs, "urn" | "type" | "name" | "props" | "opts">;
type StackResourceLike = Pick<CgStackResource, "urn" | "type" | "name" | "props" | "opts" | "propertyDependencies"> & { parent?: { urn: string } };

/** The neutral shape of a resource validated on its own (no id, no dependencies). */
export function fromResourceArgs(args: ResourceArgsLike): PolicyResource {
  return {
    urn: args.urn,
    type: args.type,
    name: args.name,
    props: plain(args.props ?? {}),
    secretInputs: [],
    options: { protect: args.opts?.protect, deleteBeforeReplace: args.opts?.deleteBeforeReplace, ignoreChanges: args.opts?.ignoreChanges, parent: args.opts?.parent },
    propertyDependencies: {},
  };
}

/** The neutral shape of a resource of the stack: id from its outputs when known, dependencies as URNs. */
export function fromStackResource(r: StackResourceLike): PolicyResource {
  const props = plain(r.props ?? {});
  const deps: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(r.propertyDependencies ?? {})) deps[k] = (list ?? []).map((d) => d.urn);
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    id: typeof props.id === "string" && props.id !== "" ? props.id : undefined,
    props,
    secretInputs: [],
    options: { protect: r.opts?.protect, deleteBeforeReplace: r.opts?.deleteBeforeReplace, ignoreChanges: r.opts?.ignoreChanges, parent: r.opts?.parent ?? r.parent?.urn },
    propertyDependencies: deps,
  };
}

/**
 * Policy config of the capacity rules: the Swarm's nodes, as in stack config `capacity` (pass the same
 * values, e.g. `pulumi config get kestra-fleet:capacity` into the policy config file).
 */
export interface CapacityConfig {
  currency?: string;
  nodes?: Record<string, { cpus?: number; memoryGb?: number; diskGb?: number; monthlyCost?: number; role?: string; labels?: Record<string, string> }>;
}

export const CAPACITY_CONFIG_SCHEMA: PolicyConfigSchema = {
  properties: {
    currency: { type: "string", description: "Currency of monthlyCost (ISO 4217)" },
    nodes: {
      type: "object",
      description: "Every Swarm node by hostname: { cpus, memoryGb, diskGb, monthlyCost, role, labels } (role and labels: placement constraints)",
      additionalProperties: {
        type: "object",
        properties: {
          cpus: { type: "number" },
          memoryGb: { type: "number" },
          diskGb: { type: "number" },
          monthlyCost: { type: "number" },
          role: { type: "string", enum: ["manager", "worker"] },
          labels: { type: "object", additionalProperties: { type: "string" } },
        },
        required: ["cpus", "memoryGb"],
      },
    },
  },
};

/** Policy config of kestra-image-origin: the repositories of the stack's `images.kestra`. */
export interface KestraImageConfig {
  kestraRepositories?: string[];
}

export const KESTRA_IMAGE_CONFIG_SCHEMA: PolicyConfigSchema = {
  properties: {
    kestraRepositories: { type: "array", items: { type: "string" }, description: "Repositories a Kestra service may run: the repository of images.kestra (default kestra/kestra)" },
  },
};

/** Rules that read the capacity config. */
export const CAPACITY_RULES: readonly string[] = ["capacity", "capacity-headroom", "limits-fit-nodes", "limits-placement"];

/** The rule context from policy config: capacity only when every listed node has CPUs and memory. */
export function contextFromConfig(config: CapacityConfig | undefined): RuleContext {
  const nodes = config?.nodes ?? {};
  const names = Object.keys(nodes);
  if (!names.length || names.some((n) => !(Number(nodes[n]?.cpus) > 0 && Number(nodes[n]?.memoryGb) > 0))) return {};
  const spec: Record<string, { cpus: number; memoryGb: number; diskGb?: number; monthlyCost: number; role?: NodeRole; labels?: Record<string, string> }> = {};
  for (const n of names) {
    const role = nodes[n].role === "manager" || nodes[n].role === "worker" ? nodes[n].role : undefined;
    spec[n] = { cpus: Number(nodes[n].cpus), memoryGb: Number(nodes[n].memoryGb), monthlyCost: Number(nodes[n].monthlyCost ?? 0), ...(role ? { role } : {}), ...(nodes[n].labels ? { labels: { ...nodes[n].labels } } : {}) };
  }
  return { capacity: capacityContext({ currency: config?.currency, nodes: spec }) };
}

export function toPolicy(rule: Rule): ResourceValidationPolicy | StackValidationPolicy {
  const base = { name: rule.name, description: rule.description, enforcementLevel: rule.level };
  if (rule.kind === "resource") {
    return {
      ...base,
      validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => rule.check(fromResourceArgs(args), (m) => reportViolation(m)),
    };
  }
  const usesCapacity = CAPACITY_RULES.includes(rule.name);
  const usesKestraImage = rule.name === "kestra-image-origin";
  const context = (args: StackValidationArgs): RuleContext => {
    if (usesCapacity) return contextFromConfig(args.getConfig<CapacityConfig>());
    if (usesKestraImage) return { kestraRepositories: args.getConfig<KestraImageConfig>()?.kestraRepositories };
    return {};
  };
  return {
    ...base,
    ...(usesCapacity ? { configSchema: CAPACITY_CONFIG_SCHEMA } : usesKestraImage ? { configSchema: KESTRA_IMAGE_CONFIG_SCHEMA } : {}),
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) =>
      withEvaluationCache(() =>
        rule.check(
          args.resources.map(fromStackResource),
          (m, urn) => reportViolation(m, urn),
          context(args),
        ),
      ),
  };
}

/** Every rule as a CrossGuard policy, in the order of rules/index.ts. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = rules.map(toPolicy);
