#!/bin/sh
# Reload the daemon (command in $1) when /tls/tls.crt changes: a renewed certificate (ACME, see
# mail/component.ts) is picked up within a minute, without a restart.
set -eu

reload_command=$1
fingerprint() { sha256sum /tls/tls.crt 2>/dev/null | cut -d' ' -f1; }

last=$(fingerprint)
while sleep "${CERT_WATCH_SECONDS:-60}"; do
  current=$(fingerprint)
  if [ -n "$current" ] && [ "$current" != "$last" ]; then
    echo "cert-watch: /tls/tls.crt changed, running: $reload_command"
    # Word splitting of the command is intended (e.g. "postfix reload").
    # shellcheck disable=SC2086
    $reload_command || echo "cert-watch: reload failed; will retry on the next change" >&2
    last=$current
  fi
done
