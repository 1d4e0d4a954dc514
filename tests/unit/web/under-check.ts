import type { ContainerUnderCheck } from "../../../platform/upstream-images";
import type { RenderedContainer, RenderedStack } from "../../../stacks/render";

const CONTAINER = "docker:index/container:Container";

/** What the facts' checks see of a rendered container (stop settings come from the resource's inputs). */
export function underCheck(stack: RenderedStack, container: RenderedContainer): ContainerUnderCheck {
  const inputs = stack.resources.find((r) => r.type === CONTAINER && r.name === container.name)?.inputs ?? {};
  return {
    name: container.name,
    image: container.image,
    user: container.user,
    entrypoint: container.entrypoint,
    command: container.command,
    env: container.env,
    capAdd: container.capAdd,
    healthcheck: container.healthcheckSpec?.test ?? [],
    memoryMb: container.memoryMb,
    stopTimeoutSeconds: inputs.stopTimeout,
    destroyGraceSeconds: inputs.destroyGraceSeconds,
  };
}
