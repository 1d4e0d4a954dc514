#!/bin/bash
# Healthy when LMTP (what delivery needs) and IMAPS accept connections.
set -eu
exec 3<>"/dev/tcp/$INTERNAL_HOSTNAME/24"
read -r -t 5 banner <&3
[[ $banner == 220* ]]
exec 4<>/dev/tcp/127.0.0.1/993
