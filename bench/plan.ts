// `npm run bench:plan`: how long the offline render takes, cold (fresh process per stack) and warm (all stacks in one process).
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { listStacks, renderStack } from "../stacks/render";
import { withPartners } from "./partners";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
// The same loader as `npm run plan` (sucrase: a fast TypeScript-stripping require hook).
const NODE_ARGS = ["-r", "sucrase/register/ts"];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const stacks = listStacks();
  console.log(`bench:plan — ${RUNS} runs each, median wall time (targets: < 1.5 s per stack cold, < 3 s for all stacks in one process)`);

  for (const stack of stacks) {
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const start = performance.now();
      execFileSync(process.execPath, [...NODE_ARGS, path.join(__dirname, "render-one.ts"), stack], { stdio: "pipe" });
      times.push(performance.now() - start);
    }
    console.log(`  cold  ${stack.padEnd(8)} ${seconds(median(times))}  (process start, load, render)`);
  }

  const warm: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    for (const stack of stacks) await renderStack(stack);
    warm.push(performance.now() - start);
  }
  console.log(`  one process, all ${stacks.length} stacks: ${seconds(median(warm))}`);

  // How the render grows with the association: pica01 with generated partners (five containers each).
  console.log("  scaling (pica01 with N partners, warm; targets: < 5 ms per added container, 40 partners < 2 s):");
  const points: { partners: number; containers: number; ms: number }[] = [];
  for (const partners of [1, 10, 40]) {
    const config = withPartners(partners);
    const times: number[] = [];
    let containers = 0;
    for (let run = 0; run < RUNS; run++) {
      const start = performance.now();
      containers = (await renderStack("pica01", config)).containers.length;
      times.push(performance.now() - start);
    }
    points.push({ partners, containers, ms: median(times) });
    console.log(`    ${String(partners).padStart(2)} partners, ${String(containers).padStart(3)} containers: ${seconds(median(times))}`);
  }
  const first = points[0];
  const last = points[points.length - 1];
  console.log(`    per added container: ${((last.ms - first.ms) / (last.containers - first.containers)).toFixed(1)} ms`);
}

main();
