/**
 * The Docker socket proxies between Traefik (or Prometheus) and the Docker API
 * (wollomatic/socket-proxy). Pure: arguments only. A tenant's socat gateway: ./gateway.ts.
 */
import { PROXY_SERVICE, SOCKET_PROXY_PORT, SOCKET_PROXY_SERVICE } from "../model/naming";

/** Traefik's `providers.swarm.endpoint`: the proxy's service name on the internal overlay. */
export const SOCKET_PROXY_ENDPOINT = `tcp://${SOCKET_PROXY_SERVICE}:${SOCKET_PROXY_PORT}`;

/**
 * The Docker API calls Traefik's swarm provider makes, read in traefik/traefik
 * pkg/provider/docker/pswarm.go (v3): ServerVersion (GET /version), ServiceList (GET /services),
 * NetworkList (GET /networks), TaskList (GET /tasks, for every service unless `lbswarm`), polled every
 * `refreshSeconds` (no events); plus the client's version negotiation (HEAD and GET /_ping, Traefik
 * ≥ 3.6.1 with Docker 29). Paths may carry an API version prefix (`/v1.51/services`). The proxy
 * matches the path only (query strings such as `?filters=` are not part of it) and anchors each
 * pattern with ^…$, so `/services/<id>`, `/containers/…`, `/secrets`, `/configs`, `/nodes`, `/info`,
 * `/events` and every write are refused (403, or 405 for other methods).
 */
export const TRAEFIK_SWARM_API_GET = "(/v1\\.[0-9]+)?/(_ping|version|services|networks|tasks)";
export const TRAEFIK_SWARM_API_HEAD = "(/v1\\.[0-9]+)?/_ping";

/**
 * wollomatic/socket-proxy's arguments (its image's entrypoint is the proxy binary). By default the
 * proxy of Traefik; the monitoring stack's proxy passes its own client and allow-list.
 */
export function socketProxyArgs(client: string = PROXY_SERVICE, allowGet: string = TRAEFIK_SWARM_API_GET, allowHead: string = TRAEFIK_SWARM_API_HEAD): string[] {
  return [
    "-loglevel=info",
    "-listenip=0.0.0.0",
    `-proxyport=${SOCKET_PROXY_PORT}`,
    // Only the client's tasks may call (resolved on every request, not cached: a new task's address
    // is admitted at once); the internal network already admits nobody else.
    `-allowfrom=tasks.${client}`,
    `-allowGET=${allowGet}`,
    `-allowHEAD=${allowHead}`,
    // The image's /healthcheck binary answers only when this is set.
    "-allowhealthcheck",
    // After a Docker engine restart the socket can go stale: exit so Swarm restarts the task.
    "-watchdoginterval=300",
    "-stoponwatchdog",
    "-shutdowngracetime=5",
  ];
}

/**
 * The container of a Docker socket proxy (Traefik's, Prometheus's): what differs is only its image
 * and its allow-list (`args`). The socket is root's (mode 660, group docker, whose id differs between
 * hosts): uid 0, but with every capability dropped and a read-only root file system. A read-only
 * mount does not stop API calls (connect() writes nothing): the proxy's allow-list does.
 */
export function socketProxyContainerSpec(image: string, args: string[]) {
  return {
    image,
    args,
    user: "0:0",
    capDrops: ["ALL"],
    readOnly: true,
    mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }],
    healthcheck: { tests: ["CMD", "/healthcheck"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "10s" },
    stopGracePeriod: "10s",
  };
}
