/**
 * The deploy guard: reads `pulumi preview --json` (the engine's plan against the *deployed* state)
 * and lists every step that must stop an automated deployment before anything is changed:
 * - a delete or replacement of a protected resource, or of a stateful one (volume, bucket, managed
 *   database) even if someone unprotected it;
 * - a replacement of a tenant's database password, protected or not: Postgres keeps the old one on its
 *   data directory (rotation: docs/operations.md#database-password);
 * - a Postgres service whose image changes major version (18 -> 19): the new server cannot open the
 *   old data directory; the upgrade is a dump and restore (docs/operations.md).
 * The offline plan cannot see deployed state, so this check lives here, where the old state is known.
 *
 * `npm run guard -- preview.json` prints the findings and exits 1 when there is one, 2 on bad input.
 */
import * as fs from "fs";
import { isDbPasswordName, LABEL_ROLE } from "../model/naming";
import { dbPasswordReplaced, OFFBOARDING_DOC, POSTGRES_UPGRADE_DOC, RANDOM_PASSWORD_TYPE } from "../plan/diff";
import { postgresMajor } from "../render/postgres";

export const STATEFUL_TYPES = [
  "docker:index/volume:Volume",
  "minio:index/s3Bucket:S3Bucket",
  "aws:s3/bucket:Bucket",
  "aws:s3/bucketV2:BucketV2",
  "postgresql:index/database:Database",
];

const DELETE_OPS = new Set(["delete", "delete-replaced", "discard", "discard-replaced", "replace", "create-replacement", "import-replacement", "read-replacement"]);

interface StateV3 {
  urn?: string;
  type?: string;
  protect?: boolean;
  inputs?: Record<string, unknown>;
}

export interface PreviewStep {
  op: string;
  urn: string;
  oldState?: StateV3;
  newState?: StateV3;
  replaceReasons?: string[];
}

export interface GuardFinding {
  urn: string;
  op: string;
  reason: string;
}

/** Validates `pulumi preview --json` output; returns a message naming the problem. */
export function previewProblem(doc: unknown): string | undefined {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return "is not `pulumi preview --json` output (expected an object)";
  const steps = (doc as Record<string, unknown>).steps;
  if (steps === undefined) return undefined; // no changes: the engine omits steps
  if (!Array.isArray(steps)) return "`steps` must be a list";
  for (const [i, s] of steps.entries()) {
    const x = s as Record<string, unknown> | null;
    if (!x || typeof x !== "object" || typeof x.op !== "string" || typeof x.urn !== "string") return `steps[${i}] needs op and urn`;
  }
  return undefined;
}

function image(s: StateV3 | undefined): unknown {
  const ts = s?.inputs?.taskSpec as Record<string, unknown> | undefined;
  return (ts?.containerSpec as Record<string, unknown> | undefined)?.image;
}

function role(s: StateV3 | undefined): string | undefined {
  const labels = s?.inputs?.labels;
  if (!Array.isArray(labels)) return undefined;
  const l = labels.find((x) => x && typeof x === "object" && (x as Record<string, unknown>).label === LABEL_ROLE) as Record<string, unknown> | undefined;
  return typeof l?.value === "string" ? l.value : undefined;
}

export function guardPreview(doc: { steps?: PreviewStep[] }): GuardFinding[] {
  const out: GuardFinding[] = [];
  const seen = new Set<string>();
  const add = (f: GuardFinding) => {
    const key = `${f.urn}\n${f.reason}`;
    if (!seen.has(key)) out.push(f);
    seen.add(key);
  };
  for (const s of doc.steps ?? []) {
    const old = s.oldState;
    const type = old?.type ?? s.newState?.type ?? "";
    if (DELETE_OPS.has(s.op) && old) {
      const verb = s.op.includes("replace") ? "replaces" : "deletes";
      const why = s.replaceReasons?.length ? ` (replaced because: ${s.replaceReasons.join(", ")})` : "";
      if (s.op.includes("replace") && type === RANDOM_PASSWORD_TYPE && isDbPasswordName(s.urn)) add({ urn: s.urn, op: s.op, reason: dbPasswordReplaced(s.replaceReasons?.join(", ") ?? "") });
      else if (old.protect) add({ urn: s.urn, op: s.op, reason: `${verb} a protected resource${why}; see ${OFFBOARDING_DOC}` });
      else if (STATEFUL_TYPES.includes(type)) add({ urn: s.urn, op: s.op, reason: `${verb} a stateful resource that is not protected${why}; see ${OFFBOARDING_DOC}` });
    }
    if (type === "docker:index/service:Service" && old && s.newState && (role(old) === "postgres" || role(s.newState) === "postgres")) {
      const from = postgresMajor(image(old));
      const to = postgresMajor(image(s.newState));
      if (from !== undefined && to !== undefined && from !== to) {
        add({ urn: s.urn, op: s.op, reason: `changes Postgres from major ${from} to ${to} by the image tag alone: dump and restore instead, see ${POSTGRES_UPGRADE_DOC}` });
      }
    }
  }
  return out.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
}

function main(argv: string[]): number {
  if (argv.length !== 1 || argv[0].startsWith("-")) {
    process.stderr.write("usage: npm run guard -- <pulumi preview --json output file>\n");
    return 2;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(argv[0], "utf8"));
  } catch (e) {
    process.stderr.write(`${argv[0]}: cannot read it as JSON (${(e as Error).message})\n`);
    return 2;
  }
  const problem = previewProblem(doc);
  if (problem) {
    process.stderr.write(`${argv[0]}: ${problem}\n`);
    return 2;
  }
  const findings = guardPreview(doc as { steps?: PreviewStep[] });
  if (!findings.length) {
    process.stdout.write("guard: no protected or stateful resource is deleted or replaced, no Postgres major change\n");
    return 0;
  }
  process.stdout.write(`guard: ${findings.length} change(s) stop this deployment:\n${findings.map((f) => `  x ${f.op} ${f.urn}: ${f.reason}`).join("\n")}\n`);
  return 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
