import { LAB_ORIGIN_MIDDLEWARE, WEBHOOK_PATHS } from "../../infra/model/naming";
import { TYPES, accessPoliciesOf, commaList, display, isLabStack, ofType, routersOf, tenantHosts, type PolicyResource, type StackRule } from "../model";

/** `host/api/v1/main/executions/webhook/*` or `host/api/v1/executions/webhook/*`. */
export const isWebhookDomain = (d: string): boolean => WEBHOOK_PATHS.some((p) => d.endsWith(`${p}*`) && d.length > p.length + 1);

/** Every domain an application covers: `domain` and the public destinations' `uri`. */
function domainsOf(app: PolicyResource): string[] {
  const destinations: { uri?: unknown }[] = Array.isArray(app.props.destinations) ? app.props.destinations : [];
  return [app.props.domain, ...destinations.map((d) => d?.uri)].filter((d): d is string => typeof d === "string" && d !== "").map((d) => d.toLowerCase());
}

/** Every host (or host/path) some Access application covers. */
export function accessCoveredHosts(all: PolicyResource[]): Set<string> {
  return new Set(ofType(all, TYPES.accessApp).flatMap(domainsOf));
}

/** Every router of the service uses the lab stack's origin lock (it has no Cloudflare in front). */
const behindLabLock = (service: PolicyResource): boolean => {
  const routers = [...routersOf(service).values()];
  return routers.length > 0 && routers.every((r) => commaList(r.middlewares).includes(LAB_ORIGIN_MIDDLEWARE));
};

const includesEveryone = (p: PolicyResource): boolean =>
  (Array.isArray(p.props.includes) ? p.props.includes : []).some((i: Record<string, unknown> | undefined) => i != null && i.everyone !== undefined && i.everyone !== null);

/**
 * Rule 12: nobody reaches a tenant without passing Cloudflare Access. Every tenant host (from the web
 * services' router rules) has a DNS record, every such record is proxied (Access applies only to
 * proxied records), and an Access application covers the host. No policy lets everyone in: `everyone`
 * and `bypass` appear only in bypass policies attached only to applications on Kestra's webhook paths
 * (webhooks are anonymous and authorised by their key). In a lab stack (rule lab-stack), tenant hosts
 * behind the lab origin lock have no Cloudflare edge by design and are not checked here.
 */
export const edgeAccess: StackRule = {
  kind: "stack",
  name: "edge-access",
  description: "Every tenant host has a proxied DNS record and an Access application; no Access policy admits everyone; bypass only on webhook-path applications.",
  level: "mandatory",
  check(all, report) {
    const apps = ofType(all, TYPES.accessApp);
    // Indexed once: DNS records by name, the domains every application covers.
    const recordsByName = new Map<string, PolicyResource[]>();
    for (const d of ofType(all, TYPES.dnsRecord)) {
      if (typeof d.props.name !== "string") continue;
      const key = d.props.name.toLowerCase();
      recordsByName.set(key, [...(recordsByName.get(key) ?? []), d]);
    }
    const covered = new Set(apps.flatMap(domainsOf));
    const lab = isLabStack(all);
    for (const { host, service } of tenantHosts(all)) {
      if (lab && behindLabLock(service)) continue;
      const dns = recordsByName.get(host) ?? [];
      if (!dns.length) report(`tenant host ${host} of ${display(service)} has no DNS record: add a proxied cloudflare DnsRecord for it`, service.urn);
      for (const d of dns) {
        if (d.props.proxied !== true) report(`DNS record ${display(d)} of tenant host ${host} is not proxied: Cloudflare Access would be bypassed; set proxied: true`, d.urn);
      }
      if (!covered.has(host)) {
        report(`tenant host ${host} of ${display(service)} has no Access application: add a ZeroTrustAccessApplication with domain ${host}`, service.urn);
      }
    }
    for (const app of apps) {
      const domains = domainsOf(app);
      const webhookApp = domains.length > 0 && domains.every(isWebhookDomain);
      for (const p of accessPoliciesOf(app, all)) {
        if (p.props.decision === "bypass" && !webhookApp) {
          report(`Access application ${display(app)} (${domains.join(", ") || "no domain"}) uses bypass policy ${display(p)}: only applications on Kestra's webhook paths (${WEBHOOK_PATHS.map((w) => `<host>${w}*`).join(", ")}) may bypass; remove it from the application`, app.urn);
        }
      }
    }
    for (const p of ofType(all, TYPES.accessPolicy)) {
      if (includesEveryone(p) && p.props.decision !== "bypass") {
        report(`Access policy ${display(p)} (decision ${p.props.decision}) includes everyone: name emails, email domains, groups or service tokens instead`, p.urn);
      }
    }
  },
};
