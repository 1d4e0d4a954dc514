import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchesShownOutput, shellBlocks } from "../../helpers/doc-blocks";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { membersCliEnv, openDirectory } from "../../helpers/ldap";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const TOUR = "docs/tour.md";
/** The containers the tour's local-stack steps use, started from the rendered `local` stack. */
const CONTAINERS = ["ldap"];

/** The tour's steps that need the `local` stack, run in order as a volunteer would, against real containers. */
describe.runIf(dockerAvailable())("the tour's steps on the local stack", () => {
  const steps = shellBlocks(path.join(REPO_ROOT, TOUR)).filter((block) => block.localStack);
  let stack: RunningStack;
  let env: NodeJS.ProcessEnv;
  let bin: string;

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: CONTAINERS });
    // The harness gives Docker names a per-run prefix; the tour names containers as `pulumi up -s local`
    // does. A `docker` in front of the real one on PATH puts the prefix back.
    bin = mkdtempSync(path.join(tmpdir(), "tour-bin-"));
    const realDocker = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
    const shim = path.join(bin, "docker");
    writeFileSync(
      shim,
      `#!/bin/bash\nargs=()\nfor arg in "$@"; do\n  case " ${CONTAINERS.join(" ")} " in *" $arg "*) arg="${stack.prefix}$arg" ;; esac\n  args+=("$arg")\ndone\nexec ${realDocker} "\${args[@]}"\n`,
    );
    chmodSync(shim, 0o755);
    env = { ...process.env, ...membersCliEnv(await openDirectory(stack)), PATH: `${bin}:${process.env.PATH}`, FORCE_COLOR: "0" };
  });
  afterAll(async () => {
    await stack?.teardown();
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  it("has local-stack steps to run", () => {
    expect(steps.length).toBeGreaterThan(0);
  });

  for (const step of steps) {
    it(`runs ${step.where.replace(`${REPO_ROOT}/`, "")} and prints what the tour shows`, () => {
      const run = spawnSync("bash", ["-eo", "pipefail", "-c", step.script], { cwd: REPO_ROOT, env, encoding: "utf8", timeout: 150_000 });
      expect(run.status, `exited ${run.status}:\n${run.stderr}`).toBe(step.status);
      if (step.expectedOutput !== undefined)
        expect(matchesShownOutput(run.stdout, step.expectedOutput), `printed:\n${run.stdout}`).toBe(true);
    }, 180_000);
  }
});
