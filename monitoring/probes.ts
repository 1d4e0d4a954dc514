import type { WatchedHost } from "../platform/watched-host";

/**
 * What the blackbox prober checks on a host, derived from what its services declared (their routes, their
 * published ports, the directory they provide), never listed by hand: a new service's routes and ports are
 * probed with no extra line. Pure functions over plain data, tested with tables.
 */

/** A blackbox module (monitoring/config.ts defines each). */
export type ProbeModule = "https" | "https_login" | "smtp_starttls" | "smtps" | "imaps" | "tls" | "tcp";

export interface Probe {
  /** The probe's label: a URL saying what is checked, e.g. `imaps://mail-dovecot:993`. */
  name: string;
  /** The service it belongs to (`infra:services` key, or `proxy`). */
  service: string;
  module: ProbeModule;
  /** What the prober connects to: a URL (https) or `host:port`. */
  target: string;
  /** The watched host it belongs to (its stack name); absent for the monitoring host's own. */
  host?: string;
}

/** The facts a probe is derived from (a subset of platform/host-context.ts ContainerFacts). */
export interface ProbedContainer {
  name: string;
  service: string;
  /** A route behind a login (`forwardAuth`) is probed for its refusal of a request without credentials. */
  routes: readonly { host: string; forwardAuth?: unknown }[];
  publishedPorts: readonly number[];
}

/** Per-service overrides (`services.monitoring.probes.<service>`). */
export type ProbeOverrides = Readonly<Record<string, { enabled: boolean }>>;

/**
 * The module a published port is checked with, by its well-known protocol; none for the proxy's 80 and
 * 443 (each route is probed instead) and plain TCP for a port nobody told us about.
 */
export function moduleForPort(port: number): ProbeModule | undefined {
  const known: Record<number, ProbeModule | undefined> = {
    80: undefined,
    443: undefined,
    25: "smtp_starttls",
    587: "smtp_starttls",
    465: "smtps",
    993: "imaps",
    636: "tls",
  };
  return port in known ? known[port] : "tcp";
}

const SCHEMES: Record<ProbeModule, string> = {
  https: "https",
  https_login: "https",
  smtp_starttls: "smtp+starttls",
  smtps: "smtps",
  imaps: "imaps",
  tls: "ldaps",
  tcp: "tcp",
};

function probe(service: string, module: ProbeModule, target: string): Probe {
  const name = SCHEMES[module] === "https" ? target : `${SCHEMES[module]}://${target}`;
  return { name, service, module, target };
}

/**
 * Every probe of a host: HTTPS (status and certificate) for each route, the well-known check for each
 * published port, LDAPS for the directory when it runs here. Sorted by name, without duplicates, and
 * without the services whose override says `enabled: false`.
 */
export function deriveProbes(
  containers: readonly ProbedContainer[],
  directory: { service: string; host: string; port: number } | undefined,
  overrides: ProbeOverrides = {},
): Probe[] {
  // The directory by the name its certificate carries, on its internal network, published or not.
  const isDirectoryPort = (service: string, port: number) => directory?.service === service && directory.port === port;
  const probes = containers.flatMap((container) => [
    ...container.routes.map((route) => probe(container.service, route.forwardAuth ? "https_login" : "https", `https://${route.host}/`)),
    ...container.publishedPorts.flatMap((port) => {
      const module = moduleForPort(port);
      return module && !isDirectoryPort(container.service, port) ? [probe(container.service, module, `${container.name}:${port}`)] : [];
    }),
  ]);
  if (directory) probes.push(probe(directory.service, "tls", `${directory.host}:${directory.port}`));
  const unique = new Map(probes.map((p) => [p.name, p]));
  return [...unique.values()].filter((p) => overrides[p.service]?.enabled !== false).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The probes of the hosts watched from this one (platform/watched-host.ts): HTTPS for each of their routes (the
 * refusal without credentials for those behind a login, as on this host),
 * the well-known check for each port they publish, reached at their public address. The same overrides
 * apply, by service name. Sorted by name.
 */
export function deriveWatchedProbes(hosts: readonly WatchedHost[], overrides: ProbeOverrides = {}): Probe[] {
  return hosts
    .flatMap((watched) => [
      ...watched.routes.map((route) => ({
        ...probe(route.service, route.login ? "https_login" : "https", `https://${route.host}/`),
        host: watched.host,
      })),
      ...watched.ports.flatMap(({ service, port }) => {
        const module = moduleForPort(port);
        return module ? [{ ...probe(service, module, `${watched.address}:${port}`), host: watched.host }] : [];
      }),
    ])
    .filter((p) => overrides[p.service]?.enabled !== false)
    .sort((a, b) => a.name.localeCompare(b.name));
}
