#!/bin/sh
# Write the policy from the environment into a tmpfs and serve it (the root filesystem is read-only).
set -eu

: "${MTA_STS_POLICY:?MTA_STS_POLICY must hold the policy text}"
root=/tmp/www
mkdir -p "$root/.well-known"
printf '%s' "$MTA_STS_POLICY" >"$root/.well-known/mta-sts.txt"
# busybox httpd serves .txt as text/plain, which RFC 8461 requires.
exec busybox httpd -f -v -p 8080 -h "$root"
