import { WEBHOOK_PATHS } from "../../infra/naming";
import { T, describe, hostsOfRule, roleOf, routersOf, services, type PolicyResource, type StackRule } from "../model";

const isWebhookDomain = (d: string) => WEBHOOK_PATHS.some((p) => d.endsWith(`${p}*`));

/** Policies an application references: by id, else (ids unknown in a preview) by dependency. */
function policiesOf(app: PolicyResource, all: PolicyResource[]): PolicyResource[] {
  const policies = all.filter((r) => r.type === T.accessPolicy);
  const out: PolicyResource[] = [];
  let unresolved = false;
  for (const ref of app.props.policies ?? []) {
    const p = policies.find((x) => x.id !== undefined && x.id === ref.id);
    if (p) out.push(p);
    else unresolved = true;
  }
  if (unresolved) for (const urn of app.propertyDependencies.policies ?? []) {
    const p = policies.find((x) => x.urn === urn);
    if (p && !out.includes(p)) out.push(p);
  }
  return out;
}

/**
 * Rule 12: nobody reaches a tenant without passing Access. Every tenant host has a proxied DNS record
 * (Access applies only to proxied records) and an Access application; no policy lets `everyone` in
 * except a bypass policy used only by webhook-path applications.
 */
export const edgeAccess: StackRule = {
  kind: "stack",
  name: "edge-access",
  description: "Every tenant host has a proxied DNS record and an Access application; everyone/bypass only on webhook paths.",
  level: "mandatory",
  check(all, report) {
    const records = all.filter((r) => r.type === T.dns);
    const apps = all.filter((r) => r.type === T.accessApp);
    for (const web of services(all).filter((s) => roleOf(s) === "web")) {
      for (const [, router] of routersOf(web)) {
        for (const host of hostsOfRule(router.rule ?? "")) {
          const dns = records.filter((d) => d.props.name === host);
          if (!dns.length) report(`tenant host ${host} of ${describe(web)} has no DNS record`, web.urn);
          for (const d of dns) if (d.props.proxied !== true) report(`DNS record ${describe(d)} of tenant host ${host} is not proxied: Cloudflare Access would be bypassed`, d.urn);
          if (!apps.some((a) => a.props.domain === host)) report(`tenant host ${host} of ${describe(web)} has no Access application`, web.urn);
        }
      }
    }
    const usedBy = new Map<string, PolicyResource[]>();
    for (const app of apps) {
      const policies = policiesOf(app, all);
      if (!policies.length) report(`Access application ${describe(app)} has no policy`, app.urn);
      for (const p of policies) usedBy.set(p.urn, [...(usedBy.get(p.urn) ?? []), app]);
      const domains: string[] = [app.props.domain, ...(app.props.destinations ?? []).map((d: { uri?: string }) => d.uri)].filter(Boolean);
      const webhookApp = domains.length > 0 && domains.every(isWebhookDomain);
      for (const p of policies) if (p.props.decision === "bypass" && !webhookApp) {
        report(`Access application ${describe(app)} uses bypass policy ${describe(p)}: bypass is only for Kestra's webhook paths`, app.urn);
      }
    }
    for (const p of all.filter((r) => r.type === T.accessPolicy)) {
      const everyone = (p.props.includes ?? []).some((i: Record<string, unknown>) => i && i.everyone !== undefined);
      if (everyone && p.props.decision !== "bypass") report(`Access policy ${describe(p)} (${p.props.decision}) includes everyone`, p.urn);
      if (p.props.decision === "bypass") {
        const users = usedBy.get(p.urn) ?? [];
        const bad = users.filter((a) => !isWebhookDomain(String(a.props.domain ?? "")));
        if (bad.length) report(`bypass policy ${describe(p)} is used by ${bad.map(describe).join(", ")}, not a webhook-path application`, p.urn);
      }
    }
  },
};
