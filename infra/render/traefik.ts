/**
 * Traefik's static configuration (command-line arguments) and its dynamic file (middlewares).
 * Pure. TLS: ACME with Cloudflare's DNS challenge from the single Traefik instance (see README); a lab
 * stack without Cloudflare (`edge.provider: none`) has no resolver and serves Traefik's self-signed
 * default certificate, trusts no forwarded headers and admits its `edge.allowList` only.
 */
import { createHash } from "crypto";
import { stringify } from "yaml";
import { edgeOf, type Settings } from "../input/config/schema";
import { CERT_RESOLVER, ENTRYPOINT_METRICS, LAB_ORIGIN_MIDDLEWARE, ORIGIN_LOCK_MIDDLEWARE, ENTRYPOINT_WEB, ENTRYPOINT_WEBSECURE, PUBLIC_NETWORK, TRAEFIK_METRICS_PORT, TRAEFIK_METRICS_USERS_FILE } from "../model/naming";
import { SOCKET_PROXY_ENDPOINT } from "./socket-proxy";

export const TRAEFIK_DYNAMIC_FILE = "/etc/traefik/dynamic.yml";
export const ACME_DIR = "/letsencrypt";
export const ACME_STORAGE = `${ACME_DIR}/acme.json`;
export const DNS_TOKEN_SECRET_FILE = "/run/secrets/cloudflare_dns_api_token";

export function traefikArgs(settings: Settings): string[] {
  const edge = edgeOf(settings);
  // Behind Cloudflare: its ranges are the only peers whose X-Forwarded-For is believed. A lab stack
  // without Cloudflare has no proxy in front: no forwarded header is trusted (Traefik's default).
  const trusted = edge.provider === "cloudflare" ? edge.cloudflare.originRanges.join(",") : undefined;
  return [
    "--global.checkNewVersion=false",
    "--global.sendAnonymousUsage=false",
    `--log.level=${settings.proxy.logLevel}`,
    "--accesslog=true",
    "--accesslog.format=json",
    "--ping=true",
    "--ping.entryPoint=traefik",
    "--entryPoints.traefik.address=:8080",
    "--api.dashboard=false",
    "--providers.swarm=true",
    // The Docker API through the filtering socket proxy (read calls of the swarm provider only):
    // Traefik, facing the internet, holds no socket.
    `--providers.swarm.endpoint=${SOCKET_PROXY_ENDPOINT}`,
    "--providers.swarm.exposedByDefault=false",
    `--providers.swarm.network=${PUBLIC_NETWORK}`,
    `--providers.file.filename=${TRAEFIK_DYNAMIC_FILE}`,
    "--providers.file.watch=false",
    `--entryPoints.${ENTRYPOINT_WEB}.address=:80`,
    `--entryPoints.${ENTRYPOINT_WEB}.http.redirections.entryPoint.to=${ENTRYPOINT_WEBSECURE}`,
    `--entryPoints.${ENTRYPOINT_WEB}.http.redirections.entryPoint.scheme=https`,
    `--entryPoints.${ENTRYPOINT_WEB}.http.redirections.entryPoint.permanent=true`,
    ...(trusted ? [`--entryPoints.${ENTRYPOINT_WEB}.forwardedHeaders.trustedIPs=${trusted}`] : []),
    `--entryPoints.${ENTRYPOINT_WEBSECURE}.address=:443`,
    ...(trusted ? [`--entryPoints.${ENTRYPOINT_WEBSECURE}.forwardedHeaders.trustedIPs=${trusted}`] : []),
    ...(edge.provider === "cloudflare"
      ? [
          `--certificatesResolvers.${CERT_RESOLVER}.acme.email=${settings.proxy.acmeEmail}`,
          `--certificatesResolvers.${CERT_RESOLVER}.acme.storage=${ACME_STORAGE}`,
          `--certificatesResolvers.${CERT_RESOLVER}.acme.caServer=${settings.proxy.acmeCaServer}`,
          `--certificatesResolvers.${CERT_RESOLVER}.acme.dnsChallenge.provider=cloudflare`,
          `--certificatesResolvers.${CERT_RESOLVER}.acme.dnsChallenge.resolvers=1.1.1.1:53,1.0.0.1:53`,
        ]
      : []),
    ...(settings.monitoring.enabled ? traefikMetricsArgs() : []),
  ];
}

/**
 * Prometheus metrics on an entry point of their own, not published on any node (no port in the
 * service's endpoint spec). An entry point listens on every interface of the container, the public
 * overlay included, where every tenant's Kestra web server sits: so the default internal router is
 * off (`manualRouting`) and the only route to `prometheus@internal` is the file provider's
 * `metrics` router, which admits net_monitoring_proxy's subnet only and then asks for basic auth
 * (traefikDynamicConfig). Router labels carry the tenant's
 * router; `traefik_tls_certs_not_after` feeds the certificate alert.
 */
export function traefikMetricsArgs(): string[] {
  return [
    `--entryPoints.${ENTRYPOINT_METRICS}.address=:${TRAEFIK_METRICS_PORT}`,
    "--metrics.prometheus=true",
    "--metrics.prometheus.manualRouting=true",
    "--metrics.prometheus.addRoutersLabels=true",
    "--metrics.prometheus.addServicesLabels=true",
  ];
}

/** The metrics router and its basic-auth middleware (file provider names). */
export const METRICS_ROUTER = "metrics";
export const METRICS_AUTH_MIDDLEWARE = "metrics-auth";
export const METRICS_ALLOWLIST_MIDDLEWARE = "metrics-allowlist";
/** The user Prometheus scrapes Traefik's metrics as. */
export const TRAEFIK_METRICS_USER = "prometheus";

/**
 * The htpasswd line of the metrics middleware's users file: `{SHA}` (base64 of the SHA-1 of the
 * password), a format Traefik's basicAuth accepts (abbot/go-http-auth CheckSecret) and, unlike
 * bcrypt or apr1 with a random salt, the same text for the same password: no new Swarm secret and
 * no Traefik restart on every `pulumi up`. Unsalted SHA-1 is adequate for a random 32-character
 * password; the file is a Swarm secret of Traefik alone anyway.
 */
export function traefikMetricsUsers(password: string): string {
  if (!password) throw new Error("traefikMetricsUsers: empty password");
  return `${TRAEFIK_METRICS_USER}:{SHA}${createHash("sha1").update(password, "utf8").digest("base64")}\n`;
}

/**
 * Middlewares: `cloudflare-only` admits only Cloudflare's edge (the TCP peer, not a header), or in a
 * lab stack without Cloudflare `lab-allowlist` admits its `edge.allowList` only; and
 * `storage-admin-allowlist` only the operators' and CI's addresses. With monitoring, the `metrics`
 * router serves `prometheus@internal` on the metrics entry point only, behind `metrics-allowlist`
 * (net_monitoring_proxy's subnet: Prometheus and Traefik only) and then `metrics-auth` (basic auth,
 * users from the secret file TRAEFIK_METRICS_USERS_FILE): no password in this file, a plain Swarm config.
 */
/** A file-provider middleware's name in the dynamic file (labels name it with `@file`). */
const fileName = (ref: string): string => ref.replace(/@file$/, "");

export function traefikDynamicConfig(settings: Settings): string {
  const edge = edgeOf(settings);
  const middlewares: Record<string, unknown> =
    edge.provider === "cloudflare"
      ? { [fileName(ORIGIN_LOCK_MIDDLEWARE)]: { ipAllowList: { sourceRange: [...edge.cloudflare.originRanges] } } }
      : { [fileName(LAB_ORIGIN_MIDDLEWARE)]: { ipAllowList: { sourceRange: [...edge.allowList] } } };
  if (settings.storage.provider === "minio" && settings.storage.minio) {
    middlewares["storage-admin-allowlist"] = { ipAllowList: { sourceRange: [...settings.storage.minio.adminAllowList] } };
  }
  const http: Record<string, unknown> = { middlewares };
  if (settings.monitoring.enabled) {
    // Traefik v3's ipAllowList (pkg/middlewares/ipallowlist; options sourceRange, ipStrategy): with no
    // `ipStrategy`, dynamic.IPStrategy.Get returns RemoteAddrStrategy, the TCP peer, never
    // X-Forwarded-For (depth, excludedIPs and cloudflareDepth would read that header); a refused peer
    // gets 403 before the next middleware. No proxy sits between Prometheus and Traefik: the peer is
    // the connecting task's address on the shared network.
    middlewares[METRICS_ALLOWLIST_MIDDLEWARE] = { ipAllowList: { sourceRange: [settings.monitoring.proxyMetricsSubnet] } };
    middlewares[METRICS_AUTH_MIDDLEWARE] = { basicAuth: { usersFile: TRAEFIK_METRICS_USERS_FILE, realm: "traefik-metrics" } };
    http.routers = {
      [METRICS_ROUTER]: {
        entryPoints: [ENTRYPOINT_METRICS],
        rule: "PathPrefix(`/metrics`)",
        service: "prometheus@internal",
        // The allow-list first: any peer off net_monitoring_proxy gets 403 before a password is checked.
        middlewares: [METRICS_ALLOWLIST_MIDDLEWARE, METRICS_AUTH_MIDDLEWARE],
      },
    };
  }
  return "# Rendered by kestra-fleet: do not edit.\n" + stringify({ http }, { lineWidth: 0 });
}
