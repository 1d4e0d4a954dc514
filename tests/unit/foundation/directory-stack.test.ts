import { beforeAll, describe, expect, it } from "vitest";
import { formatJson, formatText, toPlan } from "../../../stacks/plan-format";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { directoryPasswordSources } from "../../../stacks/rules";
import { containerOf } from "../../helpers/rendered";

/** pica01 reads the directory that runs on pica02: the service accounts' passwords come from pica02's stack. */
describe("cross-host wiring through the directory's stack", () => {
  let pica01: RenderedStack;
  let pica02: RenderedStack;
  beforeAll(async () => {
    pica02 = await renderStack("pica02");
    pica01 = await renderStack("pica01");
  });

  const generated = (stack: RenderedStack, name: string) => stack.resources.find((r) => r.name === name)?.outputs.result as string;

  it("pica02 exports the passwords of the accounts other hosts use, as a secret output", () => {
    expect(pica02.outputs.directoryServicePasswords).toEqual({
      mattermost: generated(pica02, "password-ldap-mattermost"),
      nextcloud: generated(pica02, "password-ldap-nextcloud"),
      hosts: generated(pica02, "password-ldap-hosts"),
    });
  });

  it("pica01's Mattermost and Nextcloud send mail with the passwords pica02's directory generated", () => {
    expect(containerOf(pica01, "mattermost").secrets.MM_EMAILSETTINGS_SMTPPASSWORD).toBe(generated(pica02, "password-ldap-mattermost"));
    expect(containerOf(pica01, "nextcloud-asso").secrets.SMTP_PASSWORD).toBe(generated(pica02, "password-ldap-nextcloud"));
  });

  it("pica01's hosts bind to the directory with pica02's hosts password, and pica02's with its own", () => {
    const stdin = (stack: RenderedStack) => stack.resources.find((r) => r.name === "host-directory-bind-password")?.inputs.stdin;
    expect(stdin(pica01)).toBe(generated(pica02, "password-ldap-hosts"));
    expect(stdin(pica02)).toBe(generated(pica02, "password-ldap-hosts"));
  });

  it("the plan says which values come from which stack, and prints none of them", () => {
    const plan = toPlan(pica01);
    expect(plan.references).toEqual([
      {
        stack: "organization/infra/pica02",
        values: ["services.mattermost.smtp.password", "services.nextcloud.smtp.password", "provisioning.bindPassword"],
      },
    ]);
    expect(formatText(plan)).toContain("services.mattermost.smtp.password <- organization/infra/pica02");
    const printed = formatJson(plan) + formatText(plan);
    for (const password of Object.values(pica02.outputs.directoryServicePasswords!)) expect(printed).not.toContain(password);
  });

  it("reads the directory's stack through one StackReference", () => {
    expect(pica01.resources.filter((r) => r.type === "pulumi:pulumi:StackReference").map((r) => r.inputs.name)).toEqual([
      "organization/infra/pica02",
    ]);
  });
});

const remote = "ssh://deploy@h.example.org";
describe.each([
  {
    case: "the directory on this host, no password in the file",
    stack: { docker: remote, services: { ldap: {} }, provisioning: {} },
    problems: [],
  },
  {
    case: "the directory's stack, no password in the file",
    stack: { docker: remote, directoryStack: "o/infra/pica02", services: { mattermost: { smtp: {} } }, provisioning: {} },
    problems: [],
  },
  { case: "neither, the password in the file", stack: { docker: remote, services: {}, provisioning: { bindPassword: "x" } }, problems: [] },
  {
    case: "neither and no password",
    stack: { docker: remote, services: {}, provisioning: {} },
    problems: [
      {
        path: ["provisioning", "bindPassword"],
        message:
          "required: the hosts account's password (pulumi config set --secret --path ...), or name the directory's stack in directoryStack",
      },
    ],
  },
  {
    case: "the directory here and a password in the file",
    stack: { docker: remote, services: { ldap: {} }, provisioning: { bindPassword: "x" } },
    problems: [
      {
        path: ["provisioning", "bindPassword"],
        message: "comes from the directory on this host (services.ldap); remove it from the stack file",
      },
    ],
  },
  {
    case: "the directory's stack and passwords in the file",
    stack: { docker: remote, directoryStack: "o/infra/pica02", services: { nextcloud: { smtp: { password: "x" } } }, provisioning: {} },
    problems: [
      {
        path: ["services", "nextcloud", "smtp", "password"],
        message: "comes from the directory's stack (directoryStack: o/infra/pica02); remove it from the stack file",
      },
    ],
  },
  {
    case: "the directory here and a directory stack",
    stack: { docker: remote, directoryStack: "o/infra/pica02", services: { ldap: {} }, provisioning: {} },
    problems: [{ path: ["directoryStack"], message: "this host runs the directory itself (services.ldap); remove directoryStack" }],
  },
])("directoryPasswordSources: $case", ({ stack, problems }) => {
  it("reports exactly these problems", () => expect(directoryPasswordSources(stack)).toEqual(problems));
});
