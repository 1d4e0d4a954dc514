#!/bin/bash
# Postfix policy service (master.cf `sending-limits`, spawned per connection as the unprivileged
# `limits` user): per authenticated login (or, on the Sieve listener, per member), at most MESSAGES messages and RECIPIENTS recipients over the
# last hour (sliding window), both read from /etc/postfix/sending-limits (written by entrypoint.sh from
# the stack's sendingLimits). Asked at the end of each submitted message (smtpd_end_of_data_restrictions):
# over a limit, the message is deferred with 451 4.7.1 and Postfix logs "reject: END-OF-MESSAGE ...
# sending limit" (what monitoring alerts on); one stolen password does not make a spam relay.
# State: one file per login in /var/lib/sending-limits, a line "epoch recipients" per accepted message.
set -eu

# The two paths can be moved for the unit tests (spawn passes Postfix's clean environment).
# shellcheck source=/dev/null
. "${SENDING_LIMITS_CONF:-/etc/postfix/sending-limits}"
: "${MESSAGES:?}" "${RECIPIENTS:?}"
state=${SENDING_LIMITS_STATE:-/var/lib/sending-limits}

decide() {
  local user=$1 recipients=$2 now file
  [ -z "$user" ] && { echo DUNNO; return; }
  now=$(printf '%(%s)T' -1)
  # Logins are mail addresses; anything else is replaced so that the name stays one file.
  file="$state/${user//[^A-Za-z0-9@._+-]/_}"
  exec 9>>"$file.lock"
  flock 9
  local kept=() sent=0 sum=0 when count
  if [ -f "$file" ]; then
    while read -r when count; do
      if [ "$when" -gt $((now - 3600)) ]; then
        kept+=("$when $count")
        sent=$((sent + 1))
        sum=$((sum + count))
      fi
    done < "$file"
  fi
  if [ $((sent + 1)) -gt "$MESSAGES" ]; then
    echo "451 4.7.1 sending limit: $user sent $sent messages in the last hour (limit $MESSAGES); try again later"
  elif [ $((sum + recipients)) -gt "$RECIPIENTS" ]; then
    echo "451 4.7.1 sending limit: $user wrote to $sum recipients in the last hour (limit $RECIPIENTS); try again later"
  else
    kept+=("$now $recipients")
    printf '%s\n' "${kept[@]}" > "$file.new" && mv "$file.new" "$file"
    echo DUNNO
  fi
  exec 9>&-
}

declare -A request
while :; do
  request=()
  while :; do
    # Postfix closes the connection when it is done: the end of input ends the service.
    IFS= read -r line || exit 0
    line=${line%$'\r'}
    [ -z "$line" ] && break
    request[${line%%=*}]=${line#*=}
  done
  if [ "${request[protocol_state]:-}" = "END-OF-MESSAGE" ]; then
    # The login on submission; on the Sieve listener (no login) the envelope sender, the member whose
    # redirect or vacation reply it is (a null sender is not counted).
    action=$(decide "${request[sasl_username]:-${request[sender]:-}}" "${request[recipient_count]:-1}")
  else
    action=DUNNO
  fi
  printf 'action=%s\n\n' "$action"
done
