/**
 * The plan diff on fixture pairs: each pair is two real offline plans of the fixture project (the
 * same program the CLI runs), made JSON exactly as `--json` prints them, plus hand-made pairs for
 * what the fixture cannot express (ignoreChanges, a Postgres major, an unknown type).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { asDiffPlan, changedPaths, diffPlans, ownerOf, formatDiff, formatDiffMarkdown, planProblem, type DiffPlan, type PlanDiff } from "../../../infra/plan/diff";
import { postgresMajor } from "../../../infra/render/postgres";
import { covers, FORCE_NEW, replacingPaths } from "../../../infra/plan/force-new";
import { readBaseline } from "../../../infra/plan/cli";
import type { Plan } from "../../../infra/plan/run";
import { FIXTURE_ROOT, fixtureTenants, planOk, projectWithConfig, REPO_ROOT, tenantsDir, tmpDir } from "../../helpers";

const asJson = (p: Plan): DiffPlan => asDiffPlan(JSON.parse(JSON.stringify(p)));

function tenantsWith(change: (files: Record<string, string>) => void): string {
  const files = fixtureTenants();
  change(files);
  return tenantsDir(files);
}

const NEW_TENANT = `name: hooli
access:
  emails: [gavin@hooli.example.com]
kestra:
  adminEmail: gavin@hooli.example.com
`;

let base: DiffPlan;
const pairs: Record<string, PlanDiff> = {};

beforeAll(async () => {
  base = asJson(await planOk({ stack: "staging" }));
  const variants: Record<string, () => Promise<Plan>> = {
    identical: () => planOk({ stack: "staging" }),
    onboarding: () => planOk({ stack: "staging", tenantsDir: tenantsWith((f) => (f["hooli.yaml"] = NEW_TENANT)) }),
    offboarding: () => planOk({ stack: "staging", tenantsDir: tenantsWith((f) => delete f["initech.yaml"]) }),
    size: () => planOk({ stack: "staging", tenantsDir: tenantsWith((f) => (f["acme.yaml"] = f["acme.yaml"].replace("size: small", "size: medium"))) }),
    image: () =>
      planOk({
        stack: "staging",
        projectRoot: projectWithConfig("staging", (c) => (c["kestra-fleet:images"].kestra = "kestra/kestra:v1.3.38")),
      }),
    nodeMove: () =>
      planOk({
        stack: "staging",
        tenantsDir: tenantsWith((f) => (f["acme.yaml"] = f["acme.yaml"].replace(/\n$/, "") + "\npostgres:\n  node: swarm-node-2\n")),
      }),
  };
  for (const [name, make] of Object.entries(variants)) pairs[name] = diffPlans(base, asJson(await make()));
}, 180_000);


const kinds = (d: PlanDiff, tenant?: string) =>
  (d.groups.find((g) => g.tenant === tenant)?.changes ?? []).map((c) => `${c.kind} ${c.name}`);

/** What onboarding or offboarding changes outside the tenant: Prometheus's configuration (its per-tenant scrape jobs) and so Prometheus. */
const PROMETHEUS_CHANGES = ["replace monitoring-prometheus-config", "update monitoring-prometheus"];

describe("plan diff on fixture pairs", () => {
  it("identical inputs give an empty diff, in both formats", () => {
    const d = pairs.identical;
    expect(d.groups).toEqual([]);
    expect(d.restarts).toEqual([]);
    expect(formatDiff(d, "base.json")).toBe("Plan diff for stack staging against base.json: no changes.\n");
    expect(formatDiffMarkdown(d, "base.json")).toContain("No changes against base.json.");
  });

  it("onboarding: the new tenant's resources are created; of the platform only Prometheus's configuration (its scrape jobs) changes, and Prometheus alone restarts", () => {
    const d = pairs.onboarding;
    expect(d.groups.map((g) => g.tenant)).toEqual(["hooli", undefined]);
    const changes = d.groups[0].changes;
    expect(new Set(changes.map((c) => c.kind))).toEqual(new Set(["create"]));
    expect(changes.map((c) => c.name)).toEqual(expect.arrayContaining(["hooli-postgres", "hooli-kestra", "hooli-executor", "hooli-bucket", "hooli-backup"]));
    expect(changes.some((c) => c.type === "docker:index/volume:Volume" && c.externalName === "pg_hooli_data")).toBe(true);
    expect(kinds(d, undefined)).toEqual(PROMETHEUS_CHANGES);
    expect(d.restarts.map((r) => r.name)).toEqual(["platform_monitoring_prometheus"]);
    expect(d.blocked).toEqual([]);
  });

  it("offboarding: the tenant's resources are deleted; its volume and bucket are blocked with the offboarding pointer", () => {
    const d = pairs.offboarding;
    expect(d.groups.map((g) => g.tenant)).toEqual(["initech", undefined]);
    expect(new Set(d.groups[0].changes.map((c) => c.kind))).toEqual(new Set(["delete"]));
    expect(kinds(d, undefined)).toEqual(PROMETHEUS_CHANGES);
    // Exactly the tenant's protected resources are blocked (volume, bucket, and whatever else the program protects).
    const owner = ownerOf(base);
    const protectedOfInitech = base.resources.filter((r) => owner.get(r.urn) === "initech" && r.options.protect).map((r) => r.urn).sort();
    expect(d.blocked.map((c) => c.urn).sort()).toEqual(protectedOfInitech);
    const types = d.blocked.map((c) => c.type);
    expect(types).toContain("docker:index/volume:Volume");
    expect(types).toContain("minio:index/s3Bucket:S3Bucket");
    for (const c of d.blocked) expect(c.blocked).toContain("docs/operations.md#offboarding-a-client");
    const vol = d.blocked.find((c) => c.type === "docker:index/volume:Volume")!;
    const text = formatDiff(d, "base.json");
    expect(text).toContain("Blocked (the deployment stops on these):");
    expect(text).toContain(`x delete docker:index/volume:Volume ${vol.name} (pg_initech_data) [protect]`);
  });

  it("a size change updates the tenant's services in place with their changed paths, and lists restarts with the outage of stop-first", () => {
    const d = pairs.size;
    expect(d.groups.map((g) => g.tenant)).toEqual(["acme"]);
    expect(kinds(d, "acme")).toEqual(["update acme-executor", "update acme-kestra", "update acme-postgres"]);
    const pg = d.groups[0].changes.find((c) => c.name === "acme-postgres")!;
    expect(pg.paths).toContain("taskSpec.resources.limits.memoryBytes");
    expect(pg.paths).toContain("taskSpec.containerSpec.mounts[1].tmpfsOptions.sizeBytes");
    expect(pg.replaceBecause).toEqual([]);
    const restarts = Object.fromEntries(d.restarts.map((r) => [r.name, r]));
    expect(Object.keys(restarts)).toEqual(["kestra_acme_executor", "kestra_acme_kestra", "kestra_acme_postgres"]);
    expect(restarts.kestra_acme_postgres.outage).toMatch(/short outage/);
    expect(restarts.kestra_acme_executor.outage).toMatch(/short outage/);
    expect(restarts.kestra_acme_kestra.order).toBe("start-first");
    expect(restarts.kestra_acme_kestra.outage).toBeUndefined();
    expect(d.blocked).toEqual([]);
  });

  it("an image bump restarts every tenant's Kestra services, not Postgres, and touches nothing of the platform", () => {
    const d = pairs.image;
    expect(d.groups.map((g) => g.tenant)).toEqual(["acme", "globex", "initech"]);
    for (const g of d.groups) {
      for (const c of g.changes) {
        expect(c.kind).toBe("update");
        expect(c.paths).toEqual(["taskSpec.containerSpec.image"]);
      }
    }
    expect(d.restarts.map((r) => r.name)).not.toContain("kestra_acme_postgres");
    expect(d.restarts.map((r) => r.name)).toContain("kestra_globex_worker");
    expect(d.blocked).toEqual([]);
  });

  it("a node move of a tenant's data is never a silent update: the protected volume is blocked", () => {
    const d = pairs.nodeMove;
    expect(d.groups.map((g) => g.tenant)).toEqual(["acme"]);
    // Whatever the program does (a provider change of the same URN, or a new volume URN per node),
    // the protected volume is flagged and the service's placement changes.
    const vol = d.blocked.find((c) => c.type === "docker:index/volume:Volume");
    expect(vol, formatDiff(d, "base")).toBeDefined();
    expect(vol!.name).toMatch(/^acme-pg18-volume/);
    const pg = d.groups[0].changes.find((c) => c.name === "acme-postgres")!;
    expect(pg.paths).toContain("taskSpec.placement.constraints[0]");
    expect(d.restarts.map((r) => r.name)).toContain("kestra_acme_postgres");
  });

  it("--format markdown renders a table per tenant and a caution block for blocked changes", () => {
    const md = formatDiffMarkdown(pairs.offboarding, "main.json");
    expect(md).toContain("### Plan diff: stack `staging`");
    expect(md).toContain("> [!CAUTION]");
    expect(md).toContain("#### Tenant `initech`");
    const vol = pairs.offboarding.blocked.find((c) => c.type === "docker:index/volume:Volume")!;
    expect(md).toContain(`| delete | \`${vol.name}\` (\`pg_initech_data\`) (protected) | docker:index/volume:Volume |`);
    const size = formatDiffMarkdown(pairs.size, "main.json");
    expect(size).toContain("- kestra\\_acme\\_postgres (task spec changed, stop-first: short outage");
  });
});

/** A hand-made plan of one resource. */
function one(type: string, inputs: Record<string, unknown>, options: Record<string, unknown> = {}, name = "acme-x"): DiffPlan {
  return {
    stack: "staging",
    tenants: ["acme"],
    resources: [
      { urn: "urn:pulumi:staging::kestra-fleet::kestra-fleet:stacks:TenantStack::acme-tenant", type: "kestra-fleet:stacks:TenantStack", name: "acme-tenant", parent: null, provider: null, inputs: {}, options: { protect: false } },
      { urn: `urn:pulumi:staging::kestra-fleet::kestra-fleet:stacks:TenantStack$${type}::${name}`, type, name, parent: "urn:pulumi:staging::kestra-fleet::kestra-fleet:stacks:TenantStack::acme-tenant", provider: "p1", inputs, options: { protect: false, ...options } },
    ],
  };
}

describe("plan diff rules", () => {
  it("every input of a network, volume, secret and config forces replacement; a service's name and networks do, its image does not", () => {
    for (const t of ["docker:index/network:Network", "docker:index/volume:Volume", "docker:index/secret:Secret", "docker:index/serviceConfig:ServiceConfig"]) {
      expect(replacingPaths(t, ["labels[0].value"]).paths).toEqual(["labels[0].value"]);
    }
    const svc = "docker:index/service:Service";
    expect(replacingPaths(svc, ["taskSpec.containerSpec.image"]).paths).toEqual([]);
    expect(replacingPaths(svc, ["name", "taskSpec.networksAdvanceds[1]", "taskSpec.networksAdvanceds[0].aliases[0]"]).paths).toHaveLength(3);
    expect(covers("taskSpec.networksAdvanceds", "taskSpec")).toBe(true);
    expect(covers("taskSpec.networksAdvanceds", "taskSpec.placement")).toBe(false);
    expect(replacingPaths("some:new/type:Type", ["a"])).toEqual({ paths: ["a"], known: false });
    // Every type the fixture plan declares is in the table (or is a component/provider).
    for (const r of base.resources) {
      if (r.type.startsWith("kestra-fleet:") || r.type.startsWith("pulumi:providers:")) continue;
      expect(FORCE_NEW[r.type], r.type).toBeDefined();
    }
  });

  it("a change of network options replaces the network, unless the plan records ignoreChanges on them", () => {
    const net = "docker:index/network:Network";
    const a = one(net, { name: "net_acme_private", options: { encrypted: "" } });
    const b = one(net, { name: "net_acme_private", options: {} });
    const d = diffPlans(a, b);
    expect(d.counts.replace).toBe(1);
    expect(d.groups[0].changes[0].replaceBecause).toEqual(["options.encrypted"]);
    const ignoring = one(net, { name: "net_acme_private", options: {} }, { ignoreChanges: ["options"] });
    expect(diffPlans(a, ignoring).groups).toEqual([]);
  });

  it("a replaced protected resource is blocked; a replaced service is an outage", () => {
    const vol = "docker:index/volume:Volume";
    const d = diffPlans(one(vol, { name: "pg_acme_data" }, { protect: true }), one(vol, { name: "pg_acme_data", driver: "local" }, { protect: true }));
    expect(d.blocked).toHaveLength(1);
    expect(d.blocked[0].blocked).toMatch(/^replaces a protected resource \(driver\)/);
    const svc = "docker:index/service:Service";
    const s = diffPlans(one(svc, { name: "kestra_acme_kestra", taskSpec: { networksAdvanceds: [{ id: "a" }] } }), one(svc, { name: "kestra_acme_kestra", taskSpec: { networksAdvanceds: [{ id: "a" }, { id: "b" }] } }));
    expect(s.counts.replace).toBe(1);
    expect(s.restarts).toEqual([expect.objectContaining({ name: "kestra_acme_kestra", reason: "replaced" })]);
  });

  it("a replaced database password is blocked with the rotation procedure, protected or not; the program protects it", () => {
    const pw = "random:index/randomPassword:RandomPassword";
    for (const protect of [true, false]) {
      const d = diffPlans(one(pw, { length: 32, special: false }, { protect }, "acme-db-password"), one(pw, { length: 40, special: false }, { protect }, "acme-db-password"));
      expect(d.counts.replace).toBe(1);
      expect(d.blocked).toHaveLength(1);
      expect(d.blocked[0].blocked).toMatch(/^replaces the tenant's database password \(length\): .*ALTER ROLE first, see docs\/operations.md#database-password$/);
    }
    expect(diffPlans(one(pw, { length: 24 }, {}, "acme-admin-password"), one(pw, { length: 30 }, {}, "acme-admin-password")).blocked).toEqual([]);
    // In the real plan every tenant's database password is protected, in both Postgres modes.
    const dbPasswords = base.resources.filter((r) => r.type === pw && r.name.endsWith("-db-password"));
    expect(dbPasswords.length).toBe(base.tenants.length);
    for (const r of dbPasswords) expect(r.options.protect, r.name).toBe(true);
  });

  it("a Postgres major change by tag is blocked with the upgrade runbook; a minor one is a restart", () => {
    const svc = "docker:index/service:Service";
    const pg = (image: string) => one(svc, { name: "kestra_acme_postgres", labels: [{ label: "kestra-fleet.role", value: "postgres" }], taskSpec: { containerSpec: { image } }, updateConfig: { order: "stop-first" } }, {}, "acme-postgres");
    const major = diffPlans(pg("postgres:17.6"), pg("postgres:18.1"));
    expect(major.blocked[0].blocked).toMatch(/from major 17 to 18 .*upgrading-postgres-across-a-major-version/);
    const minor = diffPlans(pg("postgres:18.1"), pg("postgres:18.2@sha256:" + "a".repeat(64)));
    expect(minor.blocked).toEqual([]);
    expect(minor.restarts).toHaveLength(1);
    expect(postgresMajor("postgres:18.1-bookworm")).toBe(18);
    expect(postgresMajor("postgres@sha256:" + "a".repeat(64))).toBeUndefined();
  });

  it("changedPaths names added, removed and changed keys and array items", () => {
    expect(changedPaths({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3, 4] }, d: 0 })).toEqual(["b.c[1]", "b.c[2]", "d"]);
    expect(changedPaths({ x: null }, { x: null })).toEqual([]);
    // A hostile, very deep document is compared without exhausting the stack.
    let deepA: unknown = 1;
    let deepB: unknown = 2;
    for (let i = 0; i < 5000; i++) {
      deepA = { k: deepA };
      deepB = { k: deepB };
    }
    expect(changedPaths(deepA, deepB)).toHaveLength(1);
  });

  it("a baseline that is not a plan is named, not a stack trace", () => {
    expect(planProblem([])).toMatch(/is not a plan/);
    expect(planProblem({ stack: "s", tenants: [], resources: [{ urn: 1 }] })).toBe("is not a plan: resources[0] needs urn, type and name");
    expect(planProblem(JSON.parse(JSON.stringify(base)))).toBeUndefined();
  });
});

/** The CLI in a child process, awaited (a synchronous spawn would block this worker's event loop). */
function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "infra/plan/cli.ts", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json") },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run plan -- --baseline", () => {
  it("prints the Markdown diff and exits 3 when the diff is blocked", async () => {
    const file = path.join(tmpDir("kf-base-"), "main.json");
    fs.writeFileSync(file, JSON.stringify(base, null, 2));
    const tenants = tenantsWith((f) => delete f["initech.yaml"]);
    const r = await cli("--stack", "staging", "--config", path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "--tenants", tenants, "--baseline", file, "--format", "markdown");
    // Only the plan's warnings (the fixture's documentation values, the credentials pulumi up needs).
    expect(r.stderr.split("\n").filter((l) => l && !l.startsWith("warning: "))).toEqual([]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(formatDiffMarkdown(pairs.offboarding, "main.json"));
  });

  it("refuses an unreadable, non-JSON or other-stack baseline and names the file (exit 2 in the CLI)", () => {
    const dir = tmpDir("kf-base-");
    fs.writeFileSync(path.join(dir, "bad.json"), "{ not json");
    fs.writeFileSync(path.join(dir, "prod.json"), JSON.stringify({ ...base, stack: "prod" }));
    expect(readBaseline(path.join(dir, "bad.json"), "staging")).toMatch(/^--baseline .*bad\.json: not JSON .*npm run plan -- --stack staging --json$/);
    expect(readBaseline(path.join(dir, "prod.json"), "staging")).toContain("is a plan of stack prod, not staging");
    expect(readBaseline(path.join(dir, "none.json"), "staging")).toContain("cannot read it (ENOENT)");
    expect(typeof readBaseline(path.join(dir, "prod.json"), "prod")).toBe("object");
  });
});
