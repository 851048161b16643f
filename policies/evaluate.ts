/** Runs every rule over a set of resources (the offline plan). Starts nothing, builds no pack. */
import type { PolicyResource, RuleContext, Violation } from "./model";
import { rules as allRules } from "./rules";
import type { Rule } from "./model";

export function evaluate(resources: PolicyResource[], ctx: RuleContext = {}, rules: Rule[] = allRules): Violation[] {
  const out: Violation[] = [];
  for (const rule of rules) {
    if (rule.kind === "resource") {
      for (const r of resources) rule.check(r, (message) => out.push({ policy: rule.name, urn: r.urn, message, level: rule.level }));
    } else {
      rule.check(resources, (message, urn) => out.push({ policy: rule.name, urn: urn ?? "", message, level: rule.level }), ctx);
    }
  }
  const key = (v: Violation) => `${v.policy}\u0000${v.urn}\u0000${v.message}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
