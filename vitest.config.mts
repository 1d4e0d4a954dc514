import { defineConfig } from "vitest/config";

/**
 * Scenarios that measure time as they go (alerts firing within a group interval, a mail that must leave
 * before the next one): they run alone, after the others, so that no neighbour's load makes them late.
 */
const TIMED = ["tests/integration/monitoring/**/*.test.ts"];

const integration = {
  globalSetup: ["tests/setup/integration.ts"],
  testTimeout: 180_000,
  hookTimeout: 600_000,
};

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
          ...integration,
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          exclude: ["node_modules/**", ...TIMED],
          // Two scenario files at a time, after the unit tests: most of their time is spent waiting
          // (daemons starting, probes, timers), so two share the 2-core machine and its one Docker engine
          // well. Each file's containers, networks and volumes carry their own prefix (tests/helpers/harness.ts).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...integration,
          name: "integration-timed",
          include: TIMED,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
