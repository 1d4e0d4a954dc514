import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../stacks/schema";
import { renderVariant } from "../../helpers/rendered";

/** One mistake per case in pica01's stack file, and the exact key path the volunteer reads. */
const mistakes: [string, (c: Record<string, any>) => void, string][] = [
  [
    "a partner domain used twice",
    (c) => c["infra:partners"].push({ ...c["infra:partners"][0], id: "other" }),
    "partners.1.domain: duplicate domain; already used by partners.0",
  ],
  [
    "a partner on the association's own Nextcloud domain",
    (c) => (c["infra:partners"][0].domain = "cloud.picasoft.example.org"),
    "partners.0.domain: duplicate domain; already used by the association's own Nextcloud",
  ],
  [
    "a partner domain that is not a host name",
    (c) => (c["infra:partners"][0].domain = "Cloud_Transition.example.org"),
    "partners.0.domain: expected a lower-case DNS name",
  ],
  [
    "a partner admin email that is not an address",
    (c) => (c["infra:partners"][0].adminEmail = "admin at example.org"),
    "partners.0.adminEmail: expected an email address",
  ],
  [
    "a partner taking the association's tenant id",
    (c) => (c["infra:partners"][0].id = "asso"),
    "partners.0.id: 'asso' is the association's own Nextcloud",
  ],
  [
    "a quota that is not a size",
    (c) => (c["infra:partners"][0].defaultQuota = "lots"),
    "partners.0.defaultQuota: expected a size such as '5 GB' or 'none'",
  ],
  ["an unknown partner setting", (c) => (c["infra:partners"][0].quota = "5 GB"), "partners.0.quota: unknown setting"],
  ["an unknown Nextcloud setting", (c) => (c["infra:services"].nextcloud.quota = "5 GB"), "services.nextcloud.quota: unknown setting"],
  [
    "an unknown Mattermost setting",
    (c) => (c["infra:services"].mattermost.siteUrl = "https://chat.example.org"),
    "services.mattermost.siteUrl: unknown setting",
  ],
  [
    "an unknown Collabora setting",
    (c) => (c["infra:services"].collabora.domain = "office.example.org"),
    "services.collabora.domain: unknown setting",
  ],
  ["an unknown SMTP setting", (c) => (c["infra:services"].mattermost.smtp.port = 25), "services.mattermost.smtp.port: unknown setting"],
  [
    "a floating image tag",
    (c) => (c["infra:services"].nextcloud.image = "nextcloud:latest"),
    "services.nextcloud.image: the tag 'latest' is not a pin",
  ],
  [
    "an SMTP password written in plain text",
    (c) => (c["infra:services"].mattermost.smtp.password = "hunter2hunter2"),
    "services.mattermost.smtp.password: is written in plain text",
  ],
  [
    "no SMTP password while the directory runs on another host, and no directory stack to read it from",
    (c) => {
      delete c["infra:directoryStack"];
      c["infra:provisioning"].bindPassword = { secure: "v1:ZXhhbXBsZQ==:eA==" };
      c["infra:services"].nextcloud.smtp.password = { secure: "v1:ZXhhbXBsZQ==:eA==" };
    },
    "services.mattermost.smtp.password: required when the directory does not run on this host",
  ],
  [
    "LDAP login without the service account's password, and no directory stack to read it from",
    (c) => {
      delete c["infra:directoryStack"];
      c["infra:provisioning"].bindPassword = { secure: "v1:ZXhhbXBsZQ==:eA==" };
      c["infra:services"].mattermost.smtp.password = { secure: "v1:ZXhhbXBsZQ==:eA==" };
    },
    "services.nextcloud.smtp.password: required when the directory does not run on this host",
  ],
  [
    "an LDAP URL without TLS",
    (c) => (c["infra:services"].nextcloud.ldap.url = "ldap://ldap.picasoft.example.org"),
    "services.nextcloud.ldap.url: expected ldaps://host[:port]",
  ],
];

describe("web services: mistakes in a stack file", () => {
  it.each(mistakes)("reports %s with its key path", async (_case, change, expected) => {
    const rendering = renderVariant("pica01", change);
    await expect(rendering).rejects.toThrow(ConfigError);
    await expect(renderVariant("pica01", change)).rejects.toThrow(expected);
  });
});
