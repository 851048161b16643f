import { describe, expect, it } from "vitest";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../../policies/crossguard";

// The pack's policies called the way CrossGuard calls them, with hand-made args (the pack itself is
// never built here: constructing a PolicyPack starts a server).
const byName = (n: string) => policies.find((p) => p.name === n)!;

function resourceArgs(type: string, name: string, props: Record<string, any>, opts: Partial<ResourceValidationArgs["opts"]> = {}): ResourceValidationArgs {
  return {
    type,
    name,
    urn: `urn:pulumi:prod::kestra-fleet::${type}::${name}`,
    props,
    opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [], ...opts },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: () => ({}) as any,
    notApplicable: () => undefined,
  } as unknown as ResourceValidationArgs;
}

function runResource(policyName: string, args: ResourceValidationArgs): string[] {
  const out: string[] = [];
  const validate = (byName(policyName) as ResourceValidationPolicy).validateResource;
  if (typeof validate !== "function") throw new Error(`${policyName} is not a single resource validation`);
  validate(args, (m: string) => out.push(m));
  return out;
}

describe("CrossGuard adapter", () => {
  it("exposes every rule with its enforcement level", () => {
    expect(policies).toHaveLength(19);
    expect(byName("capacity").enforcementLevel).toBe("advisory");
    expect(byName("stateful-protected").enforcementLevel).toBe("mandatory");
  });

  it("stateful-protected checks protect (CrossGuard shows no retainOnDelete)", () => {
    const volume = (protect: boolean) => resourceArgs("docker:index/volume:Volume", "acme-pg-volume", { name: "pg_acme_data" }, { protect });
    expect(runResource("stateful-protected", volume(true))).toEqual([]);
    expect(runResource("stateful-protected", volume(false))).toEqual(["pg_acme_data (acme-pg-volume) holds data but is not protected: set protect: true"]);
  });

  it("no-secret-env judges plain props", () => {
    const service = resourceArgs("docker:index/service:Service", "acme-kestra", {
      name: "kestra_acme_kestra",
      taskSpec: { containerSpec: { image: "kestra/kestra:v1.3.37", env: { KESTRA_PASSWORD: "x", POSTGRES_PASSWORD_FILE: "/run/secrets/p" } } },
    });
    expect(runResource("no-secret-env", service)).toEqual([
      "kestra_acme_kestra (acme-kestra) sets KESTRA_PASSWORD in its environment: deliver the value as a Swarm secret file and point KESTRA_PASSWORD_FILE at it",
    ]);
  });

  it("stack policies map dependencies to URNs and read capacity from the pack config", () => {
    const svc = (name: string, role: string, cpus: number) => ({
      type: "docker:index/service:Service",
      name,
      urn: `urn:${name}`,
      props: {
        name,
        labels: [{ label: "kestra-fleet.role", value: role }, { label: "kestra-fleet.tenant", value: "acme" }],
        mode: { replicated: { replicas: 1 } },
        taskSpec: { networksAdvanceds: [{}], resources: { reservation: { nanoCpus: cpus * 1e9, memoryBytes: 1 } } },
      },
      opts: {},
      propertyDependencies: { taskSpec: [{ urn: "urn:public" }] },
      dependencies: [],
      isType: () => false,
      asType: () => undefined,
    });
    const publicNet = {
      type: "docker:index/network:Network",
      name: "proxy-public-network",
      urn: "urn:public",
      props: { name: "network_swarm_public", labels: [{ label: "kestra-fleet.role", value: "public" }] },
      opts: {},
      propertyDependencies: {},
      dependencies: [],
      isType: () => false,
      asType: () => undefined,
    };
    const args = (config: object) =>
      ({ resources: [svc("kestra_acme_executor", "backend", 3), publicNet], getConfig: () => config, stackTags: new Map() }) as unknown as StackValidationArgs;
    const run = (name: string, config: object) => {
      const out: string[] = [];
      (byName(name) as StackValidationPolicy).validateStack(args(config), (m: string) => out.push(m));
      return out;
    };
    expect(run("network-isolation", {})).toEqual(["kestra_acme_executor (role backend) is on the public network: only a tenant's web service is"]);
    expect(run("capacity", {})).toEqual([]);
    expect(run("capacity", { cpus: 2, memoryGb: 1 })).toEqual(["services reserve 3.00 CPUs, the cluster has 2.00"]);
  });
});
