import { LAB_ORIGIN_MIDDLEWARE, LABEL_LAB, ORIGIN_LOCK_MIDDLEWARE } from "../../infra/model/naming";
import { commaList, display, isLabStack, isTraefik, labelsOf, routersOf, servicesOf, tenantHosts, type StackRule } from "../model";
import { accessCoveredHosts } from "./edge-access";

/**
 * Only a lab stack may leave Cloudflare out. A stack without Cloudflare in front (no Access application
 * for a tenant host) lets anyone who reaches Traefik's address open every tenant's Kestra login page
 * and webhooks with nothing but Traefik's allow-list in the way; that is acceptable for a throwaway
 * fleet with placeholder tenants (the end-to-end suite's), never for clients. The pack sees resources,
 * not stack config: the declaration is the label kestra-fleet.lab=true on the platform's Traefik
 * service, which the program sets from `kestra-fleet:lab: true` alone (and the stack config refuses
 * `edge.provider: none` without it, and `lab` on stack prod).
 *
 * Not a lab stack: every tenant host has an Access application, and no router uses the lab stack's
 * origin lock (lab-allowlist@file). Any stack: the label is honoured on the Traefik service only, with
 * the value "true".
 */
export const labStack: StackRule = {
  kind: "stack",
  name: "lab-stack",
  description: `Only a stack whose Traefik service carries ${LABEL_LAB}=true (stack config kestra-fleet:lab: true) may leave Cloudflare out: any other stack covers every tenant host with a Cloudflare Access application and routes nothing through ${LAB_ORIGIN_MIDDLEWARE}.`,
  level: "mandatory",
  check(all, report) {
    for (const s of servicesOf(all)) {
      const value = labelsOf(s)[LABEL_LAB];
      if (value === undefined) continue;
      if (!isTraefik(s)) report(`${display(s)} carries ${LABEL_LAB}: only the platform's Traefik service declares a lab stack (set kestra-fleet:lab in the stack config); remove the label`, s.urn);
      else if (value !== "true") report(`${display(s)} carries ${LABEL_LAB}="${value}": the declaration is "true" or absent`, s.urn);
    }
    if (isLabStack(all)) return;

    const covered = accessCoveredHosts(all);
    const open = tenantHosts(all).filter(({ host }) => !covered.has(host));
    if (open.length) {
      const shown = open.slice(0, 5).map((h) => h.host).join(", ") + (open.length > 5 ? ` and ${open.length - 5} more` : "");
      report(
        `this stack leaves Cloudflare out for ${open.length} tenant host(s) (${shown}): no Cloudflare Access application stands in front of them, so anyone who reaches Traefik reaches those Kestras. ` +
          `Only a lab stack may (kestra-fleet:lab: true, which labels the Traefik service ${LABEL_LAB}=true; README, Lab stacks); put the stack behind Cloudflare (kestra-fleet:edge provider cloudflare, the default)`,
        open[0].service.urn,
      );
    }
    for (const s of servicesOf(all)) {
      for (const [name, router] of routersOf(s)) {
        if (commaList(router.middlewares).includes(LAB_ORIGIN_MIDDLEWARE)) {
          report(`router ${name} of ${display(s)} uses ${LAB_ORIGIN_MIDDLEWARE}, a lab stack's origin lock, on a stack not declared lab: use ${ORIGIN_LOCK_MIDDLEWARE}`, s.urn);
        }
      }
    }
  },
};
