import { serve } from "@hono/node-server";
import type { Context } from "hono";
import { createApp } from "./app";
import { ConfigError, readConfig, type AppConfig } from "./config";
import { Directory } from "./directory";
import { submissionMailer } from "./mailer";
import { TokenStore } from "./tokens";

/** The account page's process: read the settings, listen on HTTP behind the proxy. */
let config: AppConfig;
try {
  config = readConfig(process.env);
} catch (error) {
  // A setting missing from the container: say which, without a stack trace, and stop.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
const app = createApp({
  config,
  directory: new Directory(config.ldap),
  tokens: new TokenStore(config.dataDir),
  mailer: submissionMailer(config.smtp),
  socketAddress: (c: Context) => (c.env as { incoming?: { socket?: { remoteAddress?: string } } }).incoming?.socket?.remoteAddress ?? "",
});
const server = serve({ fetch: app.fetch, port: config.port }, (info) => console.log(`account: listening on ${info.port}`));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => server.close(() => process.exit(0)));
