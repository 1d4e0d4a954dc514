import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AcmeConfig } from "./acme-settings";
import type { DeclaredVolume, VolumeBackup } from "./backup";
import { JOB_METRICS_VOLUME } from "./job-metrics";
import { ownImage, upstreamImage, type PinnedImage } from "./images";
import type { ImagesConfig } from "./images-settings";
import type { ForwardAuth } from "./tech-login";
import type { PartnerConfig } from "./tenants";
import type { WatchedHost } from "./watched-host";

/** A public URL the proxy serves: `https://<host>` to the container's HTTP port. */
export interface Route {
  /** Public host name served by the proxy, e.g. chat.example.org. */
  host: string;
  /** Port the container listens on for HTTP. */
  port: number;
  /** Every request is first asked of this login (Traefik's forwardAuth): only a 2xx answer lets it through. */
  forwardAuth?: ForwardAuth;
  /**
   * The network the proxy reaches the container on, for a container kept off the edge network (a database
   * must stay on internal networks): an internal network of its own, which the proxy joins. Default: edge.
   */
  via?: docker.Network;
}

/**
 * What a container made through `serviceContainer` declares that monitoring derives its probes from (its
 * routes, its published ports and the networks it shares). Recorded by the container factory, in creation order.
 */
export interface ContainerFacts {
  name: string;
  service: string;
  /** One-shot jobs exit after their run: not expected to be running. */
  oneShot: boolean;
  routes: Route[];
  /** Container ports published on the host (reachable from outside, so worth probing from inside). */
  publishedPorts: number[];
  networks: docker.Network[];
}

/** The login the database exporters use (monitoring/database-exporters.ts): a PostgreSQL role, a Redis ACL user. */
export const EXPORTER_LOGIN = "exporter";

/**
 * A PostgreSQL or Redis of this host (platform/postgres.ts, platform/redis.ts), recorded when declared: the
 * host's exporter of its kind reaches every one of them over its network, with a login of least privilege.
 */
export interface DeclaredDatabase {
  kind: "postgres" | "redis";
  /** Its container name: its host name on `network`. */
  host: string;
  port: number;
  network: docker.Network;
  /** The password of `EXPORTER_LOGIN` on it (generated, delivered to both sides as a secret file). */
  exporterPassword: pulumi.Output<string>;
}

/** The host-wide settings every service may read (a subset of the stack file, see stacks/schema.ts). */
export interface HostSettings {
  /** The association's domain on this host; services live on sub-domains of it. */
  domain: string;
  /** The host's public IPv4 address (none on local). */
  publicIpv4?: string;
  images: ImagesConfig;
  /** How the proxy gets certificates: the routes' TLS labels depend on it. */
  tls: "acme" | "self-signed";
  partners: readonly PartnerConfig[];
  /** Contact of the host's ACME accounts (Let's Encrypt), when the stack gives one (`infra:acmeEmail`). */
  acmeEmail?: string;
  /**
   * How the directory's and the mail server's certificates are obtained with ACME (`infra:acme`, DNS-01 at
   * the registrar; platform/acme-certificate.ts). Absent on hosts where no service chooses `tls: acme`.
   */
  acme?: AcmeConfig;
  /** On a monitoring host: the hosts watched from it (platform/watched-host.ts, stacks/watched-hosts.ts). */
  watchedHosts?: readonly WatchedHost[];
}

/**
 * The per-host context every service component receives: the host's settings, its Docker provider, the
 * edge network the proxy serves, and small factories so that networks, volumes, images and passwords are
 * made alike on every host. What services provide to each other does not live here (see service.ts).
 */
export class HostContext {
  readonly edge: docker.Network;

  constructor(
    readonly config: HostSettings,
    readonly provider: docker.Provider,
    private readonly root: pulumi.Resource,
  ) {
    this.edge = this.network("edge", { internal: false }, root);
  }

  private jobMetrics?: docker.Volume;

  /** The jobs of this host that write `<job>.prom` into the job-metrics volume, by their `job` label. */
  readonly jobs: string[] = [];

  /**
   * The host's job-metrics volume (platform/job-metrics.ts): made once, under the host, by whichever service
   * asks first (the jobs write it, monitoring's node exporter reads it). A job names itself (`writer`, the
   * `job` label of its `<job>.prom`) so that monitoring also alerts when it never reports.
   */
  jobMetricsVolume(writer?: string): docker.Volume {
    if (writer !== undefined && !this.jobs.includes(writer)) this.jobs.push(writer);
    this.jobMetrics ??= this.volume(JOB_METRICS_VOLUME, this.root, {
      keep: "nothing",
      because: "the jobs' last results, written again by their next run",
    });
    return this.jobMetrics;
  }

  /** `https://<sub>.<domain>`'s host name. */
  subdomain(sub: string): string {
    return `${sub}.${this.config.domain}`;
  }

  /** A network; internal (no route to the outside) unless said otherwise. */
  network(name: string, args: { internal: boolean }, parent: pulumi.Resource): docker.Network {
    const network = new docker.Network(
      `network-${name}`,
      { name, internal: args.internal, driver: "bridge" },
      { parent, provider: this.provider },
    );
    if (!args.internal) this.routedNetworks.add(network);
    this.networkNames.set(network, name);
    return network;
  }

  private readonly networkNames = new Map<docker.Network, string>();

  /** The networks besides edge that routes reach their containers on (`Route.via`): the proxy joins them. */
  readonly proxyNetworks = new Set<docker.Network>();

  /** The networks with a route out (not internal): joining one exposes nothing that is not already reachable. */
  readonly routedNetworks = new Set<docker.Network>();

  /** Every container of this host made so far, with what monitoring derives from it. */
  readonly containers: ContainerFacts[] = [];

  /** Every PostgreSQL and Redis of this host made so far, for the database exporters. */
  readonly databases: DeclaredDatabase[] = [];

  /** The volumes of this host that declare what their backup keeps, in creation order (platform/backup.ts). */
  readonly volumes: DeclaredVolume[] = [];

  /**
   * A named data volume. Kept when the stack is destroyed: data is never deleted by a deploy. `backup`
   * says what of it the host's backup keeps and how, or why nothing (platform/backup.ts); a volume without
   * it fails the unit tests (tests/unit/backup) and is not backed up.
   */
  volume(name: string, parent: pulumi.Resource, backup?: VolumeBackup): docker.Volume {
    const volume = new docker.Volume(`volume-${name}`, { name }, { parent, provider: this.provider, retainOnDelete: true });
    if (backup) this.volumes.push({ name, volume, backup });
    return volume;
  }

  upstreamImage(name: string, ref: string, parent: pulumi.Resource): PinnedImage {
    return upstreamImage(`image-${name}`, ref, { parent, provider: this.provider });
  }

  /** One of our images (folder relative to the repository root). */
  ownImage(name: string, contextDir: string, parent: pulumi.Resource): PinnedImage {
    return ownImage(name, contextDir, this.config.images, { parent, provider: this.provider });
  }

  /** A generated credential: random, stored encrypted in the state, secret in every output. */
  password(name: string, parent: pulumi.Resource): pulumi.Output<string> {
    const password = new random.RandomPassword(`password-${name}`, { length: 32, special: false }, { parent });
    return password.result;
  }

  /** Every public host name a container of this host is routed for, in creation order. */
  readonly routedHosts: string[] = [];

  /** Traefik labels for a container's routes (TLS always; ACME certificates in production). */
  routeLabels(containerName: string, routes: Route[]): Record<string, string> {
    this.routedHosts.push(...routes.map((route) => route.host));
    if (routes.length === 0) return {};
    // One network per container for the proxy (Traefik's label is the container's, not the route's).
    const via = new Set(routes.map((route) => route.via));
    if (via.size > 1) throw new Error(`${containerName}: its routes name different networks for the proxy (Route.via)`);
    const [network] = via;
    if (network) this.proxyNetworks.add(network);
    const labels: Record<string, string> = {
      "traefik.enable": "true",
      "traefik.docker.network": network ? (this.networkNames.get(network) ?? "") : "edge",
    };
    routes.forEach((route, index) => {
      const id = index === 0 ? containerName : `${containerName}-${index}`;
      labels[`traefik.http.routers.${id}.rule`] = `Host(\`${route.host}\`)`;
      labels[`traefik.http.routers.${id}.entrypoints`] = "websecure";
      labels[`traefik.http.routers.${id}.tls`] = "true";
      if (this.config.tls === "acme") {
        labels[`traefik.http.routers.${id}.tls.certresolver`] = "letsencrypt";
      }
      labels[`traefik.http.routers.${id}.service`] = id;
      labels[`traefik.http.services.${id}.loadbalancer.server.port`] = String(route.port);
      if (route.forwardAuth) Object.assign(labels, forwardAuthLabels(id, route.forwardAuth));
    });
    return labels;
  }
}

/**
 * A router's forwardAuth middleware (`<router>-login`): the login sees only the Authorization header and the
 * X-Forwarded-* headers Traefik sets (the client's address last in X-Forwarded-For), and its user header
 * replaces any the client sent.
 */
function forwardAuthLabels(router: string, auth: ForwardAuth): Record<string, string> {
  const middleware = `traefik.http.middlewares.${router}-login.forwardauth`;
  return {
    [`${middleware}.address`]: auth.address,
    [`${middleware}.trustForwardHeader`]: "true",
    [`${middleware}.authRequestHeaders`]: "Authorization",
    [`${middleware}.authResponseHeaders`]: auth.userHeader,
    [`traefik.http.routers.${router}.middlewares`]: `${router}-login`,
  };
}
