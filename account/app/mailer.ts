import nodemailer from "nodemailer";
import type { AppConfig } from "./config";

export interface Mailer {
  send(message: { to: string; subject: string; text: string }): Promise<void>;
}

/** Mail through the association's own server: submission (STARTTLS required), as account@<domain>. */
export function submissionMailer(config: AppConfig["smtp"]): Mailer {
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: false,
    requireTLS: true,
    auth: { user: config.user, pass: config.password },
    tls: { rejectUnauthorized: config.verifyCertificate },
  });
  return {
    async send({ to, subject, text }) {
      await transport.sendMail({ from: config.user, to, subject, text });
    },
  };
}
