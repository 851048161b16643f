import { describe, expect, it } from "vitest";
import type { PolicyResource as CgResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { CAPACITY_CONFIG_SCHEMA, KESTRA_IMAGE_CONFIG_SCHEMA, contextFromConfig, fromStackResource, plain, policies } from "../../policies/crossguard";
import type { PolicyResource } from "../../policies/model";
import { rules } from "../../policies/rules";
import { containerSpec, find, fleet, idOf } from "./fixtures";

// The pack's policies called the way CrossGuard calls them, with hand-made args. The pack itself
// (policies/index.ts) is never imported: constructing a PolicyPack starts a server.

/** A value CrossGuard cannot know during a preview. */
const UNKNOWN = Symbol("unknown");

/** Props behind a proxy that throws on unknown values, as CrossGuard's unknownCheckingProxy does. */
function cgProps<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  return new Proxy(v as object, {
    get(target, key) {
      const field = (target as any)[key];
      if (field === UNKNOWN) throw new Error(`string value at .${String(key)} can't be known during preview`);
      return cgProps(field);
    },
  }) as T;
}

const byName = (n: string) => {
  const p = policies.find((x) => x.name === n);
  if (!p) throw new Error(`no policy ${n}`);
  return p;
};

function resourceArgs(r: PolicyResource, opts: Partial<ResourceValidationArgs["opts"]> = {}): ResourceValidationArgs {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: cgProps(r.props),
    opts: { protect: r.options.protect ?? false, ignoreChanges: r.options.ignoreChanges ?? [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [], ...opts },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <C extends object>() => ({}) as C,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  };
}

function validateResource(policy: string, args: ResourceValidationArgs): string[] {
  const out: string[] = [];
  const validate = (byName(policy) as ResourceValidationPolicy).validateResource;
  if (typeof validate !== "function") throw new Error(`${policy} has no single validateResource`);
  validate(args, (m: string) => out.push(m));
  return out;
}

/** The stack as CrossGuard hands it: outputs with `id`, property dependencies as resource objects. */
function stackArgs(rs: PolicyResource[], config: object = {}, withIds = true): StackValidationArgs {
  const byUrn = new Map<string, CgResource>();
  for (const r of rs) {
    byUrn.set(r.urn, {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: cgProps(withIds && r.id ? { ...r.props, id: r.id } : { ...r.props, id: UNKNOWN }),
      opts: { protect: r.options.protect ?? false, ignoreChanges: r.options.ignoreChanges ?? [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    });
  }
  for (const r of rs) {
    const cg = byUrn.get(r.urn)!;
    for (const [k, urns] of Object.entries(r.propertyDependencies)) cg.propertyDependencies[k] = urns.map((u) => byUrn.get(u)).filter((x): x is CgResource => !!x);
  }
  return {
    resources: [...byUrn.values()],
    stackTags: new Map(),
    getConfig: <C extends object>() => config as C,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  };
}

function validateStack(policy: string, args: StackValidationArgs): { message: string; urn?: string }[] {
  const out: { message: string; urn?: string }[] = [];
  (byName(policy) as StackValidationPolicy).validateStack(args, (message: string, urn?: string) => out.push({ message, urn }));
  return out;
}

describe("CrossGuard adapter", () => {
  it("exposes every rule in order, with its level; only the capacity rules and kestra-image-origin take config", () => {
    expect(policies.map((p) => p.name)).toEqual(rules.map((r) => r.name));
    expect(policies.map((p) => p.enforcementLevel)).toEqual(rules.map((r) => r.level));
    for (const p of policies) expect("validateStack" in p).toBe(rules.find((r) => r.name === p.name)!.kind === "stack");
    expect(policies.filter((p) => p.configSchema).map((p) => p.name)).toEqual(["capacity", "capacity-headroom", "limits-fit-nodes", "limits-placement", "kestra-image-origin"]);
    expect(byName("capacity").configSchema).toEqual(CAPACITY_CONFIG_SCHEMA);
    expect(byName("kestra-image-origin").configSchema).toEqual(KESTRA_IMAGE_CONFIG_SCHEMA);
  });

  it("stateful-protected reads protect (CrossGuard shows no retainOnDelete)", () => {
    const volume = find(fleet(), "acme-pg18-volume");
    expect(validateResource("stateful-protected", resourceArgs(volume, { protect: true }))).toEqual([]);
    expect(validateResource("stateful-protected", resourceArgs(volume, { protect: false }))).toEqual([
      "pg_acme_data (acme-pg18-volume) holds data but is not protected: set the resource option protect: true",
    ]);
  });

  it("swarm-objects-roll reads ignoreChanges from CrossGuard's options", () => {
    const network = find(fleet(), "acme-private-network");
    expect(validateResource("swarm-objects-roll", resourceArgs(network, { ignoreChanges: ["options"] }))).toEqual([]);
    expect(validateResource("swarm-objects-roll", resourceArgs(network, { ignoreChanges: [] }))).toEqual([
      expect.stringContaining("net_acme_private (acme-private-network) does not ignore changes of `options`"),
    ]);
  });

  it("no-secret-env judges plain props (no secret marks under CrossGuard)", () => {
    const web = find(fleet(), "acme-kestra");
    expect(validateResource("no-secret-env", resourceArgs(web))).toEqual([]);
    containerSpec(web).env.KESTRA_PASSWORD = "hunter2";
    expect(validateResource("no-secret-env", resourceArgs(web))).toEqual([
      "kestra_acme_kestra (acme-kestra) sets KESTRA_PASSWORD in its environment: deliver the value as a Swarm secret and point KESTRA_PASSWORD_FILE at the mounted file",
    ]);
  });

  it("unknown values do not break a policy nor count as violations", () => {
    const web = find(fleet(), "acme-kestra");
    containerSpec(web).image = UNKNOWN;
    web.props.taskSpec.networksAdvanceds[0].id = UNKNOWN;
    expect(validateResource("pinned-images", resourceArgs(web))).toEqual([]);
    const policy = find(fleet(), "acme-storage-policy");
    policy.props.policy = UNKNOWN;
    expect(validateResource("storage-policy-scope", resourceArgs(policy))).toEqual([]);
    policy.props.policy = '{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}';
    expect(validateResource("storage-policy-scope", resourceArgs(policy))).toHaveLength(2);
  });

  it("plain() copies through the proxy and drops unknown values", () => {
    const copy = plain(cgProps({ a: 1, b: UNKNOWN, c: [{ id: UNKNOWN, x: "y" }], d: { e: [1, 2] } }));
    expect(copy).toEqual({ a: 1, c: [{ x: "y" }], d: { e: [1, 2] } });
  });

  it("stack resources: id from outputs, property dependencies as URNs, parent", () => {
    const [network] = stackArgs(fleet()).resources;
    const web = stackArgs(fleet()).resources.find((r) => r.name === "acme-kestra")!;
    expect(fromStackResource(network).id).toBe(idOf("proxy-public-network"));
    const neutral = fromStackResource({ ...web, parent: { urn: "urn:parent" } as CgResource });
    expect(neutral.propertyDependencies.taskSpec).toEqual(find(fleet(), "acme-kestra").propertyDependencies.taskSpec);
    expect(neutral.options.parent).toBe("urn:parent");
    expect(neutral.secretInputs).toEqual([]);
  });

  it("the compliant fleet passes every stack policy, with and without known ids", () => {
    for (const withIds of [true, false]) {
      for (const p of policies.filter((x) => "validateStack" in x)) expect(validateStack(p.name, stackArgs(fleet(), {}, withIds)), `${p.name} ${withIds}`).toEqual([]);
    }
  });

  it("network-isolation resolves networks by dependency when their ids are unknown (preview)", () => {
    const rs = fleet();
    find(rs, "acme-executor").props.taskSpec.networksAdvanceds.push({ id: idOf("proxy-public-network") });
    find(rs, "acme-executor").propertyDependencies.taskSpec.push(find(rs, "proxy-public-network").urn);
    const expected = [{
      message: "kestra_acme_executor (acme-executor) (role backend) is attached to the public network network_swarm_public (proxy-public-network): only a tenant's web service is; detach it",
      urn: find(rs, "acme-executor").urn,
    }];
    expect(validateStack("network-isolation", stackArgs(rs, {}, true))).toEqual(expected);
    expect(validateStack("network-isolation", stackArgs(rs, {}, false))).toEqual(expected);
  });

  it("edge-access resolves Access policies by dependency when their ids are unknown (preview)", () => {
    const rs = fleet();
    const app = find(rs, "acme-eu-access-app");
    app.props.policies.push({ id: idOf("acme-access-webhook-bypass"), precedence: 2 });
    app.propertyDependencies.policies.push(find(rs, "acme-access-webhook-bypass").urn);
    for (const withIds of [true, false]) {
      const vs = validateStack("edge-access", stackArgs(rs, {}, withIds));
      expect(vs).toHaveLength(1);
      expect(vs[0].urn).toBe(app.urn);
      expect(vs[0].message).toContain("Kestra acme-eu (acme-eu-access-app)");
      expect(vs[0].message).toContain("bypass policy acme webhooks bypass (acme-access-webhook-bypass)");
    }
  });

  it("the capacity rules read the nodes from the policy config", () => {
    const node = (cpus: number, memoryGb: number) => ({ cpus, memoryGb, diskGb: 100, monthlyCost: 50 });
    expect(validateStack("capacity", stackArgs(fleet(), {}))).toEqual([]);
    expect(validateStack("capacity", stackArgs(fleet(), { nodes: { "worker-1": { cpus: 2 } } }))).toEqual([]);
    const roomy = { nodes: { "manager-1": node(4, 8), "storage-1": node(4, 8), "worker-1": node(4, 8) } };
    expect(validateStack("capacity", stackArgs(fleet(), roomy))).toEqual([]);
    expect(validateStack("limits-fit-nodes", stackArgs(fleet(), roomy))).toEqual([]);
    const small = { nodes: { "manager-1": node(1, 1), "storage-1": node(1, 1.5), "worker-1": node(0.4, 1) } };
    expect(validateStack("capacity", stackArgs(fleet(), small)).map((v) => v.message)).toEqual([
      "services pinned to node worker-1 reserve 0.50 CPUs (it has 0.40): 2 service(s) (kestra_acme_postgres (acme-postgres), kestra_acme-eu_postgres (acme-eu-postgres)); move tenants' postgres.node to another data node or give worker-1 more resources",
      "services reserve 3.00 CPUs, the cluster has 2.40 (3 node(s)): add nodes or lower reservations; tasks beyond capacity stay Pending",
      "services reserve 5.44 GiB of memory, the cluster has 3.50 GiB (3 node(s)): add nodes or lower reservations; tasks beyond capacity stay Pending",
    ]);
    expect(contextFromConfig({ currency: "USD", nodes: { b: node(4, 8), a: node(2, 4) } })).toEqual({
      capacity: { currency: "USD", nodes: [{ name: "a", cpus: 2, memoryGb: 4, monthlyCost: 50 }, { name: "b", cpus: 4, memoryGb: 8, monthlyCost: 50 }] },
    });
    expect(contextFromConfig(undefined)).toEqual({});
  });
});
