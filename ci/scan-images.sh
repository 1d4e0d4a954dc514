#!/bin/sh
# Scan each image listed by ci/build-images.ts ("<name> <repository>@sha256:<digest>" per line)
# with Trivy; exit non-zero if any has a CRITICAL finding. Runs in the Trivy image (POSIX sh).
set -eu

list="${1:?usage: scan-images.sh images.txt}"
failed=""
while read -r name ref; do
  [ -n "$name" ] || continue
  echo "== $name ($ref)"
  if ! trivy image --exit-code 1 --severity CRITICAL "$ref"; then
    failed="$failed $name"
  fi
done <"$list"

if [ -n "$failed" ]; then
  echo "CRITICAL vulnerabilities in:$failed" >&2
  exit 1
fi
echo "no CRITICAL vulnerabilities"
