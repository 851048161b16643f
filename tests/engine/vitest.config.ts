import { defineConfig } from "vitest/config";

/** `npm run test:engine`: the tests that run the real Pulumi engine built by `npm run engine`. */
export default defineConfig({
  test: {
    root: `${__dirname}/../..`,
    include: ["tests/**/*.engine.test.ts"],
    pool: "forks",
    poolOptions: { forks: { minForks: 1, maxForks: 1 } },
    sequence: { concurrent: false },
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
