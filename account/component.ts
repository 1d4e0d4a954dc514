import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "../platform/container";
import type { Endpoints, ServiceArgs, ServiceOutputs } from "../platform/service";
import { smtpClient } from "../platform/smtp-client";
import type { AccountService } from "./settings";

/** The image's `account` user (account/image/Dockerfile): it owns the data volume and reads the secrets. */
export const ACCOUNT_USER = "10100:10100";
export const ACCOUNT_PORT = 8080;
/** The proxy's tech login (account/app/tech-auth.ts): reached on the edge network, published by no route. */
export const ACCOUNT_AUTH_PORT = 8081;
const CA_DIR = "/etc/account/ldap-ca";

/**
 * The members' account page, `https://account.<domain>` (our image in account/image): set a first
 * password from an invitation, change it, reset a forgotten one by mail, see the end dates, manage
 * SSH keys. Passwords go to slapd with Password Modify as the `account` service account or as the
 * member; invitations come from the members CLI through the page's API (authenticated as the directory's
 * admin). Pending links live in the `account-data` volume, so a restart keeps them. It provides the
 * tech login (`techLogin`) the proxy asks before the tech team's pages, such as the metrics UI.
 */
export class AccountPage extends pulumi.ComponentResource implements ServiceOutputs {
  readonly urls: string[];
  readonly provides: Pick<Endpoints, "techLogin">;

  constructor(name: string, args: ServiceArgs<typeof AccountService>, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:AccountPage", name, {}, opts);
    const { context, settings, endpoints } = args;
    const { directory, mail } = endpoints;
    const domain = context.config.domain;
    const host = settings.hostname ?? `account.${domain}`;
    const publicUrl = `https://${host}`;
    const account = directory.serviceAccounts.account;
    const smtp = smtpClient("account", domain, {}, endpoints);

    serviceContainer(
      context,
      "account",
      {
        service: "account",
        role: "app",
        image: context.ownImage("account", "account/image", this),
        user: ACCOUNT_USER,
        networks: [{ network: context.edge }, { network: directory.network }, { network: mail.network }],
        memoryMb: settings.memoryMb,
        env: {
          ACCOUNT_PORT: String(ACCOUNT_PORT),
          ACCOUNT_AUTH_PORT: String(ACCOUNT_AUTH_PORT),
          ACCOUNT_PUBLIC_URL: publicUrl,
          ACCOUNT_LDAP_URL: directory.url,
          ACCOUNT_LDAP_BASE_DN: directory.baseDn,
          ACCOUNT_LDAP_CA_FILE: `${CA_DIR}/tls.crt`,
          ACCOUNT_SMTP_HOST: smtp.host,
          ACCOUNT_SMTP_PORT: String(smtp.port),
          ACCOUNT_SMTP_USER: smtp.username,
          ACCOUNT_SMTP_VERIFY_CERTIFICATE: String(smtp.verifyCertificate),
          ACCOUNT_DATA_DIR: "/var/lib/account",
          ACCOUNT_INVITATION_HOURS: String(settings.invitationHours),
          ACCOUNT_RESET_MINUTES: String(settings.resetMinutes),
          ACCOUNT_RATE_LIMIT_ATTEMPTS: String(settings.rateLimit.attempts),
          ACCOUNT_RATE_LIMIT_WINDOW_SECONDS: String(settings.rateLimit.windowSeconds),
        },
        // One account for both: its directory bind and its mail login (account@<domain>).
        secretEnv: { ACCOUNT_LDAP_PASSWORD: account.password, ACCOUNT_SMTP_PASSWORD: smtp.password },
        volumes: [
          {
            source: context.volume("account-data", this, {
              keep: "nothing",
              because: "pending invitation and reset links only; an admin sends new ones (members invite)",
            }),
            target: "/var/lib/account",
          },
          { source: directory.certificates, target: CA_DIR, readOnly: true },
        ],
        readOnlyRootfs: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,size=8m" },
        routes: [{ host, port: ACCOUNT_PORT }],
        healthcheck: {
          // curl, not a second Node.js process: that would need half the page's memory limit to start.
          test: ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${ACCOUNT_PORT}/healthz`],
          intervalSeconds: 30,
        },
      },
      { parent: this },
    );

    this.urls = [publicUrl];
    this.provides = { techLogin: { address: `http://account:${ACCOUNT_AUTH_PORT}/auth/tech`, userHeader: "X-Forwarded-User" } };
    this.registerOutputs({ urls: this.urls });
  }
}
