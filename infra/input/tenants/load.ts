/**
 * Reads every tenant file of a folder and validates it. Every problem of every file is collected;
 * nothing is returned as valid unless all files are.
 *
 * Folder rules: `*.yaml` files are tenant files; `schema.json` is their JSON Schema; hidden files
 * (editor swap files, .gitkeep) are ignored; any other entry (`acme.yml`, `notes.txt`, a folder)
 * is refused, because a tenant file with the wrong extension would otherwise silently not deploy.
 */
import * as fs from "fs";
import * as path from "path";
import { isMap, isSeq } from "yaml";
import type { Diagnostic } from "../diagnostics";
import { dotted, issueCount, positionOf, PARSE_OPTIONS, readYamlFile, zodDiagnostics } from "../yaml-source";
import { escapeForbidden, textProblems } from "../safe-text";
import { z } from "zod";
import { kestraImage } from "../config/schema";
import { TenantSchema, tenantKeysAt, type Tenant } from "./schema";

/**
 * A tenant file is a few hundred bytes; even a thousand Access identities fit well within this.
 * Larger files are refused before they are read.
 */
export const TENANT_FILE_MAX_BYTES = 128 * 1024;

/** Problems listed per file at most; a file with more (thousands of junk keys) gets a count. */
export const MAX_PROBLEMS_PER_FILE = 50;

export interface LoadedTenant {
  tenant: Tenant;
  /** Path shown to operators, e.g. `tenants/acme.yaml`. */
  file: string;
  /** Position of a field in the file, for checks made later against the stack config. */
  locate: (fieldPath: (string | number)[]) => { line: number; col: number };
}

/**
 * What the checks across files (stack config nodes, credentials) need from a tenant file, read even
 * from a file with schema errors (each field only when it is itself well-formed), so that one run
 * reports every problem of every file.
 */
export interface TenantView {
  file: string;
  name?: string;
  environments?: string[];
  postgresNode?: string;
  postgresMode: "container" | "managed";
  /** `kestra.image`, when set and well-formed. */
  kestraImage?: string;
  gitAuth: "none" | "token" | "ssh";
  locate: (fieldPath: (string | number)[]) => { line: number; col: number };
}

export interface TenantLoadResult {
  tenants: LoadedTenant[];
  /** Every readable tenant file, valid or not. */
  views: TenantView[];
  errors: Diagnostic[];
  warnings: string[];
}

/**
 * @param dir folder to read
 * @param displayDir how the folder is named in messages (default: `tenants`)
 * @param stacks names of the stacks that exist (from Pulumi.<stack>.yaml files)
 */
export function loadTenants(dir: string, opts: { displayDir?: string; stacks: readonly string[] }): TenantLoadResult {
  const displayDir = opts.displayDir ?? "tenants";
  const errors: Diagnostic[] = [];
  const warnings: string[] = [];
  const tenants: LoadedTenant[] = [];
  const views: TenantView[] = [];

  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    return { tenants, views, errors: [{ file: displayDir, field: "", message: `cannot read the tenants folder: ${(e as Error).message}` }], warnings };
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  for (const entry of entries) {
    const shown = `${displayDir}/${entry.name}`;
    if (entry.name.startsWith(".")) {
      warnings.push(`${escapeForbidden(shown)}: hidden file ignored`);
      continue;
    }
    if (entry.name === "schema.json" && entry.isFile()) continue;
    if (!entry.isFile() || !entry.name.endsWith(".yaml")) {
      errors.push({
        file: shown,
        field: "",
        message: entry.isFile()
          ? "not a tenant file: tenant files end in .yaml (rename it) and the folder holds nothing else"
          : "unexpected folder: the tenants folder holds only <tenant>.yaml files and schema.json",
      });
      continue;
    }
    const result = loadTenantFile(path.join(dir, entry.name), shown, opts.stacks);
    errors.push(...result.errors);
    if (result.tenant) tenants.push(result.tenant);
    if (result.view) views.push(result.view);
  }

  const seen = new Map<string, string>();
  for (const t of tenants) {
    const other = seen.get(t.tenant.name);
    if (other) errors.push({ file: t.file, ...t.locate(["name"]), field: "name", message: `duplicates the tenant of ${other}` });
    else seen.set(t.tenant.name, t.file);
  }
  tenants.sort((a, b) => (a.tenant.name < b.tenant.name ? -1 : 1));
  return { tenants: errors.length ? [] : tenants, views, errors, warnings };
}

export function loadTenantFile(
  absPath: string,
  shown: string,
  stacks: readonly string[],
): { tenant?: LoadedTenant; view?: TenantView; errors: Diagnostic[] } {
  const read = readYamlFile(absPath, shown, { maxBytes: TENANT_FILE_MAX_BYTES, what: "a tenant file" });
  if (read.errors.length || !read.source || read.text === undefined) return { errors: read.errors };
  const { source, text } = read;
  const contents = source.doc.contents;
  if (contents === null || (text.replace(/#.*$/gm, "").trim() === "")) {
    return { errors: [{ file: shown, line: 1, col: 1, field: "", message: "file is empty: a tenant file is a mapping with at least name, access and kestra" }] };
  }
  if (!isMap(contents)) {
    const pos = positionOf(source, []);
    const found = isSeq(contents) ? "a list" : "a single value";
    return { errors: [{ file: shown, ...pos, field: "", message: `expected a mapping of tenant fields at the top level, found ${found}` }] };
  }
  let data: Record<string, unknown>;
  try {
    // Aliases were refused by the parser; the count is a second guard.
    data = source.doc.toJS({ maxAliasCount: 0 }) as Record<string, unknown>;
  } catch (e) {
    return { errors: [{ file: shown, line: 1, col: 1, field: "", message: `cannot read the YAML document: ${(e as Error).message}` }] };
  }
  const locate = (p: (string | number)[]) => positionOf(source, p);
  // Control characters anywhere (a newline in a URL, a tab in a schedule) are refused first, and
  // the schema's own message for the same field is then left out.
  const textErrors: Diagnostic[] = textProblems(data).map(({ path: p, message, key }) => ({
    file: shown,
    ...positionOf(source, p, { key }),
    field: dotted(p),
    message,
  }));
  const parsed = TenantSchema.safeParse(data, PARSE_OPTIONS);
  const out: Diagnostic[] = [];
  if (!parsed.success || textErrors.length) {
    const bad = new Set(textErrors.map((d) => d.field));
    const limit = MAX_PROBLEMS_PER_FILE;
    const schemaErrors = parsed.success ? [] : zodDiagnostics(source, parsed.error, { knownKeys: tenantKeysAt, limit }).filter((d) => !bad.has(d.field));
    const errors = [...textErrors, ...schemaErrors].slice(0, limit);
    const total = textErrors.length + (parsed.success ? 0 : issueCount(parsed.error));
    if (total > errors.length && errors.length >= limit) {
      errors.push({ file: shown, line: 1, col: 1, field: "", message: `more than ${limit} problems: the first ${limit} are listed, fix them and run again` });
    }
    out.push(...errors);
  }
  const valid = parsed.success && !textErrors.length;
  const view = valid ? viewOf(parsed.data, shown, locate) : rawView(data, shown, locate);

  // File name and stacks: checked on the fields that are well-formed, whatever else is wrong.
  const expected = path.basename(absPath, ".yaml");
  if (view.name !== undefined && view.name !== expected) {
    out.push({ file: shown, ...locate(["name"]), field: "name", message: `is "${view.name}" but the file is ${expected}.yaml: they must be equal` });
  }
  (view.environments ?? []).forEach((env, i) => {
    if (!stacks.includes(env)) {
      out.push({
        file: shown,
        ...locate(["environments", i]),
        field: `environments.${i}`,
        message: `names no stack: "${env}" is not one of ${stacks.join(", ")} (Pulumi.<stack>.yaml files)`,
      });
    }
  });
  const seenEnv = new Set<string>();
  (view.environments ?? []).forEach((env, i) => {
    if (seenEnv.has(env)) out.push({ file: shown, ...locate(["environments", i]), field: `environments.${i}`, message: "is listed twice" });
    seenEnv.add(env);
  });
  if (out.length || !valid) return { view, errors: out };
  return { tenant: { tenant: parsed.data, file: shown, locate }, view, errors: [] };
}

function viewOf(t: Tenant, file: string, locate: TenantView["locate"]): TenantView {
  return { file, name: t.name, environments: t.environments, postgresNode: t.postgres.node, postgresMode: t.postgres.mode, kestraImage: t.kestra.image, gitAuth: t.git?.auth ?? "none", locate };
}

/** The fields of a file with schema errors that are well-formed on their own. */
function rawView(data: Record<string, unknown>, file: string, locate: TenantView["locate"]): TenantView {
  const field = <T>(schema: { safeParse: (v: unknown) => { success: boolean; data?: T } }, v: unknown): T | undefined => {
    const r = schema.safeParse(v);
    return r.success ? r.data : undefined;
  };
  const obj = (v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const pg = obj(data.postgres);
  const git = data.git === undefined ? undefined : obj(data.git);
  const envs = Array.isArray(data.environments) && data.environments.every((e) => typeof e === "string" && /^[a-z][a-z0-9-]*$/.test(e)) ? (data.environments as string[]) : undefined;
  return {
    file,
    name: field(TenantSchema.shape.name, data.name),
    environments: envs,
    postgresNode: field(TenantSchema.shape.postgres.unwrap().shape.node, pg.node),
    postgresMode: field(TenantSchema.shape.postgres.unwrap().shape.mode, pg.mode) ?? "container",
    kestraImage: field(kestraImage(), obj(data.kestra).image),
    gitAuth: git ? (field(z.enum(["none", "token", "ssh"]), git.auth) ?? "none") : "none",
    locate,
  };
}

/** Stack names from the `Pulumi.<stack>.yaml` files next to Pulumi.yaml. */
export function stacksIn(projectRoot: string): string[] {
  return fs
    .readdirSync(projectRoot)
    .map((f) => /^Pulumi\.([a-z][a-z0-9-]*)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
}
