/** The merge request that moves the stacks to freshly built images (used by ci/open-pin-mr.ts). */
import type { StackFileChange } from "./stack-files";

/** The part of the GitLab API this needs (a @gitbeaker/rest Gitlab instance fits). */
export interface PinMergeRequestApi {
  Commits: {
    create(
      projectId: string | number,
      branch: string,
      message: string,
      actions: { action: "update"; filePath: string; content: string }[],
      options: { startBranch: string },
    ): Promise<unknown>;
  };
  MergeRequests: {
    create(
      projectId: string | number,
      sourceBranch: string,
      targetBranch: string,
      title: string,
      options: { description: string; removeSourceBranch: boolean },
    ): Promise<{ iid: number; web_url: string }>;
  };
}

export interface PinRequest {
  projectId: string | number;
  targetBranch: string;
  /** The commit whose images were built: names the branch and the title. */
  commitSha: string;
  changes: readonly StackFileChange[];
}

export function pinBranchName(commitSha: string): string {
  return `ci/pin-images-${commitSha.slice(0, 8)}`;
}

export function pinTitle(request: PinRequest): string {
  const names = [...new Set(request.changes.flatMap((change) => change.updated))].sort();
  return `Pin images ${names.join(", ")} built from ${request.commitSha.slice(0, 8)}`;
}

export function pinDescription(request: PinRequest): string {
  return [
    "Opened by the `images:pin` job after the images were built, pushed and scanned (no CRITICAL finding).",
    "",
    ...request.changes.map((change) => `- \`${change.file}\`: ${change.updated.join(", ")}`),
    "",
    "The preview notes below show which containers each host replaces. Merging deploys them.",
  ].join("\n");
}

export async function openPinMergeRequest(api: PinMergeRequestApi, request: PinRequest): Promise<{ iid: number; web_url: string }> {
  const branch = pinBranchName(request.commitSha);
  const title = pinTitle(request);
  await api.Commits.create(
    request.projectId,
    branch,
    title,
    request.changes.map((change) => ({ action: "update", filePath: change.file, content: change.text })),
    { startBranch: request.targetBranch },
  );
  return api.MergeRequests.create(request.projectId, branch, request.targetBranch, title, {
    description: pinDescription(request),
    removeSourceBranch: true,
  });
}
