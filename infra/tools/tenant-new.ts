/**
 * `npm run tenant:new -- <name> --admin-email <email> [--email …] [--email-domain …] [--group …]
 *   [--git-url … [--git-auth none|token|ssh]] [--environments staging,prod] [--display-name …]
 *   [--tenants DIR]`
 *
 * Writes `tenants/<name>.yaml` (schema modeline, comments) and prints the next steps. The name and
 * the generated file are validated by the loader itself (TenantSchema, loadTenantFile): nothing is
 * written unless the file would load. An existing file is never overwritten.
 *
 * Exit codes: 0 written; 1 refused (invalid value, name taken); 2 bad command line.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { stringify } from "yaml";
import { formatDiagnostic, type Diagnostic } from "../input/diagnostics";
import { configFromStackFile } from "../input/config/load";
import { loadInputs } from "../input/inputs";
import type { PlanWarning } from "../input/warnings";
import { loadTenantFile, stacksIn } from "../input/tenants/load";
import { isSshGitUrl, TenantSchema } from "../input/tenants/schema";

export const USAGE =
  "usage: npm run tenant:new -- <name> --admin-email <email> [--email <email>]… [--email-domain <domain>]… [--group <uuid>]… " +
  "[--git-url <url> [--git-auth none|token|ssh]] [--environments staging,prod] [--display-name <text>] [--tenants DIR]";

export interface NewTenantOptions {
  name: string;
  adminEmail: string;
  displayName?: string;
  emails: string[];
  emailDomains: string[];
  groups: string[];
  gitUrl?: string;
  gitAuth?: string;
  environments?: string[];
}

/** One YAML scalar, quoted when YAML needs it (never lets a value break out of its line). */
function scalar(v: string): string {
  const s = stringify(v, { lineWidth: 0 }).trimEnd();
  // A multi-line value would become a block scalar: a JSON string is a valid one-line YAML scalar.
  return s.includes("\n") ? JSON.stringify(v) : s;
}

function list(vs: string[]): string {
  return `[${vs.map(scalar).join(", ")}]`;
}

/** The access lists: the admin e-mail is admitted when no list is given (the schema needs one). */
export function accessOf(o: NewTenantOptions): { emails: string[]; emailDomains: string[]; groups: string[] } {
  const emails = o.emails.length || o.emailDomains.length || o.groups.length ? o.emails : [o.adminEmail];
  return { emails, emailDomains: o.emailDomains, groups: o.groups };
}

/** The git auth: as given, else ssh for an ssh URL and none for https. */
export function gitAuthOf(o: NewTenantOptions): string | undefined {
  if (!o.gitUrl) return undefined;
  return o.gitAuth ?? (isSshGitUrl(o.gitUrl) ? "ssh" : "none");
}

export function renderTenantFile(o: NewTenantOptions): string {
  const a = accessOf(o);
  const lines = [
    "# yaml-language-server: $schema=./schema.json",
    `# Tenant ${o.name}: one isolated Kestra. Reference: README, "Tenant file reference"; runbooks: docs/operations.md.`,
    `name: ${scalar(o.name)}                 # equals the file name; never rename a deployed tenant (its data is named after it)`,
  ];
  if (o.displayName) lines.push(`displayName: ${scalar(o.displayName)}`);
  if (o.environments) lines.push(`environments: ${list(o.environments)}   # stacks this tenant is deployed to`);
  else lines.push("# environments: [staging, prod]   # default: every stack");
  lines.push(
    "access:                    # who passes Cloudflare Access (plus the platform admins)",
    `  emails: ${list(a.emails)}`,
    `  emailDomains: ${list(a.emailDomains)}`,
    `  groups: ${list(a.groups)}               # Cloudflare Access group ids (UUIDs)`,
    "  webhooks: private        # public: only Kestra's webhook paths bypass Access",
    "  serviceToken: false      # true: a service token for the client's automation",
    "kestra:",
    `  adminEmail: ${scalar(o.adminEmail)}   # Kestra's admin user; the password is generated (pulumi stack output tenants --show-secrets)`,
    "  size: small              # small | medium | large (README, profiles)",
    "  workers: 0               # extra dedicated worker replicas, 0-20",
  );
  const auth = gitAuthOf(o);
  if (o.gitUrl) {
    lines.push(
      "git:                       # flows synced from the client's repository",
      `  url: ${scalar(o.gitUrl)}`,
      `  auth: ${scalar(auth!)}${auth === "none" ? "               # a public repository" : "               # the credential is a stack secret, never in this file"}`,
      "  directory: _flows        # folder of flow files in the repository",
      "  # branch, targetNamespace, schedule: default from the stack (gitSync.*)",
    );
  } else {
    lines.push("# git:                     # flows from the client's repository: url, auth (none|token|ssh)");
  }
  lines.push(
    "postgres:",
    "  mode: container          # container: a Postgres service on the Swarm; managed: the stack's managed server",
    "  # node: swarm-node-1     # the node holding the database volume; default swarm.dataNode (never change it casually: docs/operations.md)",
  );
  return lines.join("\n") + "\n";
}

const FIELD_TO_OPTION: [RegExp, string][] = [
  [/^name$/, "<name>"],
  [/^displayName$/, "--display-name"],
  [/^environments(\.|$)/, "--environments"],
  [/^access\.emails(\.|$)/, "--email"],
  [/^access\.emailDomains(\.|$)/, "--email-domain"],
  [/^access\.groups(\.|$)/, "--group"],
  [/^access$/, "--email/--email-domain/--group"],
  [/^kestra\.adminEmail$/, "--admin-email"],
  [/^git\.url$/, "--git-url"],
  [/^git\.auth$/, "--git-auth"],
];

function optionOf(field: string): string {
  return FIELD_TO_OPTION.find(([re]) => re.test(field))?.[1] ?? field;
}

/** Loader errors of the generated file, named by the command-line option that caused them. */
function asOptionErrors(ds: Diagnostic[], o: NewTenantOptions): string[] {
  return ds.map((d) => {
    const opt = optionOf(d.field);
    const i = /\.(\d+)$/.exec(d.field)?.[1];
    const value =
      opt === "--email" && i !== undefined ? ` ${accessOf(o).emails[Number(i)]}` :
      opt === "--email-domain" && i !== undefined ? ` ${o.emailDomains[Number(i)]}` :
      opt === "--group" && i !== undefined ? ` ${o.groups[Number(i)]}` :
      opt === "--environments" && i !== undefined ? ` ${o.environments?.[Number(i)]}` : "";
    return opt === d.field ? formatDiagnostic(d) : `${opt}${value}: ${d.message}`;
  });
}

export interface RunIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Repository root: tenants/ and the Pulumi.<stack>.yaml files. */
  root: string;
}

/**
 * The plan's credentials report (infra/input/inputs.ts, `kind: "credential"`) for the new tenant, per stack
 * it deploys to: the same loader and the same commands `npm run plan` prints, restricted to this
 * tenant. A stack whose inputs do not load gives its first problem instead (the plan shows them all).
 */
export type CredentialReport = { stack: string; credentials: Extract<PlanWarning, { kind: "credential" }>[] } | { stack: string; problem: string };

export function tenantCredentials(name: string, projectRoot: string, tenantsDir: string, stacks: string[], envs: string[]): CredentialReport[] {
  return envs.map((stack) => {
    const r = loadInputs({ stack, stacks, config: configFromStackFile(projectRoot, stack), tenantsDir });
    if (!r.ok) return { stack, problem: r.errors.length ? formatDiagnostic(r.errors[0]) : "the stack config does not load" };
    const credentials = r.inputs.notices.filter((n): n is Extract<PlanWarning, { kind: "credential" }> => n.kind === "credential" && n.tenant === name);
    return { stack, credentials };
  });
}

export function nextSteps(name: string, file: string, o: NewTenantOptions, stacks: string[], report: CredentialReport[]): string {
  const envs = o.environments ?? stacks;
  const auth = gitAuthOf(o);
  const out = [`wrote ${file}`, "", "Next steps:", `1. Review the file, then check it with the offline plan (every error names file, line and field):`];
  for (const s of envs) out.push(`     npm run plan -- --stack ${s}`);
  const needed = report.flatMap((r) => ("credentials" in r ? r.credentials : []));
  const unknown = report.filter((r): r is Extract<CredentialReport, { problem: string }> => "problem" in r);
  if (needed.length || unknown.length) {
    out.push("2. Set the secrets the plan reports for this tenant (`pulumi config set` prompts for a value not given):");
    if (auth === "ssh") {
      out.push(
        "   The git SSH key: create a deploy key (Kestra's git plugin reads PEM keys only: ECDSA or RSA with -m PEM, not ed25519),",
        "   add the .pub file as a read-only deploy key of the client's repository, store the private key, then delete it:",
        `     ssh-keygen -t ecdsa -b 256 -m PEM -N '' -C kestra-fleet-${name} -f kestra_deploy_key`,
      );
    }
    for (const c of needed) out.push(`   ${c.message}`);
    if (auth === "ssh" && needed.length) out.push("     shred -u kestra_deploy_key kestra_deploy_key.pub");
    if (auth === "token") out.push(`   Bitbucket: also  pulumi config set --secret --path 'kestra-fleet:gitCredentials.${name}.username' x-token-auth --stack <stack>`);
    for (const u of unknown) out.push(`   stack ${u.stack}: its inputs do not load yet, so its report is unknown (${u.problem}); run the plan of step 1`);
  } else {
    out.push("2. No secret to set for this tenant: the plan reports none" + (o.gitUrl ? (auth === "none" ? " (public repository, git.auth none)." : " (its git credential is already in the stack config).") : " (no git sync)."));
  }
  out.push(
    "3. Open the pull request; CI plans every stack and shows the plan diff, the preview comments on it:",
    `     git switch -c onboard-${name} && git add ${file} && git commit -m "Onboard tenant ${name}" && git push -u origin onboard-${name}`,
    "4. After the merge, the deploy workflow updates staging (then prod after approval). Hand over the URL and credentials:",
    ...envs.map((s) => `     pulumi stack output tenants --stack ${s} --show-secrets --json | jq '."${name}" | {url, adminEmail, adminPassword}'`),
    "   See docs/operations.md, \"Onboarding a client\".",
  );
  return out.join("\n") + "\n";
}

export function run(argv: string[], io: RunIO): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        "admin-email": { type: "string" },
        email: { type: "string", multiple: true },
        "email-domain": { type: "string", multiple: true },
        group: { type: "string", multiple: true },
        "git-url": { type: "string" },
        "git-auth": { type: "string" },
        environments: { type: "string" },
        "display-name": { type: "string" },
        tenants: { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    io.stderr(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr(`${positionals.length ? "exactly one tenant name" : "the tenant name is required"}\n${USAGE}\n`);
    return 2;
  }
  if (!v["admin-email"]) {
    io.stderr(`--admin-email is required\n${USAGE}\n`);
    return 2;
  }
  if (v["git-auth"] !== undefined && !v["git-url"]) {
    io.stderr(`--git-auth needs --git-url\n${USAGE}\n`);
    return 2;
  }
  const name = positionals[0];
  // The name first, with the loader's own rule: it becomes a file name.
  const nameCheck = TenantSchema.shape.name.safeParse(name);
  if (!nameCheck.success) {
    io.stderr(`<name> ${JSON.stringify(name)}: ${nameCheck.error.issues.map((i) => i.message).join("; ")}\n`);
    return 1;
  }
  const tenantsDir = path.resolve(io.root, v.tenants ?? "tenants");
  const shownDir = v.tenants ? v.tenants.replace(/\/+$/, "") : "tenants";
  const file = path.join(tenantsDir, `${name}.yaml`);
  const shown = `${shownDir}/${name}.yaml`;
  if (!fs.existsSync(tenantsDir) || !fs.statSync(tenantsDir).isDirectory()) {
    io.stderr(`${shownDir}: no such tenants folder\n`);
    return 1;
  }
  const taken = fs.readdirSync(tenantsDir).filter((f) => f === `${name}.yaml` || f === `${name}.yml`);
  if (taken.length) {
    io.stderr(`${shownDir}/${taken[0]}: tenant ${name} exists already (re-onboarding a retained name: docs/operations.md)\n`);
    return 1;
  }
  const opts: NewTenantOptions = {
    name,
    adminEmail: v["admin-email"],
    displayName: v["display-name"],
    emails: v.email ?? [],
    emailDomains: v["email-domain"] ?? [],
    groups: v.group ?? [],
    gitUrl: v["git-url"],
    gitAuth: v["git-auth"],
    environments: v.environments?.split(",").map((s) => s.trim()),
  };
  const text = renderTenantFile(opts);
  // Validate the generated text with the real loader, in a scratch folder, before writing anything.
  // The stacks beside the tenants folder (a project root), else the repository's.
  const besides = stacksIn(path.dirname(tenantsDir));
  const stacks = besides.length ? besides : stacksIn(io.root);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kf-tenant-new-"));
  try {
    fs.writeFileSync(path.join(scratch, `${name}.yaml`), text);
    const loaded = loadTenantFile(path.join(scratch, `${name}.yaml`), shown, stacks);
    if (loaded.errors.length) {
      io.stderr(asOptionErrors(loaded.errors, opts).join("\n") + "\n");
      return 1;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  try {
    fs.writeFileSync(file, text, { flag: "wx" }); // never overwrite, even if created meanwhile
  } catch (e) {
    io.stderr(`${shown}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`);
    return 1;
  }
  const projectRoot = besides.length ? path.dirname(tenantsDir) : io.root;
  io.stdout(nextSteps(name, shown, opts, stacks, tenantCredentials(name, projectRoot, tenantsDir, stacks, opts.environments ?? stacks)));
  return 0;
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    root: path.resolve(__dirname, "..", ".."),
  });
}
