/**
 * Grafana's provisioning: the Prometheus datasource (one fixed uid every dashboard names), the
 * dashboard provider, the dashboards (JSON files under monitoring/dashboards/, reviewed like code),
 * its environment (no secret: the admin password is a file) and its router labels. Pure but for
 * reading the dashboard files, as the flow template is read.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { GRAFANA_PORT, MONITORING_NETWORK, PROMETHEUS_PORT, PROMETHEUS_SERVICE } from "../model/naming";
import { CLOUDFLARE_ROUTING, routerLabels, type EdgeRouting, type Labels } from "./labels";

export const GRAFANA_DATASOURCE_UID = "prometheus";
export const GRAFANA_DATA_DIR = "/var/lib/grafana";
export const GRAFANA_PROVISIONING_DIR = "/etc/grafana/provisioning";
export const GRAFANA_DASHBOARDS_DIR = "/etc/grafana/dashboards";
export const GRAFANA_ADMIN_PASSWORD_FILE = "/run/secrets/grafana_admin_password";
export const DASHBOARDS_SOURCE_DIR = path.join(__dirname, "..", "..", "monitoring", "dashboards");

export function grafanaDatasources(): string {
  return (
    "# Rendered by kestra-fleet: do not edit.\n" +
    stringify({
      apiVersion: 1,
      datasources: [
        { name: "Prometheus", type: "prometheus", uid: GRAFANA_DATASOURCE_UID, access: "proxy", url: `http://${PROMETHEUS_SERVICE}:${PROMETHEUS_PORT}`, isDefault: true, editable: false },
      ],
    })
  );
}

export function grafanaDashboardProvider(): string {
  return (
    "# Rendered by kestra-fleet: do not edit.\n" +
    stringify({
      apiVersion: 1,
      providers: [{ name: "kestra-fleet", type: "file", disableDeletion: true, allowUiUpdates: false, updateIntervalSeconds: 60, options: { path: GRAFANA_DASHBOARDS_DIR, foldersFromFilesStructure: false } }],
    })
  );
}

/** The repository's dashboards, file name → JSON text, sorted by name. */
export function readDashboards(dir: string = DASHBOARDS_SOURCE_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".json")).sort()) out[f] = fs.readFileSync(path.join(dir, f), "utf8");
  return out;
}

/** Grafana's environment: behaviour only; the admin password through `__FILE` (a Swarm secret). */
export function grafanaEnv(host: string): Record<string, string> {
  return {
    GF_SERVER_ROOT_URL: `https://${host}/`,
    GF_SECURITY_ADMIN_USER: "admin",
    GF_SECURITY_ADMIN_PASSWORD__FILE: GRAFANA_ADMIN_PASSWORD_FILE,
    GF_USERS_ALLOW_SIGN_UP: "false",
    GF_AUTH_ANONYMOUS_ENABLED: "false",
    GF_ANALYTICS_REPORTING_ENABLED: "false",
    GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
    GF_PATHS_PROVISIONING: GRAFANA_PROVISIONING_DIR,
  };
}

/**
 * Grafana's router: TLS on websecure, Cloudflare-only like a tenant (a lab stack: its allow-list), reached by Traefik on the
 * monitoring network (Grafana is on no other).
 */
export function grafanaLabels(host: string, routing: EdgeRouting = CLOUDFLARE_ROUTING): Labels {
  return { ...routerLabels("platform-grafana", host, GRAFANA_PORT, routing.originLock, routing.certResolver), "traefik.swarm.network": MONITORING_NETWORK };
}
