/**
 * What we know about the third-party images the services run, read from their own sources: one entry per
 * image, for the tags it was read for. The images cannot be pulled where the tests run, so this table is
 * what stands between a container that looks right under the mock runtime and one that crash-loops on a
 * host. Each fact cites the upstream line (repository@commit:path#Lx-Ly) or issue it comes from.
 *
 * tests/unit/web/upstream-images.test.ts checks every container of every stack against it:
 * - the image's tag must be one the facts were read for. A version bump (Renovate's merge requests)
 *   fails that check until someone re-reads the sources listed under `read` for the new tag and updates
 *   `tags` (and whatever changed);
 * - the container's entrypoint must run as a user it works as, with the capabilities it needs;
 * - with the image's entrypoint and a user other than root, no variable that makes it write a root-owned
 *   place may be set;
 * - its healthcheck may only call programs the image has;
 * - every default that bites has a check of the rendered container.
 *
 * Do not write image references here as `const ..._IMAGE = "repo:tag"`: Renovate rewrites those
 * (renovate.json), which would bump the table along with the image instead of failing the check.
 */

import { behindSecretsToEnv, SECRETS_TO_ENV_TOOLS } from "./secrets-to-env";

/** Where a fact comes from, and what it says there. */
export interface Reference {
  /** `owner/repo@commit:path#Lx-Ly`, an issue or pull request URL, or a documentation page. */
  at: string;
  says: string;
}

/** What a check sees of a rendered container. */
export interface ContainerUnderCheck {
  name: string;
  /** As rendered: `repo:tag`, `repo:tag@sha256:...`. */
  image: string;
  /** The container's `user`; null runs the image's own USER. */
  user: string | null;
  /** [] runs the image's own ENTRYPOINT. */
  entrypoint: string[];
  command: string[];
  env: Record<string, string>;
  capAdd: string[];
  /** Docker form: ["CMD", ...] or ["CMD-SHELL", "..."]. */
  healthcheck: string[];
  memoryMb: number;
  stopTimeoutSeconds?: number;
  destroyGraceSeconds?: number;
}

/** How the container may start: which entrypoint, as which users, with which capabilities. */
export interface EntrypointFact {
  /**
   * The container's entrypoint program, or IMAGE_ENTRYPOINT for the image's own. Behind the secrets
   * wrapper (platform/secrets-to-env.ts), the program the wrapper execs.
   */
  entrypoint: string;
  /** What the image's entrypoint is, for people (IMAGE_ENTRYPOINT only). */
  program?: string;
  /**
   * The command this entrypoint must be given, when it is the image's own ENTRYPOINT named explicitly:
   * Docker drops the image's CMD once a container sets its entrypoint.
   */
  command?: string[];
  /** Users it works as with every capability dropped except `capabilities`. */
  users: string[];
  capabilities: string[];
  why: string;
  refs: Reference[];
}

/** A variable that makes the image's entrypoint write a root-owned place: as another user, it exits. */
export interface RootOnlyVariable {
  variable: string;
  writes: string;
  refs: Reference[];
}

/** A default of the image (or of how Docker runs it) that bites us, and how the container deals with it. */
export interface DefaultFact {
  name: string;
  value: string;
  bites: string;
  refs: Reference[];
  /** The container's problem with this default, or undefined when it takes care of it. */
  check?: (container: ContainerUnderCheck) => string | undefined;
}

export interface ImageFacts {
  /** Docker Hub repository, as the stacks write it: `nextcloud`, `collabora/code`. */
  repository: string;
  /** The tags these facts were read for; any other tag fails the version check. */
  tags: string[];
  /** What was read for those tags: re-read these for a new tag. */
  read: Reference[];
  /** The image's USER (`root` when it has none). */
  imageUser: string;
  entrypoints: EntrypointFact[];
  rootOnlyVariables: RootOnlyVariable[];
  /** Programs a healthcheck may call (shell built-ins are always there when a shell is). */
  tools: { names: string[]; refs: Reference[] };
  defaults: DefaultFact[];
}

export const IMAGE_ENTRYPOINT = "(image entrypoint)";

/** The Docker provider's stop on delete (every replacement): no grace unless destroy_grace_seconds is set. */
const PROVIDER_DESTROY_GRACE: Reference = {
  at: "kreuzwerker/terraform-provider-docker@v3.6.2:internal/provider/resource_docker_container_funcs.go#L933-L940",
  says: "resourceDockerContainerDelete: `var timeout int`, set only from destroy_grace_seconds, then ContainerStop(Timeout: &timeout): 0 s, the stop signal and an immediate kill",
};
const DOCKER_STOP_DEFAULT: Reference = {
  at: "https://docs.docker.com/reference/cli/docker/container/stop/",
  says: "docker stop (and a daemon shutdown) waits 10 s after the stop signal, then kills, unless the container's StopTimeout says otherwise",
};

/** Whole seconds of a Go-style duration (`60s`, `1h`, `1h0m0s`, plain digits = seconds, Traefik's reading). */
export function durationToSeconds(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === "") return undefined;
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** At least this long: a stop grace for a daemon that must flush or save on the way out. */
function stopGraceAtLeast(seconds: number, what: string) {
  return (c: ContainerUnderCheck): string | undefined => {
    const problems = [
      (c.stopTimeoutSeconds ?? 0) < seconds ? `stop timeout ${c.stopTimeoutSeconds ?? "unset (Docker: 10 s)"}` : undefined,
      (c.destroyGraceSeconds ?? 0) < seconds ? `destroy grace ${c.destroyGraceSeconds ?? "unset (provider: 0 s)"}` : undefined,
    ].filter((p): p is string => p !== undefined);
    return problems.length > 0 ? `${problems.join(", ")}: ${what} needs at least ${seconds} s to stop cleanly` : undefined;
  };
}

/** Uploads may take this long through the proxy (chunks of Nextcloud clients, Mattermost attachments). */
export const PROXY_UPLOAD_SECONDS = 3600;

export const UPSTREAM_IMAGES: readonly ImageFacts[] = [
  {
    repository: "nextcloud",
    tags: ["30.0.4-apache"],
    read: [
      {
        at: "nextcloud/docker@f4138903323bfb04326373804ea3dbbd4ffe94e4:30/apache/ (Dockerfile, entrypoint.sh, cron.sh, config/*.php)",
        says: "the update that set NEXTCLOUD_VERSION 30.0.4; entrypoint.sh and Dockerfile unchanged until a43854ae (30.0.5), 7f707b6c only adds REDIS_HOST_USER to config/redis.config.php",
      },
    ],
    imageUser: "root",
    entrypoints: [
      {
        entrypoint: IMAGE_ENTRYPOINT,
        program: "/entrypoint.sh (set -eu) then apache2-foreground",
        users: ["www-data"],
        capabilities: [],
        why: "as another user than root it installs and upgrades with `rsync -rlD` (no --chown) into volumes that keep the image's www-data ownership, and Apache binds port 80 unprivileged; as root it would need CHOWN, DAC_OVERRIDE, FOWNER, SETUID and SETGID (su -p, rsync --chown) in an Internet-facing PHP container",
        refs: [
          { at: "nextcloud/docker@f4138903:30/apache/entrypoint.sh#L85-L106", says: "user=$(id -u) when not root" },
          { at: "nextcloud/docker@f4138903:30/apache/entrypoint.sh#L168-L174", says: "rsync_options=-rlD unless root (-rlDog --chown)" },
          {
            at: "nextcloud/docker@f4138903:30/apache/Dockerfile#L116-L123",
            says: "mkdir /var/www/data; chown -R www-data:root /var/www; chmod -R g=u /var/www",
          },
        ],
      },
      {
        entrypoint: "/cron.sh",
        users: ["root"],
        capabilities: ["SETGID", "SETUID"],
        why: "busybox crond runs the www-data crontab the image installs, switching to www-data for each run",
        refs: [
          { at: "nextcloud/docker@f4138903:30/apache/cron.sh#L1-L4", says: "exec busybox crond -f -L /dev/stdout" },
          {
            at: "nextcloud/docker@f4138903:30/apache/Dockerfile#L17-L18",
            says: "*/5 * * * * php -f /var/www/html/cron.php > /var/spool/cron/crontabs/www-data",
          },
        ],
      },
      {
        entrypoint: "/bin/sh",
        users: ["www-data"],
        capabilities: [],
        why: "occ refuses to run as anyone but the owner of config/config.php (www-data, who installed it)",
        refs: [
          {
            at: "nextcloud/server@v30.0.4:console.php (posix_getuid() !== fileowner(config.php))",
            says: "Console has to be executed with the user that owns the file config/config.php",
          },
        ],
      },
    ],
    rootOnlyVariables: [
      {
        variable: "APACHE_DISABLE_REWRITE_IP",
        writes: "`a2disconf remoteip` removes the root-owned /etc/apache2/conf-enabled/remoteip.conf: Permission denied, exit under set -e",
        refs: [
          {
            at: "nextcloud/docker@f4138903:30/apache/entrypoint.sh#L79-L83",
            says: 'if [ -n "${APACHE_DISABLE_REWRITE_IP+x}" ]; then a2disconf remoteip',
          },
          { at: "https://github.com/nextcloud/docker/issues/2219", says: "entrypoint fails with Permission denied when not run as root" },
        ],
      },
      {
        variable: "REDIS_HOST",
        writes: "it writes the root-owned /usr/local/etc/php/conf.d/redis-session.ini: Permission denied, exit 2 under set -e",
        refs: [
          {
            at: "nextcloud/docker@f4138903:30/apache/entrypoint.sh#L108-L133",
            says: "{ ... } > /usr/local/etc/php/conf.d/redis-session.ini",
          },
          { at: "https://github.com/nextcloud/docker/issues/2219", says: "redis-session.ini: Permission denied" },
        ],
      },
    ],
    tools: {
      names: ["curl", "grep", "php", "sh", "timeout", "date", "busybox"],
      refs: [
        {
          at: "nextcloud/docker@f4138903:30/apache/Dockerfile#L145-L168",
          says: "curl downloads the release and stays (only gnupg and dirmngr are purged); Debian bookworm base (coreutils: timeout, date; grep)",
        },
      ],
    },
    defaults: [
      {
        name: "mod_remoteip",
        value: "RemoteIPHeader X-Real-IP from 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16",
        bites:
          "nothing as long as it stays on: the proxy sets X-Real-Ip to the address it was connected from and drops what clients send, so Apache and Nextcloud see the client's address (turning it off needs root, see APACHE_DISABLE_REWRITE_IP)",
        refs: [
          {
            at: "nextcloud/docker@f4138903:30/apache/Dockerfile#L127-L134",
            says: "a2enmod remoteip; RemoteIPHeader X-Real-IP; RemoteIPInternalProxy ...",
          },
          {
            at: "traefik/traefik@v3.6.1:pkg/middlewares/forwardedheaders/forwarded_header.go#L141-L147",
            says: "X-Real-Ip set to the request's RemoteAddr when empty; L190-L194 remove X-Forwarded-*/X-Real-Ip from untrusted clients",
          },
        ],
      },
      {
        name: "config/redis.config.php",
        value:
          "REDIS_HOST in a container's environment turns on Redis (memcache.distributed, memcache.locking) for every PHP process of that container",
        bites:
          "Redis is configured in config.php by the occ job (every container of a tenant reads it); a container that also had REDIS_HOST would use its own settings, and the app container cannot have it at all (root-only variable)",
        refs: [
          {
            at: "nextcloud/docker@f4138903:30/apache/config/redis.config.php#L2-L16",
            says: "if (getenv('REDIS_HOST')) { $CONFIG = [ 'memcache.locking' => '\\OC\\Memcache\\Redis', ... ] }",
          },
        ],
        check: (c) =>
          c.env.REDIS_HOST !== undefined
            ? "REDIS_HOST is set: Redis is configured in config.php by the occ job, for every container alike"
            : undefined,
      },
      {
        name: "NEXTCLOUD_TRUSTED_DOMAINS",
        value: "applied once, at installation",
        bites: "a later change of the list would never reach config.php: the occ job sets trusted_domains on every run",
        refs: [
          {
            at: "nextcloud/docker@f4138903:30/apache/entrypoint.sh#L238-L246",
            says: 'inside `if [ "$install" = true ]`: occ config:system:set trusted_domains',
          },
        ],
      },
    ],
  },
  {
    repository: "collabora/code",
    tags: ["24.04.13.3.1"],
    read: [
      {
        at: "CollaboraOnline/online:{docker/from-packages/Dockerfile@09b1ae95, docker/from-packages/scripts/start-collabora-online.sh@07d76bf7, wsd/FileServer.cpp@b08b0cc5, wsd/HostUtil.cpp@13d644be}",
        says: "stored copies: the 24.04 branch itself could not be read here (the repository is too large to fetch). The code paths cited are the same since loolwsd 6.x (the 2020 report learnweb/moodle-mod_collabora#11 shows the same frame-ancestors); re-read them at the tag of a new version",
      },
    ],
    imageUser: "1001",
    entrypoints: [
      {
        entrypoint: IMAGE_ENTRYPOINT,
        program: "/start-collabora-online.sh, then coolwsd",
        users: ["1001", "cool"],
        capabilities: [],
        why: "the image runs as cool (1001), which owns /etc/coolwsd/coolwsd.xml that the start script edits; without capabilities coolwsd needs mount_jail_tree=false and security.capabilities=false (services/collabora/component.ts)",
        refs: [
          {
            at: "CollaboraOnline/online@09b1ae95:docker/from-packages/Dockerfile",
            says: "chown cool:cool /etc/coolwsd/coolwsd.xml; USER 1001",
          },
        ],
      },
      {
        entrypoint: "/start-collabora-online.sh",
        command: [],
        users: ["1001", "cool"],
        capabilities: [],
        why: "the image's own start named explicitly, as behind the secrets wrapper; same user and settings as the image's entrypoint",
        refs: [
          {
            at: "CollaboraOnline/online@09b1ae95:docker/from-packages/Dockerfile",
            says: 'ENTRYPOINT ["/start-collabora-online.sh"], no CMD; usermod -u 1001 cool && groupmod -g 1001 cool; USER 1001',
          },
          {
            at: "CollaboraOnline/online@07d76bf7:docker/from-packages/scripts/start-collabora-online.sh",
            says: "#!/bin/sh; reads username, password, server_name, dictionaries, extra_params from its environment, no argument; ends with exec /usr/bin/coolwsd",
          },
        ],
      },
    ],
    rootOnlyVariables: [],
    tools: {
      names: ["bash", "grep", "sh", "cat"],
      refs: [
        {
          at: "CollaboraOnline/online@09b1ae95:docker/from-packages/Dockerfile",
          says: "curl is purged after the install (dpkg --purge ... curl ...): no curl for healthchecks; FROM debian:stable-slim (dash as /bin/sh, coreutils)",
        },
        {
          at: "CollaboraOnline/online@07d76bf7:docker/from-packages/scripts/start-collabora-online.sh",
          says: "#!/bin/sh, and it runs cp: the image's own start needs /bin/sh and coreutils whatever its base",
        },
      ],
    },
    defaults: [
      {
        name: "extra_params",
        value: "expanded unquoted: exec /usr/bin/coolwsd ... ${extra_params}",
        bites: "a value with a space is split into two arguments; every word must be a whole --o:key=value option",
        refs: [
          {
            at: "CollaboraOnline/online@07d76bf7:docker/from-packages/scripts/start-collabora-online.sh (last line)",
            says: "exec /usr/bin/coolwsd --version ... ${extra_params}",
          },
        ],
        check: (c) => {
          const stray = (c.env.extra_params ?? "").split(/\s+/).filter((word) => word !== "" && !word.startsWith("--o:"));
          return stray.length > 0 ? `extra_params words that are not --o: options (a value with a space?): ${stray.join(" ")}` : undefined;
        },
      },
      {
        name: "frame-ancestors",
        value: "the configured ancestors, coolwsd's own host and the host of the WOPISrc the page was opened with, each with `:*`",
        bites:
          "Nextcloud Office is framed by the tenant's page: the WOPISrc (richdocuments' callback URL) must be on the tenant's public host, or the browser refuses the frame (checked per tenant by tests/unit/web/upstream-images.test.ts and by `npm run smoke`)",
        refs: [
          {
            at: "CollaboraOnline/online@b08b0cc5:wsd/FileServer.cpp (preprocessFile, 'Frame ancestors: Allow coolwsd host, wopi host and anything configured')",
            says: "frameAncestors += ' ' + uriHost.getHost() + \":*\"; ... frameAncestors += ' ' + wopiFrameAncestor + \":*\"",
          },
          {
            at: "https://github.com/learnweb/moodle-mod_collabora/issues/11",
            says: 'WOPISrc=http://localhost/... gives "frame-ancestors collabora.my-public-domain:* localhost:*" and a refused frame',
          },
        ],
      },
      {
        name: "stop",
        value: "SIGTERM, then Docker's 10 s (docker stop) or the provider's 0 s (replacement)",
        bites:
          "coolwsd saves modified documents back to Nextcloud on the way out; a kill loses the edits since the last save, e.g. when a new partner re-creates Collabora",
        refs: [
          {
            at: "CollaboraOnline/online:wsd/DocumentBroker.hpp (autoSave(force, dontSaveIfUnmodified, finalWrite))",
            says: "finalWrite: this is our last write before exit",
          },
          PROVIDER_DESTROY_GRACE,
          DOCKER_STOP_DEFAULT,
        ],
        check: stopGraceAtLeast(60, "coolwsd (saving open documents)"),
      },
    ],
  },
  {
    repository: "redis",
    tags: ["7.4.1-bookworm"],
    read: [
      {
        at: "redis/docker-library-redis@e5650da99bb377b2ed4f9f1ef993ff24729b1c16:7.4/debian/ (Dockerfile, docker-entrypoint.sh)",
        says: "Update 7.4 to 7.4.1",
      },
    ],
    imageUser: "root",
    entrypoints: [
      {
        entrypoint: IMAGE_ENTRYPOINT,
        program: "docker-entrypoint.sh, then the command (sh -c 'exec redis-server ...')",
        users: ["redis", "999", "999:999"],
        capabilities: [],
        why: "the entrypoint only chowns and switches user (gosu) when started as root with redis-server as first argument; as redis it execs the command as is; /data is a VOLUME owned by redis, so it stays writable with a read-only root filesystem",
        refs: [
          {
            at: "redis/docker-library-redis@e5650da9:7.4/debian/docker-entrypoint.sh#L10-L14",
            says: "if [ \"$1\" = 'redis-server' -a \"$(id -u)\" = '0' ]; then ... exec gosu redis",
          },
          {
            at: "redis/docker-library-redis@e5650da9:7.4/debian/Dockerfile#L142-L144",
            says: "mkdir /data && chown redis:redis /data; VOLUME /data; WORKDIR /data",
          },
        ],
      },
    ],
    rootOnlyVariables: [],
    tools: {
      names: ["redis-cli", "redis-server", "sh", "cat"],
      refs: [
        { at: "redis/docker-library-redis@e5650da9:7.4/debian/Dockerfile", says: "builds and installs redis-server and redis-cli" },
        { at: "redis/docker-library-redis@e5650da9:7.4/debian/Dockerfile", says: "FROM debian:bookworm-slim (dash as sh, coreutils' cat)" },
      ],
    },
    defaults: [
      {
        name: "maxmemory",
        value: "0: no limit on 64-bit builds, maxmemory-policy noeviction",
        bites:
          "at the container's memory limit the kernel OOM-kills Redis (all sessions and locks gone) instead of Redis evicting cache keys",
        refs: [
          {
            at: "https://redis.io/docs/latest/develop/reference/eviction/",
            says: "Setting maxmemory to zero results into no memory limits. This is the default behavior for 64 bit systems",
          },
        ],
        check: (c) => {
          const script = c.command.join(" ");
          const match = /--maxmemory (\d+)mb\b/.exec(script);
          if (!match) return "redis-server runs without --maxmemory: it grows until the container is OOM-killed";
          if (Number(match[1]) >= c.memoryMb) return `--maxmemory ${match[1]}mb leaves no room under the ${c.memoryMb} MB limit`;
          if (!/--maxmemory-policy (allkeys|volatile)-(lru|lfu)\b/.test(script))
            return "--maxmemory without an evicting --maxmemory-policy: writes fail instead of evicting";
          return undefined;
        },
      },
    ],
  },
  {
    repository: "traefik",
    tags: ["v3.6.1"],
    read: [
      {
        at: "traefik/traefik@v3.6.1 (ade2306a605f0341207ea0972d237ce904cadfe2): pkg/config/static/static_config.go, pkg/middlewares/forwardedheaders/forwarded_header.go",
        says: "static defaults and forwarded headers",
      },
      {
        at: "traefik/traefik-library-image@00f17bdb:v3.6/alpine/Dockerfile (the official image's build)",
        says: "FROM alpine; traefik in /usr/local/bin; ENTRYPOINT /entrypoint.sh; CMD traefik; no USER",
      },
    ],
    imageUser: "root",
    entrypoints: [
      {
        entrypoint: IMAGE_ENTRYPOINT,
        program: "/entrypoint.sh (runs traefik with the flags of the command)",
        users: ["root"],
        capabilities: [],
        why: "root (without any capability) opens the root-owned Docker socket as its owner, and ports 80/443 need no privilege inside a container (net.ipv4.ip_unprivileged_port_start=0)",
        refs: [
          { at: "traefik/traefik-library-image@00f17bdb:v3.6/alpine/Dockerfile", says: "no USER instruction: the image runs as root" },
        ],
      },
      {
        // services/proxy/component.ts: writes the TLS options (a file, which Traefik needs) then execs traefik.
        entrypoint: "/bin/sh",
        users: ["root"],
        capabilities: [],
        why: "the same traefik as the image's start, as root for the Docker socket; the shell only writes its TLS options file first",
        refs: [
          {
            at: "traefik/traefik-library-image@00f17bdb:v3.6/alpine/Dockerfile",
            says: "FROM alpine (busybox /bin/sh); traefik in /usr/local/bin",
          },
          {
            at: "traefik/traefik@v3.6.1: docs/content/reference/routing-configuration/http/tls/tls-options.md",
            says: "TLS options are not supported by label or tag-based providers",
          },
        ],
      },
    ],
    rootOnlyVariables: [],
    tools: {
      names: ["traefik", "wget", "sh"],
      refs: [
        { at: "traefik/traefik-library-image@00f17bdb:v3.6/alpine/Dockerfile", says: "alpine (busybox sh, wget) with the traefik binary" },
        { at: "traefik/traefik@v3.6.1:cmd/healthcheck", says: "`traefik healthcheck --ping` (needs --ping=true)" },
      ],
    },
    defaults: [
      {
        name: "entryPoints.<name>.transport.respondingTimeouts.readTimeout",
        value: "60s",
        bites: "any request whose body takes longer to arrive is cut: Nextcloud upload chunks and Mattermost attachments on slow links",
        refs: [
          { at: "traefik/traefik@v3.6.1:pkg/config/static/static_config.go#L49-L50", says: "DefaultReadTimeout = 60 * time.Second" },
          {
            at: "traefik/traefik@v3.6.1:pkg/config/static/static_config.go#L179-L182",
            says: "RespondingTimeouts.SetDefaults: a.ReadTimeout = DefaultReadTimeout",
          },
        ],
        check: (c) => {
          const flag = c.command.find((arg) => arg.startsWith("--entrypoints.websecure.transport.respondingTimeouts.readTimeout="));
          if (!flag) return "websecure keeps Traefik's 60 s readTimeout: longer uploads are cut";
          const seconds = durationToSeconds(flag.split("=")[1]);
          if (seconds === undefined) return `unreadable readTimeout ${flag}`;
          return seconds !== 0 && seconds < PROXY_UPLOAD_SECONDS
            ? `websecure readTimeout ${seconds} s is below ${PROXY_UPLOAD_SECONDS} s for uploads`
            : undefined;
        },
      },
      {
        name: "ping",
        value: "off",
        bites: "`traefik healthcheck --ping` fails unless the ping endpoint is on",
        refs: [{ at: "traefik/traefik@v3.6.1:cmd/healthcheck", says: "the healthcheck calls the ping endpoint" }],
        check: (c) =>
          c.healthcheck.includes("--ping") && !c.command.includes("--ping=true")
            ? "healthcheck uses --ping but --ping=true is not set"
            : undefined,
      },
    ],
  },
  {
    repository: "mattermost/mattermost-team-edition",
    tags: ["10.5.2"],
    read: [
      {
        at: "mattermost/mattermost:server/build/Dockerfile (stored copy of the 7.9 era; the 10.x file keeps PUID/PGID 2000, USER mattermost, curl, the ping HEALTHCHECK)",
        says: "re-read at the tag of a new version",
      },
    ],
    imageUser: "2000:2000",
    entrypoints: [
      {
        entrypoint: IMAGE_ENTRYPOINT,
        program: "/entrypoint.sh mattermost",
        users: ["2000:2000", "mattermost"],
        capabilities: [],
        why: "the image's user owns /mattermost and its volume directories, so new named volumes are writable by it",
        refs: [
          {
            at: "mattermost/mattermost:server/build/Dockerfile",
            says: "ARG PUID=2000 ... chown -R mattermost:mattermost /mattermost ...; USER mattermost",
          },
        ],
      },
      {
        entrypoint: "/entrypoint.sh",
        command: ["mattermost"],
        users: ["2000:2000", "mattermost"],
        capabilities: [],
        why: "the image's own start named explicitly, as behind the secrets wrapper; same user as the image's entrypoint",
        refs: [
          {
            at: "mattermost/mattermost@00faf884:server/build/Dockerfile",
            says: 'ENTRYPOINT ["/entrypoint.sh"] / WORKDIR /mattermost / CMD ["mattermost"]; ENV PATH="/mattermost/bin:${PATH}"',
          },
          {
            at: "https://github.com/mattermost/mattermost/pull/31136",
            says: "the move to distroless (2025-05) starts from the same ENTRYPOINT, WORKDIR and CMD lines",
          },
          {
            at: "mattermost/mattermost@8e0ea26b:server/build/entrypoint.sh",
            says: '#!/bin/bash; if the first argument starts with \'-\', set -- mattermost "$@"; exec "$@"',
          },
        ],
      },
    ],
    rootOnlyVariables: [],
    tools: {
      names: ["curl", "sh", "cat", "bash"],
      refs: [
        { at: "mattermost/mattermost:server/build/Dockerfile", says: "HEALTHCHECK CMD curl -f http://localhost:8065/api/v4/system/ping" },
        {
          at: "mattermost/mattermost@00faf884:server/build/Dockerfile",
          says: 'FROM debian:buster-slim here, ubuntu (jammy, then noble) in the 9.x-10.x copies: dash as /bin/sh, coreutils; SHELL ["/bin/bash", ...]; entrypoint.sh is bash',
        },
        {
          at: "https://github.com/mattermost/mattermost/issues/33839",
          says: "from 10.12 the image is distroless: no shell, no curl (the secrets wrapper and this healthcheck would fail)",
        },
      ],
    },
    defaults: [],
  },
];

/** Repository, tag and digest of an image reference (`docker.io/library/` dropped). */
export function parseImageRef(ref: string): { repository: string; tag: string; digest?: string } {
  const [name, digest] = ref.split("@");
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  const [repository, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, "latest"];
  return { repository: repository.replace(/^docker\.io\//, "").replace(/^library\//, ""), tag, digest };
}

export function factsFor(image: string): ImageFacts | undefined {
  const { repository } = parseImageRef(image);
  return UPSTREAM_IMAGES.find((facts) => facts.repository === repository);
}

/** Why an image's facts cannot be trusted for this reference, or undefined when they were read for its tag. */
export function versionProblem(image: string): string | undefined {
  const { repository, tag } = parseImageRef(image);
  const facts = factsFor(image);
  if (!facts) return `${repository}: no facts in platform/upstream-images.ts; read its entrypoint and defaults first`;
  if (facts.tags.includes(tag)) return undefined;
  return (
    `${repository}:${tag}: the facts were read for ${facts.tags.join(", ")}; re-read ${facts.read.map((r) => r.at).join("; ")} ` +
    `at ${tag} and update its entry in platform/upstream-images.ts (tags, then whatever changed)`
  );
}

const ROOT = new Set(["root", "0", "0:0"]);
const SHELL_BUILTINS = new Set(["exec", "printf", "echo", "test", "[", "true", "false", "cd", "set", "exit"]);

/** The programs a Docker healthcheck runs (first words of each command, inside `sh -c`/`bash -c` too). */
export function healthcheckPrograms(test: string[]): string[] {
  const [kind, ...rest] = test;
  if (kind === "NONE" || rest.length === 0) return [];
  // A command substitution `$(...)` runs programs too: its script is read as a segment of its own.
  const fromShell = (script: string): string[] => {
    const substituted: string[] = [];
    const outer = script.replace(/"?\$\(([^()]*)\)"?/g, (_, inner: string) => {
      substituted.push(inner);
      return "SUBSTITUTED";
    });
    return [outer, ...substituted].flatMap(programsOf);
  };
  const programsOf = (script: string): string[] =>
    script
      .split(/\|\||&&|[|;]/)
      .map((segment) => segment.trim().split(/\s+/))
      .map((words) => words.find((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) ?? "")
      .filter((word) => word !== "" && !SHELL_BUILTINS.has(word));
  if (kind === "CMD-SHELL") return ["sh", ...fromShell(rest.join(" "))];
  const [program, ...args] = rest;
  if ((program === "sh" || program === "bash") && args[0] === "-c") return [program, ...fromShell(args.slice(1).join(" "))];
  return [program];
}

/** What is wrong with a container of a known image, by the facts; [] when nothing. */
export function containerProblems(container: ContainerUnderCheck): string[] {
  const facts = factsFor(container.image);
  if (!facts) return [];
  const problems: string[] = [];
  // Behind the secrets wrapper, what counts is the program it execs, and the wrapper's own needs.
  const wrapped = behindSecretsToEnv({ entrypoint: container.entrypoint, command: container.command });
  const start = wrapped ?? { entrypoint: container.entrypoint, command: container.command };
  const entrypoint = start.entrypoint[0] ?? IMAGE_ENTRYPOINT;
  const user = container.user ?? facts.imageUser;
  const mode = facts.entrypoints.find((e) => e.entrypoint === entrypoint);
  if (!mode) {
    problems.push(
      `entrypoint ${entrypoint}: not among the ways ${facts.repository} is known to start (${facts.entrypoints.map((e) => e.entrypoint).join(", ")})`,
    );
  } else {
    if (!mode.users.includes(user)) problems.push(`${entrypoint} runs as ${user}; it works as ${mode.users.join(" or ")} (${mode.why})`);
    const missing = mode.capabilities.filter((cap) => !container.capAdd.includes(cap));
    if (missing.length > 0) problems.push(`${entrypoint} needs ${missing.join(", ")} (${mode.why})`);
    const given = [...start.entrypoint.slice(1), ...start.command];
    if (mode.command && JSON.stringify(given) !== JSON.stringify(mode.command)) {
      problems.push(`${entrypoint} is given ${JSON.stringify(given)}; the image's own start gives it ${JSON.stringify(mode.command)}`);
    }
  }
  if (wrapped) {
    const lacking = SECRETS_TO_ENV_TOOLS.filter((tool) => !facts.tools.names.includes(tool));
    if (lacking.length > 0)
      problems.push(`the secrets-to-env wrapper needs ${lacking.join(", ")}, which ${facts.repository} does not have`);
  }
  if (entrypoint === IMAGE_ENTRYPOINT && !ROOT.has(user)) {
    for (const variable of facts.rootOnlyVariables) {
      if (container.env[variable.variable] !== undefined) {
        problems.push(`${variable.variable} is set and the entrypoint runs as ${user}: ${variable.writes}`);
      }
    }
  }
  const unknownTools = healthcheckPrograms(container.healthcheck).filter((program) => !facts.tools.names.includes(program));
  if (unknownTools.length > 0)
    problems.push(
      `healthcheck calls ${unknownTools.join(", ")}, which ${facts.repository} does not have (it has ${facts.tools.names.join(", ")})`,
    );
  for (const fact of facts.defaults) {
    const problem = fact.check?.(container);
    if (problem) problems.push(`${fact.name}: ${problem}`);
  }
  return problems;
}

/**
 * coolwsd's frame-ancestors for a page opened with this WOPISrc (wsd/FileServer.cpp, preprocessFile): the
 * configured ancestors, its own host and the WOPISrc's host, each as `host:*` (no scheme, any port).
 */
export function collaboraFrameAncestors(args: { serverHost: string; wopiSrc: string; configured?: string }): string[] {
  const configured = args.configured ?? "";
  const ancestors = configured === "" ? [] : [configured];
  if (args.serverHost !== configured) ancestors.push(`${args.serverHost}:*`);
  const wopiHost = new URL(args.wopiSrc).hostname;
  if (wopiHost !== args.serverHost && wopiHost !== configured) ancestors.push(`${wopiHost}:*`);
  return ancestors;
}

/**
 * The WOPISrc richdocuments 8.5 gives Collabora for a file: the callback URL (wopi_callback_url, trailing
 * slash dropped) or, when unset, the URL the browser is on, then the WOPI path.
 * nextcloud/richdocuments@v8.5.16:src/helpers/url.js#L18-L29, lib/AppConfig.php#L155-L157.
 */
export function richdocumentsWopiSrc(callbackUrl: string, fileId: string): string {
  return `${callbackUrl.replace(/\/+$/, "")}/index.php/apps/richdocuments/wopi/files/${fileId}`;
}
