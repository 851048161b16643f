/**
 * Storage on the real MinIO server (built from its Go module, ./components): the plan's MinIO
 * resources (buckets, versioning, lifecycle, policies, users, attachments, objects) are created with
 * `mc` inside the MinIO container, as the minio provider would create them (the users get the
 * plan's mocked secrets, which the rendered Kestra configs carry). Then: each tenant's Kestra reaches
 * MinIO only through the path the program declares (its storage gateway), its key writes, lists and
 * reads its own bucket and MinIO denies it the other tenant's; a backup key writes only under its
 * tenant's prefix and cannot delete; versioning and lifecycle are as the plan declares.
 */
import { parse } from "yaml";
import { MINIO_ALIAS, STORAGE_NETWORK } from "../infra/model/naming";
import { backupPrefixes } from "../infra/render/backup";
import { computedOutputs } from "../infra/plan/mocks";
import type { Plan, PlanResource } from "../infra/plan/run";
import type { Suite } from "./context";
import type { Docker } from "./docker";
import { STACK, T } from "./plan";
import { check, log } from "./report";
import { addresses, containersOf, type Svc } from "./swarm";

const M = {
  BUCKET: "minio:index/s3Bucket:S3Bucket",
  VERSIONING: "minio:index/s3BucketVersioning:S3BucketVersioning",
  ILM: "minio:index/ilmPolicy:IlmPolicy",
  POLICY: "minio:index/iamPolicy:IamPolicy",
  USER: "minio:index/iamUser:IamUser",
  ATTACH: "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment",
  OBJECT: "minio:index/s3Object:S3Object",
};

/** `mc` in the MinIO container, as root (the alias reads the mounted root secrets). */
function mc(d: Docker, container: string, args: string, input?: string) {
  const script = `export MC_CONFIG_DIR=/tmp/kestra-fleet-e2e-mc; mc alias set root http://127.0.0.1:9000 "$(cat /run/secrets/minio_root_user)" "$(cat /run/secrets/minio_root_password)" >/dev/null && mc ${args}`;
  return d.run(["exec", ...(input !== undefined ? ["-i"] : []), container, "sh", "-c", script], input);
}

/** The lifecycle document `mc ilm import` takes, from an IlmPolicy's inputs. */
export function lifecycleDocument(inputs: Record<string, any>): { Rules: Record<string, unknown>[] } {
  const days = (v: unknown) => (v === undefined ? undefined : Number(String(v).replace(/d$/, "")));
  return {
    Rules: (inputs.rules as any[]).map((r) => ({
      ID: r.id,
      Status: r.status ?? "Enabled",
      Filter: { Prefix: r.filter ?? "" },
      ...(r.expiration ? { Expiration: { Days: days(r.expiration) } } : {}),
      ...(r.noncurrentVersionExpirationDays ? { NoncurrentVersionExpiration: { NoncurrentDays: days(r.noncurrentVersionExpirationDays) } } : {}),
    })),
  };
}

/** JSON with keys sorted at every level (to compare documents). */
const canon = (v: unknown): string =>
  v && typeof v === "object" && !Array.isArray(v)
    ? `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${canon((v as any)[k])}`).join(",")}}`
    : Array.isArray(v)
      ? `[${v.map(canon).join(",")}]`
      : JSON.stringify(v);

/** A MinIO user's secret key in the plan (the mocked provider output). */
const userSecret = (r: PlanResource) => computedOutputs(r.type, r.urn, r.inputs).secret;

/** The storage service's container (role storage in platform_storage). */
export const minioContainer = (d: Docker, stacks: Map<string, Svc[]>) => containersOf(d, stacks.get("platform_storage")!.find((x) => x.role === "storage")!.name)[0];

/**
 * Creates the plan's MinIO resources on the platform MinIO; idempotent (buckets that exist are
 * kept, policies and users are set again). The backup target's too: on this machine the platform
 * MinIO also plays the backup target.
 */
export function provisionStorage(d: Docker, container: string, plan: Plan): void {
  const of = (type: string) => plan.resources.filter((r) => r.type === type);
  const problems: string[] = [];
  const run = (what: string, args: string, input?: string) => {
    const r = mc(d, container, args, input);
    if (r.code !== 0) problems.push(`${what}: ${(r.err || r.out).trim().split("\n").slice(-2).join(" / ")}`);
  };
  for (const r of of(M.POLICY)) run(`policy ${r.inputs.name}`, `admin policy create root '${r.inputs.name}' /dev/stdin`, String(r.inputs.policy));
  for (const r of of(M.BUCKET)) run(`bucket ${r.inputs.bucket}`, `mb --ignore-existing 'root/${r.inputs.bucket}'`);
  for (const r of of(M.VERSIONING)) run(`versioning ${r.inputs.bucket}`, `version ${(r.inputs.versioningConfiguration as any).status === "Enabled" ? "enable" : "suspend"} 'root/${r.inputs.bucket}'`);
  for (const r of of(M.ILM)) run(`lifecycle ${r.inputs.bucket}`, `ilm import 'root/${r.inputs.bucket}'`, JSON.stringify(lifecycleDocument(r.inputs)));
  // The secret key on standard input (never on a command line): mc admin user add reads it there.
  for (const r of of(M.USER)) run(`user ${r.inputs.name}`, `admin user add root '${r.inputs.name}' "$(cat)"`, userSecret(r));
  for (const r of of(M.ATTACH)) {
    const r2 = mc(d, container, `admin policy attach root '${r.inputs.policyName}' --user '${r.inputs.userName}'`);
    // Attaching twice answers "policy already attached": not a failure of the step.
    if (r2.code !== 0 && !/already/i.test(r2.err + r2.out)) problems.push(`attach ${r.inputs.policyName} to ${r.inputs.userName}: ${(r2.err || r2.out).trim()}`);
  }
  for (const r of of(M.OBJECT)) run(`object ${r.inputs.bucketName}/${r.inputs.objectName}`, `pipe --quiet 'root/${r.inputs.bucketName}/${r.inputs.objectName}'`, String(r.inputs.content));
  if (problems.length) throw new Error(`creating the plan's MinIO resources: ${problems.join("; ")}`);
  log(`created the plan's MinIO resources: ${Object.values(M).map((t) => `${of(t).length} ${t.split(":").pop()}`).join(", ")}`);
}

/** A tenant's storage key and bucket, read from its rendered Kestra configuration (what Kestra uses). */
function tenantStorage(plan: Plan, tenant: string): { accessKey: string; secretKey: string; bucket: string; region: string } | undefined {
  for (const r of plan.resources.filter((x) => x.type === T.SECRET && String(x.inputs.name).startsWith(`kestra_${tenant}_config_`))) {
    const cfg = parse(Buffer.from(String(r.inputs.data), "base64").toString("utf8"));
    const m = cfg?.kestra?.storage?.minio;
    if (m?.accessKey) return { accessKey: m.accessKey, secretKey: m.secretKey, bucket: m.bucket, region: m.region ?? "us-east-1" };
  }
  return undefined;
}

/**
 * S3 calls with curl's AWS signature v4 inside a container; the key travels on curl's standard
 * input. Returns, in order, each call's HTTP status with MinIO's error code when there is one
 * (`403:AccessDenied`), so a denial is told apart from a signing error. Bodies are uploaded from a
 * file (-T) and query values are percent-encoded: curl 7.88 signs neither --data-binary nor a raw
 * `/` in a query the way MinIO checks them.
 */
export async function s3Calls(d: Docker, container: string, base: string, key: { accessKey: string; secretKey: string; region: string }, calls: { method: string; path: string; body?: string }[]): Promise<string[]> {
  const user = `user = "${key.accessKey}:${key.secretKey}"`;
  const script = calls
    .map((c) => {
      const upload = c.method === "PUT" ? `printf '%s' '${c.body ?? ""}' >/tmp/kestra-fleet-e2e-body; ` : "";
      const method = c.method === "PUT" ? "-T /tmp/kestra-fleet-e2e-body" : `-X ${c.method}`;
      return `${upload}printf '%s\\n' '${user}' | curl -s -o /tmp/kestra-fleet-e2e-out -w '%{http_code}' --max-time 10 -K - --aws-sigv4 'aws:amz:${key.region}:s3' ${method} '${base}${c.path}'; printf ':%s\\n' "$(sed -n 's:.*<Code>\\([A-Za-z]*\\)</Code>.*:\\1:p' /tmp/kestra-fleet-e2e-out | head -n 1)"`;
    })
    .join("; ");
  const r = await d.runAsync(["exec", container, "sh", "-c", script]);
  return r.out.trim().split("\n").map((l) => l.replace(/:$/, ""));
}

export async function storageChecks(s: Suite): Promise<void> {
  const { d, plan, stacks, tenantStacks } = s;
  // The path: Kestra reaches `minio` through its gateway, and MinIO answers there.
  for (const t of tenantStacks) {
    const svcs = stacks.get(t)!;
    const via = svcs.find((x) => x.role === "gateway") ?? stacks.get("platform_storage")?.find((x) => x.role === "storage");
    const viaIps = via ? containersOf(d, via.name).flatMap((id) => Object.values(addresses(d, id))) : [];
    const problems: string[] = [];
    for (const k of svcs.filter((x) => ["web", "backend", "worker"].includes(x.role))) {
      for (const kc of containersOf(d, k.name)) {
        if (via?.role === "gateway" && Object.keys(addresses(d, kc)).includes(STORAGE_NETWORK)) problems.push(`${k.name} is on ${STORAGE_NETWORK}`);
        const ip = d.run(["exec", kc, "getent", "hosts", MINIO_ALIAS]).out.trim().split(/\s+/)[0];
        if (!ip || !viaIps.includes(ip)) problems.push(`${k.name}: ${MINIO_ALIAS} resolves to ${ip || "nothing"}, not ${via?.name ?? "a storage service"}`);
        const answer = d.run(["exec", kc, "curl", "-fsS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", `http://${MINIO_ALIAS}:9000/minio/health/live`]);
        if (answer.out !== "200") problems.push(`${k.name}: MinIO's /minio/health/live through ${MINIO_ALIAS}:9000 answered ${answer.out || answer.err.trim()}`);
      }
    }
    check(`${svcs[0].tenant}: Kestra reaches MinIO (${MINIO_ALIAS}:9000, live) only through ${via?.name ?? "nothing"}`, !!via && !problems.length, problems.join("; "));
  }

  // Each tenant's key, from its Kestra container through its gateway: its own bucket, not the others'.
  const tenants = tenantStacks.map((t) => stacks.get(t)![0].tenant!);
  const keys = new Map(tenants.map((t) => [t, tenantStorage(plan, t)]));
  const webOf = (t: string) => containersOf(d, stacks.get(`kestra_${t}`)!.find((x) => x.role === "web")!.name)[0];
  const base = `http://${MINIO_ALIAS}:9000/`;
  const probeKey = `kestra-fleet-e2e/probe-${process.pid}.txt`;
  for (const t of tenants) {
    const k = keys.get(t);
    if (!k) {
      check(`${t}: its Kestra configuration names a MinIO key and bucket`, false);
      continue;
    }
    const own = await s3Calls(d, webOf(t), base, k, [
      { method: "PUT", path: `${k.bucket}/${probeKey}`, body: `written by ${t}` },
      { method: "GET", path: `${k.bucket}/?list-type=2&prefix=kestra-fleet-e2e%2F` },
      { method: "GET", path: `${k.bucket}/${probeKey}` },
    ]);
    check(`${t}: its key (from its Kestra configuration), through its gateway, writes, lists and reads its bucket ${k.bucket} on the real MinIO`, own.join(" ") === "200 200 200", `PUT, LIST, GET: ${own.join(" ")}`);
  }
  for (const a of tenants) {
    for (const b of tenants.filter((x) => x !== a)) {
      const ka = keys.get(a);
      const kb = keys.get(b);
      if (!ka || !kb) continue;
      const codes = await s3Calls(d, webOf(a), base, ka, [
        { method: "GET", path: `${kb.bucket}/?list-type=2` },
        { method: "GET", path: `${kb.bucket}/${probeKey}` },
        { method: "PUT", path: `${kb.bucket}/kestra-fleet-e2e/from-${a}.txt`, body: "x" },
        { method: "DELETE", path: `${kb.bucket}/${probeKey}` },
      ]);
      // Listing all buckets is not granted: MinIO answers 200 with only the buckets the key may list.
      const listAll = await d.runAsync(["exec", webOf(a), "sh", "-c", `printf '%s\\n' 'user = "${ka.accessKey}:${ka.secretKey}"' | curl -s --max-time 10 -K - --aws-sigv4 'aws:amz:${ka.region}:s3' '${base}'`]);
      const seen = [...listAll.out.matchAll(/<Name>([^<]+)<\/Name>/g)].map((m) => m[1]);
      check(
        `${a}'s key is denied every call on ${b}'s bucket ${kb.bucket} by MinIO (list, read, write, delete: 403 AccessDenied) and lists no bucket but its own`,
        codes.every((c) => c === "403:AccessDenied") && !seen.includes(kb.bucket),
        `LIST, GET, PUT, DELETE: ${codes.join(" ")}; buckets listed: ${seen.join(", ") || "none"}`,
      );
    }
  }

  // A tenant's backup key: writes and reads under <stack>/postgres/<tenant>/ only. It may delete there
  // (the script prunes its own old dumps, keeping the newest backup.keepLast), which on the versioned
  // bucket only adds a delete marker: it can never delete a version, so the dump stays restorable.
  const container = minioContainer(d, stacks);
  const bucketOf = plan.resources.find((r) => r.type === M.BUCKET && r.name === "backup-bucket")?.inputs.bucket as string | undefined;
  for (const t of tenants) {
    const u = plan.resources.find((r) => r.type === M.USER && r.name === `backup-${t}-user`);
    if (!u || !bucketOf) {
      check(`${t}: the plan declares a backup key and a backup bucket`, false);
      continue;
    }
    const other = tenants.find((x) => x !== t) ?? "other";
    const own = backupPrefixes(STACK, t).postgres;
    const theirs = backupPrefixes(STACK, other).postgres;
    const key = { accessKey: String(u.inputs.name), secretKey: userSecret(u), region: "us-east-1" };
    const obj = `${own}kestra-fleet-e2e-${process.pid}.pgdump`;
    const codes = await s3Calls(d, container, "http://127.0.0.1:9000/", key, [
      { method: "PUT", path: `${bucketOf}/${obj}`, body: "dump" },
      { method: "GET", path: `${bucketOf}/${obj}` },
      { method: "DELETE", path: `${bucketOf}/${obj}` },
      { method: "PUT", path: `${bucketOf}/${theirs}x.pgdump`, body: "x" },
      { method: "GET", path: `${bucketOf}/?list-type=2&prefix=${encodeURIComponent(theirs)}` },
    ]);
    // The dump is still there as a noncurrent version (MinIO's own listing, as root).
    const versions = mc(d, container, `ls --versions root/${bucketOf}/${obj}`);
    const kept = versions.code === 0 && /\bPUT\b/.test(versions.out) && /\bDEL\b/.test(versions.out);
    check(
      `${t}: its backup key writes and reads ${bucketOf}/${own}, its delete there only adds a delete marker (the dump stays as a version), and it is denied ${other}'s prefix (real MinIO)`,
      codes.join(" ") === "200 200 204 403:AccessDenied 403:AccessDenied" && kept,
      `PUT, GET, DELETE, PUT other, LIST other: ${codes.join(" ")}; versions: ${versions.out.trim() || versions.err.trim()}`,
    );
  }

  // Versioning and lifecycle, as MinIO reports them, against the plan.
  const problems: string[] = [];
  for (const v of plan.resources.filter((r) => r.type === M.VERSIONING)) {
    const r = mc(d, container, `version info --json 'root/${v.inputs.bucket}'`);
    const status = (() => {
      try {
        return JSON.parse(r.out).versioning?.status;
      } catch {
        return r.err.trim();
      }
    })();
    if (status !== (v.inputs.versioningConfiguration as any).status) problems.push(`${v.inputs.bucket}: versioning ${status}`);
  }
  for (const l of plan.resources.filter((r) => r.type === M.ILM)) {
    const r = mc(d, container, `ilm export 'root/${l.inputs.bucket}'`);
    const want = lifecycleDocument(l.inputs).Rules.map(canon).sort();
    let got: string[] = [];
    try {
      got = (JSON.parse(r.out).Rules as Record<string, unknown>[]).map((x) => ({ ...x, Filter: (x.Filter as any) ?? { Prefix: "" } })).map(canon).sort();
    } catch {
      got = [r.err.trim()];
    }
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${l.inputs.bucket}: lifecycle ${got.join(", ")} (plan: ${want.join(", ")})`);
  }
  check(`versioning and lifecycle rules of every bucket are in place as MinIO reports them (mc version info, mc ilm export)`, !problems.length, problems.join("; "));
}
