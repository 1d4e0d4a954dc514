import type { EndpointName, ServiceDeclaration } from "../platform/service";

/**
 * Service dependencies, from what each service declares it needs and provides (platform/service.ts):
 * the order the program builds a host's services in, and the config problems of a host that runs a
 * service without one it requires. Pure functions over declarations, tested with tables.
 */

export interface ConfigProblem {
  /** Key path below the `infra:` namespace, e.g. ["services", "mail"]. */
  path: (string | number)[];
  message: string;
}

type Declared = Pick<ServiceDeclaration, "name" | "needs" | "provides">;

/** Which of `catalog` provide `endpoint`, as `services.<name>`. */
function providersOf(endpoint: EndpointName, catalog: readonly Declared[]): string[] {
  return catalog.filter((service) => service.provides?.includes(endpoint)).map((service) => `services.${service.name}`);
}

/**
 * Each enabled service that requires an endpoint no enabled service provides: one problem naming both
 * the service and the ones that could provide it.
 */
export function missingDependencies(enabled: readonly Declared[], catalog: readonly Declared[]): ConfigProblem[] {
  return enabled.flatMap((service) =>
    Object.entries(service.needs ?? {})
      .filter(([endpoint, need]) => need === "required" && !enabled.some((other) => other.provides?.includes(endpoint as EndpointName)))
      .map(([endpoint]) => {
        const providers = providersOf(endpoint as EndpointName, catalog).join(" or ");
        return {
          path: ["services", service.name],
          message: `needs the ${endpoint} on the same host, which ${providers} provides; enable ${providers} in this stack, or remove services.${service.name}`,
        };
      }),
  );
}

/**
 * The enabled services in build order: every provider before the services that need it (required or
 * optional), otherwise in the order given. A cycle is a mistake in the declarations, not in a stack.
 */
export function buildOrder<S extends Declared>(enabled: readonly S[]): S[] {
  const providerOf = (endpoint: string) => enabled.find((service) => service.provides?.includes(endpoint as EndpointName));
  const dependsOn = (service: S): S[] =>
    Object.keys(service.needs ?? {})
      .map(providerOf)
      .filter((provider): provider is S => provider !== undefined && provider !== service);
  const ordered: S[] = [];
  const visiting = new Set<S>();
  const visit = (service: S, chain: string[]): void => {
    if (ordered.includes(service)) return;
    if (visiting.has(service)) throw new Error(`service dependency cycle: ${[...chain, service.name].join(" -> ")}`);
    visiting.add(service);
    dependsOn(service).forEach((provider) => visit(provider, [...chain, service.name]));
    visiting.delete(service);
    ordered.push(service);
  };
  enabled.forEach((service) => visit(service, []));
  return ordered;
}
