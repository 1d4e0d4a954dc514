import { dockerAvailable } from "../helpers/docker";
import { assertTools, INTEGRATION_TOOLS } from "./preflight";

export default function setup(): void {
  // Without an engine the scenarios skip locally; in CI dockerAvailable() throws instead.
  if (dockerAvailable()) assertTools(INTEGRATION_TOOLS);
}
