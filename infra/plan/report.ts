/** Human-readable plan, and the per-tenant artifacts written by `--out`. */
import * as fs from "fs";
import * as path from "path";
import type { FleetInputs } from "../input/inputs";
import { tenantHost, tenantNames } from "../model/naming";
import { accessIncludes, webhookDestinations } from "../render/access";
import { gitSyncEnv, gitSyncOf, readFlowTemplate, renderGitSyncFlow } from "../render/flow";
import { renderKestraConfig, tenantKestraConfigInput } from "../render/kestra-config";
import { SCRAPE_USER } from "../render/monitoring";
import { edgeRouting, tenantWebLabels } from "../render/labels";
import { edgeOf } from "../input/config/schema";
import { storagePolicyDocument, tenantBucket, tenantStorageBlock } from "../render/storage";
import { formatCapacity } from "./capacity-report";
import { composeFor, swarmStacks } from "./compose";
import type { Plan, PlanResource } from "./run";

const TENANT_TYPE = "kestra-fleet:stacks:TenantStack";

/** The tenant a resource belongs to (through its parents), if any. */
export function tenantOf(plan: Plan): Map<string, string | undefined> {
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const out = new Map<string, string | undefined>();
  const find = (r: PlanResource | undefined): string | undefined => {
    for (let cur = r; cur; cur = cur.parent ? byUrn.get(cur.parent) : undefined) {
      if (cur.type === TENANT_TYPE) return cur.name.replace(/-tenant$/, "");
    }
    return undefined;
  };
  for (const r of plan.resources) out.set(r.urn, find(r));
  return out;
}

function externalName(r: PlanResource): string {
  const i = r.inputs as Record<string, unknown>;
  const n = i.name ?? i.bucket ?? i.domain;
  return typeof n === "string" ? n : "";
}

function line(r: PlanResource): string {
  const flags = [r.options.protect ? "protect" : "", r.options.retainOnDelete ? "retain" : "", ...r.options.ignoreChanges.map((k) => `ignore:${k}`)].filter(Boolean).join(",");
  const ext = externalName(r);
  return `  + ${r.type.padEnd(70)} ${r.name}${ext && ext !== r.name ? `  (${ext})` : ""}${flags ? `  [${flags}]` : ""}`;
}

export function formatPlan(plan: Plan): string {
  const owner = tenantOf(plan);
  // Grouped in one pass (resources keep the plan's order within a group).
  const byTenant = new Map<string | undefined, PlanResource[]>();
  for (const r of plan.resources) {
    const t = owner.get(r.urn);
    let group = byTenant.get(t);
    if (!group) byTenant.set(t, (group = []));
    group.push(r);
  }
  const lines: string[] = [`Plan for stack ${plan.stack}: ${plan.tenants.length} tenant(s)`, ""];
  for (const t of plan.tenants) {
    const rs = byTenant.get(t) ?? [];
    lines.push(`Tenant ${t} (${rs.length} resources)`, ...rs.map(line), "");
  }
  const global = byTenant.get(undefined) ?? [];
  lines.push(`Global (${global.length} resources)`, ...global.map(line), "");
  if (plan.capacity) lines.push(...formatCapacity(plan.capacity));
  if (plan.warnings.length) lines.push("Warnings:", ...plan.warnings.map((w) => `  ! ${w.message}`), "");
  if (plan.violations.length) {
    lines.push("Policy violations:", ...plan.violations.map((v) => `  ${v.level === "mandatory" ? "x" : "!"} [${v.level}] ${v.policy} ${v.urn}: ${v.message}`), "");
  }
  const mandatory = plan.violations.filter((v) => v.level === "mandatory").length;
  const custom = plan.resources.filter((r) => !r.type.startsWith("kestra-fleet:") && !r.type.startsWith("pulumi:providers:")).length;
  lines.push(
    `Summary: ${plan.resources.length} resources (${custom} custom) for ${plan.tenants.length} tenant(s); ` +
      `${plan.warnings.length} warning(s); ${mandatory} mandatory and ${plan.violations.length - mandatory} advisory policy violation(s).`,
  );
  return lines.join("\n") + "\n";
}

/**
 * Writes each tenant's rendered artifacts for review. Credentials are shown as [secret] unless
 * showSecrets (then the plan's mock values, never real ones: the plan has none).
 */
export function writeArtifacts(dir: string, plan: Plan, inputs: FleetInputs, showSecrets: boolean): string[] {
  const written: string[] = [];
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text.endsWith("\n") ? text : text + "\n");
    written.push(file);
  };
  const template = readFlowTemplate();
  const byName = new Map(plan.resources.map((r) => [r.name, r]));
  for (const tenant of inputs.tenants) {
    const n = tenantNames(tenant.name);
    const host = tenantHost(inputs.settings.hostPattern, tenant.name);
    const out = path.join(dir, tenant.name);
    const configRes = byName.get(`${n.logical}-kestra-config`);
    const data = configRes?.inputs.data;
    let config: string;
    if (showSecrets && typeof data === "string" && data !== "[secret]") {
      config = Buffer.from(data, "base64").toString("utf8");
    } else {
      const mask = "[secret]";
      const storage = tenantStorageBlock(inputs.settings, tenant.name, { accessKey: inputs.settings.storage.provider === "aws" ? mask : n.bucket, secretKey: mask });
      // With monitoring on, the management port needs the scrape credential (as in stacks/tenant.ts).
      const managementAuth = inputs.settings.monitoring.enabled ? { managementAuth: { username: SCRAPE_USER, password: mask } } : {};
      config = renderKestraConfig(tenantKestraConfigInput(tenant, inputs.settings, { dbPassword: mask, adminPassword: mask, encryptionKey: mask, storage, ...managementAuth }));
    }
    write(path.join(out, "application.yml"), config);
    write(path.join(out, "stack.yml"), composeFor(plan, n.stack));
    const sync = gitSyncOf(tenant, inputs.settings);
    if (sync) {
      const cred = inputs.gitCredentials[tenant.name];
      write(path.join(out, "flows", "admin", "git-sync-flows.yaml"), renderGitSyncFlow(template, sync, !!cred?.passphrase));
      write(path.join(out, "git-sync.env"), Object.entries(gitSyncEnv(sync)).map(([k, v]) => `${k}=${v}`).join("\n"));
    }
    write(path.join(out, "storage-policy.json"), JSON.stringify(storagePolicyDocument(tenantBucket(inputs.settings, tenant.name)), null, 2));
    write(path.join(out, "traefik-labels.json"), JSON.stringify(tenantWebLabels(n.router, host, edgeRouting(inputs.settings)), null, 2));
    // Access rules exist only behind Cloudflare (a lab stack without it has none).
    const edge = edgeOf(inputs.settings);
    if (edge.provider === "cloudflare") {
      write(
        path.join(out, "access.json"),
        JSON.stringify(
          {
            host,
            allow: accessIncludes(tenant, edge.cloudflare.admins),
            serviceToken: tenant.access.serviceToken,
            webhookBypass: tenant.access.webhooks === "public" ? webhookDestinations(host) : [],
          },
          null,
          2,
        ),
      );
    }
  }
  for (const stack of swarmStacks(plan).filter((s) => !s.startsWith("kestra_"))) write(path.join(dir, `${stack}.yml`), composeFor(plan, stack));
  return written;
}
