/**
 * Everything the program is built from, validated once: the stack config and the tenant files.
 * On any problem nothing is returned but the full list of diagnostics.
 */
import { formatDiagnostic, type Diagnostic } from "./diagnostics";
import { loadConfig, placeholder, setSecretCommand, type ConfigSource, type LoadedConfig, NAMESPACE } from "./config/load";
import { edgeOf, SECRET_KEYS, type GitCredential, type Secrets, type Settings } from "./config/schema";
import { findPlaceholders } from "./placeholders";
import { loadTenants, type LoadedTenant, type TenantView } from "./tenants/load";
import type { PlanWarning } from "./warnings";
import type { Tenant } from "./tenants/schema";
import { CLOUDFLARE_LIMITS, tenantHost } from "../model/naming";
import { sshKeyProblem } from "./git-key";
import { imageParts } from "../model/images";
import { includesProblem, nameLimitProblems } from "./name-limits";
import { accessIncludes } from "../render/access";

export { CLOUDFLARE_LIMITS } from "../model/naming";

export interface FleetInputs {
  stack: string;
  settings: Settings;
  /** Plain secret values: wrapped with pulumi.secret where the program first uses them. */
  secrets: Secrets;
  /** Tenants deployed to this stack, sorted by name. */
  tenants: Tenant[];
  /** Git credentials of the tenants that need them (placeholders offline). */
  gitCredentials: Record<string, GitCredential>;
  warnings: string[];
  /** Structured warnings: placeholder values and credentials the real run needs (offline). */
  notices: PlanWarning[];
}

/** Position of `kestra-fleet:gitCredentials.<tenant>.<key>` in the stack config. */
type SecretLocator = (tenant: string, key: string) => Pick<Diagnostic, "file" | "line" | "col" | "field">;

export type InputsResult = { ok: true; inputs: FleetInputs } | { ok: false; errors: Diagnostic[]; warnings: string[] };

export function loadInputs(args: {
  stack: string;
  stacks: readonly string[];
  config: ConfigSource;
  tenantsDir: string;
  tenantsDisplay?: string;
}): InputsResult {
  const cfg = loadConfig(args.config);
  const loaded = loadTenants(args.tenantsDir, { displayDir: args.tenantsDisplay, stacks: args.stacks });
  const errors: Diagnostic[] = [...cfg.errors, ...loaded.errors];
  const warnings = [...loaded.warnings];
  const notices: PlanWarning[] = [];
  if (!args.stacks.includes(args.stack)) {
    errors.push({ file: `Pulumi.${args.stack}.yaml`, field: "", message: `unknown stack "${args.stack}": stacks are ${args.stacks.join(", ")}` });
  }

  // Checks across files run on every readable tenant file against whatever part of the stack config
  // is usable, so one run reports schema errors and cross-file problems together.
  const deployedViews = loaded.views.filter((v) => !v.environments || v.environments.includes(args.stack));
  const stackView = cfg.config ? stackViewOf(cfg.config.settings, cfg.config.secrets) : rawStackView(args.config.values);
  const gitCredentials: Record<string, GitCredential> = {};
  const missingGit: { tenant: string; key: string; what: string }[] = [];
  const locateSecret: SecretLocator = (tenant, key) =>
    cfg.config ? cfg.config.locate("gitCredentials", [tenant, key]) : { file: args.config.file, field: `${NAMESPACE}:gitCredentials.${tenant}.${key}` };
  for (const v of deployedViews) errors.push(...crossCheck(v, stackView, args.config.offline, gitCredentials, missingGit, args.stack, locateSecret));

  // Limits of the services that receive the tenants' names and Access rules. A problem of the
  // stack config is the same for every tenant: reported once.
  if (cfg.config) {
    const { settings, locate } = cfg.config;
    // A lab stack never serves clients (README, Lab stacks): the production stack is never one.
    if (settings.lab && args.stack === "prod") {
      errors.push({ ...locate("lab"), message: "stack prod can never be a lab stack (a lab stack may leave Cloudflare out): remove the setting" });
    }
    const edge = edgeOf(settings);
    const reported = new Set<string>();
    for (const lt of loaded.tenants.filter((t) => !t.tenant.environments || t.tenant.environments.includes(args.stack))) {
      for (const p of nameLimitProblems(lt.tenant, settings, args.stack)) {
        const d = "tenantField" in p.at
          ? { file: lt.file, ...lt.locate([p.at.tenantField]), field: p.at.tenantField, message: p.message }
          : { ...locate(p.at.configKey, p.at.path), message: p.message };
        const key = `${d.file}|${d.field}|${d.message}`;
        if (!reported.has(key)) errors.push(d);
        reported.add(key);
      }
      const includes = edge.provider === "cloudflare" ? includesProblem(accessIncludes(lt.tenant, edge.cloudflare.admins).length) : undefined;
      if (includes) errors.push({ file: lt.file, ...lt.locate(["access"]), field: "access", message: includes });
    }
  }

  if (errors.length || !cfg.config) return { ok: false, errors, warnings };

  const { settings, secrets, locate } = cfg.config;
  const deployed = loaded.tenants.filter((t) => !t.tenant.environments || t.tenant.environments.includes(args.stack));
  for (const name of Object.keys(secrets.gitCredentials).sort()) {
    if (!deployed.some((t) => t.tenant.name === name)) {
      warnings.push(`${NAMESPACE}:gitCredentials.${name}: no tenant of stack ${args.stack} is named "${name}"; the credential is unused`);
    }
  }

  // Placeholder values: warnings, errors on prod unless the stack opts in.
  const found = placeholderFindings(args.config, locate, deployed);
  const strict = args.stack === "prod" && !settings.allowPlaceholderValues;
  for (const f of found) {
    if (strict) {
      errors.push({
        ...f.at,
        message: `is a placeholder (${f.reason}) on stack prod: put the real value, or deploy it knowingly with \`${NAMESPACE}:allowPlaceholderValues: true\` in Pulumi.prod.yaml`,
      });
    } else {
      notices.push({
        kind: "placeholder",
        stack: args.stack,
        tenant: f.tenant,
        file: f.at.file,
        line: f.at.line ?? null,
        col: f.at.col ?? null,
        field: f.at.field,
        message: `${formatDiagnostic({ ...f.at, message: `placeholder value (${f.reason}): replace it before stack ${args.stack} is deployed` })}`,
      });
    }
  }
  if (settings.allowPlaceholderValues && !found.length) {
    warnings.push(`${NAMESPACE}:allowPlaceholderValues is true but no placeholder value is left in stack ${args.stack}: remove it, so that a new one is caught`);
  }
  if (errors.length) return { ok: false, errors, warnings };

  // Credentials the real run will need that Pulumi.<stack>.yaml does not hold.
  const needs = [
    ...cfg.config.missingSecrets.map((key) => ({ tenant: null as string | null, key, what: SECRET_PURPOSE[key] ?? key })),
    ...missingGit,
  ];
  for (const n of needs) {
    const command = setSecretCommand(n.key, args.stack) + (n.key.endsWith(".sshKey") ? ` < kestra_deploy_key` : "");
    notices.push({
      kind: "credential",
      stack: args.stack,
      tenant: n.tenant,
      key: `${NAMESPACE}:${n.key}`,
      command,
      message: `pulumi up of stack ${args.stack} needs ${n.what} (${NAMESPACE}:${n.key}), not in Pulumi.${args.stack}.yaml: ${command}`,
    });
  }

  const tenants = deployed.map((t) => t.tenant);
  warnings.push(...edgeWarnings(settings, tenants));
  return { ok: true, inputs: { stack: args.stack, settings, secrets, tenants, gitCredentials, warnings, notices } };
}

const SECRET_PURPOSE: Record<string, string> = {
  cloudflareApiToken: "the Cloudflare API token of the Pulumi provider (DNS edit, Access apps and policies, service tokens)",
  acmeDnsApiToken: "the Cloudflare token of Traefik's ACME DNS challenge (Zone:Read, DNS:Edit)",
  managedPostgresPassword: "the password of managedPostgres.username",
  alertReceiverSecret: "Alertmanager's receiver secret (the webhook URL, or the SMTP password of monitoring.alerts.username)",
  backupEscrowPassphrase: "the passphrase that encrypts the key escrow of the backups",
  backupTargetUser: "the admin user of the backup target (backup.target.provider minio)",
  backupTargetPassword: "the admin password of the backup target (backup.target.provider minio)",
};

/**
 * A tenant's `kestra.image` is a canary of the stack's Kestra, nothing else: another release of the
 * repository of `images.kestra` (the 1.x tag is the schema's check). Any other image would receive the
 * tenant's database password, storage key and Git credentials. Repositories compare as written.
 */
export function kestraRepositoryProblem(tenantImage: string, stackImage: string, stack: string): string | undefined {
  const mine = imageParts(tenantImage)?.repo;
  const allowed = imageParts(stackImage)?.repo;
  if (!mine || !allowed || mine === allowed) return undefined;
  return `${tenantImage} is not from ${allowed}, the repository of ${NAMESPACE}:images.kestra of stack ${stack}: a tenant may run only another Kestra 1.x release of the stack's image (e.g. ${allowed}:v1.x.y)`;
}

/** What the cross checks need from the stack config. */
interface StackView {
  nodes?: string[];
  /** `images.kestra`: a tenant's `kestra.image` must come from its repository. */
  kestraImage?: string;
  managedPostgres?: boolean;
  gitCredentials: Record<string, Partial<Record<keyof GitCredential, unknown>>>;
}

function stackViewOf(settings: Settings, secrets: Secrets): StackView {
  return { nodes: Object.keys(settings.swarm.nodes), kestraImage: settings.images.kestra, managedPostgres: !!settings.managedPostgres, gitCredentials: secrets.gitCredentials };
}

/** The same, from raw values of an invalid stack config: each part only when it is readable. */
function rawStackView(values: Record<string, unknown>): StackView {
  const obj = (v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const nodes = obj(obj(values.swarm)?.nodes);
  const creds = obj(values.gitCredentials) ?? {};
  const kestra = obj(values.images)?.kestra;
  return {
    nodes: nodes ? Object.keys(nodes) : undefined,
    kestraImage: typeof kestra === "string" ? kestra : undefined,
    managedPostgres: "managedPostgres" in values ? !!obj(values.managedPostgres) : false,
    gitCredentials: Object.fromEntries(Object.entries(creds).map(([k, v]) => [k, obj(v) ?? {}])),
  };
}

function crossCheck(
  v: TenantView,
  cfg: StackView,
  offline: boolean,
  gitCredentials: Record<string, GitCredential>,
  missingGit: { tenant: string; key: string; what: string }[],
  stack: string,
  locateSecret: SecretLocator,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (p: (string | number)[]) => ({ file: v.file, ...v.locate(p), field: p.join(".") });
  if (v.postgresMode === "container") {
    if (v.postgresNode && cfg.nodes && !cfg.nodes.includes(v.postgresNode)) {
      out.push({ ...at(["postgres", "node"]), message: `node "${v.postgresNode}" is not in ${NAMESPACE}:swarm.nodes of stack ${stack}` });
    }
  } else if (!cfg.managedPostgres) {
    out.push({ ...at(["postgres", "mode"]), message: `managed needs ${NAMESPACE}:managedPostgres in the config of stack ${stack}` });
  }
  const repoProblem = v.kestraImage && cfg.kestraImage ? kestraRepositoryProblem(v.kestraImage, cfg.kestraImage, stack) : undefined;
  if (repoProblem) out.push({ ...at(["kestra", "image"]), message: repoProblem });
  if (v.name && v.gitAuth !== "none") {
    const cred = cfg.gitCredentials[v.name];
    const needed = v.gitAuth === "token" ? "token" : "sshKey";
    const key = `gitCredentials.${v.name}.${needed}`;
    const sshKey = needed === "sshKey" && typeof cred?.sshKey === "string" ? cred.sshKey : undefined;
    // Offline, a `secure:` value is a placeholder: there is no key to inspect.
    const keyProblem = sshKey && sshKey !== placeholder(key) ? sshKeyProblem(sshKey) : undefined;
    if (keyProblem) {
      out.push({
        ...locateSecret(v.name, "sshKey"),
        message: `${keyProblem}, add its public key to the repository as a read-only deploy key, then run \`pulumi config set --secret --path '${NAMESPACE}:gitCredentials.${v.name}.sshKey' --stack ${stack} < kestra_deploy_key\``,
      });
    } else if (typeof cred?.[needed] === "string" && cred[needed] !== "") {
      gitCredentials[v.name] = cred as GitCredential;
    } else if (offline) {
      gitCredentials[v.name] = needed === "token" ? { token: placeholder(key) } : { sshKey: placeholder(key) };
      missingGit.push({ tenant: v.name, key, what: needed === "token" ? `tenant ${v.name}'s git token` : `tenant ${v.name}'s git SSH private key (PEM)` });
    } else {
      out.push({
        ...at(["git", "auth"]),
        message: `is ${v.gitAuth} but stack ${stack} has no ${needed} for it: run \`${setSecretCommand(key)} …\``,
      });
    }
  }
  return out;
}

/** Placeholder values in the stack's plain settings and in the tenant files deployed to it. */
function placeholderFindings(
  source: ConfigSource,
  locate: LoadedConfig["locate"],
  deployed: LoadedTenant[],
): { tenant: string | null; reason: string; at: Pick<Diagnostic, "file" | "line" | "col" | "field"> }[] {
  const out: { tenant: string | null; reason: string; at: Pick<Diagnostic, "file" | "line" | "col" | "field"> }[] = [];
  for (const key of Object.keys(source.values).sort()) {
    if ((SECRET_KEYS as readonly string[]).includes(key)) continue;
    for (const f of findPlaceholders(source.values[key])) out.push({ tenant: null, reason: f.reason, at: locate(key, f.path) });
  }
  out.sort((a, b) => (a.at.line ?? 0) - (b.at.line ?? 0) || (a.at.col ?? 0) - (b.at.col ?? 0));
  for (const lt of deployed) {
    for (const f of findPlaceholders(lt.tenant)) out.push({ tenant: lt.tenant.name, reason: f.reason, at: { file: lt.file, ...lt.locate(f.path), field: f.path.join(".") } });
  }
  return out;
}

/** Plan-time warnings: certificate coverage and Cloudflare account limits (none without Cloudflare). */
export function edgeWarnings(settings: Settings, tenants: Tenant[]): string[] {
  const out: string[] = [];
  const edge = edgeOf(settings);
  if (edge.provider !== "cloudflare") return out;
  const zone = edge.cloudflare.zone;
  const sample = tenantHost(settings.hostPattern, "tenant");
  const depth = sample.slice(0, -(zone.length + 1)).split(".").length;
  if (depth > 1 && !settings.advancedCertificate) {
    out.push(
      `${NAMESPACE}:hostPattern ${settings.hostPattern} puts tenants ${depth} levels under ${zone}: Cloudflare's Universal SSL does not cover them. ` +
        `Order an Advanced Certificate for *.${sample.split(".").slice(1).join(".")} and set ${NAMESPACE}:advancedCertificate true, or use a flat pattern such as {tenant}-kestra.${zone}.`,
    );
  }
  // The monitoring stack adds Grafana's application and the external probe's service token.
  const monitoring = settings.monitoring.enabled ? 1 : 0;
  const apps = tenants.reduce((n, t) => n + 1 + (t.access.webhooks === "public" ? 1 : 0), 0) + monitoring;
  const tokens = tenants.filter((t) => t.access.serviceToken).length + monitoring;
  if (apps > CLOUDFLARE_LIMITS.accessApplications) {
    out.push(`Cloudflare Access: this stack needs ${apps} applications, over the account limit of ${CLOUDFLARE_LIMITS.accessApplications}`);
  }
  if (tokens > CLOUDFLARE_LIMITS.serviceTokens) {
    out.push(`Cloudflare Access: this stack needs ${tokens} service tokens, over the account limit of ${CLOUDFLARE_LIMITS.serviceTokens}`);
  }
  return out;
}
