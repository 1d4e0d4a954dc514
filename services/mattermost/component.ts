import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "../../platform/container";
import type { VolumeBackup } from "../../platform/backup";
import { Postgres } from "../../platform/postgres";
import type { ServiceArgs, ServiceOutputs } from "../../platform/service";
import { smtpClient } from "../../platform/smtp-client";
import type { MattermostService } from "./settings";

/** Where the image keeps its state; every path is owned by the image's user (uid 2000). */
const VOLUMES = {
  data: "/mattermost/data",
  config: "/mattermost/config",
  logs: "/mattermost/logs",
  plugins: "/mattermost/plugins",
  "client-plugins": "/mattermost/client/plugins",
} as const;

/** What the backup keeps of each (platform/backup.ts): the settings are env, the database is dumped by its block. */
const VOLUME_BACKUP = {
  data: { keep: "files" },
  config: { keep: "files" },
  logs: { keep: "nothing", because: "logs only" },
  plugins: { keep: "files" },
  "client-plugins": { keep: "files" },
} as const satisfies Record<keyof typeof VOLUMES, VolumeBackup>;

/**
 * The image's own start, which the container runs behind the platform's secrets wrapper (Mattermost reads
 * its settings from `MM_*` variables or its config.json, no `*_FILE`): `ENTRYPOINT ["/entrypoint.sh"]`,
 * `WORKDIR /mattermost`, `CMD ["mattermost"]` in mattermost/mattermost:server/build/Dockerfile (stored copy of
 * 7.9, @00faf884; the same lines are the base of mattermost/mattermost#31136, 2025-05, before the image went
 * distroless in 10.12). entrypoint.sh (@8e0ea26b) is bash: it prepends `mattermost` to arguments that start
 * with `-`, then execs them. Docker drops the image's CMD once the entrypoint is set: both are given here.
 * The wrapper needs /bin/sh: the image is Ubuntu-based up to 10.11, distroless (no shell) from 10.12
 * (mattermost/mattermost#33839), see platform/upstream-images.ts.
 */
const UPSTREAM_START = { entrypoint: ["/entrypoint.sh"], command: ["mattermost"] };

/** The image's `mattermost` user: new named volumes take the ownership of the image's directories. */
const MATTERMOST_USER = "2000:2000";
const PORT = 8065;

/**
 * Mattermost Team Edition for the association's members: its own PostgreSQL on an internal network,
 * settings through `MM_*` environment variables (they override config.json and lock the setting in the
 * System Console), email notifications through the association's mail server over submission.
 */
export class Mattermost extends pulumi.ComponentResource implements ServiceOutputs {
  readonly urls: string[];

  constructor(name: string, args: ServiceArgs<typeof MattermostService>, opts?: pulumi.ComponentResourceOptions) {
    const { context, settings, endpoints } = args;
    // Settings the schema cannot check alone (they depend on what else runs here): before any resource.
    const smtp = smtpClient("mattermost", context.config.domain, settings.smtp, endpoints);
    super("infra:service:Mattermost", name, {}, opts);
    const siteHost = settings.hostname ?? context.subdomain("chat");
    const siteUrl = `https://${siteHost}`;

    const network = context.network("mattermost", { internal: true }, this);
    const db = new Postgres(
      "mattermost-db",
      {
        context,
        service: "mattermost",
        network,
        database: "mattermost",
        user: "mattermost",
        memoryMb: settings.database.memoryMb,
      },
      { parent: this },
    );

    serviceContainer(
      context,
      "mattermost",
      {
        service: "mattermost",
        role: "app",
        image: context.upstreamImage("mattermost", settings.image, this),
        user: MATTERMOST_USER,
        networks: [{ network: context.edge }, { network }, ...(smtp.network ? [{ network: smtp.network }] : [])],
        memoryMb: settings.memoryMb,
        env: {
          MM_SQLSETTINGS_DRIVERNAME: "postgres",
          MM_SERVICESETTINGS_SITEURL: siteUrl,
          MM_SERVICESETTINGS_LISTENADDRESS: `:${PORT}`,
          MM_EMAILSETTINGS_SENDEMAILNOTIFICATIONS: "true",
          MM_EMAILSETTINGS_SMTPSERVER: smtp.host,
          MM_EMAILSETTINGS_SMTPPORT: String(smtp.port),
          MM_EMAILSETTINGS_CONNECTIONSECURITY: "STARTTLS",
          // Submission refuses unauthenticated clients and checks that the sender is the login's own address.
          MM_EMAILSETTINGS_ENABLESMTPAUTH: "true",
          MM_EMAILSETTINGS_SMTPUSERNAME: smtp.username,
          MM_EMAILSETTINGS_SKIPSERVERCERTIFICATEVERIFICATION: String(!smtp.verifyCertificate),
          MM_EMAILSETTINGS_FEEDBACKEMAIL: smtp.username,
          MM_EMAILSETTINGS_REPLYTOADDRESS: smtp.username,
          MM_EMAILSETTINGS_FEEDBACKNAME: "Mattermost",
          // Members sign in with the accounts an administrator invites; no open sign-up on a public instance.
          MM_TEAMSETTINGS_ENABLEOPENSERVER: "false",
        },
        volumes: Object.entries(VOLUMES).map(([volume, target]) => ({
          source: context.volume(`mattermost-${volume}`, this, VOLUME_BACKUP[volume as keyof typeof VOLUMES]),
          target,
        })),
        routes: [{ host: siteHost, port: PORT }],
        secretEnv: {
          // The whole data source is the secret file: it embeds the password, and the wrapper copies a file as it is.
          // The database is only reachable on the internal network, so TLS to it would protect nothing.
          MM_SQLSETTINGS_DATASOURCE: pulumi.interpolate`postgres://${db.user}:${db.password}@${db.hostname}:5432/${db.database}?sslmode=disable&connect_timeout=10`,
          MM_EMAILSETTINGS_SMTPPASSWORD: smtp.password,
        },
        secretsToEnv: UPSTREAM_START,
        healthcheck: {
          test: ["CMD", "curl", "-fsS", `http://localhost:${PORT}/api/v4/system/ping`],
          startPeriodSeconds: 120,
        },
      },
      { parent: this, dependsOn: [db] },
    );

    this.urls = [siteUrl];
    this.registerOutputs({ urls: this.urls });
  }
}
