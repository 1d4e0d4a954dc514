import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

/** The stack files: one `Pulumi.<host>.yaml` per host in stacks/ (Pulumi.yaml sets `stackConfigDir: stacks`). */

export const STACKS_DIR = __dirname;

const STACK_FILE = /^Pulumi\.([\w-]+)\.yaml$/;

/** `pica02` -> `Pulumi.pica02.yaml`. */
export function stackFileName(stack: string): string {
  return `Pulumi.${stack}.yaml`;
}

/** The stacks that exist in `dir` (stacks/ by default), sorted. */
export function listStacks(dir: string = STACKS_DIR): string[] {
  return fs
    .readdirSync(dir)
    .map((file) => STACK_FILE.exec(file)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

export class UnknownStackError extends Error {}

/** The `config:` map of a stack file, as written (secure values still `{ secure: ... }`). */
export function readStackFile(stack: string): Record<string, unknown> {
  const file = path.join(STACKS_DIR, stackFileName(stack));
  if (!fs.existsSync(file)) {
    throw new UnknownStackError(`unknown stack '${stack}'; expected one of: ${listStacks().join(", ")}`);
  }
  return readStackFileAt(file);
}

/** The `config:` map of the stack file at `file` (any path: a copy, a generated variant). */
export function readStackFileAt(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new UnknownStackError(`no stack file at ${file}`);
  const parsed = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  return parsed?.config ?? {};
}
