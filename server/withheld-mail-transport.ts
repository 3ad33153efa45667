/**
 * A nodemailer transport for a server with no SMTP configured: it sends nothing and logs only the
 * recipient and subject. Codes and reset keys never reach the log (printing them would hand every
 * account to whoever reads it).
 */
import nodemailer from "nodemailer";
import type { Transporter } from "nodemailer";

interface WithheldMail {
  readonly data: { readonly to?: unknown; readonly subject?: unknown };
  readonly message: { readonly messageId: () => string; readonly getEnvelope: () => unknown };
}

/** Creates a transporter that drops every mail, telling `log` whom it was for. */
export function withheldMailTransport(log: (line: string) => void): Transporter {
  return nodemailer.createTransport({
    name: "withheld",
    version: "1",
    send(mail: WithheldMail, callback: (error: Error | null, info: unknown) => void) {
      log(`mail to ${String(mail.data.to)} (${String(mail.data.subject)}) not sent: SMTP_URL is not set`);
      callback(null, { envelope: mail.message.getEnvelope(), messageId: mail.message.messageId() });
    },
  } as unknown as Parameters<typeof nodemailer.createTransport>[0]);
}
