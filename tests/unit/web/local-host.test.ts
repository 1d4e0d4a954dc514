import { beforeAll, describe, expect, it } from "vitest";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { containerOf } from "../../helpers/rendered";

/** On `local` the directory and the mail server run on the same host: the web services use their endpoints. */
describe("web services on a host that runs the directory and the mail server (local)", () => {
  let stack: RenderedStack;

  beforeAll(async () => {
    stack = await renderStack("local");
  });

  it("sends mail to the local mail server's submission service, on its dedicated network", () => {
    const postfix = stack.containers.find((c) => c.networks.includes("mail-submission") && c.service === "mail")!;
    const submissionHost = postfix.aliases["mail-submission"][0];
    for (const name of ["mattermost", "nextcloud-asso", "nextcloud-asso-cron", "nextcloud-transition", "nextcloud-transition-cron"]) {
      expect(containerOf(stack, name).networks, name).toContain("mail-submission");
    }
    expect(containerOf(stack, "mattermost").env).toMatchObject({
      MM_EMAILSETTINGS_SMTPSERVER: submissionHost,
      MM_EMAILSETTINGS_SMTPPORT: "587",
      MM_EMAILSETTINGS_CONNECTIONSECURITY: "STARTTLS",
    });
    expect(containerOf(stack, "nextcloud-asso").env).toMatchObject({ SMTP_HOST: submissionHost, SMTP_PORT: "587", SMTP_SECURE: "tls" });
  });

  it("accepts the local mail server's self-signed certificate, and only on this host", async () => {
    expect(containerOf(stack, "mattermost").env.MM_EMAILSETTINGS_SKIPSERVERCERTIFICATEVERIFICATION).toBe("true");
    for (const job of stack.containers.filter((c) => c.name.startsWith("nextcloud-") && c.role === "job")) {
      expect(job.env.OCC_SMTP_VERIFY_CERTIFICATE, job.name).toBe("false");
    }
    const pica01 = await renderStack("pica01");
    const remote = pica01.containers.filter((c) => c.name === "mattermost" || (c.name.startsWith("nextcloud-") && c.role === "job"));
    expect(remote.map((c) => c.env.MM_EMAILSETTINGS_SKIPSERVERCERTIFICATEVERIFICATION ?? c.env.OCC_SMTP_VERIFY_CERTIFICATE)).toEqual(
      remote.map((c) => (c.name === "mattermost" ? "false" : "true")),
    );
  });

  it("authenticates with the service accounts' generated directory passwords", () => {
    const ldap = containerOf(stack, "ldap");
    expect(containerOf(stack, "mattermost").secrets.MM_EMAILSETTINGS_SMTPPASSWORD).toBe(ldap.secrets.LDAP_SERVICE_PASSWORD_MATTERMOST);
    expect(containerOf(stack, "nextcloud-asso").secrets.SMTP_PASSWORD).toBe(ldap.secrets.LDAP_SERVICE_PASSWORD_NEXTCLOUD);
    expect(stack.secrets).toContain(ldap.secrets.LDAP_SERVICE_PASSWORD_NEXTCLOUD);
  });

  it("connects only the association's Nextcloud to the directory, trusting its certificate read-only", () => {
    expect(containerOf(stack, "nextcloud-asso").networks).toContain("directory");
    expect(containerOf(stack, "nextcloud-transition").networks).not.toContain("directory");
    const certificates = containerOf(stack, "nextcloud-asso").volumes.find((v) => v.target === "/etc/ldap/directory-certs")!;
    expect(certificates.readOnly).toBe(true);
    const job = containerOf(stack, /^nextcloud-asso-occ-/);
    expect(job.env).toMatchObject({
      OCC_LDAP_URL: "ldaps://ldap.asso.localhost",
      OCC_LDAP_PORT: "636",
      OCC_LDAP_BASE_DN: "dc=asso,dc=localhost",
    });
    expect(job.secrets.OCC_LDAP_BIND_PASSWORD).toBe(containerOf(stack, "ldap").secrets.LDAP_SERVICE_PASSWORD_NEXTCLOUD);
  });

  it("fits the whole local stack in its memory budget", () => {
    expect(stack.memory.withinBudget).toBe(true);
  });
});
