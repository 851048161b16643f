/**
 * Rule lab-stack, and how edge-access and tenant-router read a lab stack: only a stack whose Traefik
 * service carries kestra-fleet.lab=true may leave Cloudflare out.
 */
import { describe, expect, it } from "vitest";
import { LAB_ORIGIN_MIDDLEWARE, LABEL_LAB, ORIGIN_LOCK_MIDDLEWARE } from "../../infra/model/naming";
import { runRules } from "../../policies/evaluate";
import type { PolicyResource } from "../../policies/model";
import { rules } from "../../policies/rules";
import { edgeAccess } from "../../policies/rules/edge-access";
import { labStack } from "../../policies/rules/lab-stack";
import { tenantRouter } from "../../policies/rules/tenant-router";
import { T, find, fleet, hostOf, remove, setLabel, violations } from "./fixtures";

const CLOUDFLARE_TYPES: string[] = [T.dns, T.accessApp, T.accessPolicy, T.serviceToken];

/** Every router of the service on the lab origin lock, without a certificate resolver (as the program renders a lab stack). */
function toLabRouters(r: PolicyResource): void {
  for (const l of r.props.labels as { label: string; value: string }[]) {
    if (/^traefik\.http\.routers\.[^.]+\.middlewares$/.test(l.label)) l.value = l.value.split(",").map((m) => (m === ORIGIN_LOCK_MIDDLEWARE ? LAB_ORIGIN_MIDDLEWARE : m)).join(",");
  }
  r.props.labels = (r.props.labels as { label: string }[]).filter((l) => !l.label.endsWith(".tls.certresolver"));
}

/** The fixture fleet as a lab stack renders it: no Cloudflare resource, the lab label on Traefik, tenant routers on the lab allow-list. */
function labFleet(): PolicyResource[] {
  const rs = fleet().filter((r) => !CLOUDFLARE_TYPES.includes(r.type));
  setLabel(find(rs, "proxy-traefik"), LABEL_LAB, "true");
  for (const t of ["acme-kestra", "acme-eu-kestra"]) toLabRouters(find(rs, t));
  return rs;
}

/** The same fleet without Cloudflare but not declared lab (the accident the rule exists for). */
function undeclared(): PolicyResource[] {
  const rs = labFleet();
  setLabel(find(rs, "proxy-traefik"), LABEL_LAB, undefined);
  return rs;
}

describe("lab-stack", () => {
  it("passes the compliant Cloudflare fleet and the lab fleet", () => {
    expect(violations(labStack)).toEqual([]);
    expect(violations(labStack, () => {}, {}, labFleet)).toEqual([]);
  });

  it("a lab fleet passes edge-access and tenant-router too (the lab allow-list is an origin lock)", () => {
    expect(runRules([edgeAccess, tenantRouter], labFleet(), {})).toEqual([]);
  });

  it("refuses a stack without Cloudflare that does not declare itself lab, naming the open hosts and the setting", () => {
    const vs = violations(labStack, () => {}, {}, undeclared);
    const edge = vs.filter((v) => v.message.includes("leaves Cloudflare out"));
    expect(edge).toHaveLength(1);
    expect(edge[0].message).toContain(hostOf("acme"));
    expect(edge[0].message).toContain(hostOf("acme-eu"));
    expect(edge[0].message).toContain("kestra-fleet:lab: true");
    expect(edge[0].level).toBe("mandatory");
    // And each lab-allow-list router is refused on a stack not declared lab.
    expect(vs.filter((v) => v.message.includes(`uses ${LAB_ORIGIN_MIDDLEWARE}`)).map((v) => v.urn).sort()).toEqual([find(fleet(), "acme-kestra").urn, find(fleet(), "acme-eu-kestra").urn].sort());
    // edge-access reports every host as well: the pack refuses the stack twice over.
    expect(runRules([edgeAccess], undeclared(), {}).filter((v) => v.message.includes("has no Access application"))).toHaveLength(2);
  });

  it("refuses a Cloudflare stack that only lost one tenant's Access application", () => {
    const vs = violations(labStack, (rs) => remove(rs, "acme-eu-access-app"));
    expect(vs).toHaveLength(1);
    expect(vs[0].message).toContain(`1 tenant host(s) (${hostOf("acme-eu")})`);
  });

  it("refuses the lab-allow-list origin lock on a stack not declared lab, even behind Cloudflare", () => {
    const vs = violations(labStack, (rs) => toLabRouters(find(rs, "acme-kestra")));
    expect(vs).toHaveLength(1);
    expect(vs[0].message).toContain(`uses ${LAB_ORIGIN_MIDDLEWARE}`);
    expect(vs[0].message).toContain("kestra_acme_kestra");
  });

  it("honours the declaration on the Traefik service only, and only as \"true\"", () => {
    const onTenant = violations(labStack, (rs) => setLabel(find(rs, "acme-kestra"), LABEL_LAB, "true"), {}, undeclared);
    expect(onTenant.some((v) => v.message.includes(`carries ${LABEL_LAB}: only the platform's Traefik service`))).toBe(true);
    // The tenant's label does not make the stack a lab stack: the missing edge is still refused.
    expect(onTenant.some((v) => v.message.includes("leaves Cloudflare out"))).toBe(true);
    const yes = violations(labStack, (rs) => setLabel(find(rs, "proxy-traefik"), LABEL_LAB, "yes"), {}, labFleet);
    expect(yes.some((v) => v.message.includes(`${LABEL_LAB}="yes"`))).toBe(true);
    expect(yes.some((v) => v.message.includes("leaves Cloudflare out"))).toBe(true);
  });

  it("a lab stack behind Cloudflare keeps every edge-access check for its Cloudflare hosts", () => {
    const vs = runRules([edgeAccess, labStack], (() => {
      const rs = fleet();
      setLabel(find(rs, "proxy-traefik"), LABEL_LAB, "true");
      remove(rs, "acme-access-app");
      return rs;
    })(), {});
    expect(vs.map((v) => v.policy)).toEqual(["edge-access"]);
    expect(vs[0].message).toContain(`${hostOf("acme")} of kestra_acme_kestra (acme-kestra) has no Access application`);
  });

  it("is registered in the pack", () => {
    expect(rules).toContain(labStack);
  });
});
