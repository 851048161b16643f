import { describe, expect, it } from "vitest";
import { evaluate } from "../../policies/evaluate";
import type { PolicyResource, RuleContext, Violation } from "../../policies/model";
import { rules } from "../../policies/rules";
import { backupPolicyScope } from "../../policies/rules/backup-policy-scope";
import { capacity, capacityHeadroom, limitsFitNodes, limitsPlacement } from "../../policies/rules/capacity";
import { capacityReport } from "../../policies/capacity";
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
import { runtimeTuning } from "../../policies/rules/runtime-tuning";
import { serviceResourcesHealth } from "../../policies/rules/service-resources-health";
import { stackIntegrity } from "../../policies/rules/stack-integrity";
import { statefulProtected } from "../../policies/rules/stateful-protected";
import { storagePolicyScope } from "../../policies/rules/storage-policy-scope";
import { swarmObjectsRoll } from "../../policies/rules/swarm-objects-roll";
import { dockerSocketReach } from "../../policies/rules/docker-socket-reach";
import { tenantNetworkSeparation } from "../../policies/rules/tenant-network-separation";
import { tenantRouter } from "../../policies/rules/tenant-router";
import { traefikLabelsScope } from "../../policies/rules/traefik-labels-scope";
import { DYNAMIC_YAML, METRICS_SUBNET, T, containerSpec, find, fleet, hostOf, idOf, monitoringPrometheus, platform, remove, setLabel, tenant, violations } from "./fixtures";
import { mirrorSourcePolicy } from "../../infra/render/backup";

/**
 * Exactly one violation; its message names the resource (every string of `names`, e.g. Docker name
 * and logical name) and says `text`; it is reported on `urn` when given.
 */
function expectOne(vs: Violation[], names: string[], text: string | RegExp, urn?: string): Violation {
  expect(vs, JSON.stringify(vs, null, 1)).toHaveLength(1);
  for (const n of names) expect(vs[0].message).toContain(n);
  if (typeof text === "string") expect(vs[0].message).toContain(text);
  else expect(vs[0].message).toMatch(text);
  if (urn !== undefined) expect(vs[0].urn).toBe(urn);
  return vs[0];
}

const urn = (rs: PolicyResource[], name: string) => find(rs, name).urn;
const base = fleet();
const urnOfBase = (name: string) => urn(base, name);
const tenantServices = ["acme-kestra", "acme-executor", "acme-worker", "acme-postgres"];

describe("baseline", () => {
  it("the compliant fleet passes every rule", () => {
    expect(evaluate(fleet())).toEqual([]);
    expect(evaluate(fleet(), { capacity: { currency: "EUR", nodes: ["manager-1", "storage-1", "worker-1"].map((name) => ({ name, cpus: 8, memoryGb: 32, monthlyCost: 100 })) } })).toEqual([]);
  });

  it("variants pass too: managed Postgres, AWS S3 with a bucket prefix", () => {
    const shared = platform();
    const rs = [...shared, ...tenant("acme", shared, { managedDb: true }), ...tenant("acme-eu", shared, { aws: { prefix: "corp-" } })];
    expect(evaluate(rs)).toEqual([]);
    expect(find(rs, "acme-eu-storage-policy").props.name).toBe("corp-kestra-acme-eu");
  });

  it("the rule list is fixed, unique and levelled", () => {
    expect(rules.map((r) => r.name)).toEqual([
      "stateful-protected", "no-force-destroy", "docker-socket-and-binds", "ports-only-proxy", "service-resources-health",
      "pinned-images", "no-secret-env", "postgres-single-pinned", "traefik-labels-scope", "tenant-router",
      "storage-policy-scope", "edge-access", "network-isolation", "stack-integrity", "capacity", "file-env-secret",
      "cloudflare-limits", "swarm-objects-roll", "proxy-hardening", "runtime-tuning", "tenant-network-separation",
      "docker-socket-reach", "backup-policy-scope", "capacity-headroom", "limits-fit-nodes", "limits-placement", "own-bucket-users", "lab-stack",
      "kestra-image-origin",
    ]);
    expect(new Set(rules.map((r) => r.name)).size).toBe(rules.length);
    expect(rules.filter((r) => r.level === "advisory").map((r) => r.name)).toEqual(["cloudflare-limits", "runtime-tuning", "capacity-headroom", "limits-placement"]);
    for (const r of rules) expect(r.description.length).toBeGreaterThan(20);
  });

  it("evaluate sorts by policy, urn, message and reports a rule that throws", () => {
    const rs = fleet();
    find(rs, "acme-bucket").props.forceDestroy = true;
    find(rs, "acme-pg18-volume").options.protect = false;
    find(rs, "acme-eu-pg18-volume").options.protect = false;
    const vs = evaluate(rs);
    expect(vs.map((v) => v.policy)).toEqual(["no-force-destroy", "stateful-protected", "stateful-protected"]);
    expect(vs[1].urn < vs[2].urn).toBe(true);
    // A malformed resource makes a rule throw: it is reported, not fatal.
    const broken = fleet();
    find(broken, "acme-kestra").props.labels = [null, { get label(): string { throw new Error("boom"); } }];
    expect(evaluate(broken).some((v) => v.message.includes("failed: boom"))).toBe(true);
  });
});

describe("1 stateful-protected", () => {
  const stateful: [string, string][] = [
    ["acme-pg18-volume", "pg_acme_data"],
    ["acme-eu-pg18-volume", "pg_acme-eu_data"],
    ["proxy-acme-volume", "traefik_acme"],
    ["storage-minio-volume", "minio_data"],
    ["acme-bucket", "kestra-acme"],
  ];
  for (const [name, ext] of stateful) {
    it(`${name} without protect`, () => expectOne(violations(statefulProtected, (rs) => (find(rs, name).options.protect = false)), [ext, name], "protect: true", urnOfBase(name)));
    it(`${name} without retainOnDelete`, () => expectOne(violations(statefulProtected, (rs) => (find(rs, name).options.retainOnDelete = false)), [ext, name], "retainOnDelete: true"));
  }
  it("an AWS bucket without protect", () => {
    const shared = platform();
    const build = () => [...shared, ...tenant("acme", shared, { aws: { prefix: "" } })];
    expect(violations(statefulProtected, () => {}, {}, build)).toEqual([]);
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket").options.protect = false), {}, build), ["kestra-acme", "acme-bucket"], "not protected");
  });
  it("a tenant's database password without protect; the admin password needs none", () => {
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-db-password").options.protect = false)), ["acme-db-password"], "database password");
  });
  it("a managed database without protect", () => {
    const shared = platform();
    const build = () => [...shared, ...tenant("acme", shared, { managedDb: true })];
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-database").options.protect = false), {}, build), ["kestra_acme", "acme-database"], "not protected");
  });
  it("bucket versioning and the AWS public-access block: protected and retained like the bucket", () => {
    const shared = platform();
    const aws = () => [...shared, ...tenant("acme", shared, { aws: { prefix: "" } })];
    expect(violations(statefulProtected, () => {}, {}, aws)).toEqual([]);
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-versioning").options.protect = false)), ["kestra-acme", "acme-bucket-versioning"], "versioned, private or managed but is not protected");
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-versioning").options.retainOnDelete = false)), ["acme-bucket-versioning"], "retainOnDelete: true");
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-versioning").options.retainOnDelete = false), {}, aws), ["acme-bucket-versioning"], "retainOnDelete: true");
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-public-access").options.protect = false), {}, aws), ["acme-bucket-public-access"], "protect: true");
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-public-access").options.retainOnDelete = false), {}, aws), ["acme-bucket-public-access"], "retainOnDelete: true");
  });
  it("bucket lifecycle and encryption: retained (protect not required)", () => {
    const shared = platform();
    const aws = () => [...shared, ...tenant("acme", shared, { aws: { prefix: "" } })];
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-lifecycle").options.retainOnDelete = false)), ["acme-bucket-lifecycle"], "retainOnDelete: true");
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-lifecycle").options.retainOnDelete = false), {}, aws), ["acme-bucket-lifecycle"], "retainOnDelete: true");
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-encryption").options.retainOnDelete = false), {}, aws), ["acme-bucket-encryption"], "retainOnDelete: true");
    expect(violations(statefulProtected, (rs) => (find(rs, "acme-bucket-lifecycle").options.protect = false))).toEqual([]);
  });
  it("the tenant's encryption key: protected", () => {
    expectOne(violations(statefulProtected, (rs) => (find(rs, "acme-eu-encryption-key").options.protect = false)), ["acme-eu-encryption-key"], /orphans every value.*protect: true/, urnOfBase("acme-eu-encryption-key"));
    // Nothing to retain for a random value.
    expect(violations(statefulProtected, (rs) => (find(rs, "acme-encryption-key").options.retainOnDelete = false))).toEqual([]);
  });
  it("unknown retainOnDelete (CrossGuard) is not a violation; a secret or a service is not stateful", () => {
    expect(violations(statefulProtected, (rs) => delete find(rs, "acme-pg18-volume").options.retainOnDelete)).toEqual([]);
    expect(violations(statefulProtected, (rs) => (find(rs, "acme-kestra").options.protect = false))).toEqual([]);
  });
});

describe("2 no-force-destroy", () => {
  it("a MinIO bucket with forceDestroy", () =>
    expectOne(violations(noForceDestroy, (rs) => (find(rs, "acme-eu-bucket").props.forceDestroy = true)), ["kestra-acme-eu", "acme-eu-bucket"], "remove forceDestroy"));
  it("an AWS bucket with forceDestroy", () => {
    const shared = platform();
    const build = () => [...shared, ...tenant("acme", shared, { aws: { prefix: "corp-" } })];
    expectOne(violations(noForceDestroy, (rs) => (find(rs, "acme-bucket").props.forceDestroy = true), {}, build), ["corp-kestra-acme", "acme-bucket"], "forceDestroy");
  });
});

describe("3 docker-socket-and-binds", () => {
  it("the socket proxy mounting the socket read-write", () =>
    expectOne(violations(dockerSocketAndBinds, (rs) => (containerSpec(find(rs, "proxy-socket-proxy")).mounts[0].readOnly = false)), ["platform_proxy_socket_proxy", "proxy-socket-proxy"], "readOnly: true"));
  it("the socket proxy mounting the socket without readOnly", () =>
    expectOne(violations(dockerSocketAndBinds, (rs) => delete containerSpec(find(rs, "proxy-socket-proxy")).mounts[0].readOnly), ["platform_proxy_socket_proxy"], "read-write"));
  it("Traefik mounting the socket, even read-only (it reads the Swarm through the proxy)", () =>
    expectOne(
      violations(dockerSocketAndBinds, (rs) => containerSpec(find(rs, "proxy-traefik")).mounts.push({ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true })),
      ["platform_proxy_traefik", "proxy-traefik"],
      "only the socket proxy may",
    ));
  it("another service mounting the socket (even read-only)", () =>
    expectOne(
      violations(dockerSocketAndBinds, (rs) => (containerSpec(find(rs, "acme-worker")).mounts = [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }])),
      ["kestra_acme_worker", "acme-worker"],
      "only the socket proxy may",
    ));
  it("a service labelled socket-proxy but not the socket proxy service", () =>
    expectOne(
      violations(dockerSocketAndBinds, (rs) => {
        const w = find(rs, "acme-worker");
        setLabel(w, "kestra-fleet.role", "socket-proxy");
        containerSpec(w).mounts = [{ type: "bind", source: "/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }];
      }),
      ["kestra_acme_worker"],
      "Docker socket",
    ));
  it("the socket proxy bind-mounting anything else", () =>
    expectOne(
      violations(dockerSocketAndBinds, (rs) => containerSpec(find(rs, "proxy-socket-proxy")).mounts.push({ type: "bind", source: "/etc", target: "/host-etc", readOnly: true })),
      ["platform_proxy_socket_proxy"],
      "mounts the Docker socket and nothing else",
    ));
  it("any other bind mount", () =>
    expectOne(violations(dockerSocketAndBinds, (rs) => containerSpec(find(rs, "acme-postgres")).mounts.push({ type: "bind", source: "/srv/pg", target: "/backup" })), ["kestra_acme_postgres", "acme-postgres"], "bind-mounts /srv/pg"));
  it("a bind mount disguised as a local volume", () =>
    expectOne(
      violations(dockerSocketAndBinds, (rs) =>
        containerSpec(find(rs, "storage-minio")).mounts.push({ type: "volume", source: "x", target: "/host", volumeOptions: { driverName: "local", driverOptions: { type: "none", o: "bind", device: "/etc" } } }),
      ),
      ["platform_storage_minio"],
      "bind-mounts /etc",
    ));
});

describe("4 ports-only-proxy", () => {
  it("Postgres publishing 5432", () =>
    expectOne(violations(portsOnlyProxy, (rs) => (find(rs, "acme-postgres").props.endpointSpec = { ports: [{ targetPort: 5432, publishedPort: 5432, publishMode: "host" }] })), ["kestra_acme_postgres", "acme-postgres"], "publishes port(s) 5432"));
  it("MinIO publishing its console", () =>
    expectOne(violations(portsOnlyProxy, (rs) => (find(rs, "storage-minio").props.endpointSpec = { ports: [{ targetPort: 9001, publishedPort: 9001 }] })), ["platform_storage_minio", "storage-minio"], "9001"));
  it("a Kestra web service publishing 8081", () =>
    expectOne(violations(portsOnlyProxy, (rs) => (find(rs, "acme-eu-kestra").props.endpointSpec = { ports: [{ targetPort: 8081 }] })), ["kestra_acme-eu_kestra"], "8081"));
});

describe("5 service-resources-health", () => {
  it("no CPU limit", () => expectOne(violations(serviceResourcesHealth, (rs) => delete find(rs, "acme-kestra").props.taskSpec.resources.limits.nanoCpus), ["kestra_acme_kestra", "acme-kestra"], "no CPU limit"));
  it("no memory limit", () => expectOne(violations(serviceResourcesHealth, (rs) => (find(rs, "acme-worker").props.taskSpec.resources.limits.memoryBytes = 0)), ["kestra_acme_worker"], "no memory limit"));
  it("no resources at all", () => expect(violations(serviceResourcesHealth, (rs) => delete find(rs, "storage-minio").props.taskSpec.resources)).toHaveLength(2));
  it("no health check", () => expectOne(violations(serviceResourcesHealth, (rs) => delete containerSpec(find(rs, "acme-postgres")).healthcheck), ["kestra_acme_postgres"], "no health check"));
  it("an empty health check", () => expectOne(violations(serviceResourcesHealth, (rs) => (containerSpec(find(rs, "acme-postgres")).healthcheck.tests = [])), ["kestra_acme_postgres"], "no health check"));
  it("a disabled health check (NONE)", () => expectOne(violations(serviceResourcesHealth, (rs) => (containerSpec(find(rs, "proxy-traefik")).healthcheck.tests = ["NONE"])), ["platform_proxy_traefik"], "not NONE"));
  it("no restart policy", () => expectOne(violations(serviceResourcesHealth, (rs) => delete find(rs, "acme-executor").props.taskSpec.restartPolicy), ["kestra_acme_executor", "acme-executor"], "no restart policy"));
  it("restart condition none", () => expectOne(violations(serviceResourcesHealth, (rs) => (find(rs, "acme-executor").props.taskSpec.restartPolicy.condition = "none")), ["kestra_acme_executor"], 'restart condition "none"'));
});

describe("6 pinned-images", () => {
  it("latest", () => expectOne(violations(pinnedImages, (rs) => (containerSpec(find(rs, "acme-postgres")).image = "postgres:latest")), ["kestra_acme_postgres", "acme-postgres"], "latest floats"));
  it("no tag", () => expectOne(violations(pinnedImages, (rs) => (containerSpec(find(rs, "proxy-traefik")).image = "traefik")), ["platform_proxy_traefik"], "without a tag"));
  it("no tag behind a registry port", () => expectOne(violations(pinnedImages, (rs) => (containerSpec(find(rs, "acme-kestra")).image = "registry.local:5000/kestra/kestra")), ["kestra_acme_kestra"], "without a tag"));
  it("an invalid reference", () => expectOne(violations(pinnedImages, (rs) => (containerSpec(find(rs, "acme-kestra")).image = "kestra/kestra:")), ["kestra_acme_kestra"], "invalid image reference"));
  for (const [service, image] of [["acme-postgres", "postgres:18"], ["acme-postgres", "postgres:18-alpine"], ["proxy-traefik", "traefik:v3.6"], ["acme-kestra", "kestra/kestra:v1"], ["acme-postgres", "postgres:alpine"]] as const) {
    it(`the floating tag ${image}`, () => expectOne(violations(pinnedImages, (rs) => (containerSpec(find(rs, service)).image = image)), [image], "floats like latest"));
  }
  it("full versions pin: three numbers, PostgreSQL's two", () => {
    for (const image of ["postgres:18.1", "postgres:18.1-bookworm", "docker.io/library/postgres:17.6", "traefik:v3.6.2", "alpine/socat:1.8.0.3", "registry.local/kestra-fleet/backup:18.1-mc2025-08-13"]) {
      expect(violations(pinnedImages, (rs) => (containerSpec(find(rs, "acme-postgres")).image = image)), image).toEqual([]);
    }
  });
  it("a digest pins, with or without a tag; a registry port is not a tag", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    for (const image of [`postgres@${digest}`, `postgres:latest@${digest}`, "registry.local:5000/kestra/kestra:v1.3.37", "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"]) {
      expect(violations(pinnedImages, (rs) => (containerSpec(find(rs, "acme-postgres")).image = image)), image).toEqual([]);
    }
  });
});

describe("7 no-secret-env", () => {
  for (const name of ["POSTGRES_PASSWORD", "PGPASSWD", "SECRET_GIT_TOKEN", "MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "API_KEY", "ENCRYPTION_KEY", "GIT_SSH_PRIVATE", "GIT_PASSPHRASE", "GCP_CREDENTIALS", "CF_APIKEY", "kestra_token"]) {
    it(`a ${name} variable`, () => expectOne(violations(noSecretEnv, (rs) => (containerSpec(find(rs, "acme-executor")).env[name] = "x")), ["kestra_acme_executor", "acme-executor", name], `${name}_FILE`));
  }
  it("names that are not credentials, and *_FILE pointers", () => {
    expect(violations(noSecretEnv, (rs) => Object.assign(containerSpec(find(rs, "acme-executor")).env, { MONKEY: "1", KEYCLOAK_URL: "https://id", JAVA_OPTS: "-Xmx1g", PWD: "/app", SECRET_KEY_FILE: "/run/secrets/k" }))).toEqual([]);
  });
  it("a password inside a URL", () =>
    expectOne(violations(noSecretEnv, (rs) => (containerSpec(find(rs, "acme-worker")).env.DATABASE_URL = "postgres://kestra:hunter2@postgres:5432/kestra")), ["kestra_acme_worker", "DATABASE_URL"], "URL with a password"));
  for (const input of ["taskSpec", "labels", "endpointSpec"]) {
    it(`a Pulumi secret inside ${input}`, () => expectOne(violations(noSecretEnv, (rs) => find(rs, "acme-kestra").secretInputs.push(input)), ["kestra_acme_kestra", "acme-kestra"], `secret inside its ${input} input`));
  }
  it("a secret registry auth is fine (not part of the spec)", () => expect(violations(noSecretEnv, (rs) => find(rs, "acme-kestra").secretInputs.push("auth"))).toEqual([]));
});

describe("8 postgres-single-pinned", () => {
  const pg = "acme-postgres";
  const names = ["kestra_acme_postgres", pg];
  it("two replicas", () => expectOne(violations(postgresSinglePinned, (rs) => (find(rs, pg).props.mode = { replicated: { replicas: 2 } })), names, "runs 2 replicas", urnOfBase(pg)));
  it("zero replicas", () => expectOne(violations(postgresSinglePinned, (rs) => (find(rs, pg).props.mode.replicated.replicas = 0)), names, "runs 0 replicas"));
  it("global mode", () => expectOne(violations(postgresSinglePinned, (rs) => (find(rs, pg).props.mode = { global: true })), names, "global mode"));
  it("start-first updates", () => expectOne(violations(postgresSinglePinned, (rs) => (find(rs, pg).props.updateConfig.order = "start-first")), names, "updateConfig.order start-first"));
  it("start-first rollbacks", () => expectOne(violations(postgresSinglePinned, (rs) => (find(rs, pg).props.rollbackConfig.order = "start-first")), names, "rollbackConfig.order"));
  it("no placement constraint", () => expectOne(violations(postgresSinglePinned, (rs) => (find(rs, pg).props.taskSpec.placement = { constraints: [] })), names, "no placement constraint"));
  it("a constraint that pins no node", () => expectOne(violations(postgresSinglePinned, (rs) => (find(rs, pg).props.taskSpec.placement.constraints = ["node.role == worker"])), names, "placement constraint"));
  it("a node-label constraint pins", () => expect(violations(postgresSinglePinned, (rs) => (find(rs, pg).props.taskSpec.placement.constraints = ["node.labels.kestra.pg-acme == true"]))).toEqual([]));
  it("attached to the storage network", () =>
    expectOne(violations(postgresSinglePinned, (rs) => find(rs, pg).props.taskSpec.networksAdvanceds.push({ id: idOf("storage-network") })), [...names, "net_storage"], "only to its own tenant's private network"));
  it("attached to the public network", () =>
    expectOne(violations(postgresSinglePinned, (rs) => find(rs, pg).props.taskSpec.networksAdvanceds.push({ id: idOf("proxy-public-network") })), [...names, "network_swarm_public"], "own tenant's private network"));
  it("attached to the other tenant's private network (found by dependency, ids unknown)", () =>
    expectOne(
      violations(postgresSinglePinned, (rs) => {
        const s = find(rs, pg);
        s.props.taskSpec.networksAdvanceds = [{}, {}];
        s.propertyDependencies.taskSpec = [urn(rs, "acme-private-network"), urn(rs, "acme-eu-private-network")];
      }),
      [...names, "net_acme-eu_private"],
      "own tenant's private network",
    ));
  it("without a tenant label", () => expect(violations(postgresSinglePinned, (rs) => setLabel(find(rs, pg), "kestra-fleet.tenant", undefined)).map((v) => v.message).join("\n")).toContain("carries no kestra-fleet.tenant label"));
});

describe("9 traefik-labels-scope", () => {
  it("Traefik labels on a backend", () =>
    expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "acme-executor"), "traefik.enable", "true")), ["kestra_acme_executor", "acme-executor"], "role backend) carries Traefik labels"));
  it("a router on a worker", () => expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "acme-eu-worker"), "traefik.http.routers.x.rule", "Host(`x`)")), ["kestra_acme-eu_worker"], "carries Traefik labels"));
  it("a router on Postgres", () => expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "acme-postgres"), "traefik.http.routers.pg.rule", "Host(`pg`)")), ["kestra_acme_postgres"], "role postgres"));
  it("Traefik labels on a service without role", () =>
    expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "acme-kestra"), "kestra-fleet.role", undefined)), ["kestra_acme_kestra"], "role none) carries Traefik labels"));
  it("a route to the management port on a web service", () =>
    expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.http.services.kestra-acme.loadbalancer.server.port", "8081")), ["kestra_acme_kestra", "acme-kestra"], "port 8081"));
  it("a second service on the management port", () =>
    expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.http.services.mgmt.loadbalancer.server.port", "8081")), ["kestra_acme_kestra"], "never route it"));
  it("a route to 8081 from a platform service", () =>
    expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "storage-minio"), "traefik.http.services.minio-admin.loadbalancer.server.port", "8081")), ["platform_storage_minio"], "port 8081"));
  it("a web service routed to another port", () =>
    expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.http.services.kestra-acme.loadbalancer.server.port", "9000")), ["kestra_acme_kestra"], "routed to 8080 only"));
  it("a web service without port label", () =>
    expectOne(violations(traefikLabelsScope, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.http.services.kestra-acme.loadbalancer.server.port", undefined)), ["kestra_acme_kestra"], "no port detection"));
  it("MinIO's admin route on 9000 is fine", () => expect(violations(traefikLabelsScope)).toEqual([]));
});

describe("10 tenant-router", () => {
  const r = "traefik.http.routers.kestra-acme";
  const names = ["kestra_acme_kestra", "acme-kestra"];
  it("the web entrypoint as well", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.entrypoints`, "web,websecure")), names, "entrypoints=websecure only"));
  it("no entrypoint (all entrypoints)", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.entrypoints`, undefined)), names, 'entrypoints ""'));
  it("no TLS", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.tls`, undefined)), names, "has no TLS"));
  it("TLS false", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.tls`, "false")), names, "tls=true"));
  it("no origin lock", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.middlewares`, undefined)), names, "cloudflare-only@file"));
  it("another middleware instead of the origin lock", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.middlewares`, "compress@file")), names, "does not use cloudflare-only@file"));
  it("the origin lock among others is fine", () => expect(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.middlewares`, "compress@file, cloudflare-only@file"))).toEqual([]));
  it("a second router without the lock", () =>
    expectOne(
      violations(tenantRouter, (rs) => {
        const w = find(rs, "acme-kestra");
        setLabel(w, "traefik.http.routers.backdoor.rule", "Host(`acme.kestra.example.com`) && PathPrefix(`/api`)");
        setLabel(w, "traefik.http.routers.backdoor.entrypoints", "websecure");
        setLabel(w, "traefik.http.routers.backdoor.tls", "true");
      }),
      ["router backdoor", "kestra_acme_kestra"],
      "cloudflare-only@file",
    ));
  it("a router without Host rule", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), `${r}.rule`, "PathPrefix(`/`)")), names, "no Host("));
  it("a TCP router", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.tcp.routers.raw.rule", "HostSNI(`*`)")), names, "tcp router raw"));
  it("no router at all", () =>
    expectOne(
      violations(tenantRouter, (rs) => {
        const w = find(rs, "acme-eu-kestra");
        w.props.labels = w.props.labels.filter((l: { label: string }) => !l.label.startsWith("traefik."));
      }),
      ["kestra_acme-eu_kestra"],
      "without a Traefik router",
    ));
  it("traefik.enable missing", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.enable", undefined)), names, "traefik.enable=true"));
  it("no traefik.swarm.network", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.swarm.network", undefined)), names, "network_swarm_public"));
  it("the wrong traefik.swarm.network", () => expectOne(violations(tenantRouter, (rs) => setLabel(find(rs, "acme-kestra"), "traefik.swarm.network", "net_acme_private")), names, 'traefik.swarm.network="net_acme_private"'));
});

describe("11 storage-policy-scope", () => {
  const policyName = "acme-storage-policy";
  const names = ["kestra-acme", policyName];
  const edit = (f: (doc: any) => void) =>
    violations(storagePolicyScope, (rs) => {
      const p = find(rs, policyName);
      const doc = JSON.parse(p.props.policy);
      f(doc);
      p.props.policy = JSON.stringify(doc);
    });
  it("a wildcard in the bucket part (kestra-acme* also matches kestra-acme-eu)", () =>
    expectOne(edit((d) => (d.Statement[1].Resource = ["arn:aws:s3:::kestra-acme*/*"])), names, "wildcard in the bucket part"));
  it("a ? wildcard in the bucket part", () => expectOne(edit((d) => (d.Statement[0].Resource = ["arn:aws:s3:::kestra-acm?"])), names, "wildcard"));
  it("the other tenant's bucket", () => expectOne(edit((d) => (d.Statement[0].Resource = ["arn:aws:s3:::kestra-acme-eu"])), [...names, "kestra-acme-eu"], "not its own bucket kestra-acme"));
  it("the other tenant's objects", () => expectOne(edit((d) => d.Statement[1].Resource.push("arn:aws:s3:::kestra-acme-eu/*")), names, "of bucket kestra-acme-eu"));
  it("a bare * resource", () => expectOne(edit((d) => (d.Statement[0].Resource = "*")), names, 'bare resource "*"'));
  it("every bucket", () => expectOne(edit((d) => (d.Statement[0].Resource = ["arn:aws:s3:::*"])), names, "wildcard in the bucket part"));
  it("a resource that is not an S3 ARN", () => expectOne(edit((d) => (d.Statement[0].Resource = ["kestra-acme"])), names, "not an S3 ARN"));
  it("s3:*", () => expectOne(edit((d) => (d.Statement[1].Action = ["s3:*"])), names, 'action "s3:*"'));
  it("a bare * action", () => expectOne(edit((d) => (d.Statement[1].Action = "*")), names, 'action "*"'));
  it("s3:Get* (a wildcard action)", () => expectOne(edit((d) => d.Statement[1].Action.push("s3:Get*")), names, "s3:Get*"));
  for (const action of ["s3:ListAllMyBuckets", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl", "s3:DeleteBucket", "admin:*", "admin:CreateUser"]) {
    it(`${action}`, () => expectOne(edit((d) => d.Statement[0].Action.push(action)), names, `action "${action}"`));
  }
  it("an extra statement granting admin on another resource", () =>
    expect(edit((d) => d.Statement.push({ Effect: "Allow", Action: ["admin:*"], Resource: ["arn:minio:admin:::*"] })).length).toBe(2));
  it("NotResource", () => expectOne(edit((d) => { delete d.Statement[0].Resource; d.Statement[0].NotResource = ["arn:aws:s3:::x"]; }), names, "NotResource/NotAction"));
  it("NotAction", () => expectOne(edit((d) => { delete d.Statement[0].Action; d.Statement[0].NotAction = ["s3:DeleteBucket"]; }), names, "NotResource/NotAction"));
  it("an Allow without Resource", () => expectOne(edit((d) => delete d.Statement[0].Resource), names, "without Resource"));
  it("no statement", () => expectOne(edit((d) => (d.Statement = [])), names, "no statement"));
  it("not JSON", () => expectOne(violations(storagePolicyScope, (rs) => (find(rs, policyName).props.policy = "{not json")), names, "not valid JSON"));
  it("a Deny statement may use wildcards; key prefixes inside the bucket and a single statement object are fine", () => {
    expect(edit((d) => d.Statement.push({ Effect: "Deny", Action: ["s3:*"], Resource: ["*"] }))).toEqual([]);
    expect(edit((d) => (d.Statement[1].Resource = ["arn:aws:s3:::kestra-acme/main/*"]))).toEqual([]);
    expect(edit((d) => (d.Statement = d.Statement[1]))).toEqual([]);
  });
  it("an unknown policy document (preview) is not judged", () => expect(violations(storagePolicyScope, (rs) => delete find(rs, policyName).props.policy)).toEqual([]));
  it("an AWS policy naming a prefixed bucket: the policy name is the bucket", () => {
    const shared = platform();
    const build = () => [...shared, ...tenant("acme", shared, { aws: { prefix: "corp-" } })];
    expect(violations(storagePolicyScope, () => {}, {}, build)).toEqual([]);
    const vs = violations(storagePolicyScope, (rs) => (find(rs, policyName).props.policy = find(rs, policyName).props.policy.replaceAll("corp-kestra-acme", "kestra-acme")), {}, build);
    expect(vs).toHaveLength(2);
    expect(vs[0].message).toContain("corp-kestra-acme (acme-storage-policy)");
  });
});

describe("12 edge-access", () => {
  const host = hostOf("acme");
  it("a tenant host without DNS record", () => expectOne(violations(edgeAccess, (rs) => remove(rs, "acme-dns-0")), [host, "kestra_acme_kestra"], "has no DNS record", urnOfBase("acme-kestra")));
  it("a DNS-only tenant record", () => expectOne(violations(edgeAccess, (rs) => (find(rs, "acme-eu-dns-0").props.proxied = false)), [hostOf("acme-eu"), "acme-eu-dns-0"], "proxied: true", urnOfBase("acme-eu-dns-0")));
  it("a second, unproxied record of a tenant host", () =>
    expectOne(violations(edgeAccess, (rs) => rs.push({ ...structuredClone(find(rs, "acme-dns-0")), name: "acme-dns-1", urn: "urn:dns1", props: { ...find(rs, "acme-dns-0").props, proxied: false } })), ["acme-dns-1"], "not proxied"));
  it("the storage admin host may be DNS-only (not a tenant host)", () => expect(violations(edgeAccess)).toEqual([]));
  it("a tenant host without Access application", () => expectOne(violations(edgeAccess, (rs) => remove(rs, "acme-eu-access-app")), [hostOf("acme-eu"), "kestra_acme-eu_kestra"], "has no Access application"));
  it("an Access application on another domain", () =>
    expectOne(violations(edgeAccess, (rs) => { const a = find(rs, "acme-access-app"); a.props.domain = "other.example.com"; a.props.destinations = [{ type: "public", uri: "other.example.com" }]; }), [host], "no Access application"));
  it("an application whose domain covers only a path does not cover the host", () =>
    expectOne(violations(edgeAccess, (rs) => { const a = find(rs, "acme-eu-access-app"); a.props.domain = `${hostOf("acme-eu")}/ui/*`; a.props.destinations = []; }), [hostOf("acme-eu")], "no Access application"));
  it("an allow policy including everyone", () =>
    expectOne(violations(edgeAccess, (rs) => find(rs, "acme-access-allow").props.includes.push({ everyone: {} })), ["acme allow", "acme-access-allow"], "includes everyone", urnOfBase("acme-access-allow")));
  it("a non_identity policy including everyone", () =>
    expectOne(violations(edgeAccess, (rs) => (find(rs, "acme-access-service-token").props.includes = [{ everyone: {} }])), ["acme-access-service-token"], "decision non_identity"));
  it("the webhook bypass policy attached to the host application", () =>
    expectOne(
      violations(edgeAccess, (rs) => find(rs, "acme-access-app").props.policies.push({ id: idOf("acme-access-webhook-bypass"), precedence: 9 })),
      ["Kestra acme (acme-access-app)", "acme webhooks bypass (acme-access-webhook-bypass)"],
      "only applications on Kestra's webhook paths",
      urnOfBase("acme-access-app"),
    ));
  it("a bypass decision on the host's own policy", () =>
    expectOne(violations(edgeAccess, (rs) => (find(rs, "acme-eu-access-allow").props.decision = "bypass")), ["Kestra acme-eu", "acme-eu-access-allow"], "bypass"));
  it("a webhook application that also covers another path", () =>
    expectOne(violations(edgeAccess, (rs) => find(rs, "acme-access-webhook-app").props.destinations.push({ type: "public", uri: `${host}/api/v1/main/flows/*` })), ["acme-access-webhook-app"], "bypass policy"));
  it("a webhook-looking path on the wrong prefix", () =>
    expectOne(violations(edgeAccess, (rs) => { const a = find(rs, "acme-access-webhook-app"); a.props.domain = `${host}/api/*`; a.props.destinations = [{ type: "public", uri: `${host}/api/*` }]; }), ["acme-access-webhook-app"], "bypass"));
  it("finds policies by dependency when their ids are unknown (preview)", () =>
    expectOne(
      violations(edgeAccess, (rs) => {
        const app = find(rs, "acme-eu-access-app");
        app.props.policies = [{ precedence: 1 }, { precedence: 2 }];
        app.propertyDependencies.policies = [urn(rs, "acme-eu-access-allow"), urn(rs, "acme-access-webhook-bypass")];
      }),
      ["acme-eu-access-app", "acme-access-webhook-bypass"],
      "bypass policy",
    ));
});

describe("13 network-isolation", () => {
  it("a tenant service on the other tenant's private network", () =>
    expectOne(
      violations(networkIsolation, (rs) => find(rs, "acme-worker").props.taskSpec.networksAdvanceds.push({ id: idOf("acme-eu-private-network") })),
      ["kestra_acme_worker", "acme-worker", "net_acme-eu_private", "tenant acme-eu"],
      "detach it",
      urnOfBase("acme-worker"),
    ));
  it("a platform service on a tenant's private network", () =>
    expectOne(violations(networkIsolation, (rs) => find(rs, "proxy-traefik").props.taskSpec.networksAdvanceds.push({ id: idOf("acme-private-network") })), ["platform_proxy_traefik", "net_acme_private"], "private network of tenant acme"));
  for (const [svc, role] of [["acme-executor", "backend"], ["acme-eu-worker", "worker"], ["acme-postgres", "postgres"], ["acme-gateway", "gateway"]]) {
    it(`a ${role} on the public network`, () =>
      expectOne(violations(networkIsolation, (rs) => find(rs, svc).props.taskSpec.networksAdvanceds.push({ id: idOf("proxy-public-network") })), [svc, "network_swarm_public"], `(role ${role}) is attached to the public network`));
  }
  it("resolves networks by dependency when ids are unknown (preview)", () =>
    expectOne(
      violations(networkIsolation, (rs) => {
        const s = find(rs, "acme-executor");
        s.props.taskSpec.networksAdvanceds = [{}, {}];
        s.propertyDependencies.taskSpec = [urn(rs, "acme-private-network"), urn(rs, "proxy-public-network"), urn(rs, "acme-kestra-config")];
      }),
      ["kestra_acme_executor"],
      "public network",
    ));
  it("the baseline web services share the public and storage networks legitimately", () => expect(violations(networkIsolation)).toEqual([]));
});

describe("14 stack-integrity", () => {
  it("two services with one Docker name", () =>
    expectOne(violations(stackIntegrity, (rs) => (find(rs, "acme-eu-worker").props.name = "kestra_acme_worker")), ["kestra_acme_worker (acme-eu-worker)", "acme-worker"], "same name"));
  it("two volumes with one name", () => expectOne(violations(stackIntegrity, (rs) => (find(rs, "acme-eu-pg18-volume").props.name = "pg_acme_data")), ["pg_acme_data", "acme-eu-pg18-volume"], "same name"));
  it("two networks with one name", () => expectOne(violations(stackIntegrity, (rs) => (find(rs, "acme-eu-private-network").props.name = "net_acme_private")), ["net_acme_private"], "same name"));
  it("two secrets with one name", () => expectOne(violations(stackIntegrity, (rs) => (find(rs, "acme-eu-kestra-config").props.name = find(rs, "acme-kestra-config").props.name)), ["acme-eu-kestra-config"], "same name"));
  it("two buckets with one name", () => expectOne(violations(stackIntegrity, (rs) => (find(rs, "acme-eu-bucket").props.bucket = "kestra-acme")), ["kestra-acme (acme-eu-bucket)"], "same name"));
  it("a name shared across types is fine", () => expect(violations(stackIntegrity, (rs) => (find(rs, "acme-pg18-volume").props.name = "net_acme_private"))).toEqual([]));
  it("a storage gateway without its tenant label", () =>
    expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "acme-gateway"), "kestra-fleet.tenant", undefined)), ["kestra_acme_gateway"], "(role gateway) has no kestra-fleet.tenant label"));
  it("a socket proxy outside the proxy stack", () =>
    expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "proxy-socket-proxy"), "com.docker.stack.namespace", "platform_storage")), ["platform_proxy_socket_proxy"], "set it to platform_proxy"));
  it("a tenant without backend", () => expectOne(violations(stackIntegrity, (rs) => remove(rs, "acme-executor")), ["tenant acme ", "kestra_acme_executor"], "0 backend service(s)"));
  it("a tenant without backup service", () => expectOne(violations(stackIntegrity, (rs) => remove(rs, "acme-backup")), ["tenant acme ", "kestra_acme_backup"], "0 backup service(s)"));
  it("an offboarded tenant runs no Kestra service", () => {
    const off = (rs: PolicyResource[]) => {
      setLabel(find(rs, "acme-backup"), "kestra-fleet.status", "offboarded");
      for (const n of ["acme-kestra", "acme-executor", "acme-worker"]) remove(rs, n);
    };
    expect(violations(stackIntegrity, off)).toEqual([]);
    expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "acme-backup"), "kestra-fleet.status", "offboarded")), ["tenant acme "], "offboarded but has 3 Kestra service(s)");
  });
  it("a tenant without web service", () => expectOne(violations(stackIntegrity, (rs) => remove(rs, "acme-eu-kestra")), ["tenant acme-eu"], "0 web service(s)"));
  it("a tenant without database", () => expectOne(violations(stackIntegrity, (rs) => remove(rs, "acme-postgres")), ["tenant acme "], "0 Postgres service(s) and 0 managed database(s)"));
  it("a tenant with a Postgres service and a managed database", () =>
    expectOne(violations(stackIntegrity, (rs) => rs.push({ ...structuredClone(find(rs, "acme-pg18-volume")), urn: "urn:db", name: "acme-database", type: T.database, props: { name: "kestra_acme", owner: "kestra_acme" } })), ["tenant acme "], "1 Postgres service(s) and 1 managed database(s)"));
  it("a tenant with two web services", () =>
    expectOne(
      violations(stackIntegrity, (rs) => {
        const copy = structuredClone(find(rs, "acme-kestra"));
        rs.push({ ...copy, urn: "urn:web2", name: "acme-kestra-2", props: { ...copy.props, name: "kestra_acme_kestra2" } });
      }),
      ["tenant acme "],
      "2 web service(s)",
    ));
  it("a tenant whose services are all gone but whose network remains", () =>
    expect(violations(stackIntegrity, (rs) => { for (const s of tenantServices) remove(rs, s); }).map((v) => v.message)).toEqual([
      "tenant acme has 0 Postgres service(s) and 0 managed database(s) named kestra_acme: exactly one database is expected",
      "tenant acme has 0 backend service(s): exactly one (kestra_acme_executor) is expected",
      "tenant acme has 0 web service(s): exactly one (kestra_acme_kestra) is expected",
    ]));
  it("a service without role label", () => expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "acme-worker"), "kestra-fleet.role", undefined)), ["kestra_acme_worker"], "has no role"));
  it("a service with an unknown role", () => expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "acme-worker"), "kestra-fleet.role", "scheduler")), ["kestra_acme_worker"], 'unknown role "scheduler"'));
  it("a tenant service without tenant label", () => expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "acme-worker"), "kestra-fleet.tenant", undefined)), ["kestra_acme_worker"], "no kestra-fleet.tenant label"));
  it("a tenant service in another stack namespace", () =>
    expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "acme-worker"), "com.docker.stack.namespace", "kestra_acme-eu")), ["kestra_acme_worker"], "set it to kestra_acme"));
  it("a platform service with a tenant label", () => expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "storage-minio"), "kestra-fleet.tenant", "acme")), ["platform_storage_minio"], "platform services belong to no tenant"));
  it("a platform service in the wrong stack namespace", () =>
    expectOne(violations(stackIntegrity, (rs) => setLabel(find(rs, "proxy-traefik"), "com.docker.stack.namespace", "platform_storage")), ["platform_proxy_traefik"], "set it to platform_proxy"));
});

describe("15 capacity", () => {
  // Reservations: Traefik 0.25 CPU / 0.25 GiB and the socket proxy 0.05 / 0.0625 on manager-1, MinIO
  // 0.5 / 1 on storage-1, two Postgres 0.25 / 0.5 each on worker-1; floating: six Kestra services
  // 0.25 / 0.5 each and two storage gateways 0.1 / 0.0625 each. In all 3 CPUs, 5.4375 GiB.
  const nodes = (spec: Record<string, [number, number]>): RuleContext => ({
    capacity: { currency: "EUR", nodes: Object.entries(spec).map(([name, [cpus, memoryGb]]) => ({ name, cpus, memoryGb, monthlyCost: 10 * cpus })) },
  });
  const roomy = nodes({ "manager-1": [2, 4], "storage-1": [2, 4], "worker-1": [2, 4] });
  it("no capacity configured: nothing to check", () => expect(violations(capacity)).toEqual([]));
  it("fits, with room", () => {
    expect(violations(capacity, () => {}, roomy)).toEqual([]);
    expect(violations(capacityHeadroom, () => {}, roomy)).toEqual([]);
    expect(violations(limitsFitNodes, () => {}, roomy)).toEqual([]);
  });
  it("services pinned to a node reserve more than it has: mandatory, with the numbers and the services", () => {
    const v = expectOne(violations(capacity, () => {}, nodes({ "manager-1": [4, 8], "storage-1": [4, 8], "worker-1": [0.4, 8] })), ["kestra_acme_postgres", "kestra_acme-eu_postgres"], "services pinned to node worker-1 reserve 0.50 CPUs (it has 0.40)");
    expect(v.level).toBe("mandatory");
  });
  it("the cluster is too small: the totals", () => {
    const vs = violations(capacity, () => {}, nodes({ "manager-1": [1, 1], "storage-1": [1, 1.5], "worker-1": [0.5, 1] }));
    expect(vs.map((v) => v.message)).toContain("services reserve 3.00 CPUs, the cluster has 2.50 (3 node(s)): add nodes or lower reservations; tasks beyond capacity stay Pending");
    expect(vs.map((v) => v.message)).toContain("services reserve 5.44 GiB of memory, the cluster has 3.50 GiB (3 node(s)): add nodes or lower reservations; tasks beyond capacity stay Pending");
  });
  it("enough in total, but no single node has room for some tasks", () =>
    expectOne(violations(capacity, () => {}, nodes({ "manager-1": [1, 1.9], "storage-1": [1, 1.9], "worker-1": [1, 1.9] })), ["kestra_acme_kestra", "of tenant acme"], "2 task(s) fit no node with room left"));
  it("replicas multiply reservations", () =>
    expectOne(violations(capacity, (rs) => (find(rs, "acme-worker").props.mode.replicated.replicas = 9), nodes({ "manager-1": [1.5, 8], "storage-1": [1.5, 8], "worker-1": [1.5, 8] })), [], "services reserve 5.00 CPUs, the cluster has 4.50"));
  it("headroom under 15 % is advisory, per node and for the cluster", () => {
    const vs = violations(capacityHeadroom, () => {}, nodes({ "manager-1": [1, 2], "storage-1": [1, 2], "worker-1": [1, 2] }));
    expect(vs.map((v) => [v.level, v.message.split(" (")[0]])).toEqual([
      ["advisory", "node manager-1 keeps 0 % headroom"],
      ["advisory", "node storage-1 keeps 0 % headroom"],
      ["advisory", "node worker-1 keeps 0 % headroom"],
      ["advisory", "the cluster keeps 0 % headroom"],
    ]);
  });
  it("a CPU limit above some nodes' CPUs while another node it may run on fits: advisory only (Docker rejects it there at start; Swarm retries it elsewhere)", () => {
    const big = (rs: PolicyResource[]) => (find(rs, "acme-executor").props.taskSpec.resources.limits.nanoCpus = 4e9);
    const ctx = nodes({ "manager-1": [2, 4], "storage-1": [8, 4], "worker-1": [2, 4] });
    // Before placement, this refused the tenant although storage-1 can run it.
    expect(violations(limitsFitNodes, big, ctx)).toEqual([]);
    const v = expectOne(violations(limitsPlacement, big, ctx), ["kestra_acme_executor", "tenant acme", "manager-1 (2.00 CPUs, 4.00 GiB)", "worker-1 (2.00 CPUs, 4.00 GiB)"], "where Docker rejects its task at start; it runs once Swarm retries it on storage-1", urnOfBase("acme-executor"));
    expect(v.level).toBe("advisory");
  });
  it("a CPU limit above the CPUs of every node it may run on: mandatory, names tenant, service and nodes", () => {
    const v = expectOne(
      violations(limitsFitNodes, (rs) => (find(rs, "acme-executor").props.taskSpec.resources.limits.nanoCpus = 4e9), nodes({ "manager-1": [2, 4], "storage-1": [2, 4], "worker-1": [2, 4] })),
      ["kestra_acme_executor", "tenant acme", "manager-1 (2.00 CPUs)", "storage-1 (2.00 CPUs)", "worker-1 (2.00 CPUs)"],
      'has a CPU limit of 4.00; node(s) manager-1 (2.00 CPUs), storage-1 (2.00 CPUs), worker-1 (2.00 CPUs) it may be placed on cannot run it: Docker rejects the task ("Range of CPUs is from 0.01 to 2.00")',
      urnOfBase("acme-executor"),
    );
    expect(v.level).toBe("mandatory");
  });
  it("a pinned service is checked against its node only", () => {
    expect(violations(limitsFitNodes, (rs) => (find(rs, "acme-postgres").props.taskSpec.resources.limits.nanoCpus = 3e9), nodes({ "manager-1": [2, 4], "storage-1": [2, 4], "worker-1": [4, 4] }))).toEqual([]);
    expectOne(violations(limitsFitNodes, () => {}, nodes({ "manager-1": [2, 4], "storage-1": [2, 1.5], "worker-1": [2, 4] })), ["platform_storage_minio"], "memory limit of 2.00 GiB; node(s) storage-1 (1.50 GiB) it is pinned to");
  });
});

describe("15 capacity with placement (constraints against capacity.nodes' roles and labels)", () => {
  /** manager-1 (manager), storage-1 (worker, size=large, 8 CPUs), worker-1 (worker, 2 CPUs). */
  const labelled = (large: [number, number] = [8, 16]): RuleContext => ({
    capacity: {
      currency: "EUR",
      nodes: [
        { name: "manager-1", cpus: 2, memoryGb: 4, monthlyCost: 20, role: "manager" },
        { name: "storage-1", cpus: large[0], memoryGb: large[1], monthlyCost: 80, role: "worker", labels: { "kestra-fleet.size": "large" } },
        { name: "worker-1", cpus: 2, memoryGb: 4, monthlyCost: 20, role: "worker" },
      ],
    },
  });
  const constrain = (name: string, ...constraints: string[]) => (rs: PolicyResource[]) => (find(rs, name).props.taskSpec.placement = { constraints });
  const bigOnLarge = (rs: PolicyResource[]) => {
    find(rs, "acme-executor").props.taskSpec.resources.limits.nanoCpus = 4e9;
    constrain("acme-executor", "node.role == worker", "node.labels.kestra-fleet.size == large")(rs);
  };

  it("a large tenant constrained to the large node: neither refused nor warned", () => {
    expect(violations(limitsFitNodes, bigOnLarge, labelled())).toEqual([]);
    expect(violations(limitsPlacement, bigOnLarge, labelled())).toEqual([]);
    expect(violations(capacity, bigOnLarge, labelled())).toEqual([]);
  });
  it("refused when the only node its placement allows is too small for its limit", () => {
    expectOne(violations(limitsFitNodes, bigOnLarge, labelled([3, 16])), ["kestra_acme_executor", "storage-1 (3.00 CPUs)"], "has a CPU limit of 4.00; node(s) storage-1 (3.00 CPUs) it may be placed on cannot run it");
  });
  it("only nodes matching a service's constraints count: a placement no node satisfies leaves it unplaced", () => {
    const noSuchLabel = constrain("acme-executor", "node.labels.gpu == yes");
    expectOne(violations(capacity, noSuchLabel, labelled()), ["kestra_acme_executor", "of tenant acme"], "1 task(s) fit no node with room left");
    expect(capacityReport(fleet(), labelled().capacity!).unplaced).toEqual([]);
  });
  it("a floating task is priced at the rates of the nodes it may run on", () => {
    // storage-1 costs 160 for 8 CPUs / 16 GiB; the two others 20 for 2 / 4. The executor reserves 0.25 CPU, 0.5 GiB.
    const ctx = labelled();
    ctx.capacity!.nodes[1].monthlyCost = 160;
    const direct = (rs: PolicyResource[]) => capacityReport(rs, ctx.capacity!).tenants.find((t) => t.name === "acme")!.directCost;
    const floating = fleet();
    const onLarge = fleet();
    constrain("acme-executor", "node.labels.kestra-fleet.size == large")(onLarge);
    // All nodes (200 for 12 CPUs / 24 GiB): 0.25 * 100 / 12 + 0.5 * 100 / 24 = 4.17; storage-1 alone: 0.25 * 80 / 8 + 0.5 * 80 / 16 = 5.
    expect(direct(onLarge) - direct(floating)).toBeCloseTo(5 - 4.1667, 1);
  });
  it("an undeclared role is not held against a node (unknown, not refused); a declared one is", () => {
    const managersOnly = constrain("acme-executor", "node.role == manager");
    const undeclared = labelled();
    for (const n of undeclared.capacity!.nodes) delete n.role;
    expect(violations(capacity, managersOnly, undeclared)).toEqual([]);
    const tiny = labelled();
    tiny.capacity!.nodes[0] = { ...tiny.capacity!.nodes[0], cpus: 0.3 };
    expectOne(violations(capacity, managersOnly, tiny), ["kestra_acme_executor"], "fit no node with room left");
  });
});

describe("16 file-env-secret", () => {
  it("MinIO's root password file not mounted (it would fall back to minioadmin)", () =>
    expectOne(
      violations(fileEnvSecret, (rs) => containerSpec(find(rs, "storage-minio")).secrets.pop()),
      ["platform_storage_minio", "storage-minio", "MINIO_ROOT_PASSWORD_FILE=minio_root_password"],
      "mount the secret at /run/secrets/minio_root_password",
    ));
  it("a *_FILE variable pointing elsewhere", () =>
    expectOne(violations(fileEnvSecret, (rs) => (containerSpec(find(rs, "acme-postgres")).env.POSTGRES_PASSWORD_FILE = "/run/secrets/pg")), ["kestra_acme_postgres", "POSTGRES_PASSWORD_FILE=/run/secrets/pg"], "mounts no Swarm secret there"));
  it("a *_FILE variable pointing at a Swarm config", () =>
    expectOne(violations(fileEnvSecret, (rs) => (containerSpec(find(rs, "acme-kestra")).env.KESTRA_PASSWORD_FILE = "/usr/local/bin/kestra-fleet-entrypoint.sh")), ["kestra_acme_kestra", "KESTRA_PASSWORD_FILE"], "a Swarm config"));
  it("a service with *_FILE but no secrets at all", () =>
    expectOne(violations(fileEnvSecret, (rs) => delete containerSpec(find(rs, "proxy-traefik")).secrets), ["platform_proxy_traefik", "CLOUDFLARE_DNS_API_TOKEN_FILE"], "mounts no Swarm secret"));
  it("relative and absolute spellings of one path match", () => {
    expect(violations(fileEnvSecret, (rs) => (containerSpec(find(rs, "storage-minio")).env.MINIO_ROOT_USER_FILE = "/run/secrets/minio_root_user"))).toEqual([]);
    expect(violations(fileEnvSecret, (rs) => (containerSpec(find(rs, "acme-postgres")).env.POSTGRES_PASSWORD_FILE = "postgres_password"))).toEqual([]);
  });
});

describe("17 cloudflare-limits (advisory)", () => {
  const copies = (rs: PolicyResource[], name: string, n: number) => {
    const r = find(rs, name);
    for (let i = 0; i < n; i++) rs.push({ ...structuredClone(r), urn: `${r.urn}-${i}`, name: `${r.name}-${i}` });
  };
  it("500 applications and 50 tokens are fine", () =>
    expect(violations(cloudflareLimits, (rs) => { copies(rs, "acme-eu-access-app", 497); copies(rs, "acme-service-token", 49); })).toEqual([]));
  it("501 applications", () => {
    const v = expectOne(violations(cloudflareLimits, (rs) => copies(rs, "acme-eu-access-app", 498)), [], "501 Access applications exceed Cloudflare's limit of 500");
    expect(v.level).toBe("advisory");
  });
  it("51 service tokens", () => expectOne(violations(cloudflareLimits, (rs) => copies(rs, "acme-service-token", 50)), [], "51 Access service tokens exceed Cloudflare's limit of 50"));
});

describe("added: swarm-objects-roll", () => {
  it("a Swarm secret deleted before its replacement", () =>
    expectOne(violations(swarmObjectsRoll, (rs) => (find(rs, "acme-kestra-config").options.deleteBeforeReplace = true)), ["kestra_acme_config_0123456789ab", "acme-kestra-config"], "deleteBeforeReplace: false"));
  it("a Swarm config deleted before its replacement", () =>
    expectOne(violations(swarmObjectsRoll, (rs) => (find(rs, "proxy-dynamic-config").options.deleteBeforeReplace = true)), ["proxy-dynamic-config"], "deleted before its replacement"));
  it("volumes are not concerned", () => expect(violations(swarmObjectsRoll, (rs) => (find(rs, "acme-pg18-volume").options.deleteBeforeReplace = true))).toEqual([]));
  it("a network that does not ignore changes of `options` (Docker adds the VXLAN id: replaced on every update)", () => {
    expectOne(violations(swarmObjectsRoll, (rs) => (find(rs, "acme-private-network").options.ignoreChanges = [])), ["net_acme_private", "acme-private-network"], 'ignoreChanges: ["options"]', urnOfBase("acme-private-network"));
    expectOne(violations(swarmObjectsRoll, (rs) => (find(rs, "proxy-public-network").options.ignoreChanges = ["labels"])), ["network_swarm_public"], "every update would replace the network");
    // Unknown (no ignoreChanges passed) is not a violation; a network may be replaced delete-first.
    expect(violations(swarmObjectsRoll, (rs) => delete find(rs, "storage-network").options.ignoreChanges)).toEqual([]);
  });
});

describe("added: proxy-hardening", () => {
  const args = (rs: PolicyResource[]) => containerSpec(find(rs, "proxy-traefik")).args as string[];
  it("exposedByDefault left on (by omission)", () =>
    expectOne(violations(proxyHardening, (rs) => (containerSpec(find(rs, "proxy-traefik")).args = args(rs).filter((a) => !a.includes("exposedByDefault")))), ["platform_proxy_traefik", "proxy-traefik"], "exposedByDefault=false"));
  it("exposedByDefault=true", () =>
    expectOne(violations(proxyHardening, (rs) => (containerSpec(find(rs, "proxy-traefik")).args = args(rs).map((a) => a.replace("exposedByDefault=false", "exposedByDefault=true")))), ["platform_proxy_traefik"], "exposedByDefault"));
  it("--api.insecure", () => expectOne(violations(proxyHardening, (rs) => args(rs).push("--api.insecure")), ["platform_proxy_traefik"], "remove --api.insecure"));
  it("--api.insecure=true", () => expectOne(violations(proxyHardening, (rs) => args(rs).push("--api.insecure=true")), ["platform_proxy_traefik"], "insecurely"));
  it("the flag is case-insensitive", () => expect(violations(proxyHardening, (rs) => (containerSpec(find(rs, "proxy-traefik")).args = args(rs).map((a) => a.toLowerCase())))).toEqual([]));
  it("the compliant fixture serves metrics through its own router, with the users file mounted", () => {
    const rs = fleet();
    expect(violations(proxyHardening)).toEqual([]);
    expect(args(rs)).toEqual(expect.arrayContaining(["--metrics.prometheus=true", "--metrics.prometheus.manualRouting=true"]));
    expect((containerSpec(find(rs, "proxy-traefik")).secrets as { fileName: string }[]).map((s) => s.fileName)).toContain("/run/secrets/traefik_metrics_users");
  });
  it("metrics through the default internal router (no manualRouting): unauthenticated on the public overlay", () =>
    expectOne(violations(proxyHardening, (rs) => (containerSpec(find(rs, "proxy-traefik")).args = args(rs).filter((a) => !a.includes("manualRouting")))), ["platform_proxy_traefik"], "manualRouting=true"));
  it("manualRouting=false", () =>
    expectOne(violations(proxyHardening, (rs) => (containerSpec(find(rs, "proxy-traefik")).args = args(rs).map((a) => a.replace("manualRouting=true", "manualRouting=false")))), ["platform_proxy_traefik"], "default internal router"));
  it("metrics without the users file secret", () =>
    expectOne(
      violations(proxyHardening, (rs) => {
        const c = containerSpec(find(rs, "proxy-traefik"));
        c.secrets = (c.secrets as { fileName: string }[]).filter((s) => !s.fileName.endsWith("traefik_metrics_users"));
      }),
      ["platform_proxy_traefik"],
      "users file",
    ));
  it("no metrics at all: nothing to protect", () =>
    expect(violations(proxyHardening, (rs) => (containerSpec(find(rs, "proxy-traefik")).args = args(rs).filter((a) => !a.includes("metrics"))))).toEqual([]));

  // The metrics router's allow-list (Traefik's dynamic file, a Swarm config) and the network it names.
  const setDynamic = (rs: PolicyResource[], yaml: string) => (find(rs, "proxy-dynamic-config").props.data = Buffer.from(yaml).toString("base64"));
  const metricsNet = (rs: PolicyResource[]) => find(rs, "monitoring-proxy-network");
  const traefikUrn = urnOfBase("proxy-traefik");
  it("the compliant fixture: allow-list of net_monitoring_proxy's subnet first, then basic auth; Prometheus may join", () => {
    expect(violations(proxyHardening, (rs) => rs.push(monitoringPrometheus([metricsNet(rs)])))).toEqual([]);
    expect(DYNAMIC_YAML).toContain(METRICS_SUBNET);
  });
  it("metrics router without the allow-list (basic auth alone)", () =>
    expectOne(violations(proxyHardening, (rs) => setDynamic(rs, DYNAMIC_YAML.replace("        - metrics-allowlist\n", ""))), ["platform_proxy_traefik", "router metrics"], "without an IP allow-list", traefikUrn));
  it("the allow-list after basic auth (a guessed password is tried before the address)", () =>
    expectOne(
      violations(proxyHardening, (rs) => setDynamic(rs, DYNAMIC_YAML.replace("        - metrics-allowlist\n        - metrics-auth\n", "        - metrics-auth\n        - metrics-allowlist\n"))),
      ["platform_proxy_traefik"],
      "first middleware",
    ));
  it("the allow-list naming another range (the public overlay's)", () =>
    expectOne(violations(proxyHardening, (rs) => setDynamic(rs, DYNAMIC_YAML.replace(`- ${METRICS_SUBNET}`, "- 10.0.1.0/24"))), ["platform_proxy_traefik", "10.0.1.0/24"], "not the fixed subnet"));
  it("the allow-list with an ipStrategy (X-Forwarded-For)", () =>
    expectOne(violations(proxyHardening, (rs) => setDynamic(rs, DYNAMIC_YAML.replace(`          - ${METRICS_SUBNET}\n`, `          - ${METRICS_SUBNET}\n        ipStrategy:\n          depth: 1\n`))), ["platform_proxy_traefik"], "ipStrategy"));
  it("the network without a fixed subnet (Swarm picks one the allow-list cannot know)", () =>
    expectOne(violations(proxyHardening, (rs) => delete metricsNet(rs).props.ipamConfigs), ["platform_proxy_traefik", METRICS_SUBNET], "not the fixed subnet"));
  it("the network's subnet changed, the allow-list not", () =>
    expectOne(violations(proxyHardening, (rs) => (metricsNet(rs).props.ipamConfigs = [{ subnet: "10.254.253.0/26", gateway: "10.254.253.1" }])), ["platform_proxy_traefik"], "not the fixed subnet"));
  it("Traefik off the metrics network", () =>
    expectOne(violations(proxyHardening, (rs) => (find(rs, "proxy-traefik").props.taskSpec.networksAdvanceds = find(rs, "proxy-traefik").props.taskSpec.networksAdvanceds.filter((n: { id: string }) => n.id !== metricsNet(rs).id))), ["platform_proxy_traefik"], "not the fixed subnet"));
  it("the metrics network not internal", () =>
    expectOne(violations(proxyHardening, (rs) => (metricsNet(rs).props.internal = false)), ["platform_proxy_traefik", "net_monitoring_proxy"], "is not internal"));
  it("a tenant's service on the metrics network", () =>
    expectOne(violations(proxyHardening, (rs) => find(rs, "acme-kestra").props.taskSpec.networksAdvanceds.push({ id: metricsNet(rs).id })), ["platform_proxy_traefik", "kestra_acme_kestra"], "only Traefik and Prometheus"));
  it("the dynamic file's content unknown (a preview): nothing to judge", () =>
    expect(violations(proxyHardening, (rs) => delete find(rs, "proxy-dynamic-config").props.data)).toEqual([]));
});

describe("added: runtime-tuning (advisory)", () => {
  it("Postgres without /dev/shm tmpfs", () => {
    const v = expectOne(violations(runtimeTuning, (rs) => containerSpec(find(rs, "acme-postgres")).mounts.pop()), ["kestra_acme_postgres", "acme-postgres"], "no tmpfs at /dev/shm");
    expect(v.level).toBe("advisory");
  });
  it("Postgres with the default stop grace period", () => expectOne(violations(runtimeTuning, (rs) => delete containerSpec(find(rs, "acme-postgres")).stopGracePeriod), ["kestra_acme_postgres"], "10s (default)"));
  it("Postgres with 30s", () => expectOne(violations(runtimeTuning, (rs) => (containerSpec(find(rs, "acme-postgres")).stopGracePeriod = "30s")), ["kestra_acme_postgres"], "at least 60s"));
  it("a Kestra worker with 1m", () => expectOne(violations(runtimeTuning, (rs) => (containerSpec(find(rs, "acme-worker")).stopGracePeriod = "1m")), ["kestra_acme_worker"], "at least 5m"));
  it("5m0s and 1h are enough", () => {
    expect(violations(runtimeTuning, (rs) => (containerSpec(find(rs, "acme-worker")).stopGracePeriod = "5m0s"))).toEqual([]);
    expect(violations(runtimeTuning, (rs) => (containerSpec(find(rs, "acme-executor")).stopGracePeriod = "1h"))).toEqual([]);
  });
});

describe("tenant-network-separation", () => {
  const attach = (rs: ReturnType<typeof fleet>, svc: string, net: string) => find(rs, svc).props.taskSpec.networksAdvanceds.push({ id: idOf(net) });

  it("web servers of several tenants share the public network; gateways share the storage network", () => expect(violations(tenantNetworkSeparation)).toEqual([]));
  it("a Kestra backend back on the shared storage network (the design before storage gateways)", () =>
    expectOne(violations(tenantNetworkSeparation, (rs) => attach(rs, "acme-executor", "storage-network")), ["kestra_acme_executor", "acme-executor", "net_storage"], "through its tenant's storage gateway", urnOfBase("acme-executor")));
  it("a web server on the storage network", () =>
    expectOne(violations(tenantNetworkSeparation, (rs) => attach(rs, "acme-eu-kestra", "storage-network")), ["kestra_acme-eu_kestra", "net_storage"], "shared storage network"));
  it("a backend on the public network shares it with the other tenant's web server (one report for the pair)", () =>
    expectOne(violations(tenantNetworkSeparation, (rs) => attach(rs, "acme-executor", "proxy-public-network")), ["kestra_acme_executor", "kestra_acme-eu_kestra", "tenant acme-eu"], "share no network"));
  it("two tenants' workers on a network of their own", () =>
    expectOne(
      violations(tenantNetworkSeparation, (rs) => {
        rs.push({ ...find(rs, "storage-network"), name: "extra-network", urn: "urn:pulumi:test::kestra-fleet::docker:index/network:Network::extra-network", id: idOf("extra-network"), props: { name: "net_extra", driver: "overlay", labels: [] } });
        attach(rs, "acme-worker", "extra-network");
        attach(rs, "acme-eu-worker", "extra-network");
      }),
      ["kestra_acme_worker", "kestra_acme-eu_worker", "net_extra"],
      "detach one of them",
    ));
  it("another tenant's storage gateway on a tenant's private network: every Kestra service of that tenant is exposed", () => {
    const vs = violations(tenantNetworkSeparation, (rs) => attach(rs, "acme-gateway", "acme-eu-private-network"));
    expect(vs.map((v) => v.message.split(" ")[0]).sort()).toEqual(["kestra_acme-eu_executor", "kestra_acme-eu_kestra", "kestra_acme-eu_worker"]);
    for (const v of vs) expect(v.message).toContain("kestra_acme_gateway");
  });
  it("platform services sharing a network with a tenant are not this rule's concern", () => expect(violations(tenantNetworkSeparation, (rs) => attach(rs, "proxy-traefik", "acme-private-network"))).toEqual([]));
});

describe("docker-socket-reach", () => {
  const attach = (rs: ReturnType<typeof fleet>, svc: string, net: string) => find(rs, svc).props.taskSpec.networksAdvanceds.push({ id: idOf(net) });

  it("Traefik alone shares the socket proxy's internal network", () => expect(violations(dockerSocketReach)).toEqual([]));
  it("the socket proxy on the public network", () =>
    expectOne(violations(dockerSocketReach, (rs) => attach(rs, "proxy-socket-proxy", "proxy-public-network")), ["platform_proxy_socket_proxy", "network_swarm_public"], "never face the proxy's network", urnOfBase("proxy-socket-proxy")));
  it("a public-facing service mounting the socket (Traefik as before the socket proxy)", () =>
    expectOne(
      violations(dockerSocketReach, (rs) => containerSpec(find(rs, "proxy-traefik")).mounts.push({ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true })),
      ["platform_proxy_traefik", "network_swarm_public"],
      "mounts the Docker socket and is attached to the public network",
    ));
  it("another service on the socket proxy's network", () =>
    expectOne(violations(dockerSocketReach, (rs) => attach(rs, "acme-kestra", "proxy-docker-api-network")), ["platform_proxy_socket_proxy", "net_proxy_docker_api", "kestra_acme_kestra"], "only Traefik may reach the Docker API"));
  it("a socket mounted through a volume disguised as a bind, on the public network", () =>
    expectOne(
      violations(dockerSocketReach, (rs) =>
        containerSpec(find(rs, "storage-minio")).mounts.push({ type: "volume", source: "x", target: "/s", volumeOptions: { driverName: "local", driverOptions: { type: "none", o: "bind", device: "/var/run/docker.sock" } } }),
      ),
      ["platform_storage_minio", "network_swarm_public"],
      "attached to the public network",
    ));
});

describe("monitoring stack: socket holders and node exporters", () => {
  /** The fixture's socket proxy recast as the monitoring stack's (same spec, its name and stack). */
  const asMonitoringProxy = (rs: PolicyResource[]) => {
    const p = find(rs, "proxy-socket-proxy");
    p.props.name = "platform_monitoring_socket_proxy";
    setLabel(p, "com.docker.stack.namespace", "platform_monitoring");
  };
  /** acme's web service recast as cAdvisor: role, name, stack, no tenant, no router. */
  const asCadvisor = (rs: PolicyResource[], mounts: Record<string, unknown>[]) => {
    const s = find(rs, "acme-kestra");
    s.props.name = "platform_monitoring_cadvisor";
    s.props.labels = [
      { label: "com.docker.stack.namespace", value: "platform_monitoring" },
      { label: "kestra-fleet.role", value: "cadvisor" },
    ];
    containerSpec(s).mounts = mounts;
    return s;
  };
  const CADVISOR_MOUNTS = [
    { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
    { type: "bind", source: "/sys", target: "/sys", readOnly: true },
    { type: "bind", source: "/var/lib/docker", target: "/var/lib/docker", readOnly: true },
  ];

  it("the monitoring socket proxy may serve Prometheus only: Traefik beside it is reported", () =>
    expectOne(violations(dockerSocketReach, asMonitoringProxy), ["platform_monitoring_socket_proxy", "platform_proxy_traefik"], "only Prometheus may reach the Docker API"));

  it("cAdvisor may mount the socket and its host paths read-only", () => {
    expect(violations(dockerSocketAndBinds, (rs) => asCadvisor(rs, CADVISOR_MOUNTS))).toEqual([]);
  });

  it("cAdvisor: a path off its allow-list, or a read-write mount, is reported", () => {
    expectOne(violations(dockerSocketAndBinds, (rs) => asCadvisor(rs, [...CADVISOR_MOUNTS, { type: "bind", source: "/etc", target: "/etc", readOnly: true }])), ["platform_monitoring_cadvisor", "/etc"], "may mount only");
    expectOne(violations(dockerSocketAndBinds, (rs) => asCadvisor(rs, [{ type: "bind", source: "/sys", target: "/sys" }])), ["platform_monitoring_cadvisor", "/sys"], "read-write");
  });

  it("cAdvisor holding the socket on the public network is reported (it shares networks with Prometheus only)", () =>
    expectOne(violations(dockerSocketReach, (rs) => asCadvisor(rs, CADVISOR_MOUNTS)), ["platform_monitoring_cadvisor", "network_swarm_public"], "never face the proxy's network"));

  it("a service named like cAdvisor but with another role gets no exemption", () => {
    const vs = violations(dockerSocketAndBinds, (rs) => setLabel(asCadvisor(rs, CADVISOR_MOUNTS), "kestra-fleet.role", "storage"));
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringContaining("bind-mounts /sys at /sys"),
      expect.stringContaining("bind-mounts /var/lib/docker at /var/lib/docker"),
      expect.stringContaining("mounts the Docker socket (/var/run/docker.sock): only the socket proxy may"),
    ]);
  });
});

describe("added: backup-policy-scope", () => {
  const mutatePolicy = (rs: PolicyResource[], f: (doc: any) => void) => {
    const p = find(rs, "acme-backup-policy");
    const doc = JSON.parse(p.props.policy);
    f(doc);
    p.props.policy = JSON.stringify(doc);
  };
  it("the compliant backup keys pass, and storage-policy-scope leaves them alone", () => {
    expect(violations(backupPolicyScope)).toEqual([]);
    expect(violations(storagePolicyScope)).toEqual([]);
  });
  it("a backup key that may delete", () => expectOne(violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => d.Statement[1].Action.push("s3:DeleteObject"))), ["acme-backup-policy"], "s3:deleteobject"));
  it("a backup key with s3:*", () => expectOne(violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => (d.Statement[0].Action = ["s3:*"]))), ["acme-backup-policy"], "s3:*"));
  it("a backup key writing the whole bucket", () => expectOne(violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => (d.Statement[1].Resource = ["arn:aws:s3:::kestra-fleet-backups/*"]))), ["acme-backup-policy"], "only under <stack>/<kind>/<tenant>/"));
  it("a backup key writing the old <kind>/<tenant>/ or <tenant>/<kind>/ layout, or another depth", () => {
    for (const res of ["arn:aws:s3:::kestra-fleet-backups/postgres/acme/*", "arn:aws:s3:::kestra-fleet-backups/acme/postgres/x/*", "arn:aws:s3:::kestra-fleet-backups/test/postgres/acme/x/*", "arn:aws:s3:::kestra-fleet-backups/test/postgres/*/*"]) {
      expectOne(violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => (d.Statement[1].Resource = [res]))), ["acme-backup-policy"], "only under <stack>/<kind>/<tenant>/");
    }
  });
  it("a backup key writing under another stack's prefix of a shared bucket", () =>
    expectOne(violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => (d.Statement[1].Resource = ["arn:aws:s3:::kestra-fleet-backups/prod/postgres/acme/*"]))), ["acme-backup-policy"], '<stack> being "test"'));
  it("a tenant's key pruning its own dumps passes; pruning another prefix, versions, or mixed with writes does not", () => {
    expect(violations(backupPolicyScope)).toEqual([]);
    for (const res of ["arn:aws:s3:::kestra-fleet-backups/test/postgres/other/*", "arn:aws:s3:::kestra-fleet-backups/prod/postgres/acme/*", "arn:aws:s3:::kestra-fleet-backups/test/bucket/acme/*", "arn:aws:s3:::kestra-fleet-backups/*"]) {
      expectOne(violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => (d.Statement[2].Resource = [res]))), ["acme-backup-policy"], "outside a tenant's own dumps");
    }
    const versions = violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => d.Statement[2].Action.push("s3:DeleteObjectVersion"))).map((v) => v.message);
    expect(versions.some((m) => m.includes("outside a tenant's own dumps"))).toBe(true);
    expect(versions.some((m) => m.includes('allows "s3:deleteobjectversion"'))).toBe(true);
  });
  it("the mirror's writer may not delete", () => {
    const asMirror = (rs: PolicyResource[]) => mutatePolicy(rs, (d) => (d.Statement[2].Resource = ["arn:aws:s3:::kestra-fleet-backups/test/postgres/acme/*"]));
    const v = violations(backupPolicyScope, (rs) => {
      asMirror(rs);
      find(rs, "acme-backup-policy").props.name = "backup.test.-mirror";
    });
    expect(v.some((x) => x.message.includes("outside a tenant's own dumps"))).toBe(true);
  });
  it("the mirror's writer (<stack>/bucket/ of the backup bucket) passes", () =>
    expect(violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => (d.Statement[1].Resource = ["arn:aws:s3:::kestra-fleet-backups/test/bucket/*"])))).toEqual([]));
  it("the mirror's source key reads every tenant bucket (kestra-*), read-only; no other key may, and it may not write", () => {
    const asMirrorSource = (rs: PolicyResource[], doc: object, name = "backup.mirror-source") => {
      const p = find(rs, "acme-backup-policy");
      p.props.name = name;
      p.props.policy = JSON.stringify(doc);
    };
    expect(violations(backupPolicyScope, (rs) => asMirrorSource(rs, mirrorSourcePolicy()))).toEqual([]);
    const asTenantKey = violations(backupPolicyScope, (rs) => asMirrorSource(rs, mirrorSourcePolicy(), "backup.test.acme"));
    expect(asTenantKey.map((v) => v.message)).toEqual([expect.stringContaining('"arn:aws:s3:::kestra-*": name the bucket exactly'), expect.stringContaining('"arn:aws:s3:::kestra-*/*": name the bucket exactly')]);
    const writing = mirrorSourcePolicy();
    (writing.Statement[1].Action as string[]).push("s3:PutObject");
    expect(violations(backupPolicyScope, (rs) => asMirrorSource(rs, writing)).map((v) => v.message).join("\n")).toContain("name the bucket exactly");
    const wider = mirrorSourcePolicy("kestra-fleet-");
    expect(violations(backupPolicyScope, (rs) => asMirrorSource(rs, wider)).length).toBeGreaterThan(0);
  });
  it("a wildcard bucket", () => expectOne(violations(backupPolicyScope, (rs) => mutatePolicy(rs, (d) => (d.Statement[0].Resource = ["arn:aws:s3:::kestra-fleet-*"]))), ["acme-backup-policy"], "name the bucket exactly"));
});
