/**
 * The git-sync flow of a tenant (an ordinary flow in `admin.git`, not a Kestra system flow), rendered
 * from flows/admin/git-sync-flows.yaml: the same
 * file for every tenant and stack, with the tenant's auth type's credential properties (read from
 * Kestra secrets) and its schedule. What differs per stack (repository, branch, folder, namespace)
 * reaches the flow as ENV_GIT_SYNC_* variables, never as a copy of the file.
 */
import * as fs from "fs";
import * as path from "path";
import { isMap, isSeq, parseDocument } from "yaml";
import type { Settings } from "../input/config/schema";
import type { Tenant } from "../input/tenants/schema";

export const FLOW_FILE = path.join(__dirname, "..", "..", "flows", "admin", "git-sync-flows.yaml");

/** Where the flow is mounted in the backend (and where --flow-path points). */
export const FLOW_DIR = "/app/flows";
export const FLOW_MOUNT = `${FLOW_DIR}/admin/git-sync-flows.yaml`;

/** Kestra secret names by auth type; each is a file `kestra_secret_<NAME>` in the container. */
export const GIT_SECRET_NAMES = {
  none: [] as string[],
  token: ["GIT_USERNAME", "GIT_TOKEN"],
  ssh: ["GIT_SSH_KEY", "GIT_SSH_PASSPHRASE"],
} as const;

/** The Schedule trigger's policy for runs missed during an outage (Kestra: ALL, LAST or NONE). */
export const RECOVER_MISSED_SCHEDULES = "LAST";

export function readFlowTemplate(file: string = FLOW_FILE): string {
  return fs.readFileSync(file, "utf8");
}

export interface GitSync {
  url: string;
  branch: string;
  directory: string;
  targetNamespace: string;
  schedule: string;
  auth: "none" | "token" | "ssh";
}

/** The effective sync settings: the tenant's values over the stack's defaults. */
export function gitSyncOf(tenant: Tenant, settings: Settings): GitSync | undefined {
  if (!tenant.git) return undefined;
  return {
    url: tenant.git.url,
    branch: tenant.git.branch ?? settings.gitSync.branch,
    directory: tenant.git.directory,
    targetNamespace: tenant.git.targetNamespace ?? settings.gitSync.targetNamespace,
    schedule: tenant.git.schedule ?? settings.gitSync.schedule,
    auth: tenant.git.auth,
  };
}

/** ENV_GIT_SYNC_* variables (seen by flows as {{ envs.git_sync_* }}): no secrets among them. */
export function gitSyncEnv(sync: GitSync | undefined): Record<string, string> {
  if (!sync) return {};
  return {
    ENV_GIT_SYNC_URL: sync.url,
    ENV_GIT_SYNC_BRANCH: sync.branch,
    ENV_GIT_SYNC_DIRECTORY: sync.directory,
    ENV_GIT_SYNC_TARGET_NAMESPACE: sync.targetNamespace,
  };
}

/** The Kestra secret names a tenant's sync needs, in a fixed order. */
export function gitSecretNames(sync: GitSync | undefined, hasPassphrase: boolean): string[] {
  if (!sync) return [];
  if (sync.auth === "ssh") return hasPassphrase ? ["GIT_SSH_KEY", "GIT_SSH_PASSPHRASE"] : ["GIT_SSH_KEY"];
  return [...GIT_SECRET_NAMES[sync.auth]];
}

export function renderGitSyncFlow(template: string, sync: GitSync, hasPassphrase = false): string {
  const doc = parseDocument(template);
  const tasks = doc.get("tasks");
  const triggers = doc.get("triggers");
  if (!isSeq(tasks) || !isSeq(triggers)) throw new Error("flows/admin/git-sync-flows.yaml: tasks and triggers must be lists");
  const task = tasks.items.find((t) => isMap(t) && t.get("type") === "io.kestra.plugin.git.SyncFlows");
  const trigger = triggers.items.find((t) => isMap(t) && t.get("type") === "io.kestra.plugin.core.trigger.Schedule");
  if (!isMap(task) || !isMap(trigger)) throw new Error("flows/admin/git-sync-flows.yaml: needs a SyncFlows task and a Schedule trigger");
  for (const key of ["username", "password", "privateKey", "passphrase"]) task.delete(key);
  if (sync.auth === "token") {
    task.set("username", "{{ secret('GIT_USERNAME') }}");
    task.set("password", "{{ secret('GIT_TOKEN') }}");
  } else if (sync.auth === "ssh") {
    task.set("privateKey", "{{ secret('GIT_SSH_KEY') }}");
    if (hasPassphrase) task.set("passphrase", "{{ secret('GIT_SSH_PASSPHRASE') }}");
  }
  trigger.set("cron", sync.schedule);
  // Enforced here, not only in the file: after an outage one sync catches up (every sync converges to
  // the same state); Kestra's default would depend on the server's configuration.
  trigger.set("recoverMissedSchedules", RECOVER_MISSED_SCHEDULES);
  return doc.toString({ lineWidth: 0 });
}
