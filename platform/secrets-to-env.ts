/**
 * Secrets for upstream images that read them from their environment and nowhere else (no `<VAR>_FILE`).
 * The platform still hands them as files (platform/container.ts `secretEnv`); the container starts this
 * wrapper instead of the image's own entrypoint, and the wrapper exports each variable from its file, then
 * execs the image's ENTRYPOINT and CMD unchanged. The values live in the started process's environment
 * only, never in the container's configuration, which `docker inspect` shows to anyone with Docker API access.
 */

/** Where the wrapper is uploaded, root-owned and read-only for the container's user. */
export const SECRETS_TO_ENV_PATH = "/usr/local/bin/secrets-to-env";

/** Programs the wrapper needs in the image: a POSIX shell at /bin/sh and `cat`. */
export const SECRETS_TO_ENV_TOOLS = ["sh", "cat"];

/**
 * `secrets-to-env NAME... -- PROGRAM [ARGUMENT...]`: for each NAME, read the file named by `NAME_FILE`
 * (whole, its trailing newlines dropped), export it as NAME and unset `NAME_FILE`; then exec PROGRAM.
 * Fails closed, with one line on stderr and exit status 1, when a name is not a variable name, `NAME_FILE`
 * is unset, the file is missing, unreadable, empty or holds more than one line (values are one line:
 * passwords, a data source URL), or no program follows `--`. Values are never printed.
 */
export const SECRETS_TO_ENV_SCRIPT = `#!/bin/sh
# secrets-to-env NAME... -- PROGRAM [ARGUMENT...] (platform/secrets-to-env.ts)
set -u
me=secrets-to-env
fail() {
  printf '%s: %s\\n' "$me" "$*" >&2
  exit 1
}
newline='
'
names=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case $1 in
    '' | [0-9]* | *[!A-Za-z0-9_]*) fail "'$1' is not a variable name" ;;
  esac
  names="$names $1"
  shift
done
[ $# -ge 2 ] || fail "usage: $me NAME... -- PROGRAM [ARGUMENT...]"
shift
for name in $names; do
  eval "file=\\\${\${name}_FILE-}"
  [ -n "$file" ] || fail "$name: \${name}_FILE is not set; not starting $1"
  { [ -f "$file" ] && [ -r "$file" ]; } || fail "$name: $file is missing or unreadable; not starting $1"
  value=$(cat -- "$file") || fail "$name: $file could not be read; not starting $1"
  [ -n "$value" ] || fail "$name: $file is empty; not starting $1"
  case $value in *"$newline"*) fail "$name: $file holds more than one line; not starting $1" ;; esac
  export "$name=$value"
  unset "\${name}_FILE"
done
exec "$@"
`;

/** The image's own start, as read from its sources: ENTRYPOINT (may be empty) and CMD. */
export interface UpstreamStart {
  entrypoint: string[];
  command: string[];
}

/** Entrypoint and command of a container that exports `names` from their files, then runs `upstream` unchanged. */
export function secretsToEnvStart(names: string[], upstream: UpstreamStart): UpstreamStart {
  return { entrypoint: [SECRETS_TO_ENV_PATH, ...names, "--", ...upstream.entrypoint], command: upstream.command };
}

/**
 * What a container runs once the wrapper has exported its secrets: the upstream entrypoint and command and
 * the exported names; undefined when the container does not start through the wrapper.
 */
export function behindSecretsToEnv(start: UpstreamStart): (UpstreamStart & { names: string[] }) | undefined {
  if (start.entrypoint[0] !== SECRETS_TO_ENV_PATH) return undefined;
  const separator = start.entrypoint.indexOf("--");
  if (separator < 0) return undefined;
  return {
    names: start.entrypoint.slice(1, separator),
    entrypoint: start.entrypoint.slice(separator + 1),
    command: start.command,
  };
}
