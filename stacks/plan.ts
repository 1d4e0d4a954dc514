// `npm run plan -- --stack NAME [--format text|json|markdown|zone]`: show a host offline (no Pulumi CLI, no Docker).
import "dotenv/config";
import { Command, Option } from "commander";
import { ConfigError } from "./schema";
import { formatJson, formatMarkdown, formatText, formatZone, toPlan } from "./plan-format";
import { listStacks, renderStack, UnknownStackError } from "./render";

const FORMATS = { text: formatText, json: formatJson, markdown: formatMarkdown, zone: formatZone };

async function main(): Promise<number> {
  const options = new Command("plan")
    .description("Render a stack under the Pulumi mock runtime and print its containers, URLs, DNS records and memory")
    .option("-s, --stack <name>", `stack to render (${listStacks().join(", ")})`, "local")
    .addOption(new Option("-f, --format <format>", "output format").choices(Object.keys(FORMATS)).default("text"))
    .showHelpAfterError()
    .parse()
    .opts<{ stack: string; format: keyof typeof FORMATS }>();

  try {
    const plan = toPlan(await renderStack(options.stack));
    console.log(FORMATS[options.format](plan));
    return plan.memory.withinBudget ? 0 : 1;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`stacks/Pulumi.${options.stack}.yaml: ${error.message}`);
      return 1;
    }
    if (error instanceof UnknownStackError) {
      console.error(`--stack: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

main().then((code) => process.exit(code));
