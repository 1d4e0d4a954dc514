/**
 * The path of our images from CI to a host, for real: Debian's docker-registry (registry v2) with
 * htpasswd auth on 127.0.0.1, the images:build step (ci/build-images.ts, as the job runs it, after the
 * job's `docker login`) pushing to it, the pin written into a stack file by ci/lib, and pulls as a
 * host's Docker engine makes them: anonymously (refused) and with the deploy token (the pinned digest).
 *
 * GitLab's registry enforces scopes (the deploy token can only read); registry v2 with htpasswd lets
 * any known user push and pull, so this checks authentication and digests, not scopes.
 * Plain HTTP is fine here: Docker treats registries on 127.0.0.0/8 as insecure-allowed.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { BuiltImage } from "../../../ci/lib/own-images";
import { pinChanges, pinsOf } from "../../../ci/lib/stack-files";
import { dockerAvailable } from "../../helpers/docker";
import { missingTools, type ToolCheck } from "../../setup/preflight";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const TSX = path.join(REPO_ROOT, "node_modules/.bin/tsx");

/** Beyond the Docker engine: the registry and the tool that writes its users. */
const REGISTRY_TOOLS: ToolCheck[] = [
  {
    need: "a Docker registry (registry v2, for the image-path scenarios)",
    debianPackage: "docker-registry",
    command: ["docker-registry", "--version"],
  },
  { need: "htpasswd with bcrypt (the registry's users)", debianPackage: "apache2-utils", command: ["htpasswd", "-nbB", "probe", "probe"] },
];

const engine = dockerAvailable(); // throws when CI=true and no engine answers
const missing = missingTools(REGISTRY_TOOLS);
if (missing.length > 0 && process.env.CI === "true") {
  throw new Error(`CI=true but the registry scenarios cannot run: ${missing.join("; ")}`);
}

/** The image built from the test checkout (mail/<folder> is named mail-<folder>, like our daemons). */
const IMAGE_NAME = "mail-registry-test";
const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run a command with extra environment; never throws for a non-zero exit. */
function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 1) : 0;
        resolve({ exitCode: code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    child.stdin?.on("error", () => undefined); // a command that exits without reading its input
    child.stdin?.end(options.input);
  });
}

async function runOk(command: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.exitCode !== 0) {
    throw new Error(
      `${command} ${args.slice(0, 2).join(" ")} failed (${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

async function waitForRegistry(url: string, registry: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (registry.exitCode !== null) throw new Error(`docker-registry exited (${registry.exitCode}): ${log()}`);
    try {
      const response = await fetch(`${url}/v2/`);
      if (response.status === 401) return; // up, and asking for credentials
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`docker-registry did not answer on ${url} within 20 s: ${log()}`);
}

describe.skipIf(!engine || missing.length > 0)("images from CI to a host through an authenticated registry", () => {
  let work = ""; // made in beforeAll: a skipped suite leaves nothing behind
  const ciUser = { name: "ci-job", password: randomBytes(18).toString("hex") };
  const deployToken = { name: "deploy-token", password: randomBytes(18).toString("hex") };
  const commitSha = randomBytes(20).toString("hex");
  const baseAlias = `infra-registry-test/base:${commitSha.slice(0, 12)}`;
  let registryProcess: ChildProcess | undefined;
  let registryLog = "";
  let host = ""; // 127.0.0.1:<port>
  let repository = ""; // <host>/asso/infra/mail-registry-test
  let built: BuiltImage[] = [];
  let buildOutput = "";

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "registry-test-"));
    const baseImage = process.env.BASE_IMAGE || "debian:bookworm-slim";
    if ((await run("docker", ["image", "inspect", baseImage])).exitCode !== 0) {
      throw new Error(`no local ${baseImage}: build it with \`sudo bash .ci/base-image.sh\` (the scenarios never pull it)`);
    }
    // The test Dockerfile's default base cannot be resolved: the build only works if build-images.ts
    // passes BASE_IMAGE, under a name that exists only here.
    await runOk("docker", ["tag", baseImage, baseAlias]);

    // The registry: htpasswd users, filesystem storage, loopback only.
    const htpasswd = path.join(work, "htpasswd");
    await runOk("htpasswd", ["-cbB", htpasswd, ciUser.name, ciUser.password]);
    await runOk("htpasswd", ["-bB", htpasswd, deployToken.name, deployToken.password]);
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    repository = `${host}/asso/infra/${IMAGE_NAME}`;
    const config = path.join(work, "registry.yml");
    writeFileSync(
      config,
      [
        "version: 0.1",
        "log: { level: warn, accesslog: { disabled: true } }",
        `storage: { filesystem: { rootdirectory: ${JSON.stringify(path.join(work, "storage"))} } }`,
        `http: { addr: "${host}", secret: "${randomBytes(16).toString("hex")}" }`,
        `auth: { htpasswd: { realm: registry-test, path: ${JSON.stringify(htpasswd)} } }`,
        "",
      ].join("\n"),
    );
    registryProcess = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
    registryProcess.stdout?.on("data", (chunk) => (registryLog += chunk));
    registryProcess.stderr?.on("data", (chunk) => (registryLog += chunk));
    await waitForRegistry(`http://${host}`, registryProcess, () => registryLog.slice(-2000));

    // A checkout with one image folder, built the way images:build builds ours.
    const checkout = path.join(work, "checkout");
    mkdirSync(path.join(checkout, "mail/registry-test"), { recursive: true });
    writeFileSync(
      path.join(checkout, "mail/registry-test/Dockerfile"),
      "ARG BASE_IMAGE=base-image-not-passed.invalid/none:0\nFROM ${BASE_IMAGE}\nCOPY built-from.txt /built-from.txt\n",
    );
    writeFileSync(path.join(checkout, "mail/registry-test/built-from.txt"), `${commitSha}\n`);

    // images:build: `docker login` with the job's registry credentials, then ci/build-images.ts.
    const ciConfig = path.join(work, "docker-ci");
    mkdirSync(ciConfig);
    await runOk("docker", ["login", "--username", ciUser.name, "--password-stdin", host], {
      env: { DOCKER_CONFIG: ciConfig },
      input: ciUser.password,
    });
    const build = await run(
      TSX,
      [
        path.join(REPO_ROOT, "ci/build-images.ts"),
        "--root",
        checkout,
        "--out",
        path.join(work, "images.json"),
        "--list",
        path.join(work, "images.txt"),
      ],
      {
        cwd: work,
        env: {
          DOCKER_CONFIG: ciConfig,
          CI_REGISTRY_IMAGE: `${host}/asso/infra`,
          CI_COMMIT_SHA: commitSha,
          BASE_IMAGE: baseAlias,
          // Not a merge request or push with a base: every image folder of the checkout is built.
          CI_MERGE_REQUEST_DIFF_BASE_SHA: "",
          CI_COMMIT_BEFORE_SHA: "",
        },
      },
    );
    buildOutput = `${build.stdout}\n${build.stderr}`;
    if (build.exitCode !== 0) throw new Error(`ci/build-images.ts failed (${build.exitCode}):\n${buildOutput.slice(-3000)}`);
    built = JSON.parse(readFileSync(path.join(work, "images.json"), "utf8")) as BuiltImage[];

    // From here on the engine plays a host that has never seen the image.
    await run("docker", ["image", "rm", `${repository}:${commitSha}`]);
  }, 180_000);

  afterAll(async () => {
    if (registryProcess && registryProcess.exitCode === null) {
      const exited = new Promise((resolve) => registryProcess?.once("exit", resolve));
      registryProcess.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (registryProcess.exitCode === null) registryProcess.kill("SIGKILL");
    }
    const digestRef = built[0]?.ref;
    for (const ref of [`${repository}:${commitSha}`, ...(digestRef ? [digestRef] : []), baseAlias]) {
      await run("docker", ["image", "rm", ref]);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function digest(): string {
    return built[0].pin.slice(built[0].pin.indexOf("@") + 1);
  }

  it("images:build pushes the image and records its pin as <commit>@sha256:<digest>", () => {
    expect(built).toHaveLength(1);
    const [image] = built;
    expect(image.name).toBe(IMAGE_NAME);
    expect(image.pin).toMatch(new RegExp(`^${commitSha}@sha256:[a-f0-9]{64}$`));
    expect(image.ref).toBe(`${repository}@${digest()}`);
    expect(readFileSync(path.join(work, "images.txt"), "utf8")).toBe(`${IMAGE_NAME} ${image.ref}\n`);
    expect(buildOutput).not.toMatch(/Pulling from/); // no --pull: built offline, on the BASE_IMAGE given
  });

  it("the pin is the digest of the manifest the registry serves for the commit's tag", async () => {
    const auth = basicAuth(deployToken.name, deployToken.password);
    const byTag = await fetch(`http://${host}/v2/asso/infra/${IMAGE_NAME}/manifests/${commitSha}`, {
      headers: { authorization: auth, accept: MANIFEST_TYPES },
    });
    expect(byTag.status).toBe(200);
    expect(byTag.headers.get("docker-content-digest")).toBe(digest());
    // Content addressing: the manifest's bytes hash to the pinned digest.
    const body = Buffer.from(await byTag.arrayBuffer());
    expect(`sha256:${createHash("sha256").update(body).digest("hex")}`).toBe(digest());
  });

  it("the pin written into a stack file is exactly the pushed digest", () => {
    const stacks = path.join(work, "stacks-checkout");
    mkdirSync(path.join(stacks, "stacks"), { recursive: true });
    const oldPin = `${"0".repeat(40)}@sha256:${"0".repeat(64)}`;
    writeFileSync(
      path.join(stacks, "stacks/Pulumi.registry-test.yaml"),
      [
        "config:",
        "  infra:images:",
        `    registry: ${host}/asso/infra`,
        "    pins:",
        `      ${IMAGE_NAME}: "${oldPin}" # moved by CI`,
        "",
      ].join("\n"),
    );
    const changes = pinChanges(stacks, pinsOf(built));
    expect(changes.map((change) => [change.file, change.updated])).toEqual([["stacks/Pulumi.registry-test.yaml", [IMAGE_NAME]]]);
    const written = (parse(changes[0].text) as { config: { "infra:images": { registry: string; pins: Record<string, string> } } }).config[
      "infra:images"
    ];
    expect(written.pins[IMAGE_NAME]).toBe(`${commitSha}@${digest()}`);
    expect(`${written.registry}/${IMAGE_NAME}@${digest()}`).toBe(built[0].ref);
  });

  it("an anonymous pull of the pinned digest is refused", async () => {
    const anonymous = path.join(work, "docker-anonymous");
    mkdirSync(anonymous, { recursive: true });
    const pull = await run("docker", ["pull", built[0].ref], { env: { DOCKER_CONFIG: anonymous } });
    expect(pull.exitCode).not.toBe(0);
    expect(pull.stderr).toMatch(/no basic auth credentials|unauthorized|authentication required/i);
    const manifest = await fetch(`http://${host}/v2/asso/infra/${IMAGE_NAME}/manifests/${digest()}`, {
      headers: { accept: MANIFEST_TYPES },
    });
    expect(manifest.status).toBe(401);
    expect((await run("docker", ["image", "inspect", built[0].ref])).exitCode).not.toBe(0);
  });

  it("a deploy token with a wrong password cannot log in", async () => {
    const wrong = path.join(work, "docker-wrong");
    mkdirSync(wrong, { recursive: true });
    const login = await run("docker", ["login", "--username", deployToken.name, "--password-stdin", host], {
      env: { DOCKER_CONFIG: wrong },
      input: `${deployToken.password}x`,
    });
    expect(login.exitCode).not.toBe(0);
    expect(login.stderr).toMatch(/unauthorized|authentication required/i);
  });

  it("the deploy token pulls exactly the pinned digest", async () => {
    const deploy = path.join(work, "docker-deploy");
    mkdirSync(deploy, { recursive: true });
    await runOk("docker", ["login", "--username", deployToken.name, "--password-stdin", host], {
      env: { DOCKER_CONFIG: deploy },
      input: deployToken.password,
    });
    const ref = `${repository}@${digest()}`;
    const pull = await run("docker", ["pull", ref], { env: { DOCKER_CONFIG: deploy } });
    expect(pull.exitCode, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${digest()}`);
    const repoDigests = JSON.parse(await runOk("docker", ["image", "inspect", "--format", "{{json .RepoDigests}}", ref])) as string[];
    expect(repoDigests).toContain(ref);
    // And it is the image this pipeline built, not some other one.
    const content = await runOk("docker", ["run", "--rm", "--network", "none", ref, "cat", "/built-from.txt"]);
    expect(content.trim()).toBe(commitSha);
  });
});
