/** A nodemailer transport that prints mails to stdout instead of sending them (local development). */
import nodemailer from "nodemailer";
import type { Transporter } from "nodemailer";

interface ConsoleMail {
  readonly data: { readonly to?: unknown; readonly subject?: unknown; readonly text?: unknown };
  readonly message: { readonly messageId: () => string; readonly getEnvelope: () => unknown };
}

/** Creates a transporter that logs each message's recipient, subject and text. */
export function consoleMailTransport(): Transporter {
  return nodemailer.createTransport({
    name: "console",
    version: "1",
    send(mail: ConsoleMail, callback: (error: Error | null, info: unknown) => void) {
      const { to, subject, text } = mail.data;
      console.log(`--- mail to ${String(to)}: ${String(subject)}\n${String(text)}\n---`);
      callback(null, { envelope: mail.message.getEnvelope(), messageId: mail.message.messageId() });
    },
  } as unknown as Parameters<typeof nodemailer.createTransport>[0]);
}
