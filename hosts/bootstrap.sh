#!/bin/sh
# Once, as root, on a brand-new Debian host, before its first `pulumi up` (docs/first-deployment.md):
#   ssh root@HOST sh -s -- deploy "$(cat deploy-key.pub)" < hosts/bootstrap.sh
# Creates the account Pulumi connects as (login with that key only, passwordless sudo), then prints the
# host's key for `infra:provisioning.hostKey`. Everything else (Docker, the docker group for this account,
# logins from the directory, firewall) is done by `pulumi up` itself. Running it again changes nothing.
set -eu

user=${1:-}
key=${2:-}
case "$user" in
  "" | *[!a-z0-9_-]*) echo "bootstrap: first argument: the account's name (lower-case letters, digits, - or _), e.g. deploy" >&2; exit 2 ;;
esac
case "$key" in
  "ssh-ed25519 "* | "ecdsa-sha2-nistp256 "* | "ssh-rsa "*) ;;
  *) echo "bootstrap: second argument: the account's public key line, e.g. \"\$(cat deploy-key.pub)\"" >&2; exit 2 ;;
esac

if ! command -v sudo >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends sudo
fi
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)

install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
keys="$home/.ssh/authorized_keys"
touch "$keys"
grep -qxF "$key" "$keys" || printf '%s\n' "$key" >>"$keys"
chown "$user:$user" "$keys"
chmod 0600 "$keys"

# Checked before it is installed: a broken sudoers file would take sudo away from everyone.
rule=$(mktemp)
printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" >"$rule"
visudo -c -q -f "$rule"
install -m 0440 -o root -g root "$rule" "/etc/sudoers.d/50-infra-$user"
rm -f "$rule"

echo "bootstrap: $user logs in with its key and may sudo. Put this line in the stack file as provisioning.hostKey:"
cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub
