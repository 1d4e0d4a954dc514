import { beforeAll, describe, expect, it } from "vitest";
import {
  containerProblems,
  factsFor,
  healthcheckPrograms,
  parseImageRef,
  UPSTREAM_IMAGES,
  versionProblem,
  type ContainerUnderCheck,
} from "../../../platform/upstream-images";
import { SECRETS_TO_ENV_PATH } from "../../../platform/secrets-to-env";
import { listStacks, renderStack, type RenderedContainer, type RenderedStack } from "../../../stacks/render";
import { underCheck } from "./under-check";

/** Our own images (built on local, pulled from our registry elsewhere) have no upstream facts. */
function isOwnImage(stack: RenderedStack, ref: string): boolean {
  const images = stack.config.images;
  return "build" in images ? ref.startsWith("infra/") : ref.startsWith(`${images.registry}/`);
}

describe.each(listStacks())("stack %s: every container of an upstream image, against what its sources say", (name) => {
  let stack: RenderedStack;
  let upstream: RenderedContainer[];

  beforeAll(async () => {
    stack = await renderStack(name);
    upstream = stack.containers.filter((c) => !isOwnImage(stack, c.image));
  });

  it("runs only versions whose entrypoint and defaults were read (a version bump fails here until they are re-read)", () => {
    const unread = [...new Set(upstream.map((c) => c.image))].flatMap((image) => versionProblem(image) ?? []);
    expect(unread).toEqual([]);
  });

  it("breaks none of the facts: entrypoint user and capabilities, root-only variables, healthcheck tools, defaults", () => {
    const problems = upstream.flatMap((c) => containerProblems(underCheck(stack, c)).map((problem) => `${c.name}: ${problem}`));
    expect(problems).toEqual([]);
  });
});

describe("the upstream image facts table", () => {
  it("cites a source for every fact", () => {
    for (const facts of UPSTREAM_IMAGES) {
      const refs = [
        ...facts.read,
        ...facts.entrypoints.flatMap((e) => e.refs),
        ...facts.rootOnlyVariables.flatMap((v) => v.refs),
        ...facts.tools.refs,
        ...facts.defaults.flatMap((d) => d.refs),
      ];
      for (const ref of refs) {
        expect(ref.at, facts.repository).toMatch(/^(https:\/\/|[\w.-]+\/[\w.-]+[@:])/);
        expect(ref.says.length, `${facts.repository}: ${ref.at}`).toBeGreaterThan(5);
      }
      expect(facts.tags.length, facts.repository).toBeGreaterThan(0);
    }
  });

  it("fails the version check of a bumped image, naming what to re-read", () => {
    expect(versionProblem("nextcloud:30.0.4-apache")).toBeUndefined();
    expect(versionProblem("nextcloud:30.0.4-apache@sha256:" + "a".repeat(64))).toBeUndefined();
    expect(versionProblem("nextcloud:31.0.0-apache")).toMatch(
      /^nextcloud:31\.0\.0-apache: the facts were read for 30\.0\.4-apache; re-read nextcloud\/docker@f4138903.* at 31\.0\.0-apache/,
    );
    expect(versionProblem("docker.io/library/redis:7.4.2-bookworm")).toMatch(
      /^redis:7\.4\.2-bookworm: the facts were read for 7\.4\.1-bookworm/,
    );
    expect(versionProblem("ghcr.io/example/unknown:1.0")).toMatch(/no facts/);
  });

  it.each([
    ["nextcloud:30.0.4-apache", { repository: "nextcloud", tag: "30.0.4-apache" }],
    ["collabora/code:24.04.13.3.1", { repository: "collabora/code", tag: "24.04.13.3.1" }],
    ["registry.example.org:5000/team/app:1.2", { repository: "registry.example.org:5000/team/app", tag: "1.2" }],
    ["docker.io/library/redis:7.4.1-bookworm@sha256:abc", { repository: "redis", tag: "7.4.1-bookworm", digest: "sha256:abc" }],
  ])("reads %s", (ref, expected) => {
    expect(parseImageRef(ref)).toEqual({ digest: undefined, ...expected });
  });

  it.each([
    [["CMD", "pg_isready", "-U", "x"], ["pg_isready"]],
    [
      ["CMD-SHELL", "curl -fsS http://localhost/status.php | grep -q installed"],
      ["sh", "curl", "grep"],
    ],
    [
      ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9980 && printf 'GET / HTTP/1.0' >&3 && grep -q '200 OK' <&3"],
      ["bash", "grep"],
    ],
    [["CMD-SHELL", "test -f /var/www/html/config/config.php"], ["sh"]],
    [
      ["CMD-SHELL", 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli ping'],
      ["sh", "redis-cli", "cat"],
    ],
  ])("finds the programs of healthcheck %j", (test, programs) => {
    expect(healthcheckPrograms(test)).toEqual(programs);
  });
});

/** One broken container per fact: the check names what is wrong. */
describe("containers that break a fact", () => {
  const base: ContainerUnderCheck = {
    name: "x",
    image: "nextcloud:30.0.4-apache",
    user: "www-data",
    entrypoint: [],
    command: [],
    env: {},
    capAdd: [],
    healthcheck: ["CMD-SHELL", "curl -fsS http://localhost/status.php"],
    memoryMb: 512,
  };
  const cases: [string, ContainerUnderCheck, RegExp][] = [
    [
      "Nextcloud's entrypoint as www-data with APACHE_DISABLE_REWRITE_IP",
      { ...base, env: { APACHE_DISABLE_REWRITE_IP: "1" } },
      /APACHE_DISABLE_REWRITE_IP is set and the entrypoint runs as www-data: `a2disconf remoteip` removes the root-owned/,
    ],
    [
      "Nextcloud's entrypoint as www-data with REDIS_HOST",
      { ...base, env: { REDIS_HOST: "redis" } },
      /REDIS_HOST is set and the entrypoint runs as www-data: it writes the root-owned \/usr\/local\/etc\/php\/conf\.d\/redis-session\.ini/,
    ],
    [
      "Nextcloud's cron as www-data",
      { ...base, entrypoint: ["/cron.sh"], healthcheck: [] },
      /\/cron\.sh runs as www-data; it works as root/,
    ],
    [
      "Nextcloud's cron without SETUID",
      { ...base, entrypoint: ["/cron.sh"], user: null, capAdd: ["SETGID"], healthcheck: [] },
      /\/cron\.sh needs SETUID/,
    ],
    [
      "occ as root",
      { ...base, entrypoint: ["/bin/sh", "-c", "php occ"], user: null, healthcheck: [] },
      /\/bin\/sh runs as root; it works as www-data/,
    ],
    [
      "Collabora checked with curl",
      {
        ...base,
        image: "collabora/code:24.04.13.3.1",
        user: null,
        healthcheck: ["CMD", "curl", "-f", "http://localhost:9980/"],
        stopTimeoutSeconds: 60,
        destroyGraceSeconds: 60,
      },
      /healthcheck calls curl, which collabora\/code does not have/,
    ],
    [
      "Collabora with a spaced extra_params value",
      {
        ...base,
        image: "collabora/code:24.04.13.3.1",
        user: null,
        healthcheck: [],
        env: { extra_params: "--o:net.frame_ancestors=a b" },
        stopTimeoutSeconds: 60,
        destroyGraceSeconds: 60,
      },
      /extra_params words that are not --o: options .*: b/,
    ],
    [
      "Collabora stopped without grace",
      { ...base, image: "collabora/code:24.04.13.3.1", user: null, healthcheck: [] },
      /stop: stop timeout unset \(Docker: 10 s\), destroy grace unset \(provider: 0 s\): coolwsd/,
    ],
    [
      "Redis without maxmemory",
      { ...base, image: "redis:7.4.1-bookworm", user: "redis", healthcheck: [], command: ["sh", "-c", "exec redis-server"] },
      /maxmemory: redis-server runs without --maxmemory/,
    ],
    [
      "Redis with maxmemory at its limit",
      {
        ...base,
        image: "redis:7.4.1-bookworm",
        user: "redis",
        healthcheck: [],
        command: ["sh", "-c", "exec redis-server --maxmemory 512mb --maxmemory-policy allkeys-lru"],
      },
      /leaves no room under the 512 MB limit/,
    ],
    [
      "Traefik with its 60 s read timeout",
      { ...base, image: "traefik:v3.6.1", user: null, healthcheck: [], command: ["--ping=true"] },
      /websecure keeps Traefik's 60 s readTimeout/,
    ],
    [
      "Traefik with a short read timeout",
      {
        ...base,
        image: "traefik:v3.6.1",
        user: null,
        healthcheck: [],
        command: ["--entrypoints.websecure.transport.respondingTimeouts.readTimeout=5m"],
      },
      /readTimeout 300 s is below 3600 s/,
    ],
    [
      "Mattermost behind the secrets wrapper without the image's CMD (Docker drops it once the entrypoint is set)",
      {
        ...base,
        image: "mattermost/mattermost-team-edition:10.5.2",
        user: "2000:2000",
        healthcheck: [],
        entrypoint: [SECRETS_TO_ENV_PATH, "MM_SQLSETTINGS_DATASOURCE", "--", "/entrypoint.sh"],
      },
      /\/entrypoint\.sh is given \[\]; the image's own start gives it \["mattermost"\]/,
    ],
    [
      "Collabora behind the secrets wrapper with a start the image does not have",
      {
        ...base,
        image: "collabora/code:24.04.13.3.1",
        user: null,
        healthcheck: [],
        entrypoint: [SECRETS_TO_ENV_PATH, "password", "--", "/usr/bin/coolwsd"],
        stopTimeoutSeconds: 60,
        destroyGraceSeconds: 60,
      },
      /entrypoint \/usr\/bin\/coolwsd: not among the ways collabora\/code is known to start/,
    ],
    [
      "Traefik behind the secrets wrapper (no cat in the image)",
      {
        ...base,
        image: "traefik:v3.6.1",
        user: null,
        healthcheck: [],
        entrypoint: [SECRETS_TO_ENV_PATH, "TOKEN", "--"],
        command: ["traefik"],
      },
      /the secrets-to-env wrapper needs cat, which traefik does not have/,
    ],
  ];

  it.each(cases)("%s", (_case, container, expected) => {
    expect(containerProblems(container).join("\n")).toMatch(expected);
  });

  it("finds nothing wrong with a container that keeps to the facts", () => {
    expect(containerProblems(base)).toEqual([]);
    expect(
      containerProblems({
        ...base,
        image: "mattermost/mattermost-team-edition:10.5.2",
        user: "2000:2000",
        healthcheck: ["CMD", "curl", "-fsS", "http://localhost:8065/api/v4/system/ping"],
        entrypoint: [SECRETS_TO_ENV_PATH, "MM_SQLSETTINGS_DATASOURCE", "--", "/entrypoint.sh"],
        command: ["mattermost"],
      }),
    ).toEqual([]);
    expect(factsFor("nextcloud:30.0.4-apache")?.imageUser).toBe("root");
  });
});
