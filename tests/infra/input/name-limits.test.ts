import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configFromStackFile, loadConfig } from "../../../infra/input/config/load";
import { derivedNames, NAME_LIMITS } from "../../../infra/input/name-limits";
import type { Plan } from "../../../infra/plan/run";
import { TenantSchema } from "../../../infra/input/tenants/schema";
import { CONFIG, FIXTURE_ROOT, labelsOf, ofType, planOk, SECRET, SERVICE, tenantResources, tenantsDir, tenantYaml } from "../../helpers";

// The longest names the loader accepts: a 30-character token tenant and a 25-character ssh tenant
// with public webhooks (its passphrase secret is the longest Swarm object name).
const TOKEN = "t" + "o".repeat(28) + "k";
const SSH = "s" + "h".repeat(23) + "s";
const files = {
  [`${TOKEN}.yaml`]: tenantYaml(TOKEN, "displayName: " + "D".repeat(100) + "\ngit:\n  url: https://github.com/acme/flows.git\n  auth: token\n"),
  [`${SSH}.yaml`]: tenantYaml(SSH, "git:\n  url: git@github.com:acme/flows.git\n  auth: ssh\n").replace("kestra:", "  webhooks: public\nkestra:"),
};

let plan: Plan;
beforeAll(async () => {
  plan = await planOk({ stack: "staging", tenantsDir: tenantsDir(files) });
});

/** A Swarm secret or config name with its content hash zeroed, as name-limits counts it. */
const unhashed = (name: string) => name.replace(/_[0-9a-f]{12}$/, `_${"0".repeat(12)}`);

describe("name limits: every external name the program declares for a tenant is one name-limits checks", () => {
  const settings = loadConfig(configFromStackFile(FIXTURE_ROOT, "staging")).config!.settings;

  for (const name of [TOKEN, SSH]) {
    it(`${name.length}-character tenant: the plan's Swarm names are all checked, and all fit`, () => {
      const tenant = TenantSchema.parse(parse(files[`${name}.yaml`]));
      const checked = new Set(derivedNames(tenant, settings, "staging").map((d) => d.make(name)));
      const mine = tenantResources(plan, name);
      const services = ofType({ ...plan, resources: mine }, SERVICE).map((r) => r.inputs.name as string);
      const objects = [...ofType({ ...plan, resources: mine }, SECRET), ...ofType({ ...plan, resources: mine }, CONFIG)].map((r) => r.inputs.name as string);
      expect(services.length).toBeGreaterThan(0);
      expect(objects.length).toBeGreaterThan(0);
      for (const s of services) {
        expect(checked, `service ${s} is not in derivedNames`).toContain(s);
        expect(s.length).toBeLessThanOrEqual(NAME_LIMITS.swarmService);
      }
      for (const o of objects) {
        expect(checked, `secret/config ${o} is not in derivedNames`).toContain(unhashed(o));
        expect(o.length).toBeLessThanOrEqual(NAME_LIMITS.swarmObject);
      }
      for (const app of ofType({ ...plan, resources: mine }, "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication")) {
        expect((app.inputs.name as string).length).toBeLessThanOrEqual(NAME_LIMITS.cloudflareAccessName);
      }
      expect(mine.some((r) => labelsOf(r)["kestra-fleet.tenant"] === name)).toBe(true);
    });
  }

  it("the ssh tenant's passphrase secret, counted though offline has none, sits at the limit", () => {
    const tenant = TenantSchema.parse(parse(files[`${SSH}.yaml`]));
    const longest = Math.max(...derivedNames(tenant, settings, "staging").filter((d) => d.what.startsWith("Swarm secret")).map((d) => d.make(SSH).length));
    expect(longest).toBe(NAME_LIMITS.swarmObject);
  });
});
