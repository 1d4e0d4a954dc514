import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { SERVICE_CATALOG } from "../../../stacks/catalog";
import { describe, expect, it, vi } from "vitest";
import { discoverOwnImages, imagesToBuild, type OwnImage, ownImageOf } from "../../../ci/lib/own-images";
import { openPinMergeRequest, type PinMergeRequestApi } from "../../../ci/lib/pin-merge-request";
import { builtImage, changeBase, dockerBuildArgs } from "../../../ci/lib/registry";

const REPO_ROOT = path.resolve(__dirname, "../../..");

const SHA = "89abcdef0123456789abcdef0123456789abcdef";
const DIGEST = `sha256:${"d".repeat(64)}`;

describe("ownImageOf", () => {
  it.each([
    ["ldap/image/Dockerfile", { name: "ldap", context: "ldap/image" }],
    ["platform/acme/image/Dockerfile", { name: "acme", context: "platform/acme/image" }],
    ["platform/postgres/image/Dockerfile", { name: "postgres", context: "platform/postgres/image" }],
    ["backup/image/Dockerfile", { name: "backup", context: "backup/image" }],
    ["monitoring/image/Dockerfile", { name: "monitoring", context: "monitoring/image" }],
    ["mail/postfix/Dockerfile", { name: "mail-postfix", context: "mail/postfix" }],
    ["mail/images/dovecot/Dockerfile", { name: "mail-images-dovecot", context: "mail/images/dovecot" }],
  ])("names the image built from %s", (dockerfile, image) => {
    expect(ownImageOf(dockerfile)).toEqual(image);
  });

  it.each(["hosts/test-host/Dockerfile", "mail/Dockerfile", "ldap/image/Dockerfile.dev", "ldap/Dockerfile", "mail/postfix/main.cf"])(
    "does not push %s",
    (file) => {
      expect(ownImageOf(file)).toBeUndefined();
    },
  );
});

describe("discoverOwnImages", () => {
  it("finds the Dockerfiles under ldap/image and mail/, not the test host's", () => {
    const root = mkdtempSync(path.join(tmpdir(), "own-images-"));
    try {
      for (const file of [
        "ldap/image/Dockerfile",
        "mail/rspamd/Dockerfile",
        "mail/postfix/Dockerfile",
        "mail/postfix/main.cf",
        "mail/dns.ts",
        "hosts/image/Dockerfile",
      ]) {
        mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        writeFileSync(path.join(root, file), "");
      }
      expect(discoverOwnImages(root).map((image) => image.name)).toEqual(["ldap", "mail-postfix", "mail-rspamd"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("imagesToBuild", () => {
  const images: OwnImage[] = [
    { name: "ldap", context: "ldap/image" },
    { name: "mail-postfix", context: "mail/postfix" },
    { name: "mail-postfix-policy", context: "mail/postfix-policy" },
  ];

  it("builds the images with a changed file in their folder", () => {
    expect(imagesToBuild(images, ["mail/postfix/main.cf", "README.md"]).map((i) => i.name)).toEqual(["mail-postfix"]);
  });

  it("builds none for changes outside the image folders (mail/component.ts)", () => {
    expect(imagesToBuild(images, ["mail/component.ts", "ldap/members/cli.ts"])).toEqual([]);
  });

  it("builds all when the changes are unknown", () => {
    expect(imagesToBuild(images, "unknown")).toEqual(images);
  });
});

describe("changeBase", () => {
  it("prefers the merge request's base, then the commit before the push", () => {
    expect(changeBase({ CI_MERGE_REQUEST_DIFF_BASE_SHA: "aaa", CI_COMMIT_BEFORE_SHA: "bbb" })).toBe("aaa");
    expect(changeBase({ CI_COMMIT_BEFORE_SHA: "bbb" })).toBe("bbb");
  });

  it("has none on a branch's first push", () => {
    expect(changeBase({ CI_COMMIT_BEFORE_SHA: "0000000000000000000000000000000000000000" })).toBeUndefined();
  });
});

describe("builtImage", () => {
  const repository = "registry.gitlab.example.org/asso/infra/ldap";

  it("turns the pushed digest into a scan reference and a stack pin", () => {
    const other = `registry.gitlab.example.org/asso/infra/ldap-old@sha256:${"e".repeat(64)}`;
    expect(builtImage("ldap", repository, SHA, [other, `${repository}@${DIGEST}`])).toEqual({
      name: "ldap",
      ref: `${repository}@${DIGEST}`,
      pin: `${SHA}@${DIGEST}`,
    });
  });

  it("fails when the push left no digest", () => {
    expect(() => builtImage("ldap", repository, SHA, [])).toThrow(/ldap: no digest/);
  });
});

describe("dockerBuildArgs", () => {
  const tagged = `registry.gitlab.example.org/asso/infra/ldap:${SHA}`;

  it("builds on the local base image, without pulling, unless asked", () => {
    expect(dockerBuildArgs({ tagged, context: "ldap/image" })).toEqual(["build", "--tag", tagged, "ldap/image"]);
  });

  it("pulls the base image first when asked (the images:build job)", () => {
    expect(dockerBuildArgs({ tagged, context: "ldap/image", pull: true })).toEqual(["build", "--pull", "--tag", tagged, "ldap/image"]);
  });

  it("passes BASE_IMAGE as the build argument our Dockerfiles declare", () => {
    expect(dockerBuildArgs({ tagged, context: "mail/postfix", baseImage: "debian:bookworm-slim@sha256:" + "a".repeat(64) })).toEqual([
      "build",
      "--build-arg",
      `BASE_IMAGE=debian:bookworm-slim@sha256:${"a".repeat(64)}`,
      "--tag",
      tagged,
      "mail/postfix",
    ]);
  });
});

describe("our image folders", () => {
  // Otherwise BASE_IMAGE would be ignored and an offline build would look for debian:bookworm-slim.
  it.each(discoverOwnImages(REPO_ROOT).map((image) => [image.name, image.context]))(
    "%s takes its base image from the BASE_IMAGE build argument",
    (_name, context) => {
      const dockerfile = readFileSync(path.join(REPO_ROOT, context, "Dockerfile"), "utf8");
      const froms = dockerfile.match(/^FROM .*$/gm) ?? [];
      const declared = dockerfile.indexOf("ARG BASE_IMAGE=");
      expect(froms.length).toBeGreaterThan(0);
      expect(declared).toBeGreaterThanOrEqual(0);
      expect(declared).toBeLessThan(dockerfile.indexOf(froms[0] ?? "FROM"));
      for (const from of froms) expect(from).toMatch(/^FROM \$\{BASE_IMAGE\}( AS [\w-]+)?$/);
    },
  );
});

describe("openPinMergeRequest", () => {
  it("commits the rewritten stacks to a branch and opens a merge request into the default branch", async () => {
    const api: PinMergeRequestApi = {
      Commits: { create: vi.fn(async () => ({})) },
      MergeRequests: { create: vi.fn(async () => ({ iid: 12, web_url: "https://gitlab.example.org/asso/infra/-/merge_requests/12" })) },
    };
    const changes = [{ file: "stacks/Pulumi.pica02.yaml", text: "config: {}\n", updated: ["mail-postfix", "ldap"] }];

    const mr = await openPinMergeRequest(api, { projectId: 42, targetBranch: "main", commitSha: SHA, changes });

    expect(mr.iid).toBe(12);
    expect(api.Commits.create).toHaveBeenCalledWith(
      42,
      "ci/pin-images-89abcdef",
      "Pin images ldap, mail-postfix built from 89abcdef",
      [{ action: "update", filePath: "stacks/Pulumi.pica02.yaml", content: "config: {}\n" }],
      { startBranch: "main" },
    );
    expect(api.MergeRequests.create).toHaveBeenCalledWith(
      42,
      "ci/pin-images-89abcdef",
      "main",
      "Pin images ldap, mail-postfix built from 89abcdef",
      expect.objectContaining({
        removeSourceBranch: true,
        description: expect.stringContaining("`stacks/Pulumi.pica02.yaml`: mail-postfix, ldap"),
      }),
    );
  });
});

describe("the images CI pushes", () => {
  it("are exactly the images the services declare (ownImages), so that every pin a stack needs gets built", () => {
    const declared = [
      ...new Set(SERVICE_CATALOG.flatMap((service) => [...((service as { ownImages?: readonly string[] }).ownImages ?? [])])),
    ].sort();
    expect(discoverOwnImages(path.resolve(__dirname, "../../..")).map((image) => image.name)).toEqual(declared);
  });
});
