import { assertTools, UNIT_TOOLS } from "./preflight";

export default function setup(): void {
  assertTools(UNIT_TOOLS);
}
