#!/bin/bash
# Start a Docker engine in the background if none answers, and wait for it.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null; then
  echo "start-docker: dockerd is not installed (apt-get install docker.io)" >&2
  exit 1
fi
mkdir -p /var/log
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "start-docker: dockerd did not answer within 60 s; last log lines:" >&2
tail -n 30 /var/log/dockerd.log >&2
exit 1
