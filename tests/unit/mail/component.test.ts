import { createPrivateKey, createPublicKey } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { dkimPublicKeyBase64, mtaStsPolicy, mtaStsPolicyId } from "../../../mail/dns";
import { MailSettings } from "../../../mail/settings";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { containerOf, renderVariant } from "../../helpers/rendered";

let local: RenderedStack;
let pica02: RenderedStack;
beforeAll(async () => {
  local = await renderStack("local");
  pica02 = await renderStack("pica02");
});

const mailContainers = (stack: RenderedStack) => stack.containers.filter((c) => c.service === "mail");

describe("mail server in the rendered stacks", () => {
  it("runs one daemon per container: postfix, dovecot, rspamd, the MTA-STS policy server, and in production the ACME client", () => {
    const names = ["mail-dovecot", "mail-mta-sts", "mail-postfix", "mail-rspamd"];
    expect(mailContainers(local).map((c) => c.name)).toEqual(names);
    expect(mailContainers(pica02).map((c) => c.name)).toEqual(["mail-acme", ...names]);
  });

  it("serves the MTA-STS policy that the _mta-sts record announces, behind the proxy", () => {
    const server = containerOf(pica02, "mail-mta-sts");
    const policy = server.env.MTA_STS_POLICY;
    expect(policy).toBe(mtaStsPolicy("mail.picasoft.example.org", "testing"));
    expect(pica02.routes).toContainEqual({ url: "https://mta-sts.picasoft.example.org", container: "mail-mta-sts" });
    expect(pica02.dns).toContainEqual({
      name: "_mta-sts.picasoft.example.org",
      type: "TXT",
      value: `v=STSv1; id=${mtaStsPolicyId(policy)}`,
    });
    expect(server.ports).toEqual([]);
    expect(server.readOnly).toBe(true);
  });

  it("keeps the hardening defaults; only Postfix's root master gets capabilities back, each with a why", () => {
    for (const c of mailContainers(local)) {
      expect(c.privileged).toBe(false);
      expect(c.noNewPrivileges).toBe(true);
      expect(c.capDrop).toEqual(["ALL"]);
      expect(c.healthcheck).toBe(true);
    }
    expect(containerOf(local, "mail-dovecot").user).toBe("vmail");
    expect(containerOf(local, "mail-rspamd").user).toBe("_rspamd");
    expect(containerOf(local, "mail-dovecot").capAdd).toEqual([]);
    expect(containerOf(local, "mail-rspamd").capAdd).toEqual([]);
    const postfix = containerOf(local, "mail-postfix");
    expect(postfix.capAdd).toEqual(["DAC_OVERRIDE", "SETGID", "SETUID"]);
    for (const cap of postfix.capAdd) expect(postfix.labels[`infra.cap.${cap}`]?.length).toBeGreaterThan(20);
  });

  it("publishes high ports on 127.0.0.1 on local, the standard ports in production, with a why", () => {
    const ports = (stack: RenderedStack) =>
      mailContainers(stack)
        .flatMap((c) => c.ports.map((p) => `${p.ip}:${p.host}->${p.container}`))
        .sort();
    expect(ports(local)).toEqual([
      "127.0.0.1:2525->25",
      "127.0.0.1:4190->4190",
      "127.0.0.1:4465->465",
      "127.0.0.1:5587->587",
      "127.0.0.1:9993->993",
    ]);
    expect(ports(pica02)).toEqual(["0.0.0.0:25->25", "0.0.0.0:4190->4190", "0.0.0.0:465->465", "0.0.0.0:587->587", "0.0.0.0:993->993"]);
    for (const c of mailContainers(pica02).filter((c) => c.ports.length > 0)) expect(c.exceptions.publishPorts).toBeTruthy();
  });

  it("keeps mail, queue and state on volumes", () => {
    const targets = (name: string) =>
      containerOf(local, name)
        .volumes.filter((v) => v.kind === "volume")
        .map((v) => `${v.source}:${v.target}`);
    expect(targets("mail-postfix")).toContain("mail-queue:/var/spool/postfix");
    expect(targets("mail-dovecot")).toEqual(expect.arrayContaining(["mail-mailboxes:/var/mail", "mail-dovecot-state:/var/lib/dovecot"]));
    expect(targets("mail-rspamd")).toContain("mail-rspamd:/var/lib/rspamd");
  });

  it("reaches the directory with the read-only mail account over LDAPS, trusting the directory's certificate", () => {
    for (const name of ["mail-postfix", "mail-dovecot"]) {
      const c = containerOf(local, name);
      expect(c.networks).toContain("directory");
      expect(c.env.LDAP_URL).toBe("ldaps://ldap.asso.localhost:636");
      expect(c.env.LDAP_BIND_DN).toBe("cn=mail,ou=services,dc=asso,dc=localhost");
      expect(c.secrets.LDAP_BIND_PASSWORD).toBe(containerOf(local, "ldap").secrets.LDAP_SERVICE_PASSWORD_MAIL);
      expect(c.volumes).toContainEqual({ source: "ldap-certificate", target: "/etc/ldap-certs", readOnly: true, kind: "volume" });
    }
    expect(containerOf(local, "mail-rspamd").networks).not.toContain("directory");
  });

  it("lets the web apps reach submission as mail.<domain> on the submission network only", () => {
    const postfix = containerOf(local, "mail-postfix");
    expect(postfix.aliases["mail-submission"]).toEqual(["mail.asso.localhost"]);
    expect(containerOf(local, "mail-dovecot").networks).not.toContain("mail-submission");
    expect(local.networks).toContainEqual({ name: "mail-submission", internal: true });
    expect(local.networks).toContainEqual({ name: "mail", internal: true });
    expect(postfix.env.MAIL_SERVICE_SENDERS).toBe(
      "mattermost@asso.localhost nextcloud@asso.localhost account@asso.localhost monitoring@asso.localhost",
    );
  });

  it("keeps rspamd, which parses untrusted mail, on a network with Postfix only (not Dovecot's LMTP and SASL)", () => {
    expect(containerOf(local, "mail-rspamd").networks).toEqual(["mail-filter", "mail-public"]);
    expect(containerOf(local, "mail-postfix").networks).toContain("mail-filter");
    expect(containerOf(local, "mail-dovecot").networks).not.toContain("mail-filter");
    expect(local.networks).toContainEqual({ name: "mail-filter", internal: true });
    const onFilter = local.containers.filter((c) => c.networks.includes("mail-filter")).map((c) => c.name);
    expect(onFilter.sort()).toEqual(["mail-postfix", "mail-rspamd"]);
  });

  it("gives rspamd our domains and the DMARC policy it enforces on a forged From of them", () => {
    expect(containerOf(local, "mail-rspamd").env).toMatchObject({ MAIL_DOMAINS: "asso.localhost", MAIL_DMARC_POLICY: "quarantine" });
  });

  it("gives Postfix the per-login sending limits of the stack (defaults 100 messages, 300 recipients an hour)", () => {
    expect(containerOf(local, "mail-postfix").env).toMatchObject({
      MAIL_LIMIT_MESSAGES_PER_HOUR: "100",
      MAIL_LIMIT_RECIPIENTS_PER_HOUR: "300",
    });
  });

  it("lets Dovecot send Sieve redirects and vacation replies through Postfix's name on the mail network, which only they share", () => {
    const postfix = containerOf(local, "mail-postfix");
    expect(postfix.aliases.mail).toEqual(["mail-postfix-internal"]);
    expect(postfix.env.INTERNAL_HOSTNAME).toBe("mail-postfix-internal");
    const onMail = local.containers.filter((c) => c.networks.includes("mail")).map((c) => c.name);
    expect(onMail.sort()).toEqual(["mail-dovecot", "mail-postfix"]);
  });

  it("lets Dovecot take deliveries and SASL questions on the mail network only", () => {
    const dovecot = containerOf(local, "mail-dovecot");
    expect(dovecot.aliases).toEqual({ mail: ["mail-dovecot-internal"], directory: [], "mail-public": [] });
    expect(dovecot.env.INTERNAL_HOSTNAME).toBe("mail-dovecot-internal");
  });

  it("gives rspamd the DKIM key whose public half is the published record, as a secret file", () => {
    const rspamd = containerOf(local, "mail-rspamd");
    expect(rspamd.env.DKIM_PRIVATE_KEY_FILE).toBe("/run/secrets/DKIM_PRIVATE_KEY");
    const publicPem = createPublicKey(createPrivateKey(rspamd.secrets.DKIM_PRIVATE_KEY)).export({ type: "spki", format: "pem" }).toString();
    const record = local.dns.find((r) => r.name === "mail._domainkey.asso.localhost");
    expect(record?.value).toBe(`v=DKIM1; k=rsa; p=${dkimPublicKeyBase64(publicPem)}`);
  });

  it("puts every record the domain needs into the stack's DNS output", () => {
    const names = pica02.dns.filter((r) => r.name.endsWith("picasoft.example.org")).map((r) => `${r.type} ${r.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "MX picasoft.example.org",
        "TXT picasoft.example.org",
        "TXT mail._domainkey.picasoft.example.org",
        "TXT _dmarc.picasoft.example.org",
        "TXT _mta-sts.picasoft.example.org",
        "TXT _smtp._tls.picasoft.example.org",
        "SRV _submission._tcp.picasoft.example.org",
        "SRV _imaps._tcp.picasoft.example.org",
        "A mail.picasoft.example.org",
        "A mta-sts.picasoft.example.org",
      ]),
    );
  });

  it("renders the same DKIM record twice (the key is kept, not regenerated)", async () => {
    const again = await renderStack("local");
    expect(again.dns).toEqual(local.dns);
  });

  it("turns rspamd's public-DNS checks off on local only (no Internet DNS in CI)", () => {
    expect(containerOf(local, "mail-rspamd").env.RSPAMD_NETWORK_CHECKS).toBe("false");
    expect(containerOf(pica02, "mail-rspamd").env.RSPAMD_NETWORK_CHECKS).toBe("true");
  });

  it("reads the certificate mail-acme keeps in the mail-tls volume in production, read-only", () => {
    for (const name of ["mail-postfix", "mail-dovecot"]) {
      expect(containerOf(pica02, name).volumes).toContainEqual({ source: "mail-tls", target: "/tls", readOnly: true, kind: "volume" });
    }
    expect(containerOf(pica02, "mail-dovecot").env.TLS_MODE).toBe("acme");
    expect(containerOf(pica02, "mail-acme").volumes).toContainEqual({
      source: "mail-tls",
      target: "/tls",
      readOnly: false,
      kind: "volume",
    });
    expect(containerOf(pica02, "mail-acme").env).toMatchObject({ ACME_DOMAINS: "mail.picasoft.example.org", TLS_OWNER: "5000:5000" });
  });

  it("mounts a given certificate directory read-only (tls.source directory)", async () => {
    const rendered = await renderVariant("pica02", (c) => (c["infra:services"].mail.tls = { source: "directory", path: "/etc/ssl/mail" }));
    for (const name of ["mail-postfix", "mail-dovecot"]) {
      expect(containerOf(rendered, name).volumes).toContainEqual({ source: "/etc/ssl/mail", target: "/tls", readOnly: true, kind: "host" });
    }
    expect(containerOf(rendered, "mail-dovecot").env.TLS_MODE).toBe("directory");
    expect(rendered.containers.map((c) => c.name)).not.toContain("mail-acme");
  });
});

describe("MailSettings", () => {
  it("documents its defaults: mail.<domain>, 25 MiB messages, 2G quota, standard ports", () => {
    const settings = MailSettings.parse({});
    expect(settings).toMatchObject({ messageSizeMb: 25, quota: "2G", dkimSelector: "mail", tls: { source: "self-signed" } });
    expect(settings.ports).toMatchObject({ smtp: 25, submissions: 465, submission: 587, imaps: 993, managesieve: 4190 });
    expect(settings.hostname).toBeUndefined();
    expect(settings.sendingLimits).toEqual({ messagesPerHour: 100, recipientsPerHour: 300 });
  });

  it("says what it expects of a wrong sending limit", () => {
    const result = MailSettings.safeParse({ sendingLimits: { messagesPerHour: 0 } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["sendingLimits", "messagesPerHour"]);
  });

  it("says what it expects of a wrong quota", () => {
    const result = MailSettings.safeParse({ quota: "lots" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ["quota"], message: "expected a size such as 500M or 2G" });
  });

  it("refuses a mail server without the directory on the same host", async () => {
    const withoutDirectory = renderVariant("local", (c) => {
      delete c["infra:services"].ldap;
      delete c["infra:services"].mattermost;
      delete c["infra:services"].nextcloud;
    });
    await expect(withoutDirectory).rejects.toThrow(
      "services.mail: needs the directory on the same host, which services.ldap provides; enable services.ldap in this stack, or remove services.mail",
    );
  });
});
