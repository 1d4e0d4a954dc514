import { readStackFile } from "../stacks/render";

/** A copy of pica01's stack file with `count` generated partner associations (each adds five containers). */
export function withPartners(count: number): Record<string, unknown> {
  const config = structuredClone(readStackFile("pica01"));
  config["infra:partners"] = Array.from({ length: count }, (_, i) => ({
    id: `partner${i}`,
    name: `Partner ${i}`,
    domain: `cloud.partner${i}.example.org`,
    adminEmail: `admin@partner${i}.example.org`,
    defaultQuota: "5 GB",
  }));
  // The budget is pica01's concern, not the render's: large enough for any count here.
  config["infra:memoryBudgetMb"] = 1_000_000;
  return config;
}
