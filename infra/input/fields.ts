/** zod field validators shared by the tenant schema and the stack config schema. */
import * as tldts from "tldts";
import { z } from "zod";
import { cronProblem } from "./cron";
import { floatingTagProblem, imageParts } from "../model/images";
import { constraintProblem } from "../model/placement";

export { imageParts } from "../model/images";

export const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * A message for a string format's own problems that leaves a missing value to PARSE_OPTIONS ("is
 * required"): a format's `message` would otherwise also replace the missing-value message.
 */
const formatError = (message: string) => ({
  error: (iss: { code?: string; input?: unknown }) => (iss.code === "invalid_type" && iss.input === undefined ? "is required" : message),
});

export const email = () => z.email(formatError("is not a valid email address"));

export const domain = () =>
  z.string().regex(DOMAIN_RE, { message: "is not a valid domain name (lower case, e.g. acme.com)" });

/**
 * Free-mail providers (maintained list, npm `email-providers`: ~8,700 domains of public mailbox
 * providers, gmail.com, outlook.com, proton.me, ...). Loaded once.
 */
let freeMail: Set<string> | undefined;
export function isFreeMailDomain(d: string): boolean {
  freeMail ??= new Set<string>(require("email-providers/all.json") as string[]);
  return freeMail.has(d.toLowerCase());
}

/**
 * Undefined when an Access `emailDomain` rule on `d` admits one organisation only; else why not.
 * Refused: public suffixes (co.uk, github.io: anyone can register below them; Public Suffix List
 * through `tldts`, ICANN and private sections) and free-mail providers (anyone can open a mailbox).
 */
export function emailDomainProblem(d: string): string | undefined {
  const lower = d.toLowerCase();
  const parsed = tldts.parse(lower, { allowPrivateDomains: true });
  if (parsed.publicSuffix === lower || !parsed.domain) {
    return "is a public suffix (Public Suffix List): anyone can register a domain below it; name the organisation's own domain";
  }
  if (isFreeMailDomain(lower)) {
    return "is a free-mail provider: anyone can open an address there and pass Cloudflare Access; list the people with `emails` instead";
  }
  return undefined;
}

export const emailDomain = () =>
  domain().superRefine((v, ctx) => {
    if (!DOMAIN_RE.test(v)) return;
    const p = emailDomainProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  });

/** Cloudflare Access group id. */
export const uuid = () => z.guid(formatError("is not a Cloudflare group id (a UUID such as 2b1d7c1e-5f4a-4c39-9d8e-0f1a2b3c4d5e)"));

/** Swarm node host name, as in `node.hostname == X`. */
export const nodeName = () =>
  z.string().regex(/^[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$/, { message: "is not a valid Swarm node host name" });

/** A list of Swarm placement constraints of the forms infra/model/placement.ts accepts (and can check against capacity.nodes). */
export const placementConstraints = () =>
  z
    .array(
      z.string().superRefine((v, ctx) => {
        const problem = constraintProblem(v);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    )
    .max(10, { message: "must have at most 10 constraints" });

export const cron = () =>
  z.string().superRefine((v, ctx) => {
    const problem = cronProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: `is not a valid cron expression: ${problem}` });
  });

/** Kestra namespace: lower-case segments separated by dots. */
export const kestraNamespace = () =>
  z.string().max(150).regex(/^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)*$/, {
    message: "is not a valid Kestra namespace (lower-case letters, digits, '-', '_', segments separated by '.')",
  });

/**
 * Namespaces the fleet manages in every Kestra: `admin` (the git-sync flow, admin.git) and
 * `system` (Kestra's system flows namespace). Git sync must never write flows into them or below.
 */
export const MANAGED_NAMESPACES = ["admin", "system"] as const;

/** A namespace synced flows may land in: a Kestra namespace outside the managed ones. */
export const syncNamespace = () =>
  kestraNamespace().superRefine((v, ctx) => {
    const managed = MANAGED_NAMESPACES.find((m) => v === m || v.startsWith(`${m}.`));
    if (managed) ctx.addIssue({ code: "custom", message: `is in the ${managed} namespace, which the fleet manages: choose a client namespace such as acme` });
  });

/** Git branch name (subset of git check-ref-format that never needs quoting). */
export const gitBranch = () =>
  z.string().max(200).regex(/^(?!\/|-|.*\/\/|.*\.\.|.*\.lock$|.*\/$|.*@\{)[A-Za-z0-9._\/-]+$/, { message: "is not a valid git branch name" });

export const pinnedImage = () =>
  z.string().superRefine((v, ctx) => {
    const parts = imageParts(v);
    if (!parts) ctx.addIssue({ code: "custom", message: `is not an image reference (repository:tag or repository@sha256:...)` });
    else if (!parts.tag && !parts.digest) ctx.addIssue({ code: "custom", message: "is not pinned: add an exact tag or a digest" });
    else {
      const floating = floatingTagProblem(v);
      if (floating) ctx.addIssue({ code: "custom", message: floating });
    }
  });

/** IPv4/IPv6 CIDR or address. */
export const cidr = () =>
  z.string().refine((v) => z.cidrv4().safeParse(v).success || z.cidrv6().safeParse(v).success, { message: "is not a CIDR range (e.g. 203.0.113.0/24)" });

export const ipAddress = () =>
  z.string().refine((v) => z.ipv4().safeParse(v).success || z.ipv6().safeParse(v).success, { message: "is not an IPv4 or IPv6 address" });
