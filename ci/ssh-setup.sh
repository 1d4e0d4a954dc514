#!/bin/bash
# SSH for the Pulumi jobs (preview, deploy, drift). Sourced from before_script, not run:
#   . ci/ssh-setup.sh
# GitLab runs before_script and script in one shell, so what this exports reaches `pulumi`.
#
# - Host provisioning (@pulumi/command remote) authenticates only with a privateKey, a password or
#   the agent at SSH_AUTH_SOCK; it never reads ~/.ssh. So: start an ssh-agent, add the deploy key
#   (CI/CD file variable DEPLOY_SSH_KEY) and export SSH_AUTH_SOCK.
# - The Docker provider (infra:docker: ssh://deploy@host) runs the ssh client, which uses the same
#   agent. Neither connection reads ~/.ssh/known_hosts: both trust exactly the host key the stack file
#   gives (infra:provisioning.hostKey; hosts/settings.ts pinnedHostKeySshOptions).
# The key never touches the disk outside the file GitLab wrote for the variable.
# No `set -e`/`exit` here: the options would leak into the job's shell. Failures `return 1`, and
# GitLab fails the job on a before_script line that returns non-zero.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "ci/ssh-setup.sh must be sourced (. ci/ssh-setup.sh): run as a program, its SSH_AUTH_SOCK is lost" >&2
  exit 2
fi

ci_ssh_setup() {
  if [ -z "${DEPLOY_SSH_KEY:-}" ]; then
    echo "ci/ssh-setup.sh: set the CI/CD file variable DEPLOY_SSH_KEY (see ci/README.md)" >&2
    return 1
  fi
  # ssh (Docker provider), ssh-agent and ssh-add: not every Pulumi image ships them.
  if ! command -v ssh >/dev/null || ! command -v ssh-agent >/dev/null || ! command -v ssh-add >/dev/null; then
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-client; } >/dev/null || return 1
  fi

  # A file variable holds a path; a plain variable holds the key itself. Either way the key goes to
  # the agent through stdin (no permission check on a copy), without the CRs a paste may add.
  local key
  if [ -f "$DEPLOY_SSH_KEY" ]; then
    key="$(tr -d '\r' <"$DEPLOY_SSH_KEY")" || return 1
  else
    key="$(printf '%s' "$DEPLOY_SSH_KEY" | tr -d '\r')"
  fi

  eval "$(ssh-agent -s)" >/dev/null || return 1
  if ! printf '%s\n' "$key" | ssh-add -; then
    echo "ci/ssh-setup.sh: DEPLOY_SSH_KEY is not a private key ssh-add accepts (passphrase-less OpenSSH or PEM key)" >&2
    ssh-agent -k >/dev/null
    return 1
  fi
  export SSH_AUTH_SOCK SSH_AGENT_PID

  echo "ssh: agent at $SSH_AUTH_SOCK holds $(ssh-add -l | wc -l) key(s); host keys come from the stack files"
}

if ci_ssh_setup; then
  unset -f ci_ssh_setup
else
  unset -f ci_ssh_setup
  return 1
fi
