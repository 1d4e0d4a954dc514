import { beforeAll, describe, expect, it } from "vitest";
import { renderStack, type RenderedContainer, type RenderedStack } from "../../../stacks/render";
import { containerOf } from "../../helpers/rendered";

const WEB_SERVICES = ["mattermost", "nextcloud", "collabora"];
/** Env keys that carry a credential (or a URL embedding one). */
const CREDENTIAL_KEY = /PASSWORD|SECRET|DATASOURCE|TOKEN|(^|_)PASS$|^password$/;

/** Mail and secrets on pica01, where the mail server and the directory run on another host (pica02). */
describe("web services on pica01: mail and secrets", () => {
  let stack: RenderedStack;
  let web: RenderedContainer[];

  beforeAll(async () => {
    stack = await renderStack("pica01");
    web = stack.containers.filter((c) => WEB_SERVICES.includes(c.service));
  });

  it("sends Mattermost's notifications to the mail server on submission with STARTTLS and authentication", () => {
    const env = containerOf(stack, "mattermost").env;
    expect(env).toMatchObject({
      MM_EMAILSETTINGS_SENDEMAILNOTIFICATIONS: "true",
      MM_EMAILSETTINGS_SMTPSERVER: "mail.picasoft.example.org",
      MM_EMAILSETTINGS_SMTPPORT: "587",
      MM_EMAILSETTINGS_CONNECTIONSECURITY: "STARTTLS",
      MM_EMAILSETTINGS_ENABLESMTPAUTH: "true",
      MM_EMAILSETTINGS_SKIPSERVERCERTIFICATEVERIFICATION: "false",
      MM_EMAILSETTINGS_SMTPUSERNAME: "mattermost@picasoft.example.org",
      MM_EMAILSETTINGS_FEEDBACKEMAIL: "mattermost@picasoft.example.org",
    });
    // The password is the encrypted stack-file value (a mock secret in the render), handed as a file.
    expect(env.MM_EMAILSETTINGS_SMTPPASSWORD).toBeUndefined();
    expect(stack.secrets).toContain(containerOf(stack, "mattermost").secrets.MM_EMAILSETTINGS_SMTPPASSWORD);
  });

  it("sends every Nextcloud's mail (app and cron) to the mail server on submission with STARTTLS", () => {
    const senders = stack.containers.filter((c) => /^nextcloud-[a-z0-9]+(-cron)?$/.test(c.name));
    expect(senders.map((c) => c.name)).toEqual([
      "nextcloud-asso",
      "nextcloud-asso-cron",
      "nextcloud-transition",
      "nextcloud-transition-cron",
    ]);
    for (const c of senders) {
      expect(c.env, c.name).toMatchObject({
        SMTP_HOST: "mail.picasoft.example.org",
        SMTP_PORT: "587",
        SMTP_SECURE: "tls",
        SMTP_AUTHTYPE: "LOGIN",
        SMTP_NAME: "nextcloud@picasoft.example.org",
        MAIL_FROM_ADDRESS: "nextcloud",
        MAIL_DOMAIN: "picasoft.example.org",
      });
      expect(stack.secrets, c.name).toContain(c.secrets.SMTP_PASSWORD);
    }
  });

  it("hands every credential as a secret file, never in the environment", () => {
    const inEnv = web.flatMap((c) =>
      Object.keys(c.env)
        .filter((key) => CREDENTIAL_KEY.test(key) && !key.endsWith("_FILE"))
        .map((key) => `${c.name}:${key}`),
    );
    expect(inEnv).toEqual([]);
    expect(web.flatMap((c) => c.secretEnv.map((key) => `${c.name}:${key}`))).toEqual([]);
    const files = web.flatMap((c) => Object.keys(c.secrets).map((key) => `${c.name}:${key}`));
    expect(Object.keys(containerOf(stack, "nextcloud-asso").secrets).sort()).toEqual([
      "NEXTCLOUD_ADMIN_PASSWORD",
      "POSTGRES_PASSWORD",
      "SMTP_PASSWORD",
    ]);
    expect(files).toEqual(
      expect.arrayContaining(["collabora:password", "mattermost:MM_EMAILSETTINGS_SMTPPASSWORD", "mattermost:MM_SQLSETTINGS_DATASOURCE"]),
    );
    for (const id of files) {
      const [name, key] = id.split(":");
      expect(
        stack.secrets.some((secret) => containerOf(stack, name).secrets[key].includes(secret)),
        id,
      ).toBe(true);
    }
  });

  it("hands Mattermost its data source, which embeds the database password, as a secret file", () => {
    const mattermost = containerOf(stack, "mattermost");
    const db = containerOf(stack, "mattermost-db");
    expect(mattermost.env.MM_SQLSETTINGS_DRIVERNAME).toBe("postgres");
    expect(mattermost.env.MM_SQLSETTINGS_DATASOURCE).toBeUndefined();
    expect(mattermost.secrets.MM_SQLSETTINGS_DATASOURCE).toBe(
      `postgres://mattermost:${db.secrets.POSTGRES_PASSWORD}@mattermost-db:5432/mattermost?sslmode=disable&connect_timeout=10`,
    );
  });

  it("publishes no port of any web container, database or cache", () => {
    expect(web.filter((c) => c.ports.length > 0).map((c) => c.name)).toEqual([]);
  });

  it("keeps databases and caches on internal networks only", () => {
    const internal = new Set(stack.networks.filter((n) => n.internal).map((n) => n.name));
    const backends = web.filter((c) => c.role === "database" || c.role === "cache");
    expect(backends.length).toBe(5); // mattermost-db, and db + redis per tenant
    for (const c of backends)
      expect(
        c.networks.every((n) => internal.has(n)),
        c.name,
      ).toBe(true);
  });

  it("stays within the host's memory budget with realistic limits", () => {
    const memory = Object.fromEntries(web.map((c) => [c.name.replace(/-occ-[0-9a-f]+$/, "-occ"), c.memoryMb]));
    expect(memory).toEqual({
      mattermost: 2048,
      "mattermost-db": 512,
      collabora: 2048,
      "nextcloud-asso": 1024,
      "nextcloud-asso-db": 512,
      "nextcloud-asso-redis": 128,
      "nextcloud-asso-cron": 256,
      "nextcloud-asso-occ": 256,
      "nextcloud-transition": 1024,
      "nextcloud-transition-db": 512,
      "nextcloud-transition-redis": 128,
      "nextcloud-transition-cron": 256,
      "nextcloud-transition-occ": 256,
    });
    expect(stack.memory.withinBudget).toBe(true);
  });
});
