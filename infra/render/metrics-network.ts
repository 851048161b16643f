/**
 * The internal overlay on which Traefik serves its Prometheus metrics (`net_monitoring_proxy`,
 * Prometheus and Traefik only). Pure: the subnet's checks and the gateway derived from it.
 *
 * Its subnet is fixed (stack config `monitoring.proxyMetricsSubnet`) because Traefik's metrics
 * router admits that range only (ipAllowList, infra/render/traefik.ts): a range Swarm picked at
 * creation would be unknown to the plan.
 *
 * Its name changes with the subnet (proxyMetricsNetworkName): every input of a docker.Network forces
 * a replacement, Docker holds one network per name and refuses to delete one in use, so a new subnet
 * is a new network created first, Traefik and Prometheus moved onto it (attached by id), and the old
 * one deleted last (deleteBeforeReplace: false, stacks/monitoring.ts).
 */
import { MONITORING_PROXY_NETWORK } from "../model/naming";

/** Default: far from Swarm's first allocations (10.0.0.0/24 ingress, then 10.0.1.0/24, ... from 10.0.0.0/8) and Docker's local pools (172.17-31/16, 192.168/16). */
export const DEFAULT_PROXY_METRICS_SUBNET = "10.254.254.0/26";
/** Prefix lengths accepted: /16 at most (a wider range would be a careless allow-list), /28 at least (tasks, VIPs, one load-balancer address per node, rolling updates). */
export const PROXY_METRICS_PREFIX = { min: 16, max: 28 } as const;

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const CIDR4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}/(3[0-2]|[12]?\\d)$`);

function parse(cidr: string): { addr: number; bits: number } | undefined {
  const m = CIDR4.exec(cidr);
  if (!m) return undefined;
  return { addr: m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0), bits: Number(m[5]) };
}

const dotted = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/** Why `cidr` cannot be the metrics network's subnet, or undefined when it can. */
export function proxyMetricsSubnetProblem(cidr: string): string | undefined {
  const p = parse(cidr);
  if (!p) return "is not an IPv4 CIDR range such as 10.254.254.0/26";
  if (p.bits < PROXY_METRICS_PREFIX.min || p.bits > PROXY_METRICS_PREFIX.max) return `must be a /${PROXY_METRICS_PREFIX.min} to /${PROXY_METRICS_PREFIX.max} range`;
  const size = 2 ** (32 - p.bits);
  // Docker stores the subnet as given; a host address would differ from what the allow-list means.
  if (p.addr % size !== 0) return `is not a network address: write ${dotted(p.addr - (p.addr % size))}/${p.bits}`;
  return undefined;
}

/**
 * The subnet's gateway: its first host, the address Swarm's IPAM gives an overlay when none is set.
 * Set explicitly so the provider's state (which reads the gateway back) equals the inputs.
 */
export function proxyMetricsGateway(cidr: string): string {
  const problem = proxyMetricsSubnetProblem(cidr);
  if (problem) throw new Error(`proxyMetricsGateway: ${cidr} ${problem}`);
  return dotted(parse(cidr)!.addr + 1);
}

/**
 * The network's Docker name for `cidr`: `net_monitoring_proxy` for the default range (the name every
 * stack already has: no change for them), `net_monitoring_proxy_<a>_<b>_<c>_<d>_<bits>` for any other.
 * A different range is a different name, so the replacement can create the new network before the
 * old one is deleted.
 */
export function proxyMetricsNetworkName(cidr: string): string {
  const problem = proxyMetricsSubnetProblem(cidr);
  if (problem) throw new Error(`proxyMetricsNetworkName: ${cidr} ${problem}`);
  return cidr === DEFAULT_PROXY_METRICS_SUBNET ? MONITORING_PROXY_NETWORK : `${MONITORING_PROXY_NETWORK}_${cidr.replace(/[./]/g, "_")}`;
}
