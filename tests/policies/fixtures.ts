/**
 * The compliant baseline of the policy tests: the example fleet's resources as the offline plan
 * registers them. Tests clone it and mutate one field to break one rule.
 */
import { evaluate } from "../../policies/evaluate";
import type { PolicyResource, Rule, RuleContext, Violation } from "../../policies/model";
import { runPlan, toPolicyResource } from "../../infra/plan/run";

export async function fleet(stack = "staging"): Promise<PolicyResource[]> {
  const r = await runPlan({ stack });
  if (!r.ok) throw new Error("the example fleet does not plan");
  return r.registrations.map(toPolicyResource);
}

export function clone(rs: PolicyResource[]): PolicyResource[] {
  return structuredClone(rs);
}

export function find(rs: PolicyResource[], name: string): PolicyResource {
  const r = rs.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
}

export function check(rule: Rule, rs: PolicyResource[], ctx: RuleContext = {}): Violation[] {
  return evaluate(rs, ctx, [rule]);
}

/** Mutates a clone of the baseline and returns the rule's violations. */
export function broken(rule: Rule, base: PolicyResource[], mutate: (rs: PolicyResource[]) => void, ctx: RuleContext = {}): Violation[] {
  const rs = clone(base);
  mutate(rs);
  return check(rule, rs, ctx);
}

export function setLabel(r: PolicyResource, label: string, value: string | undefined): void {
  const list = (r.props.labels as { label: string; value: string }[]).filter((l) => l.label !== label);
  if (value !== undefined) list.push({ label, value });
  r.props.labels = list;
}
