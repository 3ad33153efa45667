import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Suites share one Postgres server and boot PGlite instances; two workers fit a 2-core machine.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
