import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Tests of the real engine need `npm run engine` first: `npm run test:engine` (tests/engine/vitest.config.ts).
    exclude: ["tests/**/*.engine.test.ts", "**/node_modules/**"],
    // Pulumi's mock monitor is global to a process: files run in separate forks, tests of one
    // file run in order.
    pool: "forks",
    // Two cores: two files at a time (vitest would use one); the CLI tests mostly wait on children.
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    sequence: { concurrent: false },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
