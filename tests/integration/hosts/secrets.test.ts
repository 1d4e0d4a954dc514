import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { dockerAvailable, dockerOk } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { secretFilesOf } from "../../helpers/rendered";

/**
 * What anyone who may use the Docker API reads of a running container (`docker inspect`: its environment,
 * command, labels, mounts) holds none of the stack's secrets: they are files in /run/secrets, readable by
 * the container's own user only (platform/container.ts). Every long-running container of the local stack
 * that runs one of our images and has a secret, for the services below, is started from the rendered
 * stack; the upstream images (Nextcloud, Mattermost, Collabora, Redis, Traefik) cannot be pulled here.
 * Every container of every stack is checked by tests/unit/foundation/secret-files.test.ts.
 */
const SERVICES = ["ldap", "mail", "mattermost", "nextcloud"];
describe.runIf(dockerAvailable())("secrets of the running local stack", () => {
  let rendered: RenderedStack;
  let stack: RunningStack;
  let names: string[];

  beforeAll(async () => {
    rendered = await renderStack("local");
    const ours = new Set(rendered.images.filter((image) => image.build).map((image) => image.ref));
    names = rendered.containers
      .filter((c) => SERVICES.includes(c.service) && ours.has(c.image) && c.restart !== "no" && Object.keys(c.secrets).length > 0)
      // The directory first: the mail containers wait for it.
      .sort((a, b) => Number(b.name === "ldap") - Number(a.name === "ldap"))
      .map((c) => c.name);
    stack = await startStack({ rendered, containers: names });
  }, 600_000);

  afterAll(async () => {
    await stack?.teardown();
  });

  it("starts the directory, the mail server and the databases, which read their secrets from files", () => {
    expect(names).toEqual(expect.arrayContaining(["ldap", "mail-postfix", "mail-dovecot", "mail-rspamd", "mattermost-db"]));
  });

  it("shows no secret in `docker inspect` of any of them", async () => {
    for (const name of names) {
      const inspect = await dockerOk(["inspect", stack.prefix + name]);
      const found = rendered.secrets.filter((secret) => inspect.includes(secret));
      expect(found, `${name}: secrets in docker inspect`).toEqual([]);
      // Not vacuous: the container has secrets, and inspect shows where they are, not what they are.
      expect(inspect, name).toContain("_FILE=/run/secrets/");
    }
  });

  it("keeps each secret file readable by the container's own user only (0400), as the rendered stack says", async () => {
    for (const name of names) {
      const spec = stack.spec(name);
      for (const key of Object.keys(spec.secrets)) {
        const file = secretFilesOf(rendered, spec).find((f) => f.path === `/run/secrets/${key}`)!;
        const result = await stack.exec(name, ["stat", "-c", "%a %u:%g", file.path], { user: "0" });
        expect(result.stdout.trim(), `${name} ${key}`).toBe(`400 ${file.owner}`);
      }
    }
  });

  it("writes a read-only container's secret files through its carrier, which was created and never started", async () => {
    const carried = names.filter((name) => stack.spec(name).secretsCarrier !== null);
    expect(carried).toContain("ldap");
    for (const name of carried) {
      const state = await dockerOk([
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.StartedAt}}",
        stack.prefix + stack.spec(name).secretsCarrier,
      ]);
      expect(state.trim(), name).toBe("created 0001-01-01T00:00:00Z");
      // Its root is read-only, the volume too: the container cannot change what it was given.
      const write = await stack.exec(name, ["sh", "-c", "touch /run/secrets/x"], { user: "0" });
      expect(write.exitCode, name).not.toBe(0);
    }
  });
});
