import { describe, expect, it } from "vitest";
import { createHash } from "crypto";
import { tenantHost, tenantNames, RESERVED_TENANT_NAMES, contentName } from "../../../infra/model/naming";
import { TenantSchema } from "../../../infra/input/tenants/schema";

// The rules every derived name must satisfy (sources: moby/swarmkit controlapi/common.go, RFC 1035,
// S3 bucket naming rules, PostgreSQL identifiers, Kestra's namespace pattern).
const SWARM_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const SWARM_OBJECT = /^[a-zA-Z0-9-_.]{1,64}$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PG_IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

const longest = "a" + "b1-".repeat(9) + "cd"; // 30 characters, hyphens, digits
const shortest = "ab1";

function valid(name: string) {
  return TenantSchema.shape.name.safeParse(name).success;
}

describe("naming", () => {
  it("the sample names are valid tenant names at the limits", () => {
    expect(longest).toHaveLength(30);
    expect(valid(longest)).toBe(true);
    expect(valid(shortest)).toBe(true);
  });

  for (const name of [shortest, "acme", "acme-eu", longest]) {
    it(`every derived name of "${name}" satisfies its platform's rules`, () => {
      const n = tenantNames(name);
      for (const s of [n.stack, ...Object.values(n.services)]) {
        expect(s).toMatch(SWARM_NAME);
        expect(s.length).toBeLessThanOrEqual(63);
      }
      for (const o of [n.privateNetwork, n.pgVolume, contentName(n.secretPrefix, "flow_git_sync", { data: "x", labels: { "kestra-fleet.tenant": name } }, "k")]) {
        expect(o).toMatch(SWARM_OBJECT);
      }
      expect(n.bucket).toMatch(S3_BUCKET);
      expect(n.bucket).not.toMatch(/\.\.|^xn--|-s3alias$|--ol-s3$/);
      expect(n.database).toMatch(PG_IDENT);
      expect(n.dbUser).toMatch(PG_IDENT);
      expect(n.router).toMatch(/^[a-z0-9-]+$/);
      for (const pattern of ["{tenant}.kestra.example.com", "{tenant}-kestra.example.com"]) {
        const host = tenantHost(pattern, name);
        for (const label of host.split(".")) expect(label).toMatch(DNS_LABEL);
        expect(host.length).toBeLessThanOrEqual(253);
      }
    });
  }

  it("names are exactly as documented", () => {
    const n = tenantNames("acme");
    expect(n).toMatchObject({
      stack: "kestra_acme",
      privateNetwork: "net_acme_private",
      pgVolume: "pg_acme_data",
      bucket: "kestra-acme",
      services: { postgres: "kestra_acme_postgres", web: "kestra_acme_kestra", backend: "kestra_acme_executor", worker: "kestra_acme_worker", gateway: "kestra_acme_gateway" },
    });
    expect(tenantHost("{tenant}.kestra.example.com", "acme")).toBe("acme.kestra.example.com");
  });

  it("distinct tenants never share a derived name", () => {
    const a = tenantNames("acme-eu");
    const b = tenantNames("acmeeu");
    for (const k of ["stack", "privateNetwork", "pgVolume", "bucket", "database"] as const) expect(a[k]).not.toBe(b[k]);
  });

  it("names that would break a platform rule are refused", () => {
    for (const bad of ["ab", "a".repeat(31), "Acme", "1acme", "acme-", "ac--me", "ac_me", "acme.eu", "foo-s3alias", ...RESERVED_TENANT_NAMES]) {
      expect(valid(bad), bad).toBe(false);
    }
  });
});

describe("contentName: Swarm secrets and configs are named by every input that forces their replacement", () => {
  const base = { data: "kestra:\n  url: https://acme/\n", labels: { "kestra-fleet.tenant": "acme" } };
  const name = (inputs: { data: string; labels: Record<string, string> }, key = "stack-key") => contentName("kestra_acme", "config", inputs, key);

  it("same inputs, same name (no churn): label order does not matter", () => {
    expect(name(base)).toBe(name({ data: base.data, labels: { ...base.labels } }));
    expect(name({ data: "x", labels: { a: "1", b: "2" } })).toBe(name({ data: "x", labels: { b: "2", a: "1" } }));
    expect(name(base)).toMatch(/^kestra_acme_config_[0-9a-f]{12}$/);
  });

  it("a changed content gives a new name", () => {
    expect(name({ ...base, data: base.data + "#" })).not.toBe(name(base));
  });

  it("a labels-only change gives a new name (labels force replacement: the same name would be refused by Docker)", () => {
    expect(name({ ...base, labels: { ...base.labels, "kestra-fleet.role": "config" } })).not.toBe(name(base));
    expect(name({ ...base, labels: { "kestra-fleet.tenant": "acme2" } })).not.toBe(name(base));
    expect(name({ ...base, labels: {} })).not.toBe(name(base));
  });

  it("keyed: another stack's key gives another name, and the name is no plain SHA-256 of the inputs", () => {
    expect(name(base, "key-1")).not.toBe(name(base, "key-2"));
    expect(name(base, "key-1")).toBe(name(base, "key-1"));
    const plain = createHash("sha256").update(JSON.stringify({ data: base.data, labels: [["kestra-fleet.tenant", "acme"]] })).digest("hex");
    expect(name(base).slice(-12)).not.toBe(plain.slice(0, 12));
  });

  it("content and labels cannot be confused with each other (canonical form, not concatenation)", () => {
    expect(name({ data: "ab", labels: { c: "d" } })).not.toBe(name({ data: "a", labels: { bc: "d" } }));
    expect(name({ data: "", labels: { "": "" } })).not.toBe(name({ data: "", labels: {} }));
  });
});
