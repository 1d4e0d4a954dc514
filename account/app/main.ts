import { serve } from "@hono/node-server";
import type { Context } from "hono";
import { createApp } from "./app";
import { ConfigError, readConfig, type AppConfig } from "./config";
import { Directory } from "./directory";
import { submissionMailer } from "./mailer";
import { createTechAuth } from "./tech-auth";
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
const directory = new Directory(config.ldap);
const socketAddress = (c: Context) =>
  (c.env as { incoming?: { socket?: { remoteAddress?: string } } }).incoming?.socket?.remoteAddress ?? "";
const app = createApp({
  config,
  directory,
  tokens: new TokenStore(config.dataDir),
  mailer: submissionMailer(config.smtp),
  socketAddress,
});
const listening = (info: { port: number }) => console.log(`account: listening on ${info.port}`);
// The page, routed by the proxy; the proxy's tech login on a port of its own, which no route publishes.
const servers = [
  serve({ fetch: app.fetch, port: config.port }, listening),
  serve({ fetch: createTechAuth({ config, directory, socketAddress }).fetch, port: config.authPort }, listening),
];
const closeAll = () => Promise.all(servers.map((server) => new Promise((closed) => server.close(closed)))).then(() => process.exit(0));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, closeAll);
