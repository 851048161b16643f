import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { gitSecretNames, gitSyncEnv, gitSyncOf, readFlowTemplate, renderGitSyncFlow, type GitSync } from "../../../infra/render/flow";
import type { Settings } from "../../../infra/input/config/schema";
import { TenantSchema } from "../../../infra/input/tenants/schema";

// Property names of io.kestra.plugin.git.SyncFlows (plugin-git 2.0.x for Kestra 1.x).
const SYNC_FLOWS_PROPERTIES = new Set([
  "id", "type", "url", "branch", "targetNamespace", "gitDirectory", "includeChildNamespaces", "delete", "dryRun",
  "ignoreInvalidFlows", "failOnMissingDirectory", "username", "password", "privateKey", "passphrase",
  "connectTimeout", "readTimeout", "gitConfig", "cloneSubmodules",
]);

const template = readFlowTemplate();
const sync = (auth: GitSync["auth"]): GitSync => ({ url: "https://git.example.com/a/b.git", branch: "dev", directory: "_flows", targetNamespace: "dev", schedule: "0 * * * *", auth });

describe("git-sync flow", () => {
  it("the committed file is the ordinary flow admin.git / git_sync_flows, and says it is not a system flow", () => {
    const flow = parse(template);
    expect(flow.id).toBe("git_sync_flows");
    expect(flow.namespace).toBe("admin.git");
    expect(flow.description).toMatch(/ordinary flow in admin\.git \(not a system flow\)/);
  });

  it("recovers only the last missed sync after an outage, also when the file omits the setting", () => {
    const bare = template.replace(/^\s*recoverMissedSchedules:.*$/m, "");
    expect(bare).not.toContain("recoverMissedSchedules");
    for (const t of [template, bare]) expect(parse(renderGitSyncFlow(t, sync("none"))).triggers[0].recoverMissedSchedules).toBe("LAST");
  });

  for (const auth of ["none", "token", "ssh"] as const) {
    it(`renders one SyncFlows task with only SyncFlows properties (auth ${auth})`, () => {
      const flow = parse(renderGitSyncFlow(template, sync(auth)));
      expect(flow.tasks).toHaveLength(1);
      const task = flow.tasks[0];
      expect(task.type).toBe("io.kestra.plugin.git.SyncFlows");
      for (const key of Object.keys(task)) expect(SYNC_FLOWS_PROPERTIES.has(key), key).toBe(true);
      expect(task).toMatchObject({
        url: "{{ envs.git_sync_url }}",
        branch: "{{ envs.git_sync_branch }}",
        gitDirectory: "{{ envs.git_sync_directory }}",
        targetNamespace: "{{ envs.git_sync_target_namespace }}",
        includeChildNamespaces: true,
        ignoreInvalidFlows: true,
      });
      expect(flow.triggers).toEqual([{ id: "schedule", type: "io.kestra.plugin.core.trigger.Schedule", cron: "0 * * * *", recoverMissedSchedules: "LAST" }]);
    });
  }

  it("adds credentials of the tenant's auth type only, as Kestra secrets", () => {
    const none = parse(renderGitSyncFlow(template, sync("none"))).tasks[0];
    expect(none.username ?? none.password ?? none.privateKey).toBeUndefined();
    const token = parse(renderGitSyncFlow(template, sync("token"))).tasks[0];
    expect(token).toMatchObject({ username: "{{ secret('GIT_USERNAME') }}", password: "{{ secret('GIT_TOKEN') }}" });
    expect(token.privateKey).toBeUndefined();
    const ssh = parse(renderGitSyncFlow(template, sync("ssh"), true)).tasks[0];
    expect(ssh).toMatchObject({ privateKey: "{{ secret('GIT_SSH_KEY') }}", passphrase: "{{ secret('GIT_SSH_PASSPHRASE') }}" });
    expect(ssh.password).toBeUndefined();
    expect(gitSecretNames(sync("ssh"), false)).toEqual(["GIT_SSH_KEY"]);
    expect(gitSecretNames(sync("token"), false)).toEqual(["GIT_USERNAME", "GIT_TOKEN"]);
  });

  it("takes branch, namespace and schedule from the stack unless the tenant overrides them", () => {
    const settings = { gitSync: { branch: "dev", targetNamespace: "dev", schedule: "*/15 * * * *" } } as Settings;
    const t = TenantSchema.parse({ name: "acme", access: { emails: ["a@b.co"] }, kestra: { adminEmail: "a@b.co" }, git: { url: "https://g.example.com/a.git" } });
    expect(gitSyncOf(t, settings)).toEqual({ url: "https://g.example.com/a.git", branch: "dev", directory: "_flows", targetNamespace: "dev", schedule: "*/15 * * * *", auth: "none" });
    const o = TenantSchema.parse({ ...t, git: { url: "https://g.example.com/a.git", branch: "main", targetNamespace: "acme", schedule: "0 3 * * *" } });
    expect(gitSyncOf(o, settings)).toMatchObject({ branch: "main", targetNamespace: "acme", schedule: "0 3 * * *" });
    expect(gitSyncEnv(gitSyncOf(o, settings))).toEqual({
      ENV_GIT_SYNC_URL: "https://g.example.com/a.git",
      ENV_GIT_SYNC_BRANCH: "main",
      ENV_GIT_SYNC_DIRECTORY: "_flows",
      ENV_GIT_SYNC_TARGET_NAMESPACE: "acme",
    });
    const noGit = TenantSchema.parse({ name: "acme", access: { emails: ["a@b.co"] }, kestra: { adminEmail: "a@b.co" } });
    expect(gitSyncOf(noGit, settings)).toBeUndefined();
    expect(gitSyncEnv(undefined)).toEqual({});
  });
});
