/** The host stack files (stacks/Pulumi.<host>.yaml) and the pin rewrite applied to all of them. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { listStacks, stackFileName } from "../../stacks/stack-files";
import { type PinOptions, setImagePins } from "./image-pins";
import type { BuiltImage } from "./own-images";

export interface StackFileChange {
  /** Relative to the repository root, e.g. stacks/Pulumi.pica02.yaml. */
  file: string;
  text: string;
  updated: string[];
}

export function stackFiles(repoRoot: string): string[] {
  return listStacks(path.join(repoRoot, "stacks")).map((stack) => `stacks/${stackFileName(stack)}`);
}

export function pinsOf(images: readonly BuiltImage[]): Record<string, string> {
  return Object.fromEntries(images.map((image) => [image.name, image.pin]));
}

/** The stack files whose pins change, with their new text (nothing is written). */
export function pinChanges(
  repoRoot: string,
  pins: Readonly<Record<string, string>>,
  options: PinOptions & { stacks?: readonly string[] } = {},
): StackFileChange[] {
  const files = options.stacks ? options.stacks.map((stack) => `stacks/${stackFileName(stack)}`) : stackFiles(repoRoot);
  return files.flatMap((file) => {
    const { text, updated } = setImagePins(readFileSync(path.join(repoRoot, file), "utf8"), pins, options);
    return updated.length > 0 ? [{ file, text, updated }] : [];
  });
}
