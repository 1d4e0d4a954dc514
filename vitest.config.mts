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
          // Integration scenarios share one Docker engine on a 2-core machine: run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
