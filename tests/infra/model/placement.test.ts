/**
 * Placement: where tenants' workloads may run. The constraint forms and how they match a node; the
 * schemas (stack config swarm.placement and capacity.nodes roles/labels, tenant kestra.placement, with
 * file:line errors); the rendered constraints under the offline plan; and the capacity rules on the
 * same placement (a large tenant refused only when no node its placement allows can run it).
 */
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { configFromStackFile, loadConfig } from "../../../infra/input/config/load";
import { formatDiagnostic } from "../../../infra/input/diagnostics";
import { constraintProblem, kestraConstraints, nodeMatches, nodeMatchesAll, parseConstraint } from "../../../infra/model/placement";
import { loadTenants } from "../../../infra/input/tenants/load";
import { FIXTURE_ROOT } from "../../files-root";
import { byName, labelsOf, ofType, planOk, projectWithConfig, SERVICE, tenantsDir, tenantYaml, tmpDir } from "../../helpers";

describe("constraints", () => {
  it("parses the accepted forms and refuses others with a reason", () => {
    expect(parseConstraint("node.role == worker")).toEqual({ attr: "role", op: "==", value: "worker" });
    expect(parseConstraint("node.labels.kestra-fleet.size!=large")).toEqual({ attr: "label", key: "kestra-fleet.size", op: "!=", value: "large" });
    expect(parseConstraint("node.hostname == swarm-node-1")).toEqual({ attr: "hostname", op: "==", value: "swarm-node-1" });
    expect(constraintProblem("node.role == boss")).toBe("node.role is manager or worker");
    for (const bad of ["node.platform.os == linux", "engine.labels.x == y", "node.labels. == x", "node.role = worker", "node.labels.size == $(reboot)", ""]) {
      expect(constraintProblem(bad), bad).toMatch(/is not a placement constraint/);
    }
  });
  it("matches as Swarm does: every constraint; a missing label is not equal; an undeclared role is assumed to match", () => {
    const big = { name: "n-1", role: "worker" as const, labels: { size: "large" } };
    expect(nodeMatchesAll(big, ["node.role == worker", "node.labels.size == large", "node.hostname != n-2"])).toBe(true);
    expect(nodeMatches(big, "node.role == manager")).toBe(false);
    expect(nodeMatches({ name: "n-2" }, "node.labels.size == large")).toBe(false);
    expect(nodeMatches({ name: "n-2" }, "node.labels.size != large")).toBe(true);
    expect(nodeMatches({ name: "n-2" }, "node.role == manager")).toBe(true);
  });
  it("a tenant's Kestra: the stack's tenants constraints, then the tenant file's own or its size's", () => {
    const placement = { tenants: ["node.role == worker"], sizes: { large: ["node.labels.size == large"] } };
    expect(kestraConstraints(placement, { kestra: { size: "small" } })).toEqual(["node.role == worker"]);
    expect(kestraConstraints(placement, { kestra: { size: "large" } })).toEqual(["node.role == worker", "node.labels.size == large"]);
    expect(kestraConstraints(placement, { kestra: { size: "large", placement: ["node.labels.dedicated == acme"] } })).toEqual(["node.role == worker", "node.labels.dedicated == acme"]);
    expect(kestraConstraints(undefined, { kestra: { size: "large" } })).toEqual([]);
  });
});

describe("schemas", () => {
  it("tenant file: kestra.placement is validated with file:line errors", () => {
    const good = loadTenants(tenantsDir({ "acme.yaml": tenantYaml("acme", "  placement:\n    - node.labels.dedicated == acme\n") }), { stacks: ["staging", "prod"] });
    expect(good.errors).toEqual([]);
    expect(good.tenants[0].tenant.kestra.placement).toEqual(["node.labels.dedicated == acme"]);
    const dir = tenantsDir({
      "bad.yaml": tenantYaml("bad", "  placement:\n    - node.role == boss\n    - node.platform.os == linux\n"),
      "empty.yaml": tenantYaml("empty", "  placement: []\n"),
    });
    const r = loadTenants(dir, { stacks: ["staging", "prod"] });
    expect(r.errors.map(formatDiagnostic)).toEqual([
      "tenants/bad.yaml:7:7 kestra.placement.0: node.role is manager or worker",
      expect.stringMatching(/^tenants\/bad\.yaml:8:7 kestra\.placement\.1: is not a placement constraint such as `node\.role == worker`/),
      "tenants/empty.yaml:6:3 kestra.placement: must name at least one constraint (omit it to use the stack's)",
    ]);
  });
  it("stack config: swarm.placement and capacity.nodes role/labels; a role constraint needs every node's role", () => {
    const write = (mutate: (c: Record<string, any>) => void) => {
      const doc = parse(fs.readFileSync(path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "utf8")) as { config: Record<string, any> };
      mutate(doc.config);
      const dir = tmpDir("kf-placement-config-");
      fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), stringify(doc));
      return loadConfig(configFromStackFile(dir, "staging"));
    };
    const ok = write((c) => {
      c["kestra-fleet:swarm"].placement = { tenants: ["node.role == worker"], sizes: { large: ["node.labels.size == large"] } };
      for (const [n, v] of Object.entries<any>(c["kestra-fleet:capacity"].nodes)) v.role = n.includes("manager") ? "manager" : "worker";
      c["kestra-fleet:capacity"].nodes["swarm-node-2"].labels = { size: "large" };
    });
    expect(ok.errors).toEqual([]);
    expect(ok.config!.settings.swarm.placement).toEqual({ tenants: ["node.role == worker"], sizes: { large: ["node.labels.size == large"] } });
    const noRoles = write((c) => (c["kestra-fleet:swarm"].placement = { tenants: ["node.role == worker"] }));
    expect(noRoles.errors.map(formatDiagnostic)).toEqual(
      ["swarm-manager-1", "swarm-node-1", "swarm-node-2"].map((n) => expect.stringMatching(new RegExp(`^Pulumi\\.staging\\.yaml:\\d+:\\d+ kestra-fleet:capacity\\.nodes\\.${n}\\.role: is required while swarm\\.placement names node\\.role: manager or worker$`))),
    );
    const bad = write((c) => (c["kestra-fleet:swarm"].placement = { sizes: { huge: ["node.role == worker"], large: ["rack == 1"] } }));
    expect(bad.errors.map(formatDiagnostic).join("\n")).toMatch(/swarm\.placement\.sizes\.huge: unknown key/);
    expect(bad.errors.map(formatDiagnostic).join("\n")).toMatch(/swarm\.placement\.sizes\.large\.0: is not a placement constraint/);
  });
});

/** Staging's fixture with placement: managers off limits, large tenants on the labelled 8-CPU node. */
function placedProject(): string {
  return projectWithConfig("staging", (c) => {
    c["kestra-fleet:swarm"].placement = { tenants: ["node.role == worker"], sizes: { large: ["node.labels.kestra-fleet.size == large"] } };
    const nodes = c["kestra-fleet:capacity"].nodes;
    nodes["swarm-manager-1"].role = "manager";
    nodes["swarm-node-1"].role = "worker";
    nodes["swarm-node-2"] = { ...nodes["swarm-node-2"], role: "worker", cpus: 16, memoryGb: 64, labels: { "kestra-fleet.size": "large" } };
  });
}
const constraintsOf = (r: { inputs: any }) => r.inputs.taskSpec.placement?.constraints;
const tenantServices = (plan: Awaited<ReturnType<typeof planOk>>, t: string) => ofType(plan, SERVICE).filter((s) => labelsOf(s)["kestra-fleet.tenant"] === t);

describe("rendered placement (offline plan)", () => {
  it("without swarm.placement nothing changes: no tenant service but Postgres has a constraint", async () => {
    const plan = await planOk({ stack: "staging", tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme") }) });
    for (const s of tenantServices(plan, "acme")) {
      expect(constraintsOf(s), s.name).toEqual(labelsOf(s)["kestra-fleet.role"] === "postgres" ? ["node.hostname == swarm-node-1"] : undefined);
    }
  });
  it("with it: every floating tenant service off the managers, a large tenant's Kestra on the large node, a tenant file's own placement; Postgres stays pinned", async () => {
    const plan = await planOk({
      stack: "staging",
      projectRoot: placedProject(),
      tenantsDir: tenantsDir({
        "acme.yaml": tenantYaml("acme", "  size: large\n  workers: 1\n"),
        "small.yaml": tenantYaml("small"),
        "own.yaml": tenantYaml("own", "  size: large\n  placement: [node.hostname == swarm-node-2]\n"),
      }),
    });
    const roleOf = (s: { inputs: any }) => labelsOf(s as any)["kestra-fleet.role"];
    for (const s of tenantServices(plan, "acme")) {
      const expected = { web: ["node.role == worker", "node.labels.kestra-fleet.size == large"], backend: ["node.role == worker", "node.labels.kestra-fleet.size == large"], worker: ["node.role == worker", "node.labels.kestra-fleet.size == large"], gateway: ["node.role == worker"], backup: ["node.role == worker"], postgres: ["node.hostname == swarm-node-1"] }[roleOf(s) as string];
      expect(constraintsOf(s), s.name).toEqual(expected);
    }
    expect(constraintsOf(byName(plan, "small-executor"))).toEqual(["node.role == worker"]);
    expect(constraintsOf(byName(plan, "own-executor"))).toEqual(["node.role == worker", "node.hostname == swarm-node-2"]);
    // The large tenants fit (the 16-CPU node): no mandatory violation, no advisory about limits.
    expect(plan.violations.filter((v) => v.level === "mandatory" || v.policy === "limits-placement")).toEqual([]);
  });
  it("capacity uses the same placement: a large tenant is refused only when no node its placement allows can run it", async () => {
    // Today's staging nodes (4 CPUs each) and no placement: the large backend (8 CPU limit) fits no node.
    const refused = await planOk({ stack: "staging", tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme", "  size: large\n") }) });
    const mandatory = refused.violations.filter((v) => v.level === "mandatory");
    expect(mandatory.map((v) => v.message)).toContainEqual(expect.stringMatching(/^kestra_acme_executor .*of tenant acme has a CPU limit of 8\.00; node\(s\) swarm-manager-1 \(4\.00 CPUs\), swarm-node-1 \(4\.00 CPUs\), swarm-node-2 \(4\.00 CPUs\) it may be placed on cannot run it/));
    // One 16-CPU node among them, labelled and targeted: accepted.
    const placed = await planOk({ stack: "staging", projectRoot: placedProject(), tenantsDir: tenantsDir({ "acme.yaml": tenantYaml("acme", "  size: large\n") }) });
    expect(placed.violations.filter((v) => v.level === "mandatory")).toEqual([]);
  });
});
