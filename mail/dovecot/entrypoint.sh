#!/bin/sh
# Dovecot entrypoint (runs as vmail): render the LDAP settings and the quota, make a self-signed
# certificate on first start when asked (TLS_MODE=self-signed) or wait for the one the mail-acme
# container (TLS_MODE=acme) or the host (TLS_MODE=directory) provides, then run Dovecot in the foreground.
set -eu

: "${MAIL_HOSTNAME:?}" "${MAIL_QUOTA:?}" "${TLS_MODE:?}"
: "${LDAP_URL:?}" "${LDAP_BASE_DN:?}" "${LDAP_BIND_DN:?}" "${LDAP_BIND_PASSWORD_FILE:?}"
# The TLS policy, from the stack (platform/tls-policy.ts): OpenSSL's protocol name and cipher list.
: "${TLS_MIN_PROTOCOL:?}" "${TLS_CIPHER_LIST:?}"
# A file, not env (platform/container.ts): read here, never exported to Dovecot.
LDAP_BIND_PASSWORD=$(cat "$LDAP_BIND_PASSWORD_FILE")
umask 077

case "$LDAP_URL" in
  ldaps://*) start_tls=no ;;
  *) start_tls=yes ;;
esac
for template in /etc/dovecot/ldap-templates/*.conf.ext; do
  sed -e "s|@LDAP_URL@|$LDAP_URL|" -e "s|@START_TLS@|$start_tls|" -e "s|@BASE_DN@|$LDAP_BASE_DN|g" \
      -e "s|@BIND_DN@|$LDAP_BIND_DN|" -e "s|@BIND_PW@|$LDAP_BIND_PASSWORD|" \
      "$template" > "/run/dovecot-config/$(basename "$template")"
done
printf 'ssl_min_protocol = %s\nssl_cipher_list = %s\n' "$TLS_MIN_PROTOCOL" "$TLS_CIPHER_LIST" > /run/dovecot-config/tls.conf
printf 'plugin {\n  quota_rule = *:storage=%s\n}\n' "$MAIL_QUOTA" > /run/dovecot-config/quota.conf
if [ -n "${MAIL_SERVICE_SENDERS:-}" ]; then
  printf 'passdb {\n  driver = ldap\n  args = /run/dovecot-config/ldap-services.conf.ext\n  username_filter = %s\n}\n' \
    "$MAIL_SERVICE_SENDERS" > /run/dovecot-config/services-passdb.conf
fi

# The address of this container on the mail network: the name below is an alias on that network only.
: "${INTERNAL_HOSTNAME:?}"
internal_ip=$(getent hosts "$INTERNAL_HOSTNAME" | awk '{ print $1; exit }')
if [ -z "$internal_ip" ]; then
  echo "entrypoint: $INTERNAL_HOSTNAME does not resolve: is the container on the mail network with that alias?" >&2
  exit 1
fi
cat > /run/dovecot-config/internal-listeners.conf <<LISTENERS
service lmtp {
  inet_listener lmtp {
    address = $internal_ip
    port = 24
  }
}
service auth {
  inet_listener sasl {
    address = $internal_ip
    port = 12345
  }
}
LISTENERS

if [ "$TLS_MODE" = "self-signed" ] && [ ! -s /tls/tls.crt ]; then
  echo "entrypoint: no certificate yet, making a self-signed one for $MAIL_HOSTNAME"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$MAIL_HOSTNAME" \
    -addext "subjectAltName=DNS:$MAIL_HOSTNAME" -keyout /tls/tls.key.new -out /tls/tls.crt.new 2>/dev/null
  # Key first, then the certificate Postfix waits for: both are complete when it sees the certificate.
  mv /tls/tls.key.new /tls/tls.key
  chmod 0644 /tls/tls.crt.new
  mv /tls/tls.crt.new /tls/tls.crt
fi

# Without its certificate Dovecot would exit at once, into a restart loop: wait for it, saying so (the
# container stays unhealthy meanwhile).
if [ ! -s /tls/tls.crt ] || [ ! -s /tls/tls.key ]; then
  echo "entrypoint: waiting for tls.crt and tls.key in /tls (TLS_MODE=$TLS_MODE); Dovecot starts once they are there"
  trap 'exit 143' TERM INT
  waited=0
  until [ -s /tls/tls.crt ] && [ -s /tls/tls.key ]; do
    sleep 2
    waited=$((waited + 2))
    if [ $((waited % 300)) -eq 0 ]; then
      echo "entrypoint: still no certificate in /tls after $waited s (TLS_MODE=$TLS_MODE: see the mail-acme container's logs)" >&2
    fi
  done
  trap - TERM INT
fi

/usr/local/bin/cert-watch.sh "doveadm reload" &
exec dovecot -F
