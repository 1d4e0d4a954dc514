#!/bin/bash
# Let Pulumi's Docker provider reach the hosts (infra:docker: ssh://user@host) from a CI job:
# the deploy key comes from the file variable DEPLOY_SSH_KEY, the host keys from DEPLOY_SSH_KNOWN_HOSTS.
set -euo pipefail

: "${DEPLOY_SSH_KEY:?set the CI/CD file variable DEPLOY_SSH_KEY (see ci/README.md)}"
: "${DEPLOY_SSH_KNOWN_HOSTS:?set the CI/CD variable DEPLOY_SSH_KNOWN_HOSTS (see ci/README.md)}"

# The Docker provider runs the ssh client; not every Pulumi image ships one.
if ! command -v ssh >/dev/null; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-client
fi

install -d -m 700 ~/.ssh
install -m 600 "$DEPLOY_SSH_KEY" ~/.ssh/id_ed25519
printf '%s\n' "$DEPLOY_SSH_KNOWN_HOSTS" >~/.ssh/known_hosts
chmod 644 ~/.ssh/known_hosts
