import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveS3Backend, s3BackendUrl } from "../../../ci/lib/state-backend";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const PLAIN = { bucket: "infra-state", endpoint: "garage.example.org:3900", tls: false, region: "garage" };
const TLS = { bucket: "infra-state", endpoint: "s3.garage.example.org", tls: true, region: "garage" };
const PLAIN_URL = "s3://infra-state?endpoint=http://garage.example.org:3900&s3ForcePathStyle=true&region=garage";
const TLS_URL = "s3://infra-state?endpoint=https://s3.garage.example.org&s3ForcePathStyle=true&region=garage";

// 3.230: gocloud.dev 0.37 (AWS SDK v1 by default); 3.245: gocloud.dev 0.46, no compatibility step;
// 3.276: the CI image's CLI (ci/defaults.yml), gocloud.dev 0.46 after Pulumi's compatibility step.
const VERSIONS = ["3.230.0", "3.245.0", "3.276.0"];

describe("s3BackendUrl", () => {
  it("points at Garage's own port over plain HTTP, path style, in Garage's region", () => {
    expect(s3BackendUrl(PLAIN)).toBe(PLAIN_URL);
  });

  it("points at a TLS proxy in front of Garage over https", () => {
    expect(s3BackendUrl(TLS)).toBe(TLS_URL);
  });

  it.each([
    [{ ...PLAIN, endpoint: "http://garage.example.org:3900" }, /endpoint .*without a scheme/],
    [{ ...PLAIN, bucket: "Infra_State" }, /bucket "Infra_State"/],
    [{ ...PLAIN, region: "" }, /region ""/],
  ])("refuses %o", (backend, message) => {
    expect(() => s3BackendUrl(backend)).toThrow(message);
  });
});

describe("resolveS3Backend: what each Pulumi CLI dials", () => {
  it.each(VERSIONS)("Pulumi %s reaches Garage's plain-HTTP port with the documented URL", (version) => {
    expect(resolveS3Backend(PLAIN_URL, version)).toEqual({
      ok: true,
      bucket: "infra-state",
      endpoint: "http://garage.example.org:3900",
      pathStyle: true,
      region: "garage",
    });
  });

  it.each(VERSIONS)("Pulumi %s reaches the TLS proxy with the documented URL", (version) => {
    expect(resolveS3Backend(TLS_URL, version)).toMatchObject({ ok: true, endpoint: "https://s3.garage.example.org", pathStyle: true });
  });

  // The URL the README and ci/README.md used to give: Garage's port answers plain HTTP, so the TLS
  // handshake fails (or, on 3.245, the URL is not even accepted).
  const OLD = "s3://infra-state?endpoint=garage.example.org:3900&s3ForcePathStyle=true&region=garage";
  it.each([
    ["3.230.0", { ok: true, endpoint: "https://garage.example.org:3900" }],
    ["3.245.0", { ok: false, error: expect.stringMatching(/has no scheme/) }],
    ["3.248.0", { ok: true, endpoint: "https://garage.example.org:3900" }],
  ])("a scheme-less endpoint is dialled over https by Pulumi %s, never plain HTTP", (version, expected) => {
    expect(resolveS3Backend(OLD, version)).toMatchObject(expected);
  });

  it.each([
    ["3.230.0", { ok: true, endpoint: "http://garage.example.org:3900", pathStyle: true }],
    ["3.245.0", { ok: false, error: 'unknown query parameter "disableSSL"' }],
    ["3.248.0", { ok: true, endpoint: "http://garage.example.org:3900", pathStyle: true }],
  ])("the SDK v1 spelling disableSSL=true works on Pulumi %s only through the compatibility step", (version, expected) => {
    expect(
      resolveS3Backend("s3://infra-state?endpoint=garage.example.org:3900&disableSSL=true&s3ForcePathStyle=true&region=garage", version),
    ).toMatchObject(expected);
  });

  it.each([
    ["3.230.0", { ok: false, error: 'unknown query parameter "disable_https"' }],
    ["3.245.0", { ok: false, error: expect.stringMatching(/has no scheme/) }],
    ["3.248.0", { ok: true, endpoint: "https://garage.example.org:3900" }],
  ])("disable_https=true does not give a scheme-less endpoint http:// (Pulumi %s)", (version, expected) => {
    expect(
      resolveS3Backend("s3://infra-state?endpoint=garage.example.org:3900&disable_https=true&use_path_style=true&region=garage", version),
    ).toMatchObject(expected);
  });

  it("the SDK v2 names (use_path_style) are unknown before Pulumi 3.245", () => {
    expect(
      resolveS3Backend("s3://infra-state?endpoint=http://garage.example.org:3900&use_path_style=true&region=garage", "3.244.0"),
    ).toEqual({
      ok: false,
      error: 'unknown query parameter "use_path_style"',
    });
    expect(
      resolveS3Backend("s3://infra-state?endpoint=http://garage.example.org:3900&use_path_style=true&region=garage", "3.248.0"),
    ).toMatchObject({
      ok: true,
      pathStyle: true,
    });
  });

  it("says when a URL names no region (Garage checks the region requests are signed for)", () => {
    expect(resolveS3Backend("s3://infra-state?endpoint=http://garage.example.org:3900&s3ForcePathStyle=true", "3.248.0")).toMatchObject({
      ok: true,
      region: undefined,
    });
  });
});

describe("the documented backend URLs", () => {
  const doc = readFileSync(path.join(REPO_ROOT, "docs/state-backend.md"), "utf8");
  const ciReadme = readFileSync(path.join(REPO_ROOT, "ci/README.md"), "utf8");

  it("docs/state-backend.md gives the URLs s3BackendUrl builds, for plain HTTP and for a TLS proxy", () => {
    expect(doc).toContain(`'${s3BackendUrl(PLAIN)}'`);
    expect(doc).toContain(`'${s3BackendUrl(TLS)}'`);
  });

  it("every URL ci/README.md and docs/state-backend.md recommend is dialled over the scheme it names", () => {
    // Recommended URLs are written in single quotes, as a shell needs them; the ones that fail are not.
    const recommended = [...`${doc}\n${ciReadme}`.matchAll(/'(s3:\/\/[^']+)'/g)].map((m) => m[1] ?? "");
    expect(recommended.length).toBeGreaterThanOrEqual(3);
    for (const url of recommended) {
      const resolved = resolveS3Backend(url, "3.248.0");
      expect(resolved, url).toMatchObject({ ok: true, pathStyle: true });
      if (resolved.ok) {
        expect(url, "an explicit scheme").toContain(`endpoint=${resolved.endpoint}`);
        expect(resolved.region, url).toBeTruthy();
      }
    }
  });

  it("the CI image's Pulumi CLI is one the documented URLs were checked for", () => {
    const defaults = readFileSync(path.join(REPO_ROOT, "ci/defaults.yml"), "utf8");
    const version = /pulumi\/pulumi-nodejs:(\d+\.\d+\.\d+)/.exec(defaults)?.[1] ?? "";
    expect(resolveS3Backend(s3BackendUrl(PLAIN), version)).toMatchObject({ ok: true, endpoint: "http://garage.example.org:3900" });
    expect(version, "3.245.0 rejects disableSSL and dials scheme-less endpoints nowhere: skip it").not.toBe("3.245.0");
  });
});
