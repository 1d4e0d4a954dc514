import { describe, expect, it } from "vitest";
import { formatStatus, statusFrom, type Sample, type STATUS_QUERIES } from "../../../stacks/status";

const sample = (metric: Record<string, string>, value: number): Sample => ({ metric, value: [0, String(value)] });
const none: Record<keyof typeof STATUS_QUERIES, Sample[]> = {
  probes: [],
  certificates: [],
  containers: [],
  load: [],
  memory: [],
  disk: [],
  jobSuccess: [],
  jobAge: [],
  alerts: [],
};

describe("npm run status", () => {
  it("shows each probe up or down with its certificate's days left", () => {
    const status = statusFrom({
      ...none,
      probes: [
        sample({ probe: "imaps://mail-dovecot:993", service: "mail" }, 0),
        sample({ probe: "https://chat.example.org/", service: "mattermost" }, 1),
      ],
      certificates: [sample({ probe: "https://chat.example.org/" }, 41.7)],
    });
    expect(status.rows).toEqual([
      { kind: "probe", name: "https://chat.example.org/", ok: true, detail: "mattermost; certificate: 41 days left" },
      { kind: "probe", name: "imaps://mail-dovecot:993", ok: false, detail: "mail" },
    ]);
  });

  it("marks a host down when its disk is past the threshold, with memory and load beside", () => {
    const status = statusFrom({
      ...none,
      disk: [sample({ host: "pica02" }, 91.2)],
      memory: [sample({ host: "pica02" }, 40)],
      load: [sample({ host: "pica02" }, 0.5)],
    });
    expect(status.rows).toEqual([{ kind: "host", name: "pica02", ok: false, detail: "disk 91 %, memory 40 % used, load 0.50" }]);
  });

  it("shows a failed job and how long ago it last succeeded", () => {
    const status = statusFrom({
      ...none,
      jobSuccess: [sample({ job: "backup", host: "pica02" }, 0)],
      jobAge: [sample({ job: "backup", host: "pica02" }, 30.04)],
    });
    expect(status.rows).toEqual([
      { kind: "job", name: "backup", host: "pica02", ok: false, detail: "last run FAILED; last success 30.0 h ago" },
    ]);
  });

  it("lists the firing alerts under the table", () => {
    const status = statusFrom({
      ...none,
      containers: [sample({ name: "mail-dovecot" }, 0)],
      alerts: [sample({ alertname: "ContainerUnhealthy", name: "mail-dovecot" }, 1)],
    });
    const text = formatStatus(status);
    expect(text).toMatch(/container\s*│\s*│\s*mail-dovecot\s*│\s*DOWN\s*│\s*stopped or unhealthy/);
    expect(text).toMatch(/firing:\n {2}- ContainerUnhealthy: mail-dovecot$/);
  });

  it("tells the monitoring host's rows from those of a host watched from it, each under its host", () => {
    const status = statusFrom({
      ...none,
      probes: [
        sample({ probe: "https://mta-sts.example.org/", service: "mail", host: "pica02" }, 1),
        sample({ probe: "https://chat.example.org/", service: "mattermost", host: "pica01" }, 0),
      ],
      containers: [
        sample({ name: "proxy", service: "proxy", host: "pica02" }, 1),
        sample({ name: "proxy", service: "proxy", host: "pica01" }, 0),
      ],
      alerts: [sample({ alertname: "ContainerUnhealthy", name: "proxy", host: "pica01" }, 1)],
    });
    expect(status.rows.map((r) => [r.kind, r.host, r.name, r.ok])).toEqual([
      ["probe", "pica01", "https://chat.example.org/", false],
      ["probe", "pica02", "https://mta-sts.example.org/", true],
      ["container", "pica01", "proxy", false],
      ["container", "pica02", "proxy", true],
    ]);
    const text = formatStatus(status);
    expect(text).toMatch(/container\s*│\s*pica01\s*│\s*proxy\s*│\s*DOWN/);
    expect(text).toMatch(/- ContainerUnhealthy: proxy on pica01$/);
  });
});
