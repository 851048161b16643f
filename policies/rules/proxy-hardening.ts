import { parse } from "yaml";
import { TRAEFIK_METRICS_USERS_FILE } from "../../infra/model/naming";
import { containerSpecOf, display, indexOf, isPrometheus, isTraefik, networksOf, servicesOf, TYPES, type PolicyResource, type StackRule } from "../model";

/** `--key=value` / `--key` arguments of a container, keys lower-cased. */
function flags(args: unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of args.map(String)) {
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a.trim());
    if (m) out.set(m[1].toLowerCase(), (m[2] ?? "true").toLowerCase());
  }
  return out;
}

/**
 * Added rule: Traefik routes only services that opt in (`exposedByDefault` is true by default: every
 * service with a port would be routed, Postgres included), its API is never served insecurely, and
 * its Prometheus metrics are never served by the default internal router: an entry point listens on
 * every network of the container (the public overlay, shared with every tenant's web server,
 * included), so metrics need `manualRouting` (the fleet's own router, behind basic auth) and the
 * basic-auth users file mounted as a secret. And every router serving `prometheus@internal` (in
 * Traefik's dynamic file, a Swarm config) starts with an `ipAllowList` admitting only the fixed subnet
 * (ipamConfigs) of an internal network Traefik is on and nobody but Traefik and Prometheus joins, with
 * no `ipStrategy` (which would read X-Forwarded-For instead of the TCP peer): a tenant on the public
 * overlay gets 403 before any password is checked.
 */
export const proxyHardening: StackRule = {
  kind: "stack",
  name: "proxy-hardening",
  description:
    "The Traefik service sets --providers.swarm.exposedByDefault=false and not --api.insecure; with --metrics.prometheus, it sets --metrics.prometheus.manualRouting=true, mounts the metrics users file as a secret, and its metrics router admits only the fixed subnet of an internal network of Traefik and Prometheus alone (ipAllowList, first middleware).",
  level: "mandatory",
  check(all, report) {
    for (const r of servicesOf(all).filter(isTraefik)) checkTraefik(r, all, (m) => report(m, r.urn));
  },
};

function checkTraefik(r: PolicyResource, all: PolicyResource[], report: (message: string) => void): void {
  const c = containerSpecOf(r);
  if (c.args === undefined && c.commands === undefined) return; // unknown in a preview
  const f = flags([...(c.commands ?? []), ...(c.args ?? [])]);
  if (f.get("providers.swarm.exposedbydefault") !== "false") {
    report(`${display(r)} does not set --providers.swarm.exposedByDefault=false: every service would be routed without opting in; add the argument`);
  }
  if (f.has("api.insecure") && f.get("api.insecure") !== "false") {
    report(`${display(r)} serves its API and dashboard insecurely: remove --api.insecure and route api@internal behind authentication`);
  }
  const metrics = [...f.keys()].some((k) => k.startsWith("metrics.prometheus")) && f.get("metrics.prometheus") !== "false";
  if (metrics) {
    if (f.get("metrics.prometheus.manualrouting") !== "true") {
      report(
        `${display(r)} serves Prometheus metrics through the default internal router, unauthenticated on every network Traefik is on (the public overlay included): ` +
          "set --metrics.prometheus.manualRouting=true and route prometheus@internal behind basic auth (infra/render/traefik.ts)",
      );
    }
    const secrets = c.secrets as { fileName?: string }[] | undefined;
    if (secrets !== undefined && !secrets.some((s) => s?.fileName === TRAEFIK_METRICS_USERS_FILE)) {
      report(`${display(r)} serves Prometheus metrics without the basic-auth users file ${TRAEFIK_METRICS_USERS_FILE} (a Swarm secret): the metrics router would have no credential`);
    }
    checkMetricsAllowList(r, all, report);
  }
}

/** The dynamic files (Swarm configs) mounted into a service, parsed; undefined where the content is unknown (a preview). */
function dynamicFiles(r: PolicyResource, all: PolicyResource[]): (Record<string, any> | undefined)[] {
  const configs = indexOf(all).byId.get(TYPES.config);
  const mounts = (containerSpecOf(r).configs ?? []) as { configId?: string }[];
  return mounts.map((m) => {
    const cfg = typeof m?.configId === "string" ? configs?.get(m.configId) : undefined;
    if (!cfg || typeof cfg.props.data !== "string") return undefined;
    try {
      const doc = parse(Buffer.from(cfg.props.data, "base64").toString("utf8"));
      return doc && typeof doc === "object" ? (doc as Record<string, any>) : {};
    } catch {
      return {};
    }
  });
}

const strip = (name: string) => name.replace(/@file$/, "");

/** Subnets of `net` (ipamConfigs) when it is internal and joined by Traefik and Prometheus only. */
function metricsNetworkSubnets(net: PolicyResource, all: PolicyResource[]): { subnets: string[]; problem?: string } {
  const subnets = ((net.props.ipamConfigs ?? []) as { subnet?: string }[]).map((i) => i?.subnet).filter((x): x is string => typeof x === "string");
  if (net.props.internal !== true) return { subnets, problem: "is not internal" };
  const others = servicesOf(all).filter((s) => !isTraefik(s) && !isPrometheus(s) && networksOf(s, all).includes(net));
  if (others.length) return { subnets, problem: `is shared with ${others.map(display).join(", ")}` };
  return { subnets };
}

function checkMetricsAllowList(r: PolicyResource, all: PolicyResource[], report: (message: string) => void): void {
  const files = dynamicFiles(r, all);
  if (files.some((f) => f === undefined)) return; // content unknown in a preview
  const nets = networksOf(r, all);
  const fix = "route prometheus@internal through an ipAllowList of net_monitoring_proxy's fixed subnet (monitoring.proxyMetricsSubnet) before basic auth (infra/render/traefik.ts)";
  for (const file of files as Record<string, any>[]) {
    const http = file.http ?? {};
    const middlewares: Record<string, any> = http.middlewares ?? {};
    for (const [name, router] of Object.entries((http.routers ?? {}) as Record<string, any>)) {
      if (strip(String(router?.service ?? "")) !== "prometheus@internal") continue;
      const first = ((router.middlewares ?? []) as unknown[]).map(String)[0];
      const allow = first !== undefined ? middlewares[strip(first)]?.ipAllowList : undefined;
      const ranges = Array.isArray(allow?.sourceRange) ? (allow.sourceRange as unknown[]).map(String) : [];
      if (!allow || ranges.length === 0) {
        report(`${display(r)} serves Prometheus metrics (router ${name}) without an IP allow-list as its first middleware: the entry point answers on every network of Traefik, the public overlay included; ${fix}`);
        continue;
      }
      if (allow.ipStrategy !== undefined) {
        report(`${display(r)} metrics router ${name}: its allow-list sets ipStrategy, which reads X-Forwarded-For (a header any client writes) instead of the TCP peer; remove ipStrategy`);
      }
      for (const range of ranges) {
        const net = nets.find((n) => metricsNetworkSubnets(n, all).subnets.includes(range));
        if (!net) {
          report(`${display(r)} metrics router ${name} admits ${range}, which is not the fixed subnet (ipamConfigs) of a network Traefik is on; ${fix}`);
          continue;
        }
        const problem = metricsNetworkSubnets(net, all).problem;
        if (problem) report(`${display(r)} metrics router ${name} admits ${range}, the subnet of ${display(net)}, which ${problem}: only Traefik and Prometheus may share the metrics network`);
      }
    }
  }
}
