#!/bin/sh
# Reload the daemon (command in $1) when the certificate (/tls/tls.crt) changes: a renewed certificate
# (see the tls setting in mail/component.ts) is picked up within a minute, without a restart.
# A copy of this script lives in each of mail/postfix and mail/dovecot (separate build contexts).
set -eu

reload_command=$1
certificate=${CERT_FILE:-/tls/tls.crt}
fingerprint() { sha256sum "$certificate" 2>/dev/null | cut -d' ' -f1; }

last=$(fingerprint)
while sleep "${CERT_WATCH_SECONDS:-60}"; do
  current=$(fingerprint)
  if [ -n "$current" ] && [ "$current" != "$last" ]; then
    echo "cert-watch: $certificate changed, running: $reload_command"
    # Word splitting of the command is intended (e.g. "postfix reload").
    # shellcheck disable=SC2086
    if $reload_command; then
      last=$current
    else
      echo "cert-watch: reload failed; trying again at the next check" >&2
    fi
  fi
done
