#!/bin/sh
# Healthy when the controller answers (the workers are up) and the milter port accepts connections.
set -eu
rspamc -h 127.0.0.1:11334 stat >/dev/null
exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/11332'
