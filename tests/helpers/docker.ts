import { execFile, execFileSync } from "node:child_process";

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run the docker CLI; never throws for a non-zero exit (the caller decides). */
export function docker(args: string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      "docker",
      args,
      { maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 600_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 1) : 0;
        resolve({ exitCode: code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Like `docker`, but a non-zero exit is an error carrying the command's stderr. */
export async function dockerOk(args: string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
  const result = await docker(args, options);
  if (result.exitCode !== 0) {
    throw new Error(
      `docker ${args.slice(0, 3).join(" ")} ... failed (${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

/**
 * Whether integration tests can run. In CI (CI=true) a missing engine is a failure, never a skip:
 * a green pipeline must mean the scenarios ran.
 */
export function dockerAvailable(): boolean {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 20_000 });
    return true;
  } catch {
    if (process.env.CI === "true") {
      throw new Error("CI=true but no Docker engine answers `docker info`: integration tests cannot run (see .ci/run)");
    }
    return false;
  }
}
