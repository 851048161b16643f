/**
 * A tenant's gateway (stacks/tenant-gateway.ts): the tenant's only door to anything shared, and the
 * only door of anything shared to the tenant. One socat service (alpine/socat, `images.storageGateway`)
 * whose listeners each forward every connection to ONE fixed address: MinIO's S3 port (with MinIO
 * storage) and the tenant's own Kestra management ports (with monitoring). Pure: the list of forwards,
 * socat's command and the health check derive from it.
 */
import { BACKUP_METRICS_PORT, KESTRA_MANAGEMENT_PORT, MINIO_S3_PORT, RELAY_BACKEND_PORT, RELAY_BACKUP_PORT, RELAY_WEB_PORT, STORAGE_SERVICE, type TenantNames } from "../model/naming";

/** One listener of the gateway: `listen` on every interface, each connection forwarded to `host:port`. */
export interface Forward {
  listen: number;
  host: string;
  port: number;
}

/** What the gateway serves: MinIO storage (the `minio` alias on the private network), monitoring (Prometheus's scrapes). */
export interface GatewayNeeds {
  storage: boolean;
  monitoring: boolean;
  /**
   * The tenant has Kestra services (not offboarded; default true): the Kestra management forwards. An
   * offboarded tenant's gateway forwards its backup's metrics only (its backup runs on).
   */
  kestra?: boolean;
}

/** A tenant has a gateway when it has something to forward: MinIO storage, or monitoring on. */
export function needsGateway(needs: GatewayNeeds): boolean {
  return needs.storage || needs.monitoring;
}

/**
 * The gateway's forwards, in listening-port order (one line each):
 * - 9000 -> MinIO's S3 port by MinIO's *service name* (storage): not to the alias `minio`, which the
 *   gateway carries itself on the tenant's private network (Docker's embedded DNS may answer a
 *   container's own alias with its own address: a loop); only MinIO carries its service name;
 * - 8081 -> the backend's management port, 8082 -> the web server's, 8083 -> the backup service's
 *   metrics (monitoring), by service name on the tenant's private network: this tenant's services only.
 */
export function gatewayForwards(n: TenantNames, needs: GatewayNeeds): Forward[] {
  const all: (Forward | false)[] = [
    needs.monitoring && needs.kestra !== false && { listen: RELAY_BACKEND_PORT, host: n.services.backend, port: KESTRA_MANAGEMENT_PORT },
    needs.monitoring && needs.kestra !== false && { listen: RELAY_WEB_PORT, host: n.services.web, port: KESTRA_MANAGEMENT_PORT },
    needs.monitoring && { listen: RELAY_BACKUP_PORT, host: n.services.backup, port: BACKUP_METRICS_PORT },
    needs.storage && { listen: MINIO_S3_PORT, host: STORAGE_SERVICE, port: MINIO_S3_PORT },
  ];
  const forwards = all.filter((f): f is Forward => f !== false).sort((a, b) => a.listen - b.listen);
  const ports = forwards.map((f) => f.listen);
  if (new Set(ports).size !== ports.length) throw new Error(`gateway of ${n.tenant}: two forwards listen on one port (${ports.join(", ")})`);
  return forwards;
}

const socatArgs = (f: Forward) => [`tcp-listen:${f.listen},fork,reuseaddr`, `tcp-connect:${f.host}:${f.port}`];

/**
 * socat's command line. One forward: socat itself is the container's process (the image's entry
 * point, no shell). Several: busybox sh starts one socat per forward and waits; the health check tests
 * every listener, so a dead one makes Swarm replace the task.
 */
export function gatewayCommand(forwards: readonly Forward[]): { commands?: string[]; args: string[] } {
  if (!forwards.length) throw new Error("a gateway without forwards");
  if (forwards.length === 1) return { args: socatArgs(forwards[0]) };
  return { commands: ["/bin/sh", "-c"], args: [[...forwards.map((f) => `socat ${socatArgs(f).join(" ")}`), "wait"].join(" & ")] };
}

/**
 * The health check: socat itself (the image has no curl or wget) opens a TCP connection to each of the
 * gateway's own listeners and closes it. It checks the forwarders, not what they forward to: a MinIO or
 * Kestra outage must not make Swarm restart the gateway.
 */
export function gatewayHealthcheck(forwards: readonly Forward[]) {
  const probe = (f: Forward) => ["socat", "-u", "OPEN:/dev/null", `TCP:127.0.0.1:${f.listen},connect-timeout=3`];
  const tests = forwards.length === 1 ? ["CMD", ...probe(forwards[0])] : ["CMD-SHELL", forwards.map((f) => probe(f).join(" ")).join(" && ")];
  return { tests, interval: "30s", timeout: "5s", retries: 3, startPeriod: "5s" };
}
