/**
 * The Pulumi state backend on an S3-compatible bucket (Garage): the URL to give `pulumi login` and
 * PULUMI_BACKEND_URL, and what a given Pulumi CLI makes of such a URL (which endpoint it dials, over
 * which scheme). docs/state-backend.md explains the choices; tests/unit/ci/state-backend.test.ts checks
 * the URLs written there with these functions.
 *
 * How Pulumi reads `s3://` URLs, from its source (pkg/backend/diy) and gocloud.dev's (blob/s3blob, aws):
 * - up to 3.244 (gocloud.dev 0.37): AWS SDK v1 unless `awssdk=v2`. Parameters: region, endpoint,
 *   disableSSL, s3ForcePathStyle, profile, awssdk (+ ssetype, kmskeyid). An endpoint without a scheme
 *   gets https://, or http:// with disableSSL=true.
 * - 3.245 (gocloud.dev 0.46): AWS SDK v2 only. disableSSL is an unknown parameter (error); the new names
 *   are disable_https and use_path_style (s3ForcePathStyle still accepted). An endpoint is used as
 *   written: without a scheme it is not a URL the SDK can dial.
 * - 3.246 and later: as 3.245, after a compatibility step (translateLegacyS3Params) that renames
 *   disableSSL to disable_https and gives a scheme-less endpoint https://, or http:// only when
 *   disableSSL=true. `disable_https=true` does not change the scheme of an endpoint written in the
 *   URL (it applies to endpoints the SDK derives itself), so `endpoint=host:3900&disable_https=true`
 *   still dials https://host:3900.
 * An explicit `endpoint=http://host:port` is used as written by every version: the one form that works
 * everywhere.
 */

/** Garage's S3 API as the state backend. */
export interface S3Backend {
  /** The bucket holding the state, e.g. infra-state. */
  bucket: string;
  /** host:port of the S3 API, without a scheme: Garage listens on 3900 (`s3_api.api_bind_addr`). */
  endpoint: string;
  /** false: Garage's own port, plain HTTP; true: a TLS reverse proxy in front of it. */
  tls: boolean;
  /** Garage's `s3_api.s3_region` (garage.toml); Garage rejects requests signed for another region. */
  region: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const HOST_PORT = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;
const REGION = /^[A-Za-z0-9-]+$/;

/** `s3://<bucket>?endpoint=<scheme>://<host:port>&s3ForcePathStyle=true&region=<region>` */
export function s3BackendUrl(backend: S3Backend): string {
  if (!BUCKET.test(backend.bucket)) throw new Error(`bucket "${backend.bucket}": expected an S3 bucket name (3-63 of a-z 0-9 . -)`);
  if (!HOST_PORT.test(backend.endpoint)) throw new Error(`endpoint "${backend.endpoint}": expected host or host:port, without a scheme`);
  if (!REGION.test(backend.region)) throw new Error(`region "${backend.region}": expected Garage's s3_region, e.g. garage`);
  const scheme = backend.tls ? "https" : "http";
  // Path style: the bucket goes in the path (host:3900/infra-state/...), so no DNS name per bucket.
  return `s3://${backend.bucket}?endpoint=${scheme}://${backend.endpoint}&s3ForcePathStyle=true&region=${backend.region}`;
}

export type ResolvedS3Backend =
  | {
      ok: true;
      bucket: string;
      /** The URL the AWS SDK sends requests to. */
      endpoint: string;
      pathStyle: boolean;
      region: string | undefined;
    }
  | { ok: false; error: string };

const V1_PARAMS = ["region", "endpoint", "disableSSL", "s3ForcePathStyle", "profile", "awssdk", "ssetype", "kmskeyid"];
// gocloud.dev 0.37 with awssdk=v2: no path-style or https option yet.
const V037_V2_PARAMS = ["region", "endpoint", "profile", "awssdk", "ssetype", "kmskeyid"];
const V046_PARAMS = [
  "region",
  "endpoint",
  "profile",
  "awssdk",
  "hostname_immutable",
  "dualstack",
  "fips",
  "rate_limiter_capacity",
  "anonymous",
  "role",
  "request_checksum_calculation",
  "response_checksum_validation",
  "ssetype",
  "kmskeyid",
  "accelerate",
  "use_path_style",
  "s3ForcePathStyle",
  "disable_https",
];

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, "").split(".").map(Number);
  const pb = b.replace(/^v/, "").split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function isTrue(value: string | null): boolean {
  return value !== null && ["1", "t", "true", "TRUE", "True"].includes(value);
}

/** Pulumi 3.246+'s compatibility step for SDK v1-era URLs (pkg/backend/diy translateLegacyS3Params). */
function translateLegacyParams(query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams(query);
  const disableSSL = out.has("disableSSL") ? isTrue(out.getAll("disableSSL").at(-1) ?? null) : false;
  if (out.has("disableSSL")) {
    out.delete("disableSSL");
    out.set("disable_https", String(disableSSL));
  }
  const endpoint = out.get("endpoint");
  if (endpoint && !endpoint.includes("://")) out.set("endpoint", `${disableSSL ? "http" : "https"}://${endpoint}`);
  return out;
}

/** What Pulumi `pulumiVersion` (e.g. "3.248.0") does with the backend URL `url`. */
export function resolveS3Backend(url: string, pulumiVersion: string): ResolvedS3Backend {
  const match = /^s3:\/\/([^/?#]+)(?:\/[^?#]*)?(?:\?([^#]*))?$/.exec(url);
  if (!match) return { ok: false, error: `not an s3:// URL: ${url}` };
  const bucket = match[1] ?? "";
  let query = new URLSearchParams(match[2] ?? "");

  const sdkV1 = compareVersions(pulumiVersion, "3.245.0") < 0 && query.get("awssdk")?.toLowerCase() !== "v2";
  if (compareVersions(pulumiVersion, "3.246.0") >= 0) query = translateLegacyParams(query);
  const known = compareVersions(pulumiVersion, "3.245.0") < 0 ? (sdkV1 ? V1_PARAMS : V037_V2_PARAMS) : V046_PARAMS;
  const unknown = [...new Set(query.keys())].filter((key) => !known.includes(key));
  if (unknown.length > 0) return { ok: false, error: `unknown query parameter "${unknown[0]}"` };

  const endpoint = query.get("endpoint");
  let dialed: string;
  if (!endpoint) {
    dialed = "https://s3.<region>.amazonaws.com"; // AWS itself
  } else if (endpoint.includes("://")) {
    dialed = endpoint;
  } else if (sdkV1) {
    dialed = `${isTrue(query.get("disableSSL")) ? "http" : "https"}://${endpoint}`;
  } else {
    return { ok: false, error: `endpoint "${endpoint}" has no scheme: the AWS SDK v2 cannot dial it` };
  }
  const pathStyle = isTrue(query.get("s3ForcePathStyle")) || (!sdkV1 && isTrue(query.get("use_path_style")));
  return { ok: true, bucket, endpoint: dialed, pathStyle, region: query.get("region") ?? undefined };
}
