import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts", "**/*.unit.test.ts"],
          exclude: ["node_modules/**"],
          testTimeout: 30_000,
          globalSetup: ["tests/setup/unit.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          globalSetup: ["tests/setup/integration.ts"],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          // Two scenario files at a time, after the unit tests: most of their time is spent waiting
          // (daemons starting, probes, timers), so two share the 2-core machine and its one Docker engine
          // well; more would make the timing-sensitive scenarios (alerts, renewals) race each other. Each
          // file's containers, networks and volumes carry their own prefix (tests/helpers/harness.ts).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
