/**
 * The neutral resource shape every rule reads, filled either from the offline plan's registrations
 * (infra/plan) or from CrossGuard's validation arguments (policies/crossguard.ts), plus the small
 * helpers the rules share. Pure: no Pulumi, no @pulumi/policy.
 */
import { CADVISOR_SERVICE, LABEL_LAB, LABEL_ROLE, LABEL_STACK, LABEL_TENANT, MONITORING_SOCKET_PROXY_SERVICE, NODE_EXPORTER_SERVICE, PROMETHEUS_SERVICE, PROXY_SERVICE, PUBLIC_NETWORK, SOCKET_PROXY_SERVICE } from "../infra/model/naming";
import type { NodeRole } from "../infra/model/placement";

export interface PolicyResource {
  urn: string;
  type: string;
  /** Pulumi logical name. */
  name: string;
  /** Provider id when known (always in the offline plan; new resources have none in a preview). */
  id?: string;
  /** Inputs, plain values (secrets already unwrapped; unknown values are `undefined`). */
  props: Record<string, any>;
  /** Top-level inputs whose value was or contained a Pulumi secret ([] when unknown, e.g. under CrossGuard). */
  secretInputs: string[];
  options: { protect?: boolean; retainOnDelete?: boolean; deleteBeforeReplace?: boolean; ignoreChanges?: string[]; parent?: string };
  /** Input name -> URNs of the resources it depends on ({} when unknown). */
  propertyDependencies: Record<string, string[]>;
}

export type Level = "mandatory" | "advisory";

export interface Violation {
  policy: string;
  urn: string;
  message: string;
  level: Level;
}

/** A Swarm node as stack config `capacity.nodes` describes it. */
export interface NodeSpec {
  name: string;
  cpus: number;
  memoryGb: number;
  diskGb?: number;
  monthlyCost: number;
  /** Swarm role (stack config capacity.nodes.<n>.role); undefined: not declared, role constraints assumed to hold. */
  role?: NodeRole;
  /** Node labels (capacity.nodes.<n>.labels). */
  labels?: Record<string, string>;
}

/** The Swarm's nodes the capacity rules and the plan's cost report read (policies/capacity.ts). */
export interface CapacityContext {
  currency: string;
  /** Sorted by name. */
  nodes: NodeSpec[];
}

export interface RuleContext {
  /** The Swarm's nodes (stack config `capacity`): the capacity rules check nothing without it. */
  capacity?: CapacityContext;
  /** Repositories a Kestra service may run (the stack's `images.kestra`); Kestra's own when absent. */
  kestraRepositories?: readonly string[];
}

export interface ResourceRule {
  kind: "resource";
  name: string;
  description: string;
  level: Level;
  check(r: PolicyResource, report: (message: string) => void): void;
}

export interface StackRule {
  kind: "stack";
  name: string;
  description: string;
  level: Level;
  check(all: PolicyResource[], report: (message: string, urn?: string) => void, ctx: RuleContext): void;
}

export type Rule = ResourceRule | StackRule;

/** Pulumi type tokens the rules look at. */
export const TYPES = {
  service: "docker:index/service:Service",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  secret: "docker:index/secret:Secret",
  config: "docker:index/serviceConfig:ServiceConfig",
  minioBucket: "minio:index/s3Bucket:S3Bucket",
  awsBucket: "aws:s3/bucket:Bucket",
  minioBucketVersioning: "minio:index/s3BucketVersioning:S3BucketVersioning",
  minioLifecycle: "minio:index/ilmPolicy:IlmPolicy",
  awsBucketVersioning: "aws:s3/bucketVersioning:BucketVersioning",
  awsPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  awsLifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  awsEncryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  randomBytes: "random:index/randomBytes:RandomBytes",
  randomPassword: "random:index/randomPassword:RandomPassword",
  minioPolicy: "minio:index/iamPolicy:IamPolicy",
  awsPolicy: "aws:iam/policy:Policy",
  database: "postgresql:index/database:Database",
  dbRole: "postgresql:index/role:Role",
  dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
  accessApp: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
  accessPolicy: "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy",
  serviceToken: "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken",
} as const;

export const BUCKET_TYPES: readonly string[] = [TYPES.minioBucket, TYPES.awsBucket];
export const STORAGE_POLICY_TYPES: readonly string[] = [TYPES.minioPolicy, TYPES.awsPolicy];
/** Docker resources whose `name` input is their name in the Swarm. */
export const DOCKER_TYPES: readonly string[] = [TYPES.service, TYPES.network, TYPES.volume, TYPES.secret, TYPES.config];

/** The resource's external name (Docker name, bucket, DNS name, Access name), if it has one. */
export function externalName(r: PolicyResource): string | undefined {
  const n = r.props.bucket ?? r.props.name;
  return typeof n === "string" && n !== "" ? n : undefined;
}

/** `kestra_acme_kestra (acme-kestra)`: external and logical name, for messages. */
export function display(r: PolicyResource): string {
  const ext = externalName(r);
  return ext !== undefined && ext !== r.name ? `${ext} (${r.name})` : r.name;
}

/**
 * Per-evaluation memos: set by `withEvaluationCache` (policies/evaluate.ts, policies/crossguard.ts)
 * for the span of one synchronous evaluation, so that every rule parses a resource's labels once
 * and looks resources up by type, URN and id in an index built once per resource list: the
 * evaluation stays linear in the number of resources. Outside an evaluation nothing is kept: a rule
 * called directly may be handed resources that were changed since the last call.
 */
let scope: { labels: Map<PolicyResource, Record<string, string>>; indexes: WeakMap<readonly PolicyResource[], ResourceIndex> } | undefined;

/** Runs fn with labels and resource indexes memoised (the resources must not change during fn). */
export function withEvaluationCache<T>(fn: () => T): T {
  const outer = scope;
  scope = outer ?? { labels: new Map(), indexes: new WeakMap() };
  try {
    return fn();
  } finally {
    scope = outer;
  }
}

/** Labels as a map; accepts the provider's `[{ label, value }]` list (and a plain map). Do not mutate the result. */
export function labelsOf(r: PolicyResource): Record<string, string> {
  const memo = scope?.labels.get(r);
  if (memo) return memo;
  const out = parseLabels(r);
  scope?.labels.set(r, out);
  return out;
}

function parseLabels(r: PolicyResource): Record<string, string> {
  const out: Record<string, string> = {};
  const list = r.props.labels;
  if (Array.isArray(list)) {
    for (const l of list) if (l && typeof l.label === "string") out[l.label] = l.value === undefined ? "" : String(l.value);
  } else if (list && typeof list === "object") {
    for (const [k, v] of Object.entries(list)) out[k] = String(v);
  }
  return out;
}

export const roleOf = (r: PolicyResource): string | undefined => labelsOf(r)[LABEL_ROLE];
export const tenantOf = (r: PolicyResource): string | undefined => labelsOf(r)[LABEL_TENANT];
export const stackOf = (r: PolicyResource): string | undefined => labelsOf(r)[LABEL_STACK];

export const isService = (r: PolicyResource): boolean => r.type === TYPES.service;

/** The Traefik service: the platform proxy by role and by name. */
export const isTraefik = (r: PolicyResource): boolean => isService(r) && roleOf(r) === "proxy" && r.props.name === PROXY_SERVICE;

/**
 * A lab stack: its Traefik service carries kestra-fleet.lab=true, set by the program from the stack
 * config `kestra-fleet:lab: true` alone (README, Lab stacks). Only then may the stack leave Cloudflare out.
 */
export const isLabStack = (all: PolicyResource[]): boolean => servicesOf(all).some((s) => isTraefik(s) && labelsOf(s)[LABEL_LAB] === "true");

/** A Docker socket proxy (Traefik's, or Prometheus's in the monitoring stack): by role and by name. */
export const isSocketProxy = (r: PolicyResource): boolean =>
  isService(r) && roleOf(r) === "socket-proxy" && (r.props.name === SOCKET_PROXY_SERVICE || r.props.name === MONITORING_SOCKET_PROXY_SERVICE);

/** The monitoring stack's Prometheus, and its node exporters: by role and by name. */
export const isPrometheus = (r: PolicyResource): boolean => isService(r) && roleOf(r) === "prometheus" && r.props.name === PROMETHEUS_SERVICE;
export const isCadvisor = (r: PolicyResource): boolean => isService(r) && roleOf(r) === "cadvisor" && r.props.name === CADVISOR_SERVICE;
export const isNodeExporter = (r: PolicyResource): boolean => isService(r) && roleOf(r) === "node-exporter" && r.props.name === NODE_EXPORTER_SERVICE;

/**
 * The one service that may call the Docker API a socket holder serves: Traefik for its socket proxy,
 * Prometheus for the monitoring socket proxy and for cAdvisor.
 */
export function socketClientOf(holder: PolicyResource): { is: (r: PolicyResource) => boolean; name: string } {
  if (holder.props.name === MONITORING_SOCKET_PROXY_SERVICE || isCadvisor(holder)) return { is: isPrometheus, name: "Prometheus" };
  return { is: isTraefik, name: "Traefik" };
}

/** The network Traefik routes on: by role label or by name. */
export const isPublicNetwork = (n: PolicyResource): boolean => roleOf(n) === "public" || n.props.name === PUBLIC_NETWORK;

/** Roles of a tenant's Kestra services. */
export const KESTRA_ROLES: readonly string[] = ["web", "backend", "worker"];

/** An index of one resource list: lookups by type, URN and id in constant time. */
interface ResourceIndex {
  byType: Map<string, PolicyResource[]>;
  byUrn: Map<string, PolicyResource>;
  /** type -> id -> the first resource of that type with that id. */
  byId: Map<string, Map<string, PolicyResource>>;
  position: Map<PolicyResource, number>;
}

/** The index of a resource list: built once per list within an evaluation, else on every call. */
export function indexOf(all: readonly PolicyResource[]): ResourceIndex {
  let index = scope?.indexes.get(all);
  if (index) return index;
  index = { byType: new Map(), byUrn: new Map(), byId: new Map(), position: new Map() };
  all.forEach((r, i) => {
    index!.position.set(r, i);
    let list = index!.byType.get(r.type);
    if (!list) index!.byType.set(r.type, (list = []));
    list.push(r);
    if (!index!.byUrn.has(r.urn)) index!.byUrn.set(r.urn, r);
    if (typeof r.id === "string" && r.id !== "") {
      let ids = index!.byId.get(r.type);
      if (!ids) index!.byId.set(r.type, (ids = new Map()));
      if (!ids.has(r.id)) ids.set(r.id, r);
    }
  });
  scope?.indexes.set(all, index);
  return index;
}

export function servicesOf(all: PolicyResource[]): PolicyResource[] {
  return ofType(all, TYPES.service);
}

/** The resources of the given types, in the list's order. */
export function ofType(all: PolicyResource[], ...types: string[]): PolicyResource[] {
  const index = indexOf(all);
  if (types.length === 1) return [...(index.byType.get(types[0]) ?? [])];
  const out = [...new Set(types)].flatMap((t) => index.byType.get(t) ?? []);
  return out.sort((a, b) => index.position.get(a)! - index.position.get(b)!);
}

/** `taskSpec.containerSpec` of a service ({} when absent). */
export function containerSpecOf(r: PolicyResource): Record<string, any> {
  return r.props.taskSpec?.containerSpec ?? {};
}

/** A value or list of values as a list of strings (IAM's `"x"` or `["x"]`). */
export function asList(x: unknown): string[] {
  if (Array.isArray(x)) return x.filter((v) => v !== undefined).map(String);
  return x === undefined || x === null ? [] : [String(x)];
}

/** Resolves references to resources of one type: by id where the id is known, else through the input's property dependencies. */
function resolveRefs(owner: PolicyResource, input: string, refs: { id?: unknown }[], all: PolicyResource[], type: string): PolicyResource[] {
  const index = indexOf(all);
  const ids = index.byId.get(type);
  const out: PolicyResource[] = [];
  let unresolved = false;
  for (const ref of refs) {
    const found = typeof ref?.id === "string" && ref.id !== "" ? ids?.get(ref.id) : undefined;
    if (found) {
      if (!out.includes(found)) out.push(found);
    } else unresolved = true;
  }
  if (unresolved) {
    for (const urn of owner.propertyDependencies[input] ?? []) {
      const found = index.byUrn.get(urn);
      if (found && found.type === type && !out.includes(found)) out.push(found);
    }
  }
  return out;
}

/**
 * The networks a service is attached to: `taskSpec.networksAdvanceds[].id` matched against the ids of
 * the Network resources (offline plan); ids unknown (a preview of new networks) fall back to the
 * Network resources listed in `propertyDependencies.taskSpec`.
 */
export function networksOf(service: PolicyResource, all: PolicyResource[]): PolicyResource[] {
  const refs: { id?: unknown }[] = service.props.taskSpec?.networksAdvanceds ?? [];
  return resolveRefs(service, "taskSpec", refs, all, TYPES.network);
}

/** The Access policies an application references: by id, else through `propertyDependencies.policies`. */
export function accessPoliciesOf(app: PolicyResource, all: PolicyResource[]): PolicyResource[] {
  const refs: { id?: unknown }[] = app.props.policies ?? [];
  return resolveRefs(app, "policies", refs, all, TYPES.accessPolicy);
}

/** Traefik routers (of one protocol) declared by a service's labels: router name -> its settings. */
export function routersOf(r: PolicyResource, protocol: "http" | "tcp" | "udp" = "http"): Map<string, Record<string, string>> {
  const routers = new Map<string, Record<string, string>>();
  const re = new RegExp(`^traefik\\.${protocol}\\.routers\\.([^.]+)\\.(.+)$`);
  for (const [k, v] of Object.entries(labelsOf(r))) {
    const m = re.exec(k);
    if (!m) continue;
    const settings = routers.get(m[1]) ?? {};
    settings[m[2]] = v;
    routers.set(m[1], settings);
  }
  return routers;
}

/** Hosts named by a router rule: ``Host(`a`) || Host(`b`, `c`)``. */
export function hostsOfRule(rule: string): string[] {
  const hosts: string[] = [];
  for (const m of rule.matchAll(/\bHost\(([^)]*)\)/g)) for (const h of m[1].matchAll(/`([^`]+)`/g)) hosts.push(h[1].toLowerCase());
  return hosts;
}

/** Tenant hosts: the hosts of the routers of tenant web services, with the service naming each. */
export function tenantHosts(all: PolicyResource[]): { host: string; service: PolicyResource }[] {
  const out: { host: string; service: PolicyResource }[] = [];
  const seen = new Set<string>();
  for (const s of servicesOf(all).filter((x) => roleOf(x) === "web")) {
    for (const [, router] of routersOf(s)) {
      for (const host of hostsOfRule(router.rule ?? "")) {
        if (seen.has(host)) continue;
        seen.add(host);
        out.push({ host, service: s });
      }
    }
  }
  return out;
}

/** A comma-separated Traefik label value as a trimmed list. */
export function commaList(v: string | undefined): string[] {
  return (v ?? "").split(",").map((x) => x.trim()).filter(Boolean);
}

/** Go duration (`"6m"`, `"1m30s"`, `"120s"`) in seconds; undefined when not a duration. */
export function durationSeconds(v: unknown): number | undefined {
  if (typeof v === "number") return v / 1e9; // nanoseconds, as Docker's API counts them
  if (typeof v !== "string" || !/^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/.test(v)) return undefined;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}
