/**
 * `kestra.image` in a tenant file: one tenant runs another Kestra 1.x release than the stack's
 * `images.kestra` (upgrade one tenant first). Validated like the stack's image.
 */
import { describe, expect, it } from "vitest";
import { loadTenants } from "../../../infra/input/tenants/load";
import { formatDiagnostic } from "../../../infra/input/diagnostics";
import { fixturePlan, fixtureTenants, planOk, SERVICE, tenantResources, tenantsDir, tenantYaml } from "../../helpers";
import { runRules } from "../../../policies/evaluate";
import { rules } from "../../../policies/rules";
import { kestraImageOrigin } from "../../../policies/rules/kestra-image-origin";
import { toPolicyResource } from "../../../infra/plan/run";

const withImage = (image: string) => tenantYaml("acme", `  image: ${image}\n`);
const load = (text: string) => loadTenants(tenantsDir({ "acme.yaml": text }), { displayDir: "tenants", stacks: ["prod", "staging"] });

describe("tenant kestra.image", () => {
  it("accepts an exact 1.x tag, with or without a digest", () => {
    for (const image of ["kestra/kestra:v1.3.38", `kestra/kestra:v1.4.0@sha256:${"a".repeat(64)}`]) {
      const r = load(withImage(image));
      expect(r.errors).toEqual([]);
      expect(r.tenants[0].tenant.kestra.image).toBe(image);
    }
    expect(load(tenantYaml("acme")).tenants[0].tenant.kestra.image).toBeUndefined();
  });

  it("refuses latest, a floating minor, 2.x and a missing tag, at the field's position", () => {
    for (const image of ["kestra/kestra:latest", "kestra/kestra:v1.3", "kestra/kestra:v2.0.0", "kestra/kestra"]) {
      const r = load(withImage(image));
      const lines = r.errors.map(formatDiagnostic);
      expect(lines.length, image).toBeGreaterThan(0);
      for (const l of lines) expect(l, image).toMatch(/^tenants\/acme\.yaml:6:10 kestra\.image: /);
      expect(lines.join("\n"), image).toContain("must pin an exact Kestra 1.x release tag");
      expect(r.tenants).toEqual([]);
    }
  });

  it("the tenant's Kestra services run its image; Postgres, the other tenants and the platform keep theirs", async () => {
    const files = fixtureTenants();
    files["acme.yaml"] = files["acme.yaml"].replace("  workers: 0\n", "  workers: 1\n  image: kestra/kestra:v1.3.38\n");
    const plan = await planOk({ stack: "staging", tenantsDir: tenantsDir(files) });
    const images = (t: string) =>
      Object.fromEntries(tenantResources(plan, t).filter((r) => r.type === SERVICE).map((r) => [r.name, (r.inputs.taskSpec as any).containerSpec.image]));
    const acme = images("acme");
    expect(Object.entries(acme).filter(([, i]) => i.startsWith("kestra/kestra:")).sort()).toEqual([
      ["acme-executor", "kestra/kestra:v1.3.38"],
      ["acme-kestra", "kestra/kestra:v1.3.38"],
      ["acme-worker", "kestra/kestra:v1.3.38"],
    ]);
    expect(acme["acme-postgres"]).toBe("postgres:18.1");
    expect(images("globex")["globex-kestra"]).toBe("kestra/kestra:v1.3.37");
    expect(plan.violations.filter((v) => v.level === "mandatory")).toEqual([]);
  });

  it("refuses an image from another repository than the stack's images.kestra, at file:line, naming the allowed repository", async () => {
    for (const image of ["ghcr.io/attacker/kestra-miner:v1.3.99", "kestra/kestra-ee:v1.3.38", "docker-mirror.example.com/kestra/kestra:v1.3.38"]) {
      const files = fixtureTenants();
      files["acme.yaml"] = files["acme.yaml"].replace("  workers: 0\n", `  workers: 0\n  image: ${image}\n`);
      const r = await fixturePlan({ stack: "staging", tenantsDir: tenantsDir(files) });
      expect(r.ok, image).toBe(false);
      if (r.ok) continue;
      const lines = r.errors.map(formatDiagnostic);
      expect(lines, image).toHaveLength(1);
      expect(lines[0].replace(/^.*\/acme\.yaml/, "acme.yaml"), image).toBe(
        `acme.yaml:13:10 kestra.image: ${image} is not from kestra/kestra, the repository of kestra-fleet:images.kestra of stack staging: a tenant may run only another Kestra 1.x release of the stack's image (e.g. kestra/kestra:v1.x.y)`,
      );
    }
  });
});

describe("policy kestra-image-origin", () => {
  const kestraServices = (resources: ReturnType<typeof toPolicyResource>[]) =>
    resources.filter((r) => r.type === SERVICE && ["web", "backend", "worker"].includes(r.props.labels?.find?.((l: any) => l.label === "kestra-fleet.role")?.value));

  it("passes the fleet, and refuses a Kestra service running an image outside the allowed repositories", async () => {
    const r = await fixturePlan({ stack: "staging" });
    if (!r.ok) throw new Error("plan failed");
    const resources = r.registrations.map(toPolicyResource);
    const services = kestraServices(resources);
    expect(services.length).toBeGreaterThan(0);
    expect(runRules([kestraImageOrigin], resources, { kestraRepositories: ["kestra/kestra"] })).toEqual([]);
    const bad = services[0];
    bad.props.taskSpec.containerSpec.image = "ghcr.io/attacker/kestra-miner:v1.3.99";
    const v = runRules([kestraImageOrigin], resources, { kestraRepositories: ["kestra/kestra"] });
    expect(v.map((x) => [x.urn, x.level])).toEqual([[bad.urn, "mandatory"]]);
    expect(v[0].message).toContain("runs ghcr.io/attacker/kestra-miner:v1.3.99: a Kestra service may run only an image of kestra/kestra");
    // Without policy config (CrossGuard with no kestraRepositories): Kestra's own repository only.
    expect(runRules([kestraImageOrigin], resources, {})).toHaveLength(1);
    // A stack whose images.kestra is a mirror: the mirror is allowed, and Kestra's own then is not.
    bad.props.taskSpec.containerSpec.image = "mirror.example.com/kestra/kestra:v1.3.38";
    expect(runRules([kestraImageOrigin], resources, { kestraRepositories: ["mirror.example.com/kestra/kestra"] })).toHaveLength(services.length - 1);
  });

  it("is in the pack, and the offline plan passes it the stack's repository", async () => {
    const files = fixtureTenants();
    const p = await planOk({ stack: "staging", tenantsDir: tenantsDir(files) });
    expect(p.violations.filter((v) => v.policy === "kestra-image-origin")).toEqual([]);
    expect(rules.map((r) => r.name)).toContain("kestra-image-origin");
  });
});
