/** Cloudflare Access rules of a tenant: who is let in, and which paths bypass. Pure. */
import type { CloudflareSettings } from "../input/config/schema";
import type { Tenant } from "../input/tenants/schema";
import { WEBHOOK_PATHS } from "../model/naming";

export type Include = { email: { email: string } } | { emailDomain: { domain: string } } | { group: { id: string } };

/** Exactly the tenant's identities plus the platform admins, de-duplicated, in a stable order. */
export function accessIncludes(tenant: Tenant, admins: CloudflareSettings["admins"]): Include[] {
  const emails = uniq([...tenant.access.emails, ...admins.emails].map((e) => e.toLowerCase()));
  const domains = uniq([...tenant.access.emailDomains, ...admins.emailDomains]);
  const groups = uniq([...tenant.access.groups, ...admins.groups].map((g) => g.toLowerCase()));
  return [
    ...emails.map((email) => ({ email: { email } })),
    ...domains.map((domain) => ({ emailDomain: { domain } })),
    ...groups.map((id) => ({ group: { id } })),
  ];
}

/** Name of a tenant's Access application (`webhooks`: its webhook-paths application). */
export function accessApplicationName(tenant: Pick<Tenant, "name" | "displayName">, stack: string, webhooks = false): string {
  return `Kestra ${tenant.displayName ?? tenant.name} (${stack})${webhooks ? " webhooks" : ""}`;
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)].sort();
}

/** Path-scoped Access destinations of Kestra's webhooks on a host (`host/api/v1/.../webhook/*`). */
export function webhookDestinations(host: string): string[] {
  return WEBHOOK_PATHS.map((p) => `${host}${p}*`);
}

/** The records pointing a host at the ingress addresses: A for IPv4, AAAA for IPv6. */
export function ingressRecords(addresses: readonly string[]): { type: "A" | "AAAA"; content: string }[] {
  return addresses.map((content) => ({ type: content.includes(":") ? "AAAA" : "A", content }));
}
