import { describe, expect, it } from "vitest";
import { formatPlan } from "../../../infra/plan/report";
import { runPlan } from "../../../infra/plan/run";
import { planOk, projectWithConfig, tenantResources, tenantsDir, tenantYaml } from "../../helpers";

/**
 * Resources, components included, of a small tenant without git or workers, on a stack with MinIO
 * storage, a MinIO backup target and monitoring on (README, "What a tenant is made of"): at most 31
 * (issue 12), and exactly these, so that the count cannot hold by accident (one resource gone, another
 * come). A tenant with git, workers, webhooks, a service token or an AWS backup target has more.
 */
const SMALL_TENANT_BUDGET = 31;
const SMALL_TENANT = [
  // Components: the tenant and one per concern.
  "kestra-fleet:stacks:TenantStack solo-tenant",
  "kestra-fleet:stacks:TenantBackup solo-backup",
  "kestra-fleet:stacks:TenantBucket solo-storage",
  "kestra-fleet:stacks:TenantEdge solo-edge",
  "kestra-fleet:stacks:TenantGateway solo-gateway",
  // Swarm: network, services, volume, secrets.
  "docker:index/network:Network solo-private-network",
  "docker:index/service:Service solo-backup",
  "docker:index/service:Service solo-executor",
  "docker:index/service:Service solo-gateway",
  "docker:index/service:Service solo-kestra",
  "docker:index/service:Service solo-postgres",
  "docker:index/volume:Volume solo-pg18-volume@swarm-node-1",
  "docker:index/secret:Secret solo-backup-credentials",
  "docker:index/secret:Secret solo-kestra-config",
  "docker:index/secret:Secret solo-management-netrc",
  "docker:index/secret:Secret solo-pg-password-secret",
  // Generated credentials and key.
  "random:index/randomBytes:RandomBytes solo-encryption-key",
  "random:index/randomPassword:RandomPassword solo-admin-password",
  "random:index/randomPassword:RandomPassword solo-db-password",
  // Storage: bucket and what keeps it versioned and tidy, the user attached to the shared policy.
  "minio:index/s3Bucket:S3Bucket solo-bucket",
  "minio:index/s3BucketVersioning:S3BucketVersioning solo-bucket-versioning",
  "minio:index/ilmPolicy:IlmPolicy solo-bucket-lifecycle",
  "minio:index/iamUser:IamUser solo-storage-user",
  "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment solo-storage-policy-attachment",
  // Backup target: the dump key (user, its own policy, attachment) and the escrow object.
  "minio:index/iamUser:IamUser backup-solo-user",
  "minio:index/iamPolicy:IamPolicy backup-solo-policy",
  "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment backup-solo-policy-attachment",
  "minio:index/s3Object:S3Object backup-solo-escrow",
  // Cloudflare edge.
  "cloudflare:index/dnsRecord:DnsRecord solo-dns-0",
  "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication solo-access-app",
  "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy solo-access-allow",
];

describe("resources per tenant", () => {
  it(`a small tenant without git or workers has at most ${SMALL_TENANT_BUDGET} resources, exactly the expected ones, counted on the real program`, async () => {
    const plan = await planOk({ stack: "staging", tenantsDir: tenantsDir({ "solo.yaml": tenantYaml("solo") }), tenantsDisplay: "tenants" });
    const own = tenantResources(plan, "solo").map((r) => `${r.type} ${r.name}`);
    // The count is of the tenant's whole subtree: its components and every child they declare.
    expect(own.sort()).toEqual([...SMALL_TENANT].sort());
    expect(own.length).toBeLessThanOrEqual(SMALL_TENANT_BUDGET);
    expect(SMALL_TENANT).toHaveLength(SMALL_TENANT_BUDGET);
  });
});

describe("cluster fit and cost", () => {
  const medium = tenantsDir({ "big.yaml": tenantYaml("big", "  size: medium\n"), "solo.yaml": tenantYaml("solo") });
  const withNodes = (change: (nodes: Record<string, { cpus: number; memoryGb: number; diskGb: number; monthlyCost: number }>) => void) =>
    projectWithConfig("staging", (c) => change(c["kestra-fleet:capacity"].nodes));

  it("refuses a profile whose CPU limit exceeds every node the service may be placed on, naming tenant, service and nodes", async () => {
    const root = withNodes((n) => {
      for (const x of Object.values(n)) x.cpus = 2;
      n["swarm-node-1"].cpus = 3; // room for what is pinned there
    });
    const r = await runPlan({ stack: "staging", projectRoot: root, tenantsDir: medium });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const vs = r.plan.violations.filter((v) => v.policy === "limits-fit-nodes");
    expect(vs.map((v) => [v.level, v.message.split(";")[0]])).toEqual([
      ["mandatory", "kestra_big_executor (big-executor) of tenant big has a CPU limit of 4.00"],
    ]);
    expect(vs[0].message).toContain("node(s) swarm-manager-1 (2.00 CPUs), swarm-node-1 (3.00 CPUs), swarm-node-2 (2.00 CPUs) it may be placed on cannot run it");
    expect(vs[0].message).toContain('"Range of CPUs is from 0.01 to 3.00"');
  });

  it("one node too small among nodes that fit: a warning naming it (Docker would reject the task there first), which placement off that node silences", async () => {
    const root = withNodes((n) => (n["swarm-manager-1"].cpus = 2));
    const r = await runPlan({ stack: "staging", projectRoot: root, tenantsDir: medium });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.violations.filter((v) => v.policy === "limits-fit-nodes")).toEqual([]);
    const warn = r.plan.violations.filter((v) => v.policy === "limits-placement");
    expect(warn.map((v) => [v.level, v.message.split(" (limits")[0]])).toEqual([["advisory", "kestra_big_executor (big-executor) of tenant big"]]);
    expect(warn[0].message).toContain("may be placed on swarm-manager-1 (2.00 CPUs, 16.00 GiB), where Docker rejects its task at start; it runs once Swarm retries it on swarm-node-1, swarm-node-2");
    // Tenants off the managers (roles declared): the same nodes, no warning, and the tenants' tasks priced at the workers' rates.
    const placed = projectWithConfig("staging", (c) => {
      c["kestra-fleet:swarm"].placement = { tenants: ["node.role == worker"] };
      const nodes = c["kestra-fleet:capacity"].nodes;
      nodes["swarm-manager-1"] = { ...nodes["swarm-manager-1"], cpus: 2, role: "manager" };
      nodes["swarm-node-1"].role = "worker";
      nodes["swarm-node-2"].role = "worker";
    });
    const p = await runPlan({ stack: "staging", projectRoot: placed, tenantsDir: medium });
    if (!p.ok) throw new Error(JSON.stringify(p.errors));
    expect(p.plan.violations.filter((v) => v.policy.startsWith("limits-"))).toEqual([]);
    const direct = (plan: typeof p.plan, t: string) => plan.capacity!.tenants.find((x) => x.name === t)!.directCost;
    // The manager is the cheapest node per CPU (20 for 2 CPUs vs 45 and 40 for 4): off it, floating tasks cost more.
    expect(direct(p.plan, "big")).toBeGreaterThan(direct(r.plan, "big"));
  });

  it("fails when the services pinned to a node reserve more than it has, with the numbers", async () => {
    const root = withNodes((n) => (n["swarm-node-1"].cpus = 1));
    const r = await runPlan({ stack: "staging", projectRoot: root, tenantsDir: medium });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const v = r.plan.violations.find((x) => x.policy === "capacity")!;
    expect(v.level).toBe("mandatory");
    // MinIO 0.5, two Postgres (big, medium: 0.5; solo 0.25), and whatever else runs there (monitoring).
    const node = r.plan.capacity!.nodes.find((n) => n.name === "swarm-node-1")!;
    expect(node.pinnedCpus).toBeGreaterThanOrEqual(1.25);
    expect(v.message).toMatch(new RegExp(`^services pinned to node swarm-node-1 reserve ${node.pinnedCpus.toFixed(2).replace(".", "\\.")} CPUs \\(it has 1\\.00\\): \\d+ service\\(s\\) \\(.*kestra_big_postgres`));
  });

  it("reports per tenant reservations, placement, share and cost; costs add up to the cluster's price", async () => {
    const r = await runPlan({ stack: "staging", projectRoot: withNodes(() => {}), tenantsDir: medium });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const cap = r.plan.capacity!;
    expect(cap.tenants.map((t) => [t.name, t.node])).toEqual([
      ["big", "swarm-node-1"],
      ["solo", "swarm-node-1"],
    ]);
    // Web, backend and Postgres (small 1 CPU, 2.75 GiB; medium twice that), plus the small per-tenant
    // services (the gateway, the backup) alike for both.
    const [big, solo] = cap.tenants;
    expect(solo.cpus).toBeGreaterThanOrEqual(1.05);
    expect(big.cpus - solo.cpus).toBeCloseTo(1, 5);
    expect(big.memoryGb - solo.memoryGb).toBeCloseTo(2.75, 1);
    expect(cap.totals.monthlyCost).toBe(105);
    expect(cap.tenants.reduce((s, t) => s + t.monthlyCost, 0)).toBeCloseTo(105, 1);
    expect(cap.totals.tenantsDirectCost + cap.totals.platformCost + cap.totals.idleCost).toBeCloseTo(105, 1);
    // The medium tenant reserves about twice the small one and costs about twice as much.
    expect(cap.tenants[0].monthlyCost / cap.tenants[1].monthlyCost).toBeGreaterThan(1.9);
    expect(cap.tenants[0].monthlyCost / cap.tenants[1].monthlyCost).toBeLessThan(2);
    expect(r.plan.violations).toEqual([]);
    // The text plan: one row per tenant, the nodes, the totals.
    const text = formatPlan(r.plan);
    expect(text).toContain("Capacity and cost (EUR a month");
    expect(text).toMatch(new RegExp(`\\n  big +${big.cpus.toFixed(2)} +${big.memoryGb.toFixed(2)} +swarm-node-1 +\\d+\\.\\d %`));
    expect(text).toMatch(/\n  swarm-node-1 +\d+\.\d\d \/ 4\.00 +\d+\.\d\d \/ 16\.00 +\d+\.\d\d /);
    expect(text).toContain("  Totals: ");
  });
});
