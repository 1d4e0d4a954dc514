import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainer, type PublishedPort } from "../platform/container";
import type { HostContext } from "../platform/host-context";
import { JOB_METRICS_DIR } from "../platform/job-metrics";
import type { PinnedImage } from "../platform/images";
import { PORTS } from "./config";

/**
 * The two containers that tell how a host is doing, made alike on the monitoring host (monitoring/component.ts)
 * and on a host watched from another one (monitoring/agent.ts): the node exporter (host figures, and the
 * `.prom` files of the job-metrics volume: the jobs' results and each container's health) and
 * containers-health, which writes that health into the volume (monitoring/image/bin/containers-health).
 */

export interface ExporterArgs {
  service: string;
  image: PinnedImage;
  networks: { network: docker.Network }[];
  memoryMb: number;
  /** The host's job-metrics volume (platform/job-metrics.ts). */
  jobMetrics: docker.Volume;
}

const httpHealth = (port: number, path: string) => ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${port}${path}`];

/** The node exporter, reading the host (read-only) and the job-metrics volume's `.prom` files. */
export function nodeExporter(
  context: HostContext,
  name: string,
  args: ExporterArgs & { ports?: PublishedPort[]; publishReason?: string },
  parent: pulumi.Resource,
): docker.Container {
  return serviceContainer(
    context,
    name,
    {
      service: args.service,
      role: "app",
      image: args.image,
      // statfs on every mount point needs no privilege; nobody reads no file of the host that is not public.
      user: "nobody",
      networks: args.networks,
      memoryMb: args.memoryMb,
      command: [
        "prometheus-node-exporter",
        "--path.rootfs=/host",
        "--path.procfs=/host/proc",
        "--path.sysfs=/host/sys",
        `--collector.textfile.directory=${JOB_METRICS_DIR}`,
        `--web.listen-address=:${PORTS.node}`,
        // No systemd nor D-Bus in a container: the host's units are not ours to watch.
        "--no-collector.systemd",
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+)($|/)",
      ],
      volumes: [
        { source: "/", target: "/host", readOnly: true },
        { source: args.jobMetrics, target: JOB_METRICS_DIR, readOnly: true },
      ],
      ports: args.ports,
      exceptions: args.publishReason ? { publishPorts: args.publishReason } : undefined,
      readOnlyRootfs: true,
      healthcheck: { test: httpHealth(PORTS.node, "/"), intervalSeconds: 30 },
    },
    { parent },
  );
}

/**
 * containers-health: the state and health of every long-running container the stack declares on this host
 * (read once the whole host is declared: an Output's callback runs after the program's synchronous part, so
 * the containers of the services built after this one, and the proxy's, are watched too).
 */
export function containersHealth(
  context: HostContext,
  name: string,
  args: ExporterArgs & { everySeconds: number; watches: (container: { service: string }) => boolean },
  parent: pulumi.Resource,
): docker.Container {
  const watched = pulumi.output(name).apply(() =>
    context.containers
      .filter((c) => !c.oneShot && args.watches(c))
      .map((c) => `${c.name}=${c.service}`)
      .join(" "),
  );
  return serviceContainer(
    context,
    name,
    {
      service: args.service,
      role: "app",
      image: args.image,
      // Root for the Docker socket (root:docker 0660), with every capability dropped.
      user: "root",
      networks: args.networks,
      memoryMb: args.memoryMb,
      entrypoint: ["/usr/local/bin/containers-health"],
      env: {
        MONITORING_CONTAINERS: watched,
        MONITORING_SELF: name,
        MONITORING_TEXTFILE_DIR: JOB_METRICS_DIR,
        MONITORING_CONTAINERS_EVERY: String(args.everySeconds),
      },
      volumes: [
        { source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
        { source: args.jobMetrics, target: JOB_METRICS_DIR },
      ],
      readOnlyRootfs: true,
      healthcheck: {
        test: ["CMD-SHELL", `find ${JOB_METRICS_DIR}/containers.prom -mmin -2 | grep -q .`],
        intervalSeconds: 30,
      },
      exceptions: { dockerSocket: "reads the state and health of the host's containers (read-only) for the containers-health alerts" },
    },
    { parent },
  );
}
