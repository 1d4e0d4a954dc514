/**
 * Rewrite the pins of our own images in a stack file (`infra:images.pins.<name>`), keeping
 * comments, key order and quoting: the file stays the one people wrote, with new digests.
 */
import { isMap, isScalar, parseDocument } from "yaml";
import { ImagePin } from "../../platform/images-settings";

export interface PinRewrite {
  text: string;
  /** Images whose pin changed. */
  updated: string[];
  /** Images given but not pinned in this stack (it does not run them, or builds locally). */
  skipped: string[];
}

export interface PinOptions {
  /**
   * Also add pins this stack does not have yet. Off for CI, which cannot tell which host runs a new
   * image: its first pin is added once by hand (`ci/pin-image.ts --add --stack <host>`), then CI moves it.
   */
  add?: boolean;
}

/** Set `pins` (image name -> `<tag>@sha256:<digest>`) in the stack file text. */
export function setImagePins(stackYaml: string, pins: Readonly<Record<string, string>>, options: PinOptions = {}): PinRewrite {
  const doc = parseDocument(stackYaml);
  if (doc.errors.length > 0) throw new Error(`stack file is not valid YAML: ${doc.errors[0].message}`);

  const pinsNode = doc.getIn(["config", "infra:images", "pins"], true);
  const updated: string[] = [];
  const skipped: string[] = [];
  for (const [name, pin] of Object.entries(pins)) {
    const node = isMap(pinsNode) ? pinsNode.get(name, true) : undefined;
    if (!isScalar(node)) {
      if (options.add && isMap(pinsNode)) {
        pinsNode.flow = false; // `pins: {}` becomes a block mapping, one pin per line
        pinsNode.set(name, pin);
        updated.push(name);
      } else {
        skipped.push(name);
      }
      continue;
    }
    if (node.value !== pin) {
      node.value = pin; // editing the scalar (not replacing it) keeps its quotes and comments
      updated.push(name);
    }
  }

  // Every pin written must still be what the stack schema accepts (platform/images-settings.ts).
  const written = Object.entries(pins).filter(([name]) => updated.includes(name));
  const invalid = written.filter(([, pin]) => !ImagePin.safeParse(pin).success).map(([name, pin]) => `${name}: '${pin}'`);
  if (invalid.length > 0) {
    throw new Error(`infra:images would be invalid: expected <tag>@sha256:<64 hex digits>, got ${invalid.join(", ")}`);
  }
  // lineWidth 0: never re-fold long lines nobody touched.
  return { text: updated.length > 0 ? doc.toString({ lineWidth: 0 }) : stackYaml, updated, skipped };
}
