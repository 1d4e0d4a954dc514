/** Read the CI/CD variables a helper script needs, failing with one message that names them all. */
export function requireEnv<K extends string>(names: readonly K[], env: NodeJS.ProcessEnv = process.env): Record<K, string> {
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(`missing CI/CD variable(s): ${missing.join(", ")} (see ci/README.md)`);
  }
  return Object.fromEntries(names.map((name) => [name, env[name] as string])) as Record<K, string>;
}
