#!/bin/sh
# rspamd entrypoint (runs as _rspamd): write the domain's DKIM private key from the environment into
# a private directory (never into the image), then run rspamd in the foreground.
set -eu
: "${DKIM_DOMAIN:?}" "${DKIM_SELECTOR:?}" "${DKIM_PRIVATE_KEY:?}"
umask 077

printf '%s\n' "$DKIM_PRIVATE_KEY" > "/run/rspamd-dkim/$DKIM_DOMAIN.$DKIM_SELECTOR.key"
printf '%s %s\n' "$DKIM_DOMAIN" "$DKIM_SELECTOR" > /run/rspamd-dkim/selectors.map

exec rspamd -f -i -c /etc/rspamd/rspamd.conf
