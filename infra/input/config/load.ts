/**
 * Reads the `kestra-fleet:` stack config from one of two sources, the same way:
 * - the Pulumi runtime (a real `pulumi up`/`preview`): values from the engine, secrets decrypted;
 * - a `Pulumi.<stack>.yaml` file (the offline plan): `secure:` values and absent secrets become
 *   placeholders, since no credentials exist offline.
 * Positions come from the stack file when it is there, so errors read `Pulumi.staging.yaml:12:5`.
 */
import * as fs from "fs";
import * as path from "path";
import { isMap } from "yaml";
import type { Diagnostic } from "../diagnostics";
import { positionOf, PARSE_OPTIONS, readYamlFile, type PathSegment, type YamlSource } from "../yaml-source";
import { textProblems } from "../safe-text";
import { CLOUDFLARE_SECRET_KEYS, needsAlertSecret, SECRET_KEYS, SecretsSchema, SettingsSchema, SETTINGS_KEYS, type Secrets, type Settings } from "./schema";
import { closest } from "../diagnostics";
import { schemaKeysAt } from "../schema-keys";

export const NAMESPACE = "kestra-fleet";

/**
 * Bound on a stack config file, checked before reading it: room for a few hundred tenants' encrypted
 * git credentials (an RSA key's ciphertext is about 5 KB).
 */
export const STACK_CONFIG_MAX_BYTES = 4 * 1024 * 1024;

export interface ConfigSource {
  /** Shown in messages: `Pulumi.staging.yaml`, or `stack config` when there is no file. */
  file: string;
  /** Short keys (without namespace) → values, objects already parsed. */
  values: Record<string, unknown>;
  /** Short keys holding secrets (wholly or at some path). */
  secretKeys: Set<string>;
  yaml?: YamlSource;
  /** Offline: absent secrets are replaced by placeholders instead of being errors. */
  offline: boolean;
  /** Problems found while reading the source itself. */
  errors: Diagnostic[];
}

/** The command that stores a credential at a config path, encrypted (never in plain text). */
export function setSecretCommand(keyPath: string, stack?: string): string {
  return `pulumi config set --secret --path '${NAMESPACE}:${keyPath}'${stack ? ` --stack ${stack}` : ""}`;
}

export function placeholder(key: string): string {
  return `offline-placeholder-for-${key}`;
}

/** Reads `Pulumi.<stack>.yaml` for the offline plan. */
export function configFromStackFile(projectRoot: string, stack: string): ConfigSource {
  const file = `Pulumi.${stack}.yaml`;
  const abs = path.join(projectRoot, file);
  const source: ConfigSource = { file, values: {}, secretKeys: new Set(), offline: true, errors: [] };
  if (!fs.existsSync(abs)) {
    source.errors.push({ file, field: "", message: `no stack config file: create ${file} (see README, Stack config)` });
    return source;
  }
  const { source: yaml, errors } = readYamlFile(abs, file, { maxBytes: STACK_CONFIG_MAX_BYTES, what: "a stack config file" });
  source.yaml = yaml;
  if (errors.length || !yaml) {
    // Fields as operators name them: `kestra-fleet:proxy.logLevel`, not `config.kestra-fleet:…`.
    source.errors.push(...errors.map((d) => (d.field.startsWith("config.") ? { ...d, field: d.field.slice("config.".length) } : d)));
    return source;
  }
  let doc: { config?: Record<string, unknown> } | null;
  try {
    doc = yaml.doc.toJS({ maxAliasCount: 0 }) as { config?: Record<string, unknown> } | null;
  } catch (e) {
    source.errors.push({ file, line: 1, col: 1, field: "", message: `cannot read the YAML document: ${(e as Error).message}` });
    return source;
  }
  const config = doc?.config ?? {};
  for (const [fullKey, value] of Object.entries(config)) {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    const key = fullKey.slice(NAMESPACE.length + 1);
    const { value: replaced, hadSecret } = replaceSecure(value, key);
    source.values[key] = replaced;
    if (hadSecret) source.secretKeys.add(key);
  }
  return source;
}

function replaceSecure(value: unknown, key: string): { value: unknown; hadSecret: boolean } {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (Object.keys(obj).length === 1 && typeof obj.secure === "string") return { value: placeholder(key), hadSecret: true };
    let hadSecret = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const r = replaceSecure(v, `${key}.${k}`);
      out[k] = r.value;
      hadSecret ||= r.hadSecret;
    }
    return { value: out, hadSecret };
  }
  if (Array.isArray(value)) {
    let hadSecret = false;
    const out = value.map((v, i) => {
      const r = replaceSecure(v, `${key}.${i}`);
      hadSecret ||= r.hadSecret;
      return r.value;
    });
    return { value: out, hadSecret };
  }
  return { value, hadSecret: false };
}

/**
 * Builds a source from the Pulumi runtime's config map (`pulumi.runtime.allConfig()`) and its list
 * of secret keys. Objects arrive as JSON text, scalars as text.
 */
export function configFromRuntime(
  all: Record<string, string>,
  secretFullKeys: readonly string[],
  positions?: { projectRoot: string; stack: string },
): ConfigSource {
  const file = positions ? `Pulumi.${positions.stack}.yaml` : "stack config";
  const source: ConfigSource = { file, values: {}, secretKeys: new Set(), offline: false, errors: [] };
  for (const [fullKey, raw] of Object.entries(all)) {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    const key = fullKey.slice(NAMESPACE.length + 1);
    const isSecretString = secretFullKeys.includes(fullKey) && key !== "gitCredentials";
    source.values[key] = isSecretString ? raw : parseScalar(raw);
    if (secretFullKeys.includes(fullKey)) source.secretKeys.add(key);
  }
  if (positions) {
    const abs = path.join(positions.projectRoot, file);
    if (fs.existsSync(abs)) {
      const { source: yaml, errors } = readYamlFile(abs, file, { maxBytes: STACK_CONFIG_MAX_BYTES, what: "a stack config file" });
      if (!errors.length) source.yaml = yaml;
    }
  }
  return source;
}

function parseScalar(raw: string): unknown {
  const t = raw.trim();
  if (t.startsWith("{") || t.startsWith("[") || t === "true" || t === "false" || /^-?[0-9]+(\.[0-9]+)?$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return raw;
    }
  }
  return raw;
}

export interface LoadedConfig {
  settings: Settings;
  secrets: Secrets;
  /** Position of a config field, for messages about it made later. */
  locate: (key: string, p?: PathSegment[]) => Pick<Diagnostic, "file" | "line" | "col" | "field">;
  /** Offline: secret keys the real run needs that the stack file does not hold (top-level keys). */
  missingSecrets: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** Validates a source; every problem is reported at once, values are never echoed. */
export function loadConfig(source: ConfigSource): { config?: LoadedConfig; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [...source.errors];
  if (errors.length) return { errors };
  const locate = (key: string, p: PathSegment[] = [], atKey = false): Pick<Diagnostic, "file" | "line" | "col" | "field"> => {
    const field = `${NAMESPACE}:${key}${p.length ? "." + p.join(".") : ""}`;
    if (!source.yaml || !isMap(source.yaml.doc.contents)) return { file: source.file, field };
    const base: PathSegment[] = ["config", `${NAMESPACE}:${key}`, ...p];
    return { file: source.file, ...positionOf(source.yaml, base, { key: atKey }), field };
  };

  const plain: Record<string, unknown> = {};
  const secretValues: Record<string, unknown> = {};
  const secretKeyNames = SECRET_KEYS as readonly string[];
  for (const [key, value] of Object.entries(source.values)) {
    if (secretKeyNames.includes(key)) {
      secretValues[key] = value;
      continue;
    }
    const head = key.split(".")[0];
    if (key.includes(".") && secretKeyNames.includes(head)) {
      // `pulumi config set --secret 'ns:gitCredentials.acme.token'` without --path: a literal key.
      errors.push({
        ...locate(key, [], true),
        message:
          `is a credential stored under a literal key with dots (set without --path), which the program never reads: ` +
          `move it, keeping it secret: \`pulumi config rm '${NAMESPACE}:${key}'\` then \`pulumi config set --secret --path '${NAMESPACE}:${key}' …\`` +
          (source.secretKeys.has(key) ? "" : ". It was stored in plain text: rotate it first"),
      });
      continue;
    }
    if (!SETTINGS_KEYS.includes(key)) {
      const hint = closest(key, [...SETTINGS_KEYS, ...SECRET_KEYS]);
      const move = hint && secretKeyNames.includes(hint)
        ? `; move it, keeping it secret: \`pulumi config rm '${NAMESPACE}:${key}'\` then \`pulumi config set --secret --path '${NAMESPACE}:${hint}' …\`` +
          (source.secretKeys.has(key) ? "" : " (it was stored in plain text: rotate it first)")
        : "";
      errors.push({ ...locate(key, [], true), message: `unknown config key${hint ? ` (did you mean "${NAMESPACE}:${hint}"?)` : ""}${move}` });
      continue;
    }
    if (source.secretKeys.has(key)) {
      // A plain setting (host pattern, images, …) stored encrypted: not a credential.
      errors.push({ ...locate(key), message: "is stored as a secret but is not a secret setting: set it with `pulumi config set` (without --secret)" });
      continue;
    }
    plain[key] = value;
  }
  for (const key of SECRET_KEYS) {
    if (!(key in secretValues) || source.secretKeys.has(key)) continue;
    errors.push({ ...locate(key), message: `is a credential in plain text: remove it (\`pulumi config rm '${NAMESPACE}:${key}'\`), rotate it, and set it with \`pulumi config set --secret --path '${NAMESPACE}:${key}' …\`` });
    delete secretValues[key];
  }
  // Offline, each secure leaf became its placeholder: any other credential leaf was written in plain text.
  if (source.offline && isRecord(secretValues.gitCredentials)) {
    for (const [tenant, cred] of Object.entries(secretValues.gitCredentials)) {
      if (!isRecord(cred)) continue;
      for (const [field, v] of Object.entries(cred)) {
        const p = `gitCredentials.${tenant}.${field}`;
        if (field === "username" || typeof v !== "string" || v === placeholder(p)) continue;
        errors.push({ ...locate("gitCredentials", [tenant, field]), message: `is a credential in plain text: remove it (\`pulumi config rm --path '${NAMESPACE}:${p}'\`), rotate it, and set it with \`pulumi config set --secret --path '${NAMESPACE}:${p}' …\`` });
      }
    }
  }

  // Plain settings are single-line text: a control character is refused before the schema looks,
  // and the schema's message for the same field is left out. (Secrets are exempt: keys hold newlines.)
  const textBad = new Set<string>();
  for (const { path: p, message, key: atKey } of textProblems(plain)) {
    const [key, ...rest] = p;
    const d = { ...locate(String(key), rest, atKey), message };
    textBad.add(d.field);
    errors.push(d);
  }
  const parsed = SettingsSchema.safeParse(plain, PARSE_OPTIONS);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [key, ...rest] = issue.path.filter((s): s is PathSegment => typeof s !== "symbol");
      if (key !== undefined && textBad.has(locate(String(key), rest).field)) continue;
      if (key === undefined) {
        errors.push({ file: source.file, field: `${NAMESPACE}:`, message: issue.message });
        continue;
      }
      if (issue.code === "unrecognized_keys") {
        const known = schemaKeysAt(SettingsSchema, [key, ...rest]);
        for (const k of issue.keys) {
          const hint = closest(k, known);
          errors.push({ ...locate(String(key), [...rest, k], true), message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}` });
        }
        continue;
      }
      errors.push({ ...locate(String(key), rest), message: issue.message });
    }
  }

  const secretInput: Record<string, unknown> = { ...secretValues };
  // Cloudflare's tokens are needed behind Cloudflare only (a lab stack may leave it out: edge.provider none).
  const cloudflare = parsed.success ? parsed.data.edge.provider === "cloudflare" : !(isRecord(plain.edge) && plain.edge.provider === "none");
  // Credentials the real run needs that the stack file does not hold (reported by the offline plan).
  const missing: string[] = [];
  if (source.offline) {
    if (cloudflare) for (const key of CLOUDFLARE_SECRET_KEYS) if (!(key in secretInput)) missing.push(key);
    if (parsed.success && parsed.data.managedPostgres && !("managedPostgresPassword" in secretInput)) missing.push("managedPostgresPassword");
    if (parsed.success && needsAlertSecret(parsed.data) && !("alertReceiverSecret" in secretInput)) missing.push("alertReceiverSecret");
    if (!("backupEscrowPassphrase" in secretInput)) missing.push("backupEscrowPassphrase");
    if (parsed.success && parsed.data.backup.target.provider === "minio") {
      for (const key of ["backupTargetUser", "backupTargetPassword"] as const) if (!(key in secretInput)) missing.push(key);
    }
    if (cloudflare) for (const key of CLOUDFLARE_SECRET_KEYS) secretInput[key] ??= placeholder(key);
    if (parsed.success && parsed.data.managedPostgres) secretInput.managedPostgresPassword ??= placeholder("managedPostgresPassword");
    if (parsed.success && needsAlertSecret(parsed.data)) secretInput.alertReceiverSecret ??= placeholder("alertReceiverSecret");
    secretInput.backupEscrowPassphrase ??= placeholder("backupEscrowPassphrase");
    if (parsed.success && parsed.data.backup.target.provider === "minio") {
      secretInput.backupTargetUser ??= placeholder("backupTargetUser");
      secretInput.backupTargetPassword ??= placeholder("backupTargetPassword");
    }
  }
  const secrets = SecretsSchema.safeParse(secretInput, PARSE_OPTIONS);
  if (cloudflare) {
    for (const key of CLOUDFLARE_SECRET_KEYS) {
      if (secretInput[key] === undefined) errors.push({ ...locate(key), message: `is required: set it with \`${setSecretCommand(key)} …\`` });
    }
  }
  if (!secrets.success) {
    for (const issue of secrets.error.issues) {
      const [key, ...rest] = issue.path.filter((s): s is PathSegment => typeof s !== "symbol");
      if (issue.code === "unrecognized_keys") {
        const known = schemaKeysAt(SecretsSchema, [key, ...rest]);
        for (const k of issue.keys) {
          const hint = closest(k, known);
          errors.push({ ...locate(String(key), [...rest, k], true), message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}` });
        }
        continue;
      }
      const msg = issue.message === "is required" ? `is required: set it with \`${setSecretCommand(String(key))} …\`` : issue.message;
      errors.push({ ...locate(String(key ?? ""), rest), message: msg });
    }
  }
  if (parsed.success && parsed.data.managedPostgres && secrets.success && !secrets.data.managedPostgresPassword) {
    errors.push({ ...locate("managedPostgresPassword"), message: `is required with managedPostgres: set it with \`${setSecretCommand("managedPostgresPassword")} …\`` });
  }
  if (parsed.success && needsAlertSecret(parsed.data) && secrets.success && !secrets.data.alertReceiverSecret) {
    const what = parsed.data.monitoring.alerts?.receiver === "webhook" ? "the webhook URL" : "the SMTP password";
    errors.push({ ...locate("alertReceiverSecret"), message: `is required by monitoring.alerts (${what}): set it with \`${setSecretCommand("alertReceiverSecret")} …\`` });
  }
  if (parsed.success && parsed.data.backup.target.provider === "minio" && secrets.success) {
    for (const key of ["backupTargetUser", "backupTargetPassword"] as const) {
      if (!secrets.data[key]) errors.push({ ...locate(key), message: `is required with backup.target.provider minio: set it with \`pulumi config set --secret ${NAMESPACE}:${key} …\`` });
    }
  }
  if (errors.length || !parsed.success || !secrets.success || textBad.size) return { errors };
  return { config: { settings: parsed.data, secrets: secrets.data, locate, missingSecrets: missing }, errors: [] };
}
