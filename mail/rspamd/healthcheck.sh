#!/bin/bash
# Healthy when the milter worker accepts connections (rspamd only binds it once the rules are loaded).
set -eu
exec 3<>/dev/tcp/127.0.0.1/11332
