import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Utils } from "gitlab-ci-local/src/utils.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type ListedJob, type PipelineRepo as Repo, PipelineRepo, type PipelineVariables } from "./gitlab-ci-local";

// The variables GitLab sets for each kind of pipeline (default branch: main).
const MERGE_REQUEST: PipelineVariables = {
  CI_PIPELINE_SOURCE: "merge_request_event",
  CI_MERGE_REQUEST_IID: "7",
  CI_COMMIT_BRANCH: undefined,
};
const DEFAULT_BRANCH: PipelineVariables = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main" };
const FEATURE_BRANCH: PipelineVariables = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "add-nextcloud" };
const SCHEDULE: PipelineVariables = { CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main" };
const TAG: PipelineVariables = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: undefined, CI_COMMIT_TAG: "v1.0.0" };

const CHECKS = ["lint", "test:integration", "test:unit"];
const IMAGES = ["images:build", "images:pin", "images:scan"];
const HOSTS = ["pica01", "pica02"];
// What previews and deploys wait for: the checks that run on any runner, and the image jobs where a
// pipeline has them. Never test:integration, which needs the docker-host runner.
const PULUMI_NEEDS = [
  { job: "lint", optional: false },
  { job: "test:unit", optional: false },
  { job: "images:build", optional: true },
  { job: "images:scan", optional: true },
  { job: "images:pin", optional: true },
];

function running(jobs: ListedJob[]): string[] {
  return jobs
    .filter((job) => job.when !== "never")
    .map((job) => job.name)
    .sort();
}

function needsOf(jobs: ListedJob[], name: string): { job: string; optional: boolean }[] {
  return (job(jobs, name).needs ?? []).map((need) => ({ job: need.job, optional: need.optional === true }));
}

function job(jobs: ListedJob[], name: string): ListedJob {
  const found = jobs.find((j) => j.name === name);
  if (!found) throw new Error(`no job ${name}`);
  return found;
}

let repo: Repo;
let withImageChange: Repo;
let merged: Record<string, Record<string, unknown>>;

beforeAll(() => {
  repo = new PipelineRepo();
  withImageChange = new PipelineRepo().change({ "mail/postfix/Dockerfile": "FROM debian:bookworm-slim\n" });
  merged = parse(repo.preview()) as Record<string, Record<string, unknown>>;
});

afterAll(() => {
  repo.remove();
  withImageChange.remove();
});

describe("workflow:rules", () => {
  function createsPipeline(variables: PipelineVariables): boolean {
    const rules = (merged.workflow as { rules: { if?: string; when?: string }[] }).rules;
    const defined = Object.fromEntries(
      Object.entries({ CI_DEFAULT_BRANCH: "main", ...variables }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const rule = rules.find((r) => Utils.evaluateRuleIf(r.if, defined));
    return rule !== undefined && rule.when !== "never";
  }

  it.each([
    ["a merge request", MERGE_REQUEST, true],
    ["the default branch", DEFAULT_BRANCH, true],
    ["a schedule", SCHEDULE, true],
    ["a tag", TAG, true],
    // Its merge request pipeline is the one that runs: no duplicate branch pipeline.
    ["a push to another branch", FEATURE_BRANCH, false],
  ])("creates a pipeline for %s: %s", (_kind, variables, expected) => {
    expect(createsPipeline(variables)).toBe(expected);
  });
});

describe("merge request pipeline", () => {
  it("runs the checks and one preview per host, and deploys nothing", () => {
    expect(running(repo.listJobs(MERGE_REQUEST))).toEqual([...CHECKS, "preview:pica01", "preview:pica02"].sort());
  });

  it("builds and scans images whose folder changed, but leaves pinning to the default branch", () => {
    expect(running(withImageChange.listJobs(MERGE_REQUEST))).toEqual(
      [...CHECKS, "images:build", "images:scan", "preview:pica01", "preview:pica02"].sort(),
    );
  });

  it("validates the Renovate configuration when it changes", () => {
    const changed = new PipelineRepo().change({ "renovate.json": "{}\n" });
    try {
      expect(running(changed.listJobs(MERGE_REQUEST))).toContain("renovate:config");
      expect(running(repo.listJobs(MERGE_REQUEST))).not.toContain("renovate:config");
    } finally {
      changed.remove();
    }
  });
});

describe("default branch pipeline", () => {
  it("runs the checks and a manual, blocking deploy per host", () => {
    const jobs = repo.listJobs(DEFAULT_BRANCH);
    expect(running(jobs)).toEqual([...CHECKS, "deploy:pica01", "deploy:pica02"].sort());
    for (const name of ["deploy:pica01", "deploy:pica02"]) {
      expect(job(jobs, name)).toMatchObject({ stage: "deploy", when: "manual", allow_failure: false });
    }
  });

  it("deploys without waiting when DEPLOY_AUTO is true", () => {
    const jobs = repo.listJobs({ ...DEFAULT_BRANCH, DEPLOY_AUTO: "true" });
    expect(job(jobs, "deploy:pica01").when).toBe("on_success");
    expect(job(jobs, "deploy:pica02").when).toBe("on_success");
  });

  it("builds images on a freshly pulled base image (the build pulls only when asked)", () => {
    expect((merged["images:build"].script as string[]).join("\n")).toMatch(/npx tsx ci\/build-images\.ts --pull /);
  });

  it("builds, scans and pins changed images, the pin only after a clean scan", () => {
    const jobs = withImageChange.listJobs(DEFAULT_BRANCH);
    expect(running(jobs)).toEqual(expect.arrayContaining(IMAGES));
    expect(
      job(jobs, "images:pin")
        .needs?.map((n) => n.job)
        .sort(),
    ).toEqual(["images:build", "images:scan"]);
  });
});

describe("scheduled pipeline", () => {
  it("checks every host for drift and nothing else", () => {
    expect(running(repo.listJobs(SCHEDULE))).toEqual(["drift:pica01", "drift:pica02"]);
  });

  it("runs only Renovate when the schedule says so", () => {
    expect(running(repo.listJobs({ ...SCHEDULE, SCHEDULED_TASK: "renovate" }))).toEqual(["renovate"]);
  });
});

describe("tag pipeline", () => {
  it("runs the checks only", () => {
    expect(running(repo.listJobs(TAG))).toEqual(CHECKS);
  });
});

describe("previews and deploys", () => {
  it.each(HOSTS)("preview:%s needs only lint, test:unit and the optional image jobs, never test:integration", (host) => {
    for (const pipeline of [repo, withImageChange]) {
      expect(needsOf(pipeline.listJobs(MERGE_REQUEST), `preview:${host}`)).toEqual(PULUMI_NEEDS);
    }
  });

  it("deploys pica02 first: pica01 reads its outputs through a stack reference", () => {
    const jobs = repo.listJobs(DEFAULT_BRANCH);
    expect(needsOf(jobs, "deploy:pica02")).toEqual(PULUMI_NEEDS);
    expect(needsOf(jobs, "deploy:pica01")).toEqual([...PULUMI_NEEDS, { job: "deploy:pica02", optional: false }]);
  });

  it("needs no job of the docker-host runner except the image build, and only where images changed", () => {
    const dockerHostJobs = Object.entries(merged)
      .filter(([, config]) => ((config as { tags?: string[] }).tags ?? []).includes("docker-host"))
      .map(([name]) => name)
      .sort();
    expect(dockerHostJobs).toEqual(["images:build", "test:integration"]);
    for (const name of HOSTS.flatMap((host) => [`preview:${host}`, `deploy:${host}`])) {
      const needs = (merged[name].needs as { job: string; optional?: boolean }[]).filter((need) => dockerHostJobs.includes(need.job));
      expect(needs, name).toEqual([{ job: "images:build", optional: true, artifacts: false }]);
    }
  });

  // gitlab-ci-local fails when a running job needs a job the pipeline does not have (or a manual job
  // nobody starts, hence DEPLOY_AUTO=true for the default branch).
  it.each([
    ["a merge request", MERGE_REQUEST, false],
    ["a merge request that changes an image", MERGE_REQUEST, true],
    ["the default branch", { ...DEFAULT_BRANCH, DEPLOY_AUTO: "true" }, false],
    ["the default branch with an image change", { ...DEFAULT_BRANCH, DEPLOY_AUTO: "true" }, true],
    ["a schedule", SCHEDULE, false],
    ["a tag", TAG, false],
  ])("every job a running job needs is in the pipeline of %s", (_kind, variables, imageChange) => {
    expect(() => (imageChange ? withImageChange : repo).validateNeeds(variables)).not.toThrow();
  });

  it.each(HOSTS.flatMap((host) => [`preview:${host}`, `deploy:${host}`, `drift:${host}`]))(
    "%s caches Pulumi's provider plugins under the project directory, keyed on package-lock.json",
    (name) => {
      const config = merged[name] as {
        variables: Record<string, string>;
        cache: { key: { files?: string[]; prefix?: string }; paths: string[] }[];
      };
      const home = config.variables.PULUMI_HOME;
      expect(home).toMatch(/^\$CI_PROJECT_DIR\/[\w.-]+$/);
      const pluginsPath = `${home.slice("$CI_PROJECT_DIR/".length)}/plugins/`;
      const pluginCache = config.cache.find((cache) => cache.paths.includes(pluginsPath));
      expect(pluginCache, `a cache of ${pluginsPath}`).toBeDefined();
      expect(pluginCache?.key.files).toEqual(["package-lock.json"]);
      // Its own key: the npm cache of the .node jobs (same lockfile) must not overwrite it.
      expect(pluginCache?.key.prefix).toBeTruthy();
    },
  );

  it.each(HOSTS.flatMap((host) => [`preview:${host}`, `deploy:${host}`, `drift:${host}`]))(
    "%s sources ci/ssh-setup.sh, so the ssh-agent it starts serves the job's script",
    (name) => {
      const beforeScript = merged[name].before_script as string[];
      expect(beforeScript).toEqual(expect.arrayContaining([expect.stringMatching(/^(\.|source) ci\/ssh-setup\.sh$/)]));
      expect(beforeScript.join("\n")).not.toMatch(/\b(bash|sh) ci\/ssh-setup\.sh/);
    },
  );
});

describe("merged configuration", () => {
  it.each(["pica01", "pica02"])("serialises %s's deploys and drift checks and records its environment", (host) => {
    expect(merged[`deploy:${host}`]).toMatchObject({
      resource_group: host,
      environment: { name: host, deployment_tier: "production" },
      variables: { STACK: host },
    });
    expect(merged[`drift:${host}`]).toMatchObject({ resource_group: host, variables: { STACK: host } });
  });

  it("never runs Pulumi on the local stack", () => {
    const stacks = Object.values(merged).flatMap((j) => {
      const stack = (j as { variables?: { STACK?: string } }).variables?.STACK;
      return stack ? [stack] : [];
    });
    expect(new Set(stacks)).toEqual(new Set(["pica01", "pica02"]));
  });

  it("previews with the policy pack, deploys with --yes and fails drift on any change", () => {
    expect((merged["preview:pica01"].script as string[]).join("\n")).toMatch(
      /pulumi preview --stack "\$STACK" --diff --policy-pack policy/,
    );
    expect((merged["deploy:pica01"].script as string[]).join("\n")).toMatch(/pulumi up --stack "\$STACK" --yes/);
    expect((merged["drift:pica01"].script as string[]).join("\n")).toMatch(/pulumi preview .*--expect-no-changes/);
  });

  it.each(HOSTS)("deploy:%s runs the smoke check of its stack once pulumi up has succeeded", (host) => {
    const script = merged[`deploy:${host}`].script as string[];
    const up = script.findIndex((line) => /^pulumi up --stack "\$STACK" /.test(line));
    const smoke = script.findIndex((line) => line === 'npm run smoke -- --stack "$STACK"');
    expect(up).toBeGreaterThanOrEqual(0);
    expect(smoke).toBeGreaterThan(up);
    expect((merged[`deploy:${host}`].variables as { STACK: string }).STACK).toBe(host);
    // Previews and drift checks change nothing on the host: nothing to check there.
    for (const job of [`preview:${host}`, `drift:${host}`])
      expect((merged[job].script as string[]).join("\n"), job).not.toMatch(/npm run smoke/);
  });

  it("includes only local files, so the pipeline can be checked offline", () => {
    const root = parse(readFileSync(path.join(repo.dir, ".gitlab-ci.yml"), "utf8")) as { include: Record<string, string>[] };
    expect(root.include.length).toBeGreaterThan(0);
    for (const entry of root.include) expect(Object.keys(entry)).toEqual(["local"]);
  });
});
