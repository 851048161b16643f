/**
 * The rules as CrossGuard policies: each neutral rule wrapped in a ResourceValidationPolicy or a
 * StackValidationPolicy. CrossGuard hands plain props (no secret marks), options without
 * retainOnDelete, and stack resources whose dependencies are resource objects: they are mapped to
 * the neutral shape here.
 */
import type { PolicyResource as CgResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { PolicyResource, Rule, RuleContext } from "./model";
import { rules } from "./rules";

export function fromResourceArgs(args: Pick<ResourceValidationArgs, "urn" | "type" | "name" | "props" | "opts">): PolicyResource {
  return {
    urn: args.urn,
    type: args.type,
    name: args.name,
    props: args.props ?? {},
    secretInputs: [],
    options: { protect: args.opts?.protect, deleteBeforeReplace: args.opts?.deleteBeforeReplace, parent: args.opts?.parent },
    propertyDependencies: {},
  };
}

export function fromStackResource(r: Pick<CgResource, "urn" | "type" | "name" | "props" | "opts" | "propertyDependencies">): PolicyResource {
  const deps: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(r.propertyDependencies ?? {})) deps[k] = (list ?? []).map((d) => d.urn);
  const id = typeof r.props?.id === "string" ? r.props.id : undefined;
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    id,
    props: r.props ?? {},
    secretInputs: [],
    options: { protect: r.opts?.protect, deleteBeforeReplace: r.opts?.deleteBeforeReplace, parent: r.opts?.parent },
    propertyDependencies: deps,
  };
}

/** Capacity of the advisory capacity rule, from the pack's config (`cpus`, `memoryGb`). */
export function contextFromConfig(config: { cpus?: number; memoryGb?: number } | undefined): RuleContext {
  return config?.cpus && config?.memoryGb ? { capacity: { nanoCpus: config.cpus * 1e9, memoryBytes: config.memoryGb * 1024 ** 3 } } : {};
}

export function toCrossGuard(rule: Rule): ResourceValidationPolicy | StackValidationPolicy {
  if (rule.kind === "resource") {
    return {
      name: rule.name,
      description: rule.description,
      enforcementLevel: rule.level,
      validateResource: (args, reportViolation) => rule.check(fromResourceArgs(args), (m) => reportViolation(m)),
    };
  }
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.level,
    configSchema: { properties: { cpus: { type: "number" }, memoryGb: { type: "number" } } },
    validateStack: (args, reportViolation) =>
      rule.check(
        args.resources.map(fromStackResource),
        (m, urn) => reportViolation(m, urn),
        contextFromConfig(args.getConfig<{ cpus?: number; memoryGb?: number }>()),
      ),
  };
}

export const policies = rules.map(toCrossGuard);
