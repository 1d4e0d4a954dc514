/**
 * The hardening rules of platform/container.ts, as pure checks over provider inputs. The policy pack
 * (policy/index.ts) runs them during `pulumi preview --policy-pack policy`; the unit tests run them over
 * every rendered resource of every stack, and over deliberately bad containers.
 */

export interface Violation {
  policy: string;
  resource: string;
  message: string;
}

type Inputs = Record<string, any>;

const labelsOf = (inputs: Inputs): Record<string, string> =>
  Object.fromEntries(((inputs.labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));

/** Env names that carry a credential (or a URL embedding one): passwords, keys, tokens, data sources. */
const CREDENTIAL_VARIABLE = /PASSWORD|SECRET|TOKEN|PRIVATE_KEY|DATASOURCE|APPLICATION_KEY|CONSUMER_KEY|^password$/;

/** Data services that must never be reachable from outside their application's internal network. */
export const DATA_ROLES = ["database", "cache"];

interface ContainerRule {
  policy: string;
  description: string;
  /** Returns the problem, or undefined when the container follows the rule. Unknown (preview) values pass. */
  check(inputs: Inputs, labels: Record<string, string>): string | undefined;
}

/**
 * A secrets carrier (platform/container.ts `secretsCarrier`) is created and never started: it needs no
 * healthcheck and does not restart; the rule secrets-carrier holds it to less than any container instead (no
 * start, no network, no capability, nothing but its secrets volume).
 */
const isCarrier = (labels: Record<string, string>) => labels["infra.secrets-for"] !== undefined;

export const containerRules: ContainerRule[] = [
  {
    policy: "no-privileged",
    description: "Containers are never privileged.",
    check: (i) => (i.privileged === true ? "runs privileged" : undefined),
  },
  {
    policy: "no-new-privileges",
    description: "Processes cannot gain privileges (setuid binaries, file capabilities).",
    check: (i) =>
      ((i.securityOpts ?? []) as string[]).includes("no-new-privileges:true") ? undefined : "lacks security option no-new-privileges:true",
  },
  {
    policy: "drop-all-capabilities",
    description: "Every capability is dropped; a service adds back only what it needs.",
    check: (i) => (((i.capabilities?.drops ?? []) as string[]).includes("ALL") ? undefined : "does not drop ALL capabilities"),
  },
  {
    policy: "justified-capabilities",
    description: "Each capability added back carries its reason (label infra.cap.<CAP>).",
    check: (i, labels) => {
      const unjustified = ((i.capabilities?.adds ?? []) as string[]).filter((cap) => !labels[`infra.cap.${cap}`]);
      return unjustified.length ? `adds ${unjustified.join(", ")} without a reason (label infra.cap.<CAP>)` : undefined;
    },
  },
  {
    policy: "memory-limit",
    description: "Every container has a memory limit.",
    check: (i) => (typeof i.memory === "number" && i.memory > 0 ? undefined : "has no memory limit"),
  },
  {
    policy: "healthcheck",
    description: "Every container has a healthcheck.",
    check: (i, labels) => {
      const tests = (i.healthcheck?.tests ?? []) as string[];
      return isCarrier(labels) || (tests.length > 0 && tests[0] !== "NONE") ? undefined : "has no healthcheck";
    },
  },
  {
    policy: "restart-policy",
    description: "Services restart unless stopped; one-shot jobs (role job) and secrets carriers do not restart.",
    check: (i, labels) => {
      const expected = labels["infra.role"] === "job" || isCarrier(labels) ? "no" : "unless-stopped";
      return i.restart === expected ? undefined : `restart is '${i.restart ?? "no"}', expected '${expected}'`;
    },
  },
  {
    policy: "log-rotation",
    description: "Logs go to json-file with explicit rotation.",
    check: (i) =>
      i.logDriver === "json-file" && i.logOpts?.["max-size"] && i.logOpts?.["max-file"]
        ? undefined
        : "logs are not json-file with max-size and max-file",
  },
  {
    policy: "image-by-id",
    description: "Containers run an image id (from a pinned RemoteImage), not a name that could move.",
    check: (i) =>
      typeof i.image !== "string" || i.image.startsWith("sha256:") ? undefined : `image '${i.image}' is a name, not an image id`,
  },
  {
    policy: "published-ports",
    description: "Only containers with a stated reason (label infra.exception.publishPorts) publish ports.",
    check: (i, labels) =>
      ((i.ports ?? []) as unknown[]).length > 0 && !labels["infra.exception.publishPorts"]
        ? "publishes ports without the publishPorts exception"
        : undefined,
  },
  {
    policy: "docker-socket",
    description: "The Docker socket is mounted only read-only and with a stated reason.",
    check: (i, labels) => {
      const mounts = ((i.volumes ?? []) as { hostPath?: string; readOnly?: boolean }[]).filter((v) => v.hostPath?.endsWith("docker.sock"));
      if (mounts.length === 0) return undefined;
      if (!labels["infra.exception.dockerSocket"]) return "mounts the Docker socket without the dockerSocket exception";
      return mounts.every((m) => m.readOnly === true) ? undefined : "mounts the Docker socket writable";
    },
  },
  {
    policy: "secrets-carrier",
    description:
      "A container that is never started is a secrets carrier (label infra.secrets-for): no network, no capability, no port, no mount but its secrets volume at /run/secrets.",
    check: (i, labels) => {
      if (!isCarrier(labels) && i.start !== false) return undefined;
      const volumes = (i.volumes ?? []) as { volumeName?: string; containerPath?: string }[];
      const problems = [
        !isCarrier(labels) && "is never started but is not a secrets carrier (label infra.secrets-for)",
        i.start !== false && "is a secrets carrier that starts",
        i.mustRun !== false && "is a secrets carrier that must run",
        i.networkMode !== "none" && "is a secrets carrier with a network",
        ((i.networksAdvanced ?? []) as unknown[]).length > 0 && "is a secrets carrier on networks",
        ((i.ports ?? []) as unknown[]).length > 0 && "is a secrets carrier that publishes ports",
        ((i.capabilities?.adds ?? []) as string[]).length > 0 && "is a secrets carrier with capabilities",
        !volumes.every((v) => v.volumeName === `${labels["infra.secrets-for"]}-secrets` && v.containerPath === "/run/secrets") &&
          "is a secrets carrier with a mount other than its secrets volume",
      ].filter((problem): problem is string => typeof problem === "string");
      return problems.length > 0 ? problems.join("; ") : undefined;
    },
  },
  {
    policy: "secrets-as-files",
    description:
      "Credentials reach containers as files (<VAR>_FILE, platform/container.ts secretEnv), never in env where docker inspect shows them; an image that reads only its env gets them through the secretsToEnv wrapper.",
    check: (i) => {
      const keys = ((i.envs ?? []) as unknown[])
        .filter((entry): entry is string => typeof entry === "string")
        .map((entry) => entry.slice(0, entry.indexOf("=")))
        .filter((key) => CREDENTIAL_VARIABLE.test(key) && !key.endsWith("_FILE"));
      return keys.length > 0 ? `has credentials in env (${keys.join(", ")}): hand them as files (secretEnv)` : undefined;
    },
  },
];

export function checkContainer(name: string, inputs: Inputs): Violation[] {
  const labels = labelsOf(inputs);
  return containerRules.flatMap((rule) => {
    const problem = rule.check(inputs, labels);
    return problem ? [{ policy: rule.policy, resource: name, message: `container ${inputs.name ?? name} ${problem}` }] : [];
  });
}

/** Image references are pinned by a tag other than latest (and by digest where the stack gives one). */
export function checkImage(name: string, inputs: Inputs): Violation[] {
  const ref = inputs.name;
  if (typeof ref !== "string") return [];
  const tag = /:([^/@]+)(@sha256:[a-f0-9]{64})?$/.exec(ref)?.[1];
  return !tag || tag === "latest"
    ? [{ policy: "pinned-image", resource: name, message: `image ${ref} is not pinned by a version tag` }]
    : [];
}

export interface StackResource {
  type: string;
  name: string;
  inputs: Inputs;
}

/** Databases and caches join only internal networks. */
export function checkDataIsolation(resources: StackResource[]): Violation[] {
  const internal = new Map(
    resources.filter((r) => r.type === "docker:index/network:Network").map((r) => [r.inputs.name as string, r.inputs.internal === true]),
  );
  return resources
    .filter((r) => r.type === "docker:index/container:Container" && DATA_ROLES.includes(labelsOf(r.inputs)["infra.role"]))
    .flatMap((r) =>
      ((r.inputs.networksAdvanced ?? []) as { name?: string }[])
        .filter((n) => typeof n.name === "string" && internal.get(n.name) !== true)
        .map((n) => ({
          policy: "data-on-internal-networks",
          resource: r.name,
          message: `${labelsOf(r.inputs)["infra.role"]} container ${r.inputs.name} joins network ${n.name}, which is not internal`,
        })),
    );
}

/** Every rule over a whole stack: what the unit tests run on each rendered stack. */
export function checkStack(resources: StackResource[]): Violation[] {
  return [
    ...resources.flatMap((r) =>
      r.type === "docker:index/container:Container"
        ? checkContainer(r.name, r.inputs)
        : r.type === "docker:index/remoteImage:RemoteImage" && !r.inputs.build
          ? checkImage(r.name, r.inputs)
          : [],
    ),
    ...checkDataIsolation(resources),
  ];
}
