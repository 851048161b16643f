/**
 * A lab stack (kestra-fleet:lab: true, kestra-fleet:edge: { provider: none }): the program under
 * Pulumi's mocks registers no Cloudflare (and, with MinIO storage and backups, no AWS) provider or
 * resource, Traefik still routes by host name behind the lab allow-list, no Cloudflare secret is
 * asked for, the whole policy pack passes, and the plan is deterministic. Leaving Cloudflare out
 * without declaring a lab stack, or declaring prod a lab stack, is refused with file, line and field.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { LAB_ORIGIN_MIDDLEWARE, LABEL_LAB } from "../../infra/model/naming";
import { runPlan, toPolicyResource, type Plan, type PlanResult } from "../../infra/plan/run";
import { runRules } from "../../policies/evaluate";
import { rules } from "../../policies/rules";
import { byName, CONFIG, labelsOf, ofType, projectWithConfig, SECRET, SERVICE, VOLUME } from "../helpers";

const ALLOW = ["10.20.0.0/16", "127.0.0.0/8"];
const toLab = (c: Record<string, any>) => {
  delete c["kestra-fleet:cloudflare"];
  c["kestra-fleet:lab"] = true;
  c["kestra-fleet:edge"] = { provider: "none", allowList: ALLOW };
};

async function plan(stack: string, mutate: (c: Record<string, any>) => void, showSecrets = false): Promise<PlanResult> {
  return runPlan({ stack, projectRoot: projectWithConfig(stack, mutate), showSecrets });
}
async function planOf(stack: string, mutate: (c: Record<string, any>) => void, showSecrets = false): Promise<Extract<PlanResult, { ok: true }>> {
  const r = await plan(stack, mutate, showSecrets);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.file}:${e.line} ${e.field}: ${e.message}`).join("\n"));
  return r;
}
const errorsOf = (r: PlanResult) => (r.ok ? [] : r.errors.map((e) => ({ file: e.file.split("/").pop(), line: e.line, field: e.field, message: e.message })));

let lab: Extract<PlanResult, { ok: true }>;
let staging: Plan;
beforeAll(async () => {
  lab = await planOf("staging", toLab, true);
  staging = (await planOf("staging", () => {})).plan;
});

const traefik = (p: Plan) => byName(p, "proxy-traefik", SERVICE);
const dynamicFile = (p: Plan) => {
  const ref = (traefik(p).inputs as any).taskSpec.containerSpec.configs[0];
  const cfg = ofType(p, CONFIG).find((c) => c.inputs.name === ref.configName)!;
  return parse(Buffer.from(cfg.inputs.data as string, "base64").toString("utf8"));
};

describe("a lab stack without Cloudflare, under mocks", () => {
  it("registers no Cloudflare and no AWS provider or resource (the engine never loads those plugins)", () => {
    const types = lab.plan.resources.map((r) => r.type);
    expect(types.filter((t) => /^(cloudflare|aws):|^pulumi:providers:(cloudflare|aws)$/.test(t))).toEqual([]);
    expect(lab.registrations.filter((r) => /cloudflare|aws/.test(r.type) || /cloudflare|aws/.test(r.provider ?? ""))).toEqual([]);
    // The same stack behind Cloudflare has both the provider and its resources; no AWS (MinIO storage and backups).
    expect(staging.resources.some((r) => r.type === "pulumi:providers:cloudflare")).toBe(true);
    expect(staging.resources.filter((r) => r.type.startsWith("cloudflare:")).length).toBeGreaterThan(0);
    expect(staging.resources.filter((r) => /^aws:|^pulumi:providers:aws$/.test(r.type))).toEqual([]);
  });

  it("declares itself on Traefik (kestra-fleet.lab=true); Traefik has no ACME, no DNS token, no trusted forwarders", () => {
    const t = traefik(lab.plan);
    const c = (t.inputs as any).taskSpec.containerSpec;
    expect(labelsOf(t)[LABEL_LAB]).toBe("true");
    expect(labelsOf(traefik(staging))[LABEL_LAB]).toBeUndefined();
    expect(c.args.filter((a: string) => /certificatesResolvers|forwardedHeaders|cloudflare/i.test(a))).toEqual([]);
    expect(c.env).toBeUndefined();
    expect(c.mounts).toBeUndefined();
    expect(c.secrets.map((s: any) => s.fileName)).toEqual(["/run/secrets/traefik_metrics_users"]);
    expect(ofType(lab.plan, VOLUME).filter((v) => v.inputs.name === "traefik_acme")).toEqual([]);
    expect(ofType(lab.plan, SECRET).filter((s) => String(s.inputs.name).includes("cf_dns_token"))).toEqual([]);
  });

  it("routes every tenant, Grafana and the storage admin host by host name behind the lab allow-list, with Traefik's default certificate", () => {
    expect(dynamicFile(lab.plan).http.middlewares["lab-allowlist"]).toEqual({ ipAllowList: { sourceRange: ALLOW } });
    expect(dynamicFile(lab.plan).http.middlewares["cloudflare-only"]).toBeUndefined();
    const routed = ofType(lab.plan, SERVICE).filter((s) => labelsOf(s)["traefik.enable"] === "true");
    expect(routed.map((s) => labelsOf(s)["kestra-fleet.role"]).sort()).toEqual(["grafana", "storage", "web", "web", "web"]);
    for (const s of routed) {
      const labels = labelsOf(s);
      expect(Object.keys(labels).filter((k) => k.endsWith(".tls.certresolver"))).toEqual([]);
      expect(Object.entries(labels).find(([k]) => k.endsWith(".rule"))?.[1]).toMatch(/^Host\(`[a-z0-9.-]+`\)$/);
      if (labelsOf(s)["kestra-fleet.role"] !== "storage") expect(Object.entries(labels).find(([k]) => k.endsWith(".middlewares"))?.[1]).toBe(LAB_ORIGIN_MIDDLEWARE);
    }
    // The MinIO provider reaches the admin host through Traefik's self-signed certificate.
    const minio = lab.plan.resources.find((r) => r.type === "pulumi:providers:minio" && r.name === "storage-minio-admin")!;
    // (Provider inputs travel as strings.)
    expect(String(minio.inputs.minioInsecure)).toBe("true");
    expect(staging.resources.find((r) => r.type === "pulumi:providers:minio" && r.name === "storage-minio-admin")!.inputs.minioInsecure).toBeUndefined();
  });

  it("probes tenants without Access headers", () => {
    const blackbox = ofType(lab.plan, SECRET).find((s) => String(s.inputs.name).includes("blackbox"))!;
    const text = Buffer.from(blackbox.inputs.data as string, "base64").toString("utf8");
    expect(text).not.toMatch(/CF-Access/);
    expect(parse(text).modules.http_access.http.tls_config).toEqual({ insecure_skip_verify: true });
  });

  it("asks for no Cloudflare secret, and says so in the outputs", () => {
    const said = JSON.stringify(lab.plan.warnings);
    expect(said).not.toMatch(/cloudflareApiToken|acmeDnsApiToken/);
    expect(JSON.stringify(staging.warnings)).toMatch(/cloudflareApiToken/);
    expect(lab.plan.outputs.proxy).toEqual({ service: "platform_proxy_traefik", publicNetwork: "network_swarm_public", edge: "none", allowList: ALLOW, lab: true });
    for (const t of Object.values(lab.plan.outputs.tenants as Record<string, any>)) expect(t.accessApplicationId).toBeUndefined();
  });

  it("passes the whole policy pack; without the lab label the pack refuses it", () => {
    expect(lab.plan.violations).toEqual([]);
    const neutral = lab.registrations.map(toPolicyResource);
    const t = neutral.find((r) => r.name === "proxy-traefik" && r.type === SERVICE)!;
    t.props.labels = (t.props.labels as { label: string }[]).filter((l) => l.label !== LABEL_LAB);
    const vs = runRules(rules, neutral, {});
    expect([...new Set(vs.map((v) => v.policy))].sort()).toEqual(["edge-access", "lab-stack"]);
    expect(vs.every((v) => v.level === "mandatory")).toBe(true);
  });

  it("is deterministic: the same inputs give the same plan", async () => {
    const again = await planOf("staging", toLab, true);
    expect(JSON.stringify(again.plan)).toBe(JSON.stringify(lab.plan));
  });
});

describe("leaving Cloudflare out is refused unless the stack is a lab stack", () => {
  it("edge.provider none without kestra-fleet:lab: file, line and field", async () => {
    const r = await plan("staging", (c) => {
      toLab(c);
      delete c["kestra-fleet:lab"];
    });
    expect(r.ok).toBe(false);
    const e = errorsOf(r);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ file: "Pulumi.staging.yaml", field: "kestra-fleet:edge.provider" });
    expect(e[0].line).toBeGreaterThan(0);
    expect(e[0].message).toMatch(/only a lab stack may; declare it with kestra-fleet:lab: true/);
  });

  it("kestra-fleet:lab: false is no declaration either", async () => {
    const e = errorsOf(await plan("staging", (c) => { toLab(c); c["kestra-fleet:lab"] = false; }));
    expect(e.map((x) => x.field)).toEqual(["kestra-fleet:edge.provider"]);
  });

  it("edge.provider none with a Cloudflare block left in, and the default edge without one", async () => {
    const kept = errorsOf(await plan("staging", (c) => { const cf = c["kestra-fleet:cloudflare"]; toLab(c); c["kestra-fleet:cloudflare"] = cf; }));
    expect(kept.map((x) => [x.field, x.message])).toEqual([["kestra-fleet:cloudflare", "is not used with edge.provider none: remove it"]]);
    const none = errorsOf(await plan("staging", (c) => { delete c["kestra-fleet:cloudflare"]; }));
    expect(none.map((x) => x.field)).toEqual(["kestra-fleet:cloudflare"]);
    expect(none[0].message).toMatch(/is required with edge.provider cloudflare/);
  });

  it("an empty allow-list", async () => {
    const e = errorsOf(await plan("staging", (c) => { toLab(c); c["kestra-fleet:edge"].allowList = []; }));
    expect(e.map((x) => x.field)).toEqual(["kestra-fleet:edge.allowList"]);
  });

  it("stack prod is never a lab stack", async () => {
    const e = errorsOf(await plan("prod", toLab));
    expect(e.map((x) => [x.file, x.field, x.message])).toEqual([["Pulumi.prod.yaml", "kestra-fleet:lab", "stack prod can never be a lab stack (a lab stack may leave Cloudflare out): remove the setting"]]);
    expect(e[0].line).toBeGreaterThan(0);
  });
});
