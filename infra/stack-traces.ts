/**
 * Cheaper stack traces for the Pulumi SDK's internal bookkeeping, with TypeScript positions kept for
 * every error a person reads.
 *
 * Why: the SDK captures and formats stacks for bookkeeping on every resource registration, and under
 * ts-node (`npm run plan`, and the Pulumi CLI running infra/index.ts) source-map-support's
 * `Error.prepareStackTrace` maps every frame of every formatted stack through a source map:
 * - `runtime/debuggable.js` `debuggablePromise()` stores `new Error().stack` on each internal promise
 *   (several per resource, kept until they settle). The text is read only by the promise-leak report,
 *   and only when PULUMI_DEBUG_PROMISE_LEAKS is set (`promiseDebugString`). Capturing the frames alone
 *   was a fifth of a plan's CPU; mapping them, much more (42 % at 500 tenants, with the collector).
 * - `resource.js` `Resource.callsites()` formats `new Error().stack` with `Error.stackTraceLimit =
 *   Infinity` once per resource and parses `file:line:col` out of it: the resource's source position
 *   and stack sent with the registration (the engine shows them with the resource's errors).
 *
 * What:
 * - The SDK calls `debuggablePromise` through its module's exports (`debuggable_1.debuggablePromise`)
 *   at every call, so it is wrapped there: `Error.stackTraceLimit` is 0 for the duration of the call,
 *   and the stored stack is the bare `Error` line. The function itself still runs: leak candidates
 *   are tracked and reported at exit exactly as before, without stacks (which the SDK prints only under
 *   PULUMI_DEBUG_PROMISE_LEAKS, and then nothing here is installed).
 * - Mode "plan" (the offline plan, the tests, the bench): the mocks ignore source positions, so
 *   `Error.prepareStackTrace` is wrapped to give `callsites()` stacks no frames at all (the bare
 *   `Error` line): the SDK then sends no source position and no stack with the registration, and
 *   neither formats, parses nor marshals them (a few per cent of a plan's CPU). It recognises those
 *   stacks by the first call site (a function and a file name, no formatting) and hands every other
 *   stack to the mapper unchanged.
 * - Mode "program" (`pulumi preview`/`up`, infra/index.ts) leaves `callsites()` mapped: the source
 *   position the engine records for each resource keeps pointing at the .ts line that declared it
 *   (transpiled positions are off by the lines TypeScript erases or adds).
 * Errors of the program (our TypeScript, or an SDK error about our input) are formatted by
 * source-map-support as before and point at TypeScript lines, in both modes. The plan's output holds
 * no stack text: byte-identical either way.
 */
import * as path from "path";

type Prepare = (error: Error, frames: NodeJS.CallSite[]) => unknown;
type Debuggable = { debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown> };

const SDK_DIR = `${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
const RESOURCE = `${SDK_DIR}resource.js`;

let active = false;

/** True for the stack `Resource.callsites()` formats (its first call site is that function). */
export function isCallsitesStack(frames: NodeJS.CallSite[]): boolean {
  const top = frames[0];
  if (!top || top.getFunctionName() !== "callsites") return false;
  const file = top.getFileName() ?? "";
  return file.endsWith(RESOURCE) && file.includes(SDK_DIR);
}

/**
 * Installs the cheaper bookkeeping for this process. Returns a function that puts everything back.
 * Does nothing (and returns a no-op) when PULUMI_DEBUG_PROMISE_LEAKS is set or when already active.
 */
export function cheapSdkStackTraces(mode: "program" | "plan"): () => void {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS || active) return () => {};
  active = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const debuggable = require("@pulumi/pulumi/runtime/debuggable") as Debuggable;
  const original = debuggable.debuggablePromise;
  const quiet: Debuggable["debuggablePromise"] = function (this: unknown, p, ctx) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return original.call(this, p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
  debuggable.debuggablePromise = quiet;

  const mapped = Error.prepareStackTrace as Prepare | undefined;
  let cheap: Prepare | undefined;
  if (mode === "plan" && typeof mapped === "function") {
    cheap = function (this: unknown, error, frames) {
      return isCallsitesStack(frames) ? "Error" : mapped.call(this, error, frames);
    };
    Error.prepareStackTrace = cheap as typeof Error.prepareStackTrace;
  }
  return () => {
    if (debuggable.debuggablePromise === quiet) debuggable.debuggablePromise = original;
    if (cheap && Error.prepareStackTrace === (cheap as unknown)) Error.prepareStackTrace = mapped as typeof Error.prepareStackTrace;
    active = false;
  };
}
