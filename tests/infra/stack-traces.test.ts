import { spawnSync } from "child_process";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { cheapSdkStackTraces } from "../../infra/stack-traces";
import { REPO_ROOT } from "../files-root";

// Under ts-node (as `pulumi up` runs infra/index.ts), with source-map-support installed.
describe("cheapSdkStackTraces", () => {
  const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "tests/fixtures/stack-traces/program.ts"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json"), PULUMI_DEBUG_PROMISE_LEAKS: "" },
  });
  const out = () => {
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout) as Record<"none" | "program" | "plan", { position: string; promiseTrace: string; stack: string }>;
  };
  const file = path.join(REPO_ROOT, "tests/fixtures/stack-traces/program.ts");

  it("program mode: the SDK's promise traces not recorded; resource source positions and the program's errors on TypeScript lines", () => {
    const { none, program } = out();
    expect(none.position).toBe(`file://${file}:30`);
    expect(none.promiseTrace).toContain("node_modules/@pulumi/runtime/debuggable.ts"); // source-map-support's work, a file that does not exist
    expect(program.position).toBe(none.position);
    expect(program.promiseTrace).toBe("Error"); // not captured at all
    expect(program.stack).toContain(`${file}:36:11`);
    expect(program.stack).toBe(none.stack);
  });

  it("plan mode: no source position sent at all (the mocks ignore them); errors still on TypeScript lines", () => {
    const { plan } = out();
    expect(plan.position).toBe("");
    expect(plan.stack).toContain(`${file}:36:11`);
  });
});

describe("cheapSdkStackTraces in this process", () => {
  it("leaves the SDK alone when PULUMI_DEBUG_PROMISE_LEAKS asks for the promise stacks; restores what it changed", () => {
    const debuggable = require("@pulumi/pulumi/runtime/debuggable");
    const original = debuggable.debuggablePromise;
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
    try {
      cheapSdkStackTraces("plan")();
      expect(cheapSdkStackTraces("plan") && debuggable.debuggablePromise).toBe(original);
    } finally {
      delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
    }
    const restore = cheapSdkStackTraces("plan");
    expect(debuggable.debuggablePromise).not.toBe(original);
    restore();
    expect(debuggable.debuggablePromise).toBe(original);
  });
});
