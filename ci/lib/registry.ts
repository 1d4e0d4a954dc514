/** Pure helpers of ci/build-images.ts: which commit to diff against, and what a push produced. */
import type { BuiltImage } from "./own-images";

const NO_COMMIT = /^0+$/;

/**
 * The commit this pipeline's changes are measured from: the merge-request base, else the commit
 * before the push. GitLab sends 0000… for a branch's first push: no base then.
 */
export function changeBase(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.CI_MERGE_REQUEST_DIFF_BASE_SHA || env.CI_COMMIT_BEFORE_SHA;
  return base && !NO_COMMIT.test(base) ? base : undefined;
}

/** The pushed image's digest, from `docker image inspect` RepoDigests (one entry per repository). */
export function builtImage(name: string, repository: string, commitSha: string, repoDigests: readonly string[]): BuiltImage {
  const ref = repoDigests.find((entry) => entry.startsWith(`${repository}@sha256:`));
  if (!ref) throw new Error(`${name}: no digest for ${repository} after push (RepoDigests: ${repoDigests.join(", ") || "none"})`);
  const digest = ref.slice(repository.length + 1);
  return { name, ref, pin: `${commitSha}@${digest}` };
}

export interface BuildOptions {
  /** `<repository>:<tag>` to build. */
  tagged: string;
  /** Build context, relative to the directory docker runs in. */
  context: string;
  /** FROM image of our Dockerfiles (their `ARG BASE_IMAGE`); unset: the Dockerfile's default. */
  baseImage?: string;
  /** Pull a newer base image first (CI); off where no registry is reachable (tests, offline builds). */
  pull?: boolean;
}

/** The `docker build` arguments for one of our images. */
export function dockerBuildArgs(options: BuildOptions): string[] {
  return [
    "build",
    ...(options.pull ? ["--pull"] : []),
    ...(options.baseImage ? ["--build-arg", `BASE_IMAGE=${options.baseImage}`] : []),
    "--tag",
    options.tagged,
    options.context,
  ];
}
