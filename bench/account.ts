// `npm run bench:account`: the account page's image size beyond the shared base, and the memory the running
// page uses, idle and after 200 page loads, against its limit in the local stack. Prints figures; never fails
// on them (target: image <= 120 MB beyond the base). Needs Docker and the base image.
import { dockerOk } from "../tests/helpers/docker";
import { startStack } from "../tests/helpers/harness";

const MB = 1_000_000;

async function imageBytes(ref: string): Promise<number> {
  return Number((await dockerOk(["image", "inspect", "-f", "{{.Size}}", ref])).trim());
}

async function memoryMiB(container: string): Promise<number> {
  const usage = (await dockerOk(["stats", "--no-stream", "--format", "{{.MemUsage}}", container])).trim().split("/")[0].trim();
  const match = /^([\d.]+)\s*([KMG]i?B)$/.exec(usage);
  if (!match) throw new Error(`docker stats: unexpected memory usage '${usage}'`);
  const factor = { KiB: 1 / 1024, MiB: 1, GiB: 1024, KB: 1 / 1024, MB: 1, GB: 1024 }[match[2]] ?? 1;
  return Number(match[1]) * factor;
}

async function main(): Promise<void> {
  console.log("bench:account — image size beyond the base, memory in use (target: image <= 120 MB beyond the base)");
  const stack = await startStack({ stack: "local", containers: ["ldap", "account"], stackHealthInterval: true });
  try {
    const spec = stack.spec("account");
    const base = process.env.BASE_IMAGE ?? "debian:bookworm-slim";
    const [image, baseSize] = [await imageBytes(spec.image), await imageBytes(base)];
    const name = `${stack.prefix}account`;
    const idle = await memoryMiB(name);
    const url = `http://${await stack.ip("account")}:8080/`;
    for (let i = 0; i < 200; i++) await (await fetch(url)).text();
    const busy = await memoryMiB(name);
    console.log(`| figure | value |\n|---|---|`);
    console.log(`| image ${spec.image} | ${(image / MB).toFixed(1)} MB |`);
    console.log(`| beyond ${base} | ${((image - baseSize) / MB).toFixed(1)} MB |`);
    console.log(`| memory idle / after 200 page loads | ${idle.toFixed(1)} / ${busy.toFixed(1)} MiB (limit ${spec.memoryMb} MiB) |`);
  } finally {
    await stack.teardown();
  }
}

main().catch((error: Error) => {
  console.error(`bench:account: ${error.message}`);
  process.exitCode = 1;
});
