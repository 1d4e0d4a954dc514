import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHostFiles } from "../../../hosts/render";
import { docker, dockerAvailable, dockerOk, type ExecResult } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const IMAGE = "infra-test-host:test";

/**
 * The tech group's Docker API (docs/security.md): the rendered haproxy.cfg, run by Debian's haproxy in the
 * test host with this machine's Docker engine mounted as a production host has its own. Alice is in
 * docker-tech (a tech member after login), Bob is not. The container she works on is the directory,
 * started from the rendered local stack, with its secrets in /run/secrets.
 */
describe.runIf(dockerAvailable())("the tech group's restricted Docker API", () => {
  let stack: RunningStack;
  let host: string;
  let target: string;
  const config = renderHostFiles({
    baseDn: "dc=asso,dc=localhost",
    directoryUrl: "ldaps://ldap:636",
    localUsers: ["deploy"],
    firewall: [{ port: 22, purpose: "ssh" }],
  }).find((f) => f.name === "docker-tech-api.cfg")!.content;

  /** curl on the tech socket inside the test host, as `user`; the body, then the HTTP status on the last line. */
  const api = (user: string, method: string, url: string, body?: string): Promise<ExecResult> =>
    docker([
      "exec",
      "-u",
      user,
      host,
      "curl",
      "-sS",
      "--unix-socket",
      "/run/docker-tech.sock",
      "-X",
      method,
      ...(body ? ["-H", "Content-Type: application/json", "-d", body] : []),
      "-w",
      "\n%{http_code}",
      `http://docker/v1.41${url}`,
    ]);
  const status = (result: ExecResult) => result.stdout.trim().split("\n").pop();

  beforeAll(async () => {
    await dockerOk(["build", "-q", "-t", IMAGE, path.join(REPO_ROOT, "hosts/test-host")], { timeoutMs: 900_000 });
    stack = await startStack({ stack: "local", containers: ["ldap"] });
    target = stack.prefix + "ldap";
    host = `${stack.prefix}tech-api-host`;
    const socketGid = (await dockerOk(["run", "--rm", "-v", "/var/run/docker.sock:/s", IMAGE, "stat", "-c", "%g", "/s"])).trim();
    await dockerOk([
      "run",
      "-d",
      "--name",
      host,
      "-v",
      "/var/run/docker.sock:/var/run/docker.sock",
      "--entrypoint",
      "sleep",
      IMAGE,
      "infinity",
    ]);
    // What setup.sh's accounts step and pam_group give: the groups, a tech member in docker-tech.
    const prepare = [
      `groupadd -o -g ${socketGid} docker`,
      "groupadd --system docker-tech",
      "useradd -G docker-tech alice",
      "useradd bob",
      "cat > /etc/haproxy/haproxy.cfg",
      "haproxy -c -q -f /etc/haproxy/haproxy.cfg",
      "haproxy -D -f /etc/haproxy/haproxy.cfg",
    ].join(" && ");
    await dockerOk(["exec", "-i", host, "sh", "-c", prepare], { input: config });
  }, 600_000);

  afterAll(async () => {
    await docker(["rm", "-f", host]);
    await stack?.teardown();
  });

  it("lets a tech member list the containers with their status", async () => {
    const result = await api("alice", "GET", "/containers/json");
    expect(status(result)).toBe("200");
    expect(result.stdout).toContain(`"/${target}"`);
    expect(result.stdout).toContain("(healthy)");
  });

  it("lets a tech member read a container's logs", async () => {
    const result = await api("alice", "GET", `/containers/${target}/logs?stdout=1&stderr=1&tail=50`);
    expect(status(result)).toBe("200");
    expect(result.stdout).toContain("slapd");
  });

  it("lets a tech member restart a container", async () => {
    const startedAt = () => dockerOk(["inspect", "-f", "{{.State.StartedAt}}", target]);
    const before = await startedAt();
    expect(status(await api("alice", "POST", `/containers/${target}/restart?t=5`))).toBe("204");
    expect(await startedAt()).not.toBe(before);
    await stack.waitHealthy("ldap");
  });

  it("refuses a tech member exec into a container (403)", async () => {
    const result = await api("alice", "POST", `/containers/${target}/exec`, JSON.stringify({ Cmd: ["id"] }));
    expect(status(result)).toBe("403");
  });

  it("refuses a tech member the container's files (docker cp of its secrets) and new containers (403)", async () => {
    expect(status(await api("alice", "GET", `/containers/${target}/archive?path=/run/secrets`))).toBe("403");
    expect(status(await api("alice", "POST", "/containers/create", JSON.stringify({ Image: "debian:bookworm-slim" })))).toBe("403");
  });

  it("answers a tech member's inspect with the id alone: no environment, mounts nor secret", async () => {
    const result = await api("alice", "GET", `/containers/${target}/json`);
    expect(status(result)).toBe("200");
    expect(JSON.parse(result.stdout.trim().split("\n")[0])).toEqual({ Id: target, Config: { Tty: false } });
    const secrets = Object.values(stack.spec("ldap").secrets);
    expect(secrets.filter((secret) => result.stdout.includes(secret))).toEqual([]);
  });

  it("refuses anyone outside docker-tech at the socket itself", async () => {
    const result = await api("bob", "GET", "/containers/json");
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Permission denied|Couldn't connect/);
  });
});
