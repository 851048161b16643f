import { beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../policies/evaluate";
import type { PolicyResource, Violation } from "../../policies/model";
import { rules } from "../../policies/rules";
import { capacity } from "../../policies/rules/capacity";
import { cloudflareLimits } from "../../policies/rules/cloudflare-limits";
import { dockerSocketAndBinds } from "../../policies/rules/docker-socket-and-binds";
import { edgeAccess } from "../../policies/rules/edge-access";
import { fileEnvSecret } from "../../policies/rules/file-env-secret";
import { networkIsolation } from "../../policies/rules/network-isolation";
import { noForceDestroy } from "../../policies/rules/no-force-destroy";
import { noSecretEnv } from "../../policies/rules/no-secret-env";
import { pinnedImages } from "../../policies/rules/pinned-images";
import { portsOnlyProxy } from "../../policies/rules/ports-only-proxy";
import { postgresSinglePinned } from "../../policies/rules/postgres-single-pinned";
import { proxyHardening } from "../../policies/rules/proxy-hardening";
import { serviceResourcesHealth } from "../../policies/rules/service-resources-health";
import { stackIntegrity } from "../../policies/rules/stack-integrity";
import { statefulProtected } from "../../policies/rules/stateful-protected";
import { storagePolicyScope } from "../../policies/rules/storage-policy-scope";
import { swarmObjectsRoll } from "../../policies/rules/swarm-objects-roll";
import { tenantRouter } from "../../policies/rules/tenant-router";
import { traefikLabelsScope } from "../../policies/rules/traefik-labels-scope";
import { broken, check, find, fleet, setLabel } from "./fixtures";

let base: PolicyResource[];
beforeAll(async () => {
  base = await fleet("staging");
});

const spec = (r: PolicyResource) => r.props.taskSpec.containerSpec;
const messages = (vs: Violation[]) => vs.map((v) => v.message);

/** One violation, on the named resource's URN (or any URN for stack-level messages), whose message names it. */
function expectOne(vs: Violation[], name: string, text: RegExp | string) {
  expect(vs, JSON.stringify(vs, null, 1)).toHaveLength(1);
  expect(vs[0].message).toContain(name);
  if (typeof text === "string") expect(vs[0].message).toContain(text);
  else expect(vs[0].message).toMatch(text);
}

describe("baseline", () => {
  it("the example fleet passes every rule in both stacks", async () => {
    expect(evaluate(base)).toEqual([]);
    expect(evaluate(await fleet("prod"), { capacity: { nanoCpus: 64e9, memoryBytes: 256 * 1024 ** 3 } })).toEqual([]);
  });

  it("the rule list is fixed, unique and levelled", () => {
    expect(rules.map((r) => r.name)).toEqual([
      "stateful-protected", "no-force-destroy", "docker-socket-and-binds", "ports-only-proxy", "service-resources-health",
      "pinned-images", "no-secret-env", "postgres-single-pinned", "traefik-labels-scope", "tenant-router",
      "storage-policy-scope", "edge-access", "network-isolation", "stack-integrity", "capacity", "file-env-secret",
      "cloudflare-limits", "swarm-objects-roll", "proxy-hardening",
    ]);
    expect(rules.filter((r) => r.level === "advisory").map((r) => r.name)).toEqual(["capacity", "cloudflare-limits"]);
  });
});

describe("1 stateful-protected", () => {
  for (const name of ["acme-pg-volume", "acme-bucket", "proxy-acme-volume", "storage-minio-volume"]) {
    it(`${name} without protect`, () => expectOne(broken(statefulProtected, base, (rs) => (find(rs, name).options.protect = false)), name, "not protected"));
    it(`${name} without retainOnDelete`, () => expectOne(broken(statefulProtected, base, (rs) => (find(rs, name).options.retainOnDelete = false)), name, "not retained"));
  }
  it("a managed database without protect", () => {
    const vs = broken(statefulProtected, base, (rs) => rs.push({ ...find(rs, "acme-pg-volume"), urn: "urn:db", name: "acme-db", type: "postgresql:index/database:Database", props: { name: "kestra_acme" }, options: {} }));
    expectOne(vs, "acme-db", "not protected");
  });
});

describe("2 no-force-destroy", () => {
  it("a bucket with forceDestroy", () => expectOne(broken(noForceDestroy, base, (rs) => (find(rs, "acme-bucket").props.forceDestroy = true)), "kestra-acme", "forceDestroy"));
  it("an AWS bucket with forceDestroy", () =>
    expectOne(broken(noForceDestroy, base, (rs) => { const b = find(rs, "acme-bucket"); b.type = "aws:s3/bucket:Bucket"; b.props.forceDestroy = true; }), "kestra-acme", "forceDestroy"));
});

describe("3 docker-socket-and-binds", () => {
  it("the socket mounted read-write by Traefik", () =>
    expectOne(broken(dockerSocketAndBinds, base, (rs) => (spec(find(rs, "proxy-traefik")).mounts[0].readOnly = false)), "platform_proxy_traefik", "read-write"));
  it("the socket mounted by another service", () =>
    expectOne(broken(dockerSocketAndBinds, base, (rs) => (spec(find(rs, "acme-executor")).mounts = [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }])), "kestra_acme_executor", "only the Traefik service may"));
  it("any other bind mount", () =>
    expectOne(broken(dockerSocketAndBinds, base, (rs) => spec(find(rs, "acme-postgres")).mounts.push({ type: "bind", source: "/srv/pg", target: "/backup" })), "kestra_acme_postgres", "bind-mounts /srv/pg"));
});

describe("4 ports-only-proxy", () => {
  it("a tenant service publishing a port", () =>
    expectOne(broken(portsOnlyProxy, base, (rs) => (find(rs, "acme-postgres").props.endpointSpec = { ports: [{ targetPort: 5432, publishedPort: 5432 }] })), "kestra_acme_postgres", "publishes port(s) 5432"));
  it("MinIO publishing its console", () =>
    expectOne(broken(portsOnlyProxy, base, (rs) => (find(rs, "storage-minio").props.endpointSpec = { ports: [{ targetPort: 9001, publishedPort: 9001 }] })), "platform_storage_minio", "9001"));
});

describe("5 service-resources-health", () => {
  it("no CPU limit", () => expectOne(broken(serviceResourcesHealth, base, (rs) => delete find(rs, "acme-kestra").props.taskSpec.resources.limits.nanoCpus), "kestra_acme_kestra", "CPU limit"));
  it("no memory limit", () => expectOne(broken(serviceResourcesHealth, base, (rs) => delete find(rs, "acme-kestra").props.taskSpec.resources.limits.memoryBytes), "kestra_acme_kestra", "memory limit"));
  it("no health check", () => expectOne(broken(serviceResourcesHealth, base, (rs) => delete spec(find(rs, "acme-kestra")).healthcheck), "kestra_acme_kestra", "health check"));
  it("a disabled health check", () => expectOne(broken(serviceResourcesHealth, base, (rs) => (spec(find(rs, "acme-kestra")).healthcheck.tests = ["NONE"])), "kestra_acme_kestra", "health check"));
  it("no restart policy", () => expectOne(broken(serviceResourcesHealth, base, (rs) => delete find(rs, "acme-kestra").props.taskSpec.restartPolicy), "kestra_acme_kestra", "restart policy"));
});

describe("6 pinned-images", () => {
  it("latest", () => expectOne(broken(pinnedImages, base, (rs) => (spec(find(rs, "acme-postgres")).image = "postgres:latest")), "kestra_acme_postgres", "'latest' floats"));
  it("no tag", () => expectOne(broken(pinnedImages, base, (rs) => (spec(find(rs, "acme-postgres")).image = "postgres")), "kestra_acme_postgres", "without a tag"));
  it("a digest is pinned, even with latest", () => expect(broken(pinnedImages, base, (rs) => (spec(find(rs, "acme-postgres")).image = `postgres:latest@sha256:${"a".repeat(64)}`))).toEqual([]));
});

describe("7 no-secret-env", () => {
  for (const name of ["POSTGRES_PASSWORD", "SECRET_GIT_TOKEN", "MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY", "API_KEY"]) {
    it(`a ${name} variable`, () => expectOne(broken(noSecretEnv, base, (rs) => (spec(find(rs, "acme-executor")).env[name] = "x")), "kestra_acme_executor", name));
  }
  it("a *_FILE pointer is fine", () => expect(check(noSecretEnv, base)).toEqual([]));
  it("a Pulumi secret inside the task spec", () => expectOne(broken(noSecretEnv, base, (rs) => find(rs, "acme-kestra").secretInputs.push("taskSpec")), "kestra_acme_kestra", "Pulumi secret inside taskSpec"));
  it("a Pulumi secret in labels", () => expectOne(broken(noSecretEnv, base, (rs) => find(rs, "acme-kestra").secretInputs.push("labels")), "kestra_acme_kestra", "inside labels"));
});

describe("8 postgres-single-pinned", () => {
  it("two replicas", () => expectOne(broken(postgresSinglePinned, base, (rs) => (find(rs, "acme-postgres").props.mode = { replicated: { replicas: 2 } })), "kestra_acme_postgres", "exactly one replica"));
  it("global mode", () => expectOne(broken(postgresSinglePinned, base, (rs) => (find(rs, "acme-postgres").props.mode = { global: true })), "kestra_acme_postgres", "global mode"));
  it("no placement constraint", () => expectOne(broken(postgresSinglePinned, base, (rs) => (find(rs, "acme-postgres").props.taskSpec.placement = { constraints: [] })), "kestra_acme_postgres", "placement constraint"));
  it("a constraint that does not pin a node", () => expectOne(broken(postgresSinglePinned, base, (rs) => (find(rs, "acme-postgres").props.taskSpec.placement = { constraints: ["node.role == worker"] })), "kestra_acme_postgres", "placement constraint"));
  it("attached to the storage network", () =>
    expectOne(broken(postgresSinglePinned, base, (rs) => find(rs, "acme-postgres").props.taskSpec.networksAdvanceds.push({ id: find(rs, "storage-network").id })), "kestra_acme_postgres", "net_storage"));
});

describe("9 traefik-labels-scope", () => {
  it("router labels on a backend", () => expectOne(broken(traefikLabelsScope, base, (rs) => setLabel(find(rs, "acme-executor"), "traefik.enable", "true")), "kestra_acme_executor", "carries Traefik labels"));
  it("router labels on Postgres", () => expectOne(broken(traefikLabelsScope, base, (rs) => setLabel(find(rs, "acme-postgres"), "traefik.http.routers.x.rule", "Host(`x`)")), "kestra_acme_postgres", "carries Traefik labels"));
  it("a route to the management port", () =>
    expectOne(broken(traefikLabelsScope, base, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.http.services.kestra-acme.loadbalancer.server.port", "8081")), "kestra_acme_kestra", "port 8081"));
  it("a web service routed to another port", () =>
    expectOne(broken(traefikLabelsScope, base, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.http.services.kestra-acme.loadbalancer.server.port", "9000")), "kestra_acme_kestra", "routes to port 9000"));
});

describe("10 tenant-router", () => {
  const r = "traefik.http.routers.kestra-acme";
  it("the web entrypoint", () => expectOne(broken(tenantRouter, base, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.entrypoints`, "web,websecure")), "kestra_acme_kestra", "only websecure"));
  it("no TLS", () => expectOne(broken(tenantRouter, base, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.tls`, undefined)), "kestra_acme_kestra", "no TLS"));
  it("no origin lock", () => expectOne(broken(tenantRouter, base, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.middlewares`, "compress@file")), "kestra_acme_kestra", "cloudflare-only@file"));
  it("no router at all", () =>
    expectOne(broken(tenantRouter, base, (rs) => { const w = find(rs, "acme-kestra"); w.props.labels = w.props.labels.filter((l: { label: string }) => !l.label.startsWith("traefik.http.routers.")); }), "kestra_acme_kestra", "without a Traefik router"));
});

describe("11 storage-policy-scope", () => {
  const policy = (rs: PolicyResource[]) => find(rs, "acme-storage-policy");
  const edit = (rs: PolicyResource[], f: (doc: any) => void) => { const p = policy(rs); const doc = JSON.parse(p.props.policy); f(doc); p.props.policy = JSON.stringify(doc); };
  it("a wildcard in the bucket part (kestra-a* would open kestra-ab)", () =>
    expectOne(broken(storagePolicyScope, base, (rs) => edit(rs, (d) => (d.Statement[1].Resource = ["arn:aws:s3:::kestra-a*/*"]))), "kestra-acme", "wildcard in the bucket part"));
  it("another tenant's bucket", () =>
    expectOne(broken(storagePolicyScope, base, (rs) => edit(rs, (d) => (d.Statement[0].Resource = ["arn:aws:s3:::kestra-globex"]))), "kestra-acme", "another bucket"));
  it("a bare * resource", () => expectOne(broken(storagePolicyScope, base, (rs) => edit(rs, (d) => (d.Statement[0].Resource = ["*"]))), "kestra-acme", 'resource "*"'));
  it("s3:*", () => expectOne(broken(storagePolicyScope, base, (rs) => edit(rs, (d) => (d.Statement[1].Action = ["s3:*"]))), "kestra-acme", '"s3:*"'));
  it("ListAllMyBuckets", () =>
    expectOne(broken(storagePolicyScope, base, (rs) => edit(rs, (d) => d.Statement[0].Action.push("s3:ListAllMyBuckets"))), "kestra-acme", "s3:ListAllMyBuckets"));
  it("a bucket policy action", () =>
    expectOne(broken(storagePolicyScope, base, (rs) => edit(rs, (d) => d.Statement[0].Action.push("s3:PutBucketPolicy"))), "kestra-acme", "s3:PutBucketPolicy"));
  it("an admin action", () => expectOne(broken(storagePolicyScope, base, (rs) => edit(rs, (d) => d.Statement.push({ Effect: "Allow", Action: ["admin:*"], Resource: ["arn:aws:s3:::kestra-acme"] }))), "kestra-acme", "admin:*"));
  it("NotResource", () => expectOne(broken(storagePolicyScope, base, (rs) => edit(rs, (d) => (d.Statement[0].NotResource = ["arn:aws:s3:::x"]))), "kestra-acme", "NotResource"));
});

describe("12 edge-access", () => {
  it("a tenant host without DNS record", () => expectOne(broken(edgeAccess, base, (rs) => rs.splice(rs.indexOf(find(rs, "acme-dns-0")), 1)), "acme-kestra-staging.example.com", "no DNS record"));
  it("a DNS-only tenant record", () => expectOne(broken(edgeAccess, base, (rs) => (find(rs, "acme-dns-0").props.proxied = false)), "acme-dns-0", "not proxied"));
  it("a tenant host without Access application", () => expectOne(broken(edgeAccess, base, (rs) => (find(rs, "acme-access-app").props.domain = "other.example.com")), "acme-kestra-staging.example.com", "no Access application"));
  it("an allow policy including everyone", () => expectOne(broken(edgeAccess, base, (rs) => find(rs, "acme-access-allow").props.includes.push({ everyone: {} })), "acme-access-allow", "includes everyone"));
  it("a bypass policy on the host application", () => {
    const vs = broken(edgeAccess, base, (rs) => find(rs, "acme-access-app").props.policies.push({ id: find(rs, "globex-access-webhook-bypass").id, precedence: 9 }));
    expect(vs).toHaveLength(2);
    expect(messages(vs).join("\n")).toContain("bypass is only for Kestra's webhook paths");
    expect(messages(vs).join("\n")).toContain("Kestra ACME Corp (staging)");
  });
  it("an application without policy", () => expectOne(broken(edgeAccess, base, (rs) => (find(rs, "acme-access-app").props.policies = [])), "acme-access-app", "has no policy"));
  it("resolves policies by dependency when ids are unknown (preview)", () => {
    const vs = broken(edgeAccess, base, (rs) => {
      const app = find(rs, "acme-access-app");
      app.props.policies = [{ precedence: 1 }];
      app.propertyDependencies.policies = [find(rs, "globex-access-webhook-bypass").urn];
    });
    expect(messages(vs).some((m) => m.includes("bypass is only for Kestra's webhook paths"))).toBe(true);
  });
});

describe("13 network-isolation", () => {
  it("a tenant service on another tenant's private network", () =>
    expectOne(broken(networkIsolation, base, (rs) => find(rs, "acme-kestra").props.taskSpec.networksAdvanceds.push({ id: find(rs, "globex-private-network").id })), "kestra_acme_kestra", "tenant globex"));
  it("a backend on the public network", () =>
    expectOne(broken(networkIsolation, base, (rs) => find(rs, "acme-executor").props.taskSpec.networksAdvanceds.push({ id: find(rs, "proxy-public-network").id })), "kestra_acme_executor", "public network"));
  it("a worker on the public network", () =>
    expectOne(broken(networkIsolation, base, (rs) => find(rs, "globex-worker").props.taskSpec.networksAdvanceds.push({ id: find(rs, "proxy-public-network").id })), "kestra_globex_worker", "public network"));
  it("resolves networks by dependency when ids are unknown (preview)", () => {
    const vs = broken(networkIsolation, base, (rs) => {
      const s = find(rs, "acme-executor");
      s.props.taskSpec.networksAdvanceds = [{}, {}];
      s.propertyDependencies.taskSpec = [find(rs, "acme-private-network").urn, find(rs, "proxy-public-network").urn];
    });
    expectOne(vs, "kestra_acme_executor", "public network");
  });
});

describe("14 stack-integrity", () => {
  it("two services with one Docker name", () => expectOne(broken(stackIntegrity, base, (rs) => (find(rs, "globex-kestra").props.name = "kestra_acme_kestra")), "globex-kestra", "same Docker name"));
  it("a tenant without backend", () => expectOne(broken(stackIntegrity, base, (rs) => rs.splice(rs.indexOf(find(rs, "acme-executor")), 1)), "tenant acme", "0 backend"));
  it("a tenant without database", () => expectOne(broken(stackIntegrity, base, (rs) => rs.splice(rs.indexOf(find(rs, "acme-postgres")), 1)), "tenant acme", "exactly one database"));
  it("a tenant with two web services", () =>
    expectOne(broken(stackIntegrity, base, (rs) => rs.push({ ...structuredClone(find(rs, "acme-kestra")), urn: "urn:x", name: "acme-kestra-2", props: { ...structuredClone(find(rs, "acme-kestra").props), name: "kestra_acme_kestra2" } })), "tenant acme", "2 web"));
});

describe("15 capacity (advisory)", () => {
  it("passes within capacity, warns beyond it", () => {
    expect(check(capacity, base, { capacity: { nanoCpus: 64e9, memoryBytes: 256 * 1024 ** 3 } })).toEqual([]);
    const vs = check(capacity, base, { capacity: { nanoCpus: 1e9, memoryBytes: 1024 ** 3 } });
    expect(vs.map((v) => v.level)).toEqual(["advisory", "advisory"]);
    expect(messages(vs).join("\n")).toMatch(/services reserve [0-9.]+ CPUs, the cluster has 1.00/);
  });
});

describe("16 file-env-secret", () => {
  it("MinIO's root password file not mounted (it would fall back to minioadmin)", () =>
    expectOne(broken(fileEnvSecret, base, (rs) => (spec(find(rs, "storage-minio")).secrets = spec(find(rs, "storage-minio")).secrets.slice(0, 1))), "platform_storage_minio", "MINIO_ROOT_PASSWORD_FILE"));
  it("a *_FILE variable pointing elsewhere", () =>
    expectOne(broken(fileEnvSecret, base, (rs) => (spec(find(rs, "acme-postgres")).env.POSTGRES_PASSWORD_FILE = "/run/secrets/pg")), "kestra_acme_postgres", "POSTGRES_PASSWORD_FILE=/run/secrets/pg"));
});

describe("17 cloudflare-limits (advisory)", () => {
  it("warns past 50 service tokens and 500 applications", () => {
    const token = find(base, "globex-service-token");
    const app = find(base, "acme-access-app");
    const many = [...base, ...Array.from({ length: 50 }, (_, i) => ({ ...token, urn: `urn:t${i}` })), ...Array.from({ length: 500 }, (_, i) => ({ ...app, urn: `urn:a${i}` }))];
    const vs = check(cloudflareLimits, many);
    expect(vs.map((v) => v.level)).toEqual(["advisory", "advisory"]);
    expect(messages(vs).sort()).toEqual(["504 Access applications exceed Cloudflare's limit of 500 per account", "51 service tokens exceed Cloudflare's limit of 50 per account"]);
  });
});

describe("added rules", () => {
  it("swarm-objects-roll: a Swarm secret deleted before its replacement", () =>
    expectOne(broken(swarmObjectsRoll, base, (rs) => (find(rs, "acme-kestra-config").options.deleteBeforeReplace = true)), "acme-kestra-config", "deleted before its replacement"));
  it("proxy-hardening: exposedByDefault left on", () =>
    expectOne(broken(proxyHardening, base, (rs) => (spec(find(rs, "proxy-traefik")).args = spec(find(rs, "proxy-traefik")).args.filter((a: string) => !a.includes("exposedByDefault")))), "platform_proxy_traefik", "exposedByDefault"));
  it("proxy-hardening: insecure API", () =>
    expectOne(broken(proxyHardening, base, (rs) => spec(find(rs, "proxy-traefik")).args.push("--api.insecure=true")), "platform_proxy_traefik", "insecurely"));
});
