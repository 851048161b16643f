/**
 * The offline plan: the real program (defineFleet) run under Pulumi's mocks with a stack's config
 * file, no credentials and no Pulumi CLI. Returns every resource with its inputs and options, the
 * stack outputs, the plan warnings and the policy pack's verdict.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { capacityContext, capacityReport, type CapacityReport } from "../../policies/capacity";
import { evaluate } from "../../policies/evaluate";
import type { PolicyResource, Violation } from "../../policies/model";
import { configFromStackFile } from "../input/config/load";
import type { Diagnostic } from "../input/diagnostics";
import { loadInputs, type FleetInputs } from "../input/inputs";
import { imageParts } from "../model/images";
import { defineFleet } from "../program";
import { stacksIn } from "../input/tenants/load";
import { cheapSdkStackTraces } from "../stack-traces";
import { generalWarning, type PlanWarning } from "../input/warnings";
import { installMocks, type Registration } from "./mocks";

export const PROJECT = "kestra-fleet";
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

export interface PlanResource {
  urn: string;
  type: string;
  name: string;
  id: string | null;
  parent: string | null;
  provider: string | null;
  inputs: Record<string, unknown>;
  options: { protect: boolean; retainOnDelete: boolean; deleteBeforeReplace: boolean; ignoreChanges: string[]; dependsOn: string[] };
}

export interface Plan {
  stack: string;
  tenants: string[];
  resources: PlanResource[];
  outputs: Record<string, unknown>;
  /** General warnings, placeholder values and the credentials `pulumi up` will need (infra/input/warnings.ts). */
  warnings: PlanWarning[];
  violations: Violation[];
  /** Cluster fit and cost (policies/capacity.ts); null without stack config `capacity`. */
  capacity: CapacityReport | null;
}

export interface PlanOptions {
  stack: string;
  projectRoot?: string;
  tenantsDir?: string;
  /** How the tenants folder is named in messages. */
  tenantsDisplay?: string;
  showSecrets?: boolean;
}

export type PlanResult =
  | { ok: true; plan: Plan; inputs: FleetInputs; registrations: Registration[] }
  | { ok: false; errors: Diagnostic[]; warnings: string[] };

/** Tenants declared before the mocks are given time to complete their registrations. */
export const TENANT_BATCH = 25;

async function inBatches<T>(items: readonly T[], declare: (item: T) => void): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % TENANT_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    declare(items[i]);
  }
}

/** Runs one plan. Plans must not overlap in a process: Pulumi's mock monitor is global. */
export async function runPlan(opts: PlanOptions): Promise<PlanResult> {
  const root = opts.projectRoot ?? PROJECT_ROOT;
  const tenantsDir = opts.tenantsDir ?? path.join(root, "tenants");
  const tenantsDisplay = opts.tenantsDisplay ?? (path.resolve(tenantsDir) === path.join(root, "tenants") ? "tenants" : path.relative(process.cwd(), tenantsDir) || ".");
  const loaded = loadInputs({
    stack: opts.stack,
    stacks: stacksIn(root),
    config: configFromStackFile(root, opts.stack),
    tenantsDir,
    tenantsDisplay,
  });
  if (!loaded.ok) return loaded;
  const inputs = loaded.inputs;

  // The SDK's per-resource stack bookkeeping made cheap (infra/stack-traces.ts): the largest single
  // cost of a plan under ts-node; the plan's output holds no stack text.
  const restoreTraces = cheapSdkStackTraces("plan");
  let registrations: Map<string, Registration>;
  let resolvedOutputs: Record<string, unknown>;
  try {
    registrations = await installMocks(PROJECT, opts.stack);
    // Tenants are declared in batches, the mocks completing one batch's registrations before the next
    // is declared: the SDK holds every pending registration in memory (about 100 KiB a resource), so
    // declaring 2,000 tenants at once would need ~6 GiB at the peak. Same resources, same output.
    let declared: Promise<void> = Promise.resolve();
    const outputs = defineFleet(inputs, undefined, (declare) => {
      declared = inBatches(inputs.tenants, declare);
    });
    await declared;
    resolvedOutputs = (await resolve(outputs, !!opts.showSecrets)) as Record<string, unknown>;
    await pulumi.runtime.disconnect();
  } finally {
    restoreTraces();
  }

  const regs = [...registrations.values()].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  const resources = regs.map((r) => toPlanResource(r, !!opts.showSecrets));
  const policyResources = regs.map(toPolicyResource);
  const capacity = inputs.settings.capacity ? capacityContext(inputs.settings.capacity) : undefined;
  const kestraRepository = imageParts(inputs.settings.images.kestra)?.repo;
  const violations = evaluate(policyResources, { capacity, kestraRepositories: kestraRepository ? [kestraRepository] : undefined });
  return {
    ok: true,
    plan: {
      stack: opts.stack,
      tenants: inputs.tenants.map((t) => t.name),
      resources,
      outputs: resolvedOutputs,
      warnings: [...inputs.warnings.map(generalWarning), ...inputs.notices],
      violations,
      capacity: capacity ? capacityReport(policyResources, capacity) : null,
    },
    inputs,
    registrations: regs,
  };
}

function toPlanResource(r: Registration, showSecrets: boolean): PlanResource {
  const property = new Set(Object.values(r.propertyDependencies).flat());
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    id: r.id ?? null,
    parent: r.parent ?? null,
    provider: r.provider ?? null,
    inputs: render(r.inputs, showSecrets) as Record<string, unknown>,
    options: {
      protect: r.protect,
      retainOnDelete: r.retainOnDelete,
      deleteBeforeReplace: r.deleteBeforeReplace,
      ignoreChanges: r.ignoreChanges,
      // Explicit dependsOn: the dependencies that no input carries.
      dependsOn: r.dependencies.filter((d) => !property.has(d)),
    },
  };
}

function isSecretWrapper(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Plan JSON form of an input: secrets masked, resource references as their URN, keys sorted. */
function render(v: unknown, showSecrets: boolean): unknown {
  if (isSecretWrapper(v)) return showSecrets ? render(v.value, showSecrets) : "[secret]";
  if (Array.isArray(v)) return v.map((x) => render(x, showSecrets));
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === RESOURCE_SIG) return { resource: o.urn };
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = render(o[k], showSecrets);
    return out;
  }
  return v;
}

/** Inputs without secret wrappers, and which top-level inputs held a secret. */
export function unwrapSecrets(v: unknown): { value: unknown; secret: boolean } {
  if (isSecretWrapper(v)) return { value: unwrapSecrets(v.value).value, secret: true };
  if (Array.isArray(v)) {
    const parts = v.map(unwrapSecrets);
    return { value: parts.map((p) => p.value), secret: parts.some((p) => p.secret) };
  }
  if (v && typeof v === "object") {
    let secret = false;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const p = unwrapSecrets(x);
      out[k] = p.value;
      secret ||= p.secret;
    }
    return { value: out, secret };
  }
  return { value: v, secret: false };
}

export function toPolicyResource(r: Registration): PolicyResource {
  const props: Record<string, unknown> = {};
  const secretInputs: string[] = [];
  for (const [k, v] of Object.entries(r.inputs)) {
    const p = unwrapSecrets(v);
    props[k] = p.value;
    if (p.secret) secretInputs.push(k);
  }
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    id: r.id,
    props,
    secretInputs: secretInputs.sort(),
    options: { protect: r.protect, retainOnDelete: r.retainOnDelete, deleteBeforeReplace: r.deleteBeforeReplace, ignoreChanges: r.ignoreChanges, parent: r.parent },
    propertyDependencies: r.propertyDependencies,
  };
}

/** Resolves outputs (Outputs, nested objects) with secrets masked. */
async function resolve(v: unknown, showSecrets: boolean): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const out = v as pulumi.Output<unknown>;
    const [value, secret] = await Promise.all([(out as any).promise() as Promise<unknown>, (out as any).isSecret as Promise<boolean>]);
    if (secret && !showSecrets) return "[secret]";
    return resolve(value, showSecrets);
  }
  if (Array.isArray(v)) return Promise.all(v.map((x) => resolve(x, showSecrets)));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = await resolve((v as Record<string, unknown>)[k], showSecrets);
      if (x !== undefined) out[k] = x;
    }
    return out;
  }
  return v;
}
