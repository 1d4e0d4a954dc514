// `npm run plan -- --stack NAME [--format text|json|markdown|zone]`: show a host offline (no Pulumi CLI, no Docker).
import "dotenv/config";
import { Command, Option } from "commander";
import { ConfigError } from "./schema";
import { formatJson, formatMarkdown, formatText, formatZone, toPlan } from "./plan-format";
import { listStacks, renderStack, UnknownStackError } from "./render";
import { readStackFileAt } from "./stack-files";

const FORMATS = { text: formatText, json: formatJson, markdown: formatMarkdown, zone: formatZone };

async function main(): Promise<number> {
  const options = new Command("plan")
    .description("Render a stack under the Pulumi mock runtime and print its containers, URLs, DNS records and memory")
    .option("-s, --stack <name>", `stack to render (${listStacks().join(", ")})`, "local")
    .option("--file <path>", "render this stack file instead of stacks/Pulumi.<stack>.yaml (e.g. a copy with more partners)")
    .addOption(new Option("-f, --format <format>", "output format").choices(Object.keys(FORMATS)).default("text"))
    .showHelpAfterError()
    .parse()
    .opts<{ stack: string; file?: string; format: keyof typeof FORMATS }>();

  try {
    const plan = toPlan(await renderStack(options.stack, options.file ? readStackFileAt(options.file) : undefined));
    console.log(FORMATS[options.format](plan));
    return plan.memory.withinBudget ? 0 : 1;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${options.file ?? `stacks/Pulumi.${options.stack}.yaml`}: ${error.message}`);
      return 1;
    }
    if (error instanceof UnknownStackError) {
      console.error(`--stack: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

// Set the exit code and let Node end once stdout is flushed: process.exit() would cut a piped plan.
main().then((code) => {
  process.exitCode = code;
});
