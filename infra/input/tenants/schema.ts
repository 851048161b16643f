/**
 * The tenant file: the operators' interface. `tenants/schema.json` is generated from this schema
 * (`npm run schema`); tests fail when it is stale.
 */
import { z } from "zod";
import { RESERVED_TENANT_NAMES } from "../../model/naming";
import { kestraImage } from "../config/schema";
import { cron, email, emailDomain, gitBranch, nodeName, placementConstraints, syncNamespace, uuid } from "../fields";
import { CLOUDFLARE_LIMITS } from "../../model/naming";
import { gitUrlProblem } from "../git-url";

export const TENANT_NAME_PATTERN = "^(?!.*--)[a-z][a-z0-9-]*[a-z0-9]$";

export const tenantName = () =>
  z
    .string()
    .min(3, { message: "must be at least 3 characters" })
    .max(30, { message: "must be at most 30 characters" })
    .regex(new RegExp(TENANT_NAME_PATTERN), {
      message: "must be lower-case letters, digits and single hyphens, start with a letter and not end with a hyphen",
    })
    .refine((n) => !(RESERVED_TENANT_NAMES as readonly string[]).includes(n), { message: "is reserved for the platform" })
    .refine((n) => !n.endsWith("-s3alias"), { message: "must not end in -s3alias (S3 reserves that bucket suffix)" });

export { gitUrlProblem } from "../git-url";

export function isSshGitUrl(url: string): boolean {
  return !url.startsWith("https://");
}

/** One Access include rule per entry: bounded by what one Cloudflare Access policy takes. */
const identityList = <T extends z.ZodType<string>>(item: T) =>
  z
    .array(item)
    .max(CLOUDFLARE_LIMITS.includesPerPolicy, { message: `must have at most ${CLOUDFLARE_LIMITS.includesPerPolicy} entries (Cloudflare Access rules per policy)` })
    .default([]);

const access = z
  .strictObject({
    emails: identityList(email()).describe("Email addresses allowed through Cloudflare Access"),
    emailDomains: identityList(emailDomain()).describe(
      "Email domains allowed through Cloudflare Access: an organisation's own domain, never a free-mail provider or a public suffix",
    ),
    groups: identityList(uuid()).describe("Cloudflare Access group ids"),
    webhooks: z
      .enum(["private", "public"])
      .default("private")
      .describe("public: only Kestra's webhook paths bypass Access (webhook keys authorise calls)"),
    serviceToken: z
      .boolean()
      .default(false)
      .describe("Create a Cloudflare Access service token for the tenant's automation (50 per account)"),
  })
  .superRefine((a, ctx) => {
    if (a.emails.length + a.emailDomains.length + a.groups.length === 0) {
      ctx.addIssue({ code: "custom", message: "must name at least one of emails, emailDomains or groups" });
    }
  });

const kestra = z.strictObject({
  adminEmail: email().describe("Kestra's basic-auth user (an email)"),
  size: z.enum(["small", "medium", "large"]).default("small").describe("Resource profile"),
  workers: z.int().min(0).max(20).default(0).describe("Extra dedicated worker replicas"),
  image: kestraImage()
    .optional()
    .describe("This tenant's Kestra image: another exact 1.x release of the repository of the stack's images.kestra, nothing else (e.g. kestra/kestra:v1.3.38): upgrade one tenant before the stack's images.kestra"),
  placement: placementConstraints()
    .min(1, { message: "must name at least one constraint (omit it to use the stack's)" })
    .optional()
    .describe(
      "Swarm placement constraints of this tenant's Kestra services (node.role == worker, node.labels.<key> == <value>, node.hostname == <node>; == or !=): replace the stack's swarm.placement.sizes for its size; the stack's swarm.placement.tenants still apply",
    ),
});

const git = z
  .strictObject({
    url: z
      .string()
      .superRefine((v, ctx) => {
        const p = gitUrlProblem(v);
        if (p) ctx.addIssue({ code: "custom", message: p });
      })
      .describe("Repository URL: https://, ssh:// or git@host:org/repo.git, never with credentials"),
    branch: gitBranch().optional().describe("Branch; default from stack config (gitSync.branch)"),
    directory: z
      .string()
      .regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9._\/-]+$/, { message: "must be a relative path inside the repository" })
      .default("_flows")
      .describe("Folder of flows in the repository"),
    targetNamespace: syncNamespace().optional().describe("Kestra namespace flows land in (not admin or system, nor below them); default from stack config"),
    auth: z.enum(["none", "token", "ssh"]).default("none").describe("none | token | ssh; the credential lives in stack secrets"),
    schedule: cron().optional().describe("Sync schedule (cron); default from stack config"),
  })
  .superRefine((g, ctx) => {
    if (gitUrlProblem(g.url)) return;
    const ssh = isSshGitUrl(g.url);
    if (ssh && g.auth !== "ssh") ctx.addIssue({ code: "custom", path: ["auth"], message: "must be ssh for an ssh repository URL" });
    if (!ssh && g.auth === "ssh") ctx.addIssue({ code: "custom", path: ["auth"], message: "ssh needs an ssh:// or git@host: URL" });
  });

const postgres = z.strictObject({
  node: nodeName().optional().describe("Swarm node holding this tenant's database volume; default from stack config"),
  mode: z
    .enum(["container", "managed"])
    .default("container")
    .describe("container: a Postgres service on the Swarm; managed: the external server of stack config"),
});

export const TENANT_STATUSES = ["active", "suspended", "offboarded"] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export const TenantSchema = z.strictObject({
  name: tenantName().describe("Tenant name; equals the file name"),
  status: z
    .enum(TENANT_STATUSES)
    .default("active")
    .describe(
      "active; suspended: Kestra scaled to 0, database, backups, DNS and Access kept; offboarded: Kestra, DNS and Access removed, database, bucket, backups and keys kept (README, Tenant lifecycle)",
    ),
  displayName: z.string().min(1).max(100).optional().describe("Human-readable client name"),
  environments: z
    .array(z.string().regex(/^[a-z][a-z0-9-]*$/, { message: "is not a stack name" }))
    .min(1)
    .optional()
    .describe("Stacks this tenant is deployed to; default: all stacks"),
  access: access.describe("Who passes Cloudflare Access"),
  kestra: kestra,
  git: git.optional().describe("Git sync of flows; absent = no sync"),
  postgres: postgres.default({ mode: "container" }),
});

export type Tenant = z.output<typeof TenantSchema>;
export type TenantInput = z.input<typeof TenantSchema>;

/** Allowed keys per object path, for "did you mean" hints. */
export function tenantKeysAt(path: readonly (string | number)[]): readonly string[] {
  const key = path.filter((p) => typeof p === "string").join(".");
  switch (key) {
    case "":
      return Object.keys(TenantSchema.shape);
    case "access":
      return ["emails", "emailDomains", "groups", "webhooks", "serviceToken"];
    case "kestra":
      return Object.keys(kestra.shape);
    case "git":
      return ["url", "branch", "directory", "targetNamespace", "auth", "schedule"];
    case "postgres":
      return Object.keys(postgres.shape);
    default:
      return [];
  }
}
