import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { docker, dockerAvailable, dockerOk } from "../../helpers/docker";
import { copyFile } from "../../helpers/harness";

/**
 * What the secrets carrier of platform/container.ts rests on, on the real engine: the Docker provider
 * uploads a file as an archive copied to "/" (tests/helpers/harness.ts `copyFile` does the same), which
 * Docker refuses on a read-only root filesystem even when the file would land in a mounted volume; into a
 * container created and never started, with the volume mounted, it lands in the volume, which the
 * read-only container then reads.
 */
const BASE_IMAGE = "debian:bookworm-slim";
const SECRET = { path: "/run/secrets/PASSWORD", content: "s3cret", mode: "0400", owner: "1234:1234" };

describe.runIf(dockerAvailable())("secret files of a read-only container on the real engine", () => {
  const prefix = `it${randomBytes(3).toString("hex")}-`;
  const volume = `${prefix}secrets`;
  const created: string[] = [];

  afterAll(async () => {
    if (created.length > 0) await docker(["rm", "-f", ...created]);
    await docker(["volume", "rm", "-f", volume]);
  });

  async function create(name: string, args: string[], cmd: string[] = []): Promise<string> {
    const full = prefix + name;
    await dockerOk(["create", "--name", full, "--network", "none", "--cap-drop", "ALL", ...args, BASE_IMAGE, ...cmd]);
    created.push(full);
    return full;
  }

  it("refuses the provider's upload into a read-only container, even into its volume at /run/secrets", async () => {
    await dockerOk(["volume", "create", volume]);
    const reader = await create("readonly", ["--read-only", "--mount", `type=volume,source=${volume},target=/run/secrets`]);
    await expect(copyFile(reader, SECRET)).rejects.toThrow(/read-only/);
  });

  it("accepts it into a carrier never started, and the read-only container reads the file with its mode and owner", async () => {
    await dockerOk(["volume", "create", volume]);
    const carrier = await create("carrier", ["--restart", "no", "--mount", `type=volume,source=${volume},target=/run/secrets`]);
    await copyFile(carrier, SECRET);
    expect((await dockerOk(["inspect", "-f", "{{.State.Status}}", carrier])).trim()).toBe("created");
    const reader = await create(
      "reader",
      ["--read-only", "--user", "1234:1234", "--mount", `type=volume,source=${volume},target=/run/secrets,readonly`],
      ["sh", "-c", 'stat -c "%a %u:%g" /run/secrets/PASSWORD && cat /run/secrets/PASSWORD && ! touch /run/secrets/other 2>/dev/null'],
    );
    const run = await docker(["start", "-a", reader], { timeoutMs: 60_000 });
    expect(run.stdout.trim().split("\n"), run.stdout + run.stderr).toEqual(["400 1234:1234", "s3cret"]);
    expect(run.exitCode).toBe(0);
  });
});
