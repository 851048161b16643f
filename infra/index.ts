/**
 * Pulumi entry point (Pulumi.yaml: main: infra/). Reads the stack config from the engine and the
 * tenant files from tenants/ (or the folder named by KESTRA_FLEET_TENANTS_DIR), validates everything once, and declares the fleet. On any invalid
 * input nothing is declared: the program stops with the full list of problems.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { configFromRuntime } from "./input/config/load";
import { formatDiagnostic, sortDiagnostics } from "./input/diagnostics";
import { loadInputs } from "./input/inputs";
import { defineFleet } from "./program";
import { cheapSdkStackTraces } from "./stack-traces";
import { stacksIn } from "./input/tenants/load";

// The SDK captures a stack for every internal promise (several per resource) only for its leak report
// under PULUMI_DEBUG_PROMISE_LEAKS, and the Pulumi CLI runs this program through ts-node, whose
// source-map-support maps each of them: together about half of the CPU of a large plan. From here on
// those stacks are not captured (unless that variable is set); the program's own errors, and the source
// position the engine records for each resource, still point at TypeScript lines. Why this is safe:
// infra/stack-traces.ts (tests/infra/stack-traces.test.ts runs it under ts-node).
cheapSdkStackTraces("program");

const projectRoot = path.resolve(__dirname, "..");
const stack = pulumi.getStack();
const all = pulumi.runtime.allConfig();
// The language host lists the secret keys in PULUMI_CONFIG_SECRET_KEYS (a JSON array).
const secretKeys: string[] = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS || "[]");

const result = loadInputs({
  stack,
  stacks: stacksIn(projectRoot),
  config: configFromRuntime(all, secretKeys, { projectRoot, stack }),
  tenantsDir: process.env.KESTRA_FLEET_TENANTS_DIR ? path.resolve(process.env.KESTRA_FLEET_TENANTS_DIR) : path.join(projectRoot, "tenants"),
});

if (!result.ok) {
  throw new pulumi.RunError(`invalid tenant files or stack config; nothing was deployed:\n${sortDiagnostics(result.errors).map(formatDiagnostic).join("\n")}`);
}
for (const w of result.inputs.warnings) pulumi.log.warn(w);
for (const n of result.inputs.notices) pulumi.log.warn(n.message);

const outputs = defineFleet(result.inputs);

export const tenants = outputs.tenants;
export const proxy = outputs.proxy;
export const storage = outputs.storage;
