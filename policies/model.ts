/**
 * The neutral resource shape every rule reads, filled either from the offline plan's registrations or
 * from CrossGuard's validation arguments, plus small helpers shared by the rules.
 */
import { LABEL_ROLE, LABEL_STACK, LABEL_TENANT } from "../infra/naming";

export interface PolicyResource {
  urn: string;
  type: string;
  /** Pulumi logical name. */
  name: string;
  /** Provider id, when known (always in the offline plan; new resources have none in a preview). */
  id?: string;
  /** Inputs, plain values (secrets already unwrapped). */
  props: Record<string, any>;
  /** Top-level inputs whose value was or contained a Pulumi secret ([] when unknown, e.g. under CrossGuard). */
  secretInputs: string[];
  options: { protect?: boolean; retainOnDelete?: boolean; deleteBeforeReplace?: boolean; parent?: string };
  /** Input name → URNs of the resources it depends on ({} when unknown). */
  propertyDependencies: Record<string, string[]>;
}

export type Level = "mandatory" | "advisory";

export interface Violation {
  policy: string;
  urn: string;
  message: string;
  level: Level;
}

export interface RuleContext {
  capacity?: { nanoCpus: number; memoryBytes: number };
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

export const T = {
  service: "docker:index/service:Service",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  secret: "docker:index/secret:Secret",
  config: "docker:index/serviceConfig:ServiceConfig",
  minioBucket: "minio:index/s3Bucket:S3Bucket",
  awsBucket: "aws:s3/bucket:Bucket",
  minioPolicy: "minio:index/iamPolicy:IamPolicy",
  awsPolicy: "aws:iam/policy:Policy",
  database: "postgresql:index/database:Database",
  dns: "cloudflare:index/dnsRecord:DnsRecord",
  accessApp: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
  accessPolicy: "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy",
  serviceToken: "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken",
} as const;

/** `docker_name (logical-name)`, for messages. */
export function describe(r: PolicyResource): string {
  const ext = r.props.name ?? r.props.bucket ?? r.props.domain;
  return typeof ext === "string" && ext !== r.name ? `${ext} (${r.name})` : r.name;
}

export function labelsOf(r: PolicyResource): Record<string, string> {
  const out: Record<string, string> = {};
  const list = r.props.labels;
  if (Array.isArray(list)) for (const l of list) if (l && typeof l.label === "string") out[l.label] = String(l.value);
  return out;
}

export const roleOf = (r: PolicyResource) => labelsOf(r)[LABEL_ROLE];
export const tenantOf = (r: PolicyResource) => labelsOf(r)[LABEL_TENANT];
export const stackOf = (r: PolicyResource) => labelsOf(r)[LABEL_STACK];

export function containerSpec(r: PolicyResource): Record<string, any> {
  return r.props.taskSpec?.containerSpec ?? {};
}

export function services(all: PolicyResource[]): PolicyResource[] {
  return all.filter((r) => r.type === T.service);
}

/**
 * The networks a service is attached to: by id (offline plan), else (ids unknown in a preview) the
 * network resources its task spec depends on.
 */
export function networksOf(service: PolicyResource, all: PolicyResource[]): PolicyResource[] {
  const networks = all.filter((r) => r.type === T.network);
  const attached: PolicyResource[] = [];
  const entries: { id?: string }[] = service.props.taskSpec?.networksAdvanceds ?? [];
  let unresolved = false;
  for (const e of entries) {
    const n = e.id ? networks.find((x) => x.id === e.id) : undefined;
    if (n) attached.push(n);
    else unresolved = true;
  }
  if (unresolved) {
    for (const urn of service.propertyDependencies.taskSpec ?? []) {
      const n = networks.find((x) => x.urn === urn);
      if (n && !attached.includes(n)) attached.push(n);
    }
  }
  return attached;
}

/** Traefik routers declared by a service's labels: router name → its settings. */
export function routersOf(r: PolicyResource): Map<string, Record<string, string>> {
  const routers = new Map<string, Record<string, string>>();
  for (const [k, v] of Object.entries(labelsOf(r))) {
    const m = /^traefik\.http\.routers\.([^.]+)\.(.+)$/.exec(k);
    if (!m) continue;
    if (!routers.has(m[1])) routers.set(m[1], {});
    routers.get(m[1])![m[2]] = v;
  }
  return routers;
}

/** Hosts named by a router rule ``Host(`a`) || Host(`b`)``. */
export function hostsOfRule(rule: string): string[] {
  return [...rule.matchAll(/Host\(`([^`]+)`\)/g)].map((m) => m[1]);
}
