/**
 * What a real `pulumi up` would see on the second run: the Swarm objects the program declares must
 * not be replaced by values Docker adds (network options), and a Swarm secret/config whose inputs
 * change must get a new name (every input of theirs forces replacement, created before the old one
 * is deleted).
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "crypto";
import { swarmObjectHash } from "../../infra/model/naming";
import { installMocks, mockRandomBytes } from "../../infra/plan/mocks";
import type { Plan } from "../../infra/plan/run";
import { labelMap } from "../../infra/render/labels";
import { hashedConfig, hashedSecret, setObjectNameKey } from "../../stacks/swarm";
import { byName, CONFIG, NETWORK, ofType, planOk, projectWithConfig, SECRET } from "../helpers";

const plans: Record<string, Plan> = {};
beforeAll(async () => {
  plans.staging = await planOk({ stack: "staging", showSecrets: true });
});

describe("overlay networks", () => {
  it("every network ignores changes of `options` (Docker adds the VXLAN id) and is replaced delete-first (one name per Swarm), but net_monitoring_proxy (its name follows its subnet: created first)", () => {
    for (const plan of Object.values(plans)) {
      const networks = ofType(plan, NETWORK);
      expect(networks.map((n) => n.name).sort()).toEqual(expect.arrayContaining(["proxy-public-network", "storage-network", "acme-private-network"]));
      for (const n of networks) {
        expect(n.options.ignoreChanges, n.name).toEqual(["options"]);
        expect(n.options.deleteBeforeReplace, n.name).toBe(n.name !== "monitoring-proxy-network");
      }
    }
  });

  it("the options still reach the create: encrypted overlays as configured, and none when encryption is off", async () => {
    for (const name of ["acme-private-network", "storage-network"]) {
      expect(ofType(plans.staging, NETWORK).find((n) => n.name === name)!.inputs.options).toEqual({ encrypted: "" });
    }
    const root = projectWithConfig("prod", (c) => {
      c["kestra-fleet:swarm"].encryptNetworks = false;
    });
    const plain = await planOk({ stack: "prod", projectRoot: root });
    for (const n of ofType(plain, NETWORK)) {
      expect(n.inputs.options, n.name).toBeUndefined();
      expect(n.options.ignoreChanges, n.name).toEqual(["options"]);
    }
  });
});

describe("Swarm secrets and configs", () => {
  it("every name carries the keyed hash of all its ForceNew inputs (content and labels), and not their plain hash", () => {
    const plan = plans.staging; // secrets shown: the content can be hashed again here
    const keyResource = byName(plan, "swarm-object-name-key");
    expect(keyResource.options.protect).toBe(true);
    const key = mockRandomBytes(keyResource.urn, 32).toString("hex"); // what the mocks returned as its hex
    const objects = [...ofType(plan, SECRET), ...ofType(plan, CONFIG)];
    expect(objects.length).toBeGreaterThan(5);
    for (const o of objects) {
      const data = Buffer.from(o.inputs.data as string, "base64").toString("utf8");
      const labels = labelMap(o.inputs.labels as { label: string; value: string }[]);
      expect(Object.keys(labels).length, o.name).toBeGreaterThan(0);
      const suffix = (o.inputs.name as string).slice(-12);
      expect(suffix, o.name).toBe(swarmObjectHash({ data, labels }, key).slice(0, 12));
      // Whoever sees the name (PR comment, docker secret ls, a socket proxy) cannot confirm a guessed
      // content: an unkeyed SHA-256 of the same canonical form, or of the content alone, is not it.
      const sorted = Object.keys(labels).sort().map((k) => [k, labels[k]]);
      expect(suffix, o.name).not.toBe(createHash("sha256").update(JSON.stringify({ data, labels: sorted })).digest("hex").slice(0, 12));
      expect(suffix, o.name).not.toBe(createHash("sha256").update(data).digest("hex").slice(0, 12));
    }
  });

  it("through the helpers: a labels-only change renames the object; unchanged inputs keep the name", async () => {
    const registrations = await installMocks("kestra-fleet", "test");
    setObjectNameKey(pulumi.secret("k".repeat(64)));
    const args = (labels: Record<string, string>) => ({ prefix: "kestra_acme", purpose: "config", content: "same content", labels });
    hashedConfig("a", args({ "kestra-fleet.tenant": "acme" }), {});
    hashedConfig("b", args({ "kestra-fleet.tenant": "acme" }), {});
    hashedConfig("c", args({ "kestra-fleet.tenant": "acme", "kestra-fleet.role": "config" }), {});
    hashedSecret("d", args({ "kestra-fleet.tenant": "acme" }), {});
    hashedSecret("e", args({ "kestra-fleet.tenant": "acme", extra: "1" }), {});
    await pulumi.runtime.disconnect();
    const name = (logical: string) => [...registrations.values()].find((r) => r.name === logical)!.inputs.name as string;
    expect(name("a")).toMatch(/^kestra_acme_config_[0-9a-f]{12}$/);
    expect(name("b")).toBe(name("a"));
    expect(name("c")).not.toBe(name("a"));
    // A secret's name is readable (not a Pulumi secret) and follows the same rule.
    expect(name("d")).toBe(name("a"));
    expect(name("e")).not.toBe(name("d"));
    expect(name("a")).toBe(`kestra_acme_config_${swarmObjectHash({ data: "same content", labels: { "kestra-fleet.tenant": "acme" } }, "k".repeat(64)).slice(0, 12)}`);
  });
});
