/**
 * Run gitlab-ci-local against the real .gitlab-ci.yml and ci/*.yml, copied into a throw-away git
 * repository so that `rules:changes` sees exactly the files a scenario changes (gitlab-ci-local
 * diffs the work tree against origin/<default branch>).
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const GCL = path.join(REPO_ROOT, "node_modules/gitlab-ci-local/src/index.js");

export interface ListedJob {
  name: string;
  stage: string;
  when: string;
  allow_failure: boolean;
  needs?: { job: string; optional?: boolean; artifacts?: boolean }[];
}

/** Pipeline variables as GitLab sets them; `undefined` means unset (e.g. CI_COMMIT_BRANCH in MR pipelines). */
export type PipelineVariables = Record<string, string | undefined>;

function git(cwd: string, ...args: string[]): void {
  execFileSync("git", ["-c", "user.email=ci@example.org", "-c", "user.name=ci", ...args], { cwd, stdio: "ignore" });
}

export class PipelineRepo {
  readonly dir = mkdtempSync(path.join(tmpdir(), "gcl-"));
  /** listJobs results by variables (each gitlab-ci-local run takes about a second); reset by change(). */
  private listed = new Map<string, ListedJob[]>();

  constructor() {
    cpSync(path.join(REPO_ROOT, ".gitlab-ci.yml"), path.join(this.dir, ".gitlab-ci.yml"));
    cpSync(path.join(REPO_ROOT, "ci"), path.join(this.dir, "ci"), { recursive: true, filter: (src) => /(\.ya?ml|ci)$/.test(src) });
    git(this.dir, "init", "-q", "-b", "main");
    git(this.dir, "add", "-A");
    git(this.dir, "commit", "-q", "-m", "base");
    git(this.dir, "remote", "add", "origin", "git@gitlab.example.org:asso/infra.git");
    git(this.dir, "update-ref", "refs/remotes/origin/main", "HEAD");
    git(this.dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main");
  }

  /** Commit files on top of origin/main: what the pipeline's changes are. */
  change(files: Record<string, string>): this {
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(this.dir, file)), { recursive: true });
      writeFileSync(path.join(this.dir, file), content);
    }
    git(this.dir, "add", "-A");
    git(this.dir, "commit", "-q", "-m", "change");
    this.listed.clear();
    return this;
  }

  private run(flag: "--list-json" | "--preview" | "--validate-dependency-chain", variables: PipelineVariables): string {
    const args = [GCL, flag];
    for (const [name, value] of Object.entries(variables)) {
      args.push(...(value === undefined ? ["--unset-variable", name] : ["--variable", `${name}=${value}`]));
    }
    return execFileSync(process.execPath, args, {
      cwd: this.dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0" },
    });
  }

  /** Every job with the `when` its rules give for these variables ("never" = not in the pipeline). */
  listJobs(variables: PipelineVariables): ListedJob[] {
    const key = JSON.stringify(Object.entries(variables).sort());
    let jobs = this.listed.get(key);
    if (!jobs) {
      const out = this.run("--list-json", variables);
      // gitlab-ci-local prints warnings (overridden predefined variables) before the JSON.
      jobs = JSON.parse(out.slice(out.indexOf("\n[") + 1)) as ListedJob[];
      this.listed.set(key, jobs);
    }
    return structuredClone(jobs);
  }

  /**
   * gitlab-ci-local's check that every job a running job needs also runs (optional needs may be
   * absent). Throws with its message when one does not.
   */
  validateNeeds(variables: PipelineVariables): void {
    this.run("--validate-dependency-chain", variables);
  }

  /** The merged configuration (includes and `extends` resolved), as YAML text. */
  preview(): string {
    return this.run("--preview", {});
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
