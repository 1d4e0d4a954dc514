#!/bin/sh
# Postfix entrypoint: apply the per-stack settings, render the LDAP maps, wait for the TLS
# certificate (made or given via the /tls volume, see mail/component.ts), then run the master in
# the foreground. Runs as root: the Postfix master refuses anything else; its children run as postfix.
set -eu

: "${MAIL_HOSTNAME:?}" "${MAIL_DOMAINS:?}" "${MAIL_MESSAGE_SIZE_LIMIT:?}"
: "${MAIL_LIMIT_MESSAGES_PER_HOUR:?}" "${MAIL_LIMIT_RECIPIENTS_PER_HOUR:?}"
: "${LDAP_URL:?}" "${LDAP_BASE_DN:?}" "${LDAP_BIND_DN:?}" "${LDAP_BIND_PASSWORD_FILE:?}"
# The TLS policy, from the stack (platform/tls-policy.ts): OpenSSL's protocol name and cipher list.
: "${TLS_MIN_PROTOCOL:?}" "${TLS_CIPHER_LIST:?}"
# A file, not env (platform/container.ts): read here, never exported to the daemons.
LDAP_BIND_PASSWORD=$(cat "$LDAP_BIND_PASSWORD_FILE")

primary_domain=${MAIL_DOMAINS%% *}
postconf -e \
  "myhostname=$MAIL_HOSTNAME" \
  "mydomain=$primary_domain" \
  "virtual_mailbox_domains=$MAIL_DOMAINS" \
  "message_size_limit=$MAIL_MESSAGE_SIZE_LIMIT" \
  "smtpd_tls_protocols=>=$TLS_MIN_PROTOCOL" \
  "smtpd_tls_mandatory_protocols=>=$TLS_MIN_PROTOCOL" \
  "tls_high_cipherlist=$TLS_CIPHER_LIST"

case "$LDAP_URL" in
  ldaps://*) start_tls=no ;;
  *) start_tls=yes ;;
esac
# Values are DNs, a URL and a generated alphanumeric password: no character sed would interpret.
for template in /etc/postfix/ldap-templates/*.cf; do
  map=/etc/postfix/ldap/$(basename "$template")
  sed -e "s|@LDAP_URL@|$LDAP_URL|" -e "s|@START_TLS@|$start_tls|" -e "s|@BASE_DN@|$LDAP_BASE_DN|g" \
      -e "s|@BIND_DN@|$LDAP_BIND_DN|" -e "s|@BIND_PW@|$LDAP_BIND_PASSWORD|" "$template" > "$map"
done

# Mail arriving on 25 may not claim to come from our domains (see smtpd_sender_restrictions).
: > /etc/postfix/own-domains
for domain in $MAIL_DOMAINS; do
  printf '%s REJECT 5.7.1 senders of %s authenticate on submission\n' "$domain" "$domain" >> /etc/postfix/own-domains
done

# Per-login sending limits on submission, read by the policy service (sending-limits.sh).
printf 'MESSAGES=%d\nRECIPIENTS=%d\n' "$MAIL_LIMIT_MESSAGES_PER_HOUR" "$MAIL_LIMIT_RECIPIENTS_PER_HOUR" > /etc/postfix/sending-limits

# Service accounts (mattermost@, nextcloud@) send as their own address: "address login" lines.
: > /etc/postfix/service-senders
for address in ${MAIL_SERVICE_SENDERS:-}; do
  printf '%s %s\n' "$address" "$address" >> /etc/postfix/service-senders
done

# Sieve redirects and vacation replies from Dovecot: a listener on this container's address on the mail
# network only (which Postfix and Dovecot alone share), that relays without login. A restarted container
# may have another address: the listener of an earlier start is removed first.
: "${INTERNAL_HOSTNAME:?}"
internal_ip=$(getent hosts "$INTERNAL_HOSTNAME" | awk '{ print $1; exit }')
if [ -z "$internal_ip" ]; then
  echo "entrypoint: $INTERNAL_HOSTNAME does not resolve: is the container on the mail network with that alias?" >&2
  exit 1
fi
postconf -M | awk '$1 ~ /:10025$/ { print $1 }' | while read -r old; do postconf -MX "$old/inet"; done
sieve="$internal_ip:10025/inet"
postconf -M "$sieve=$internal_ip:10025 inet n - n - - smtpd"
# rspamd here too, under the milter daemon name "sieve": it signs a vacation reply (its From is the member,
# the envelope sender) with DKIM instead of taking it for a forgery of our domain (rspamd.local.lua).
# Every client of this address is trusted (mynetworks): Postfix insists on a relay rule that can refuse.
# The member's sending limits apply (sending-limits.sh keys on the envelope sender here, the member:
# dovecot.conf's sieve_redirect_envelope_from and sieve_vacation_send_from_recipient).
postconf -P "$sieve/syslog_name=postfix/sieve" "$sieve/mynetworks=0.0.0.0/0" "$sieve/smtpd_relay_restrictions=permit_mynetworks,reject" \
  "$sieve/smtpd_sender_restrictions=" "$sieve/milter_macro_daemon_name=sieve" "$sieve/smtpd_tls_security_level=none" \
  "$sieve/smtpd_end_of_data_restrictions=\$submission_sending_limits"

# The certificate comes from the dovecot container (self-signed), the mail-acme container (ACME) or the
# host (a directory). Wait for it, saying so, rather than exit into a restart loop; the container stays
# unhealthy meanwhile (nothing answers on 25).
trap 'exit 143' TERM INT
waited=0
until [ -s /tls/tls.crt ] && [ -s /tls/tls.key ]; do
  if [ "$waited" -eq 5 ]; then
    echo "entrypoint: waiting for tls.crt and tls.key in /tls (made by the dovecot or mail-acme container, or given)"
  elif [ "$waited" -gt 0 ] && [ $((waited % 300)) -eq 0 ]; then
    echo "entrypoint: still no certificate in /tls after $waited s (see the dovecot or mail-acme container's logs)" >&2
  fi
  sleep 1
  waited=$((waited + 1))
done
trap - TERM INT

/usr/local/bin/cert-watch.sh "postfix reload" &
exec postfix start-fg
