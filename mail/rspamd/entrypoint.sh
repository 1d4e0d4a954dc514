#!/bin/sh
# rspamd entrypoint (runs as _rspamd): copy the domain's DKIM private key from its secret file
# (platform/container.ts) to where rspamd's selector map names it, then run rspamd in the foreground.
set -eu
: "${DKIM_DOMAIN:?}" "${DKIM_SELECTOR:?}" "${DKIM_PRIVATE_KEY_FILE:?}"
umask 077

cat "$DKIM_PRIVATE_KEY_FILE" > "/run/rspamd-dkim/$DKIM_DOMAIN.$DKIM_SELECTOR.key"
printf '%s %s\n' "$DKIM_DOMAIN" "$DKIM_SELECTOR" > /run/rspamd-dkim/selectors.map

exec rspamd -f -i -c /etc/rspamd/rspamd.conf
