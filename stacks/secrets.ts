// `npm run secrets -- --stack NAME`: the secrets a stack needs, which are still to set, and the commands that set them.
import { Command } from "commander";
import { filledPaths } from "./directory-stack";
import { CONFIG_NAMESPACE, ConfigError, parseStackConfig, secretPaths } from "./schema";
import { listStacks, readStackFile, stackFileName, UnknownStackError } from "./stack-files";

/**
 * The salt of the example values the stack files ship with (`v1:ZXhhbXBsZQ==:...`, "example"): they
 * mark where a secret goes, and no passphrase decrypts them.
 */
export const EXAMPLE_SECRET_PREFIX = "v1:ZXhhbXBsZQ==:";

export interface SecretsReport {
  /** Secret settings the stack file holds: encrypted for real, or still the example value. */
  secrets: { path: string; state: "set" | "example" }[];
  /** Settings read from another stack at deploy time: nothing to set here. */
  fromOtherStacks: { path: string; stack: string }[];
  /** Every other problem of the stack file (missing secrets among them), with its key path. */
  problems: string[];
}

/** What a stack file still needs before its first `pulumi up`: a pure function of the file's config map. */
export function secretsReport(fileConfig: Record<string, unknown>): SecretsReport {
  const raw: Record<string, unknown> = {};
  const encrypted = new Map<string, string>();
  const strip = (value: unknown, path: string[]): unknown => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 1 && entries[0][0] === "secure") {
        encrypted.set(path.join("."), String(entries[0][1]));
        return "encrypted";
      }
      return Object.fromEntries(entries.map(([key, child]) => [key, strip(child, [...path, key])]));
    }
    if (Array.isArray(value)) return value.map((child, index) => strip(child, [...path, String(index)]));
    return value;
  };
  for (const [key, value] of Object.entries(fileConfig)) {
    if (key.startsWith(`${CONFIG_NAMESPACE}:`))
      raw[key.slice(CONFIG_NAMESPACE.length + 1)] = strip(value, [key.slice(CONFIG_NAMESPACE.length + 1)]);
  }
  let problems: string[] = [];
  try {
    parseStackConfig(raw, (path) => encrypted.has(path));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems = error.problems;
  }
  const directoryStack = typeof raw.directoryStack === "string" ? raw.directoryStack : undefined;
  return {
    secrets: secretPaths(raw).map((path) => ({
      path,
      state: (encrypted.get(path) ?? "").startsWith(EXAMPLE_SECRET_PREFIX) ? "example" : "set",
    })),
    fromOtherStacks: directoryStack
      ? filledPaths(raw as { services: Record<string, unknown>; provisioning?: unknown }).map((path) => ({ path, stack: directoryStack }))
      : [],
    problems,
  };
}

function main(): number {
  const { stack } = new Command("secrets")
    .description("List the secrets a stack needs, say which still hold the example value, and print the commands that set them")
    .requiredOption("-s, --stack <name>", `stack (${listStacks().join(", ")})`)
    .showHelpAfterError()
    .parse()
    .opts<{ stack: string }>();
  let report: SecretsReport;
  try {
    report = secretsReport(readStackFile(stack));
  } catch (error) {
    if (error instanceof UnknownStackError) {
      console.error(`--stack: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const toSet = report.secrets.filter((s) => s.state === "example");
  console.log(`stacks/${stackFileName(stack)}: ${report.secrets.length} secret settings, ${toSet.length} still to set`);
  for (const secret of report.secrets)
    console.log(`  ${secret.state === "set" ? "set    " : "TO SET "} ${CONFIG_NAMESPACE}:${secret.path}`);
  for (const value of report.fromOtherStacks) console.log(`  from   ${CONFIG_NAMESPACE}:${value.path} <- ${value.stack} (nothing to set)`);
  if (toSet.length > 0) {
    console.log("\nSet each one (the value is read from the terminal, never from the command line or the shell history):");
    for (const secret of toSet) console.log(`  pulumi config set --secret --path '${CONFIG_NAMESPACE}:${secret.path}' -s ${stack}`);
  }
  if (report.problems.length > 0) console.log(`\nAlso to fix in the stack file:\n${report.problems.map((p) => `  - ${p}`).join("\n")}`);
  return toSet.length > 0 || report.problems.length > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main();
