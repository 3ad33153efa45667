/** A nodemailer transport that keeps mails in memory (tests, benchmarks, the sync demo). */
import nodemailer from "nodemailer";
import type { Transporter } from "nodemailer";

interface MemoryMail {
  readonly data: { readonly to?: unknown; readonly text?: unknown };
  readonly message: { readonly messageId: () => string; readonly getEnvelope: () => unknown };
}

/**
 * A transporter keeping every mail's text per recipient, e.g. to read a verification code.
 *
 * @example
 * const mail = memoryMailTransport();
 * const accounts = await openAccounts({ store, mail: { transport: mail.transport, from: "a@localhost" } });
 * const code = /(\d{6})/.exec(mail.textsTo("ada@example.com").at(-1)!)![1];
 */
export function memoryMailTransport(): { transport: Transporter; textsTo: (to: string) => string[] } {
  const box = new Map<string, string[]>();
  const transport = nodemailer.createTransport({
    name: "memory",
    version: "1",
    send(mail: MemoryMail, callback: (error: Error | null, info: unknown) => void) {
      const to = String(mail.data.to);
      box.set(to, [...(box.get(to) ?? []), String(mail.data.text)]);
      callback(null, { envelope: mail.message.getEnvelope(), messageId: mail.message.messageId() });
    },
  } as unknown as Parameters<typeof nodemailer.createTransport>[0]);
  return { transport, textsTo: (to) => box.get(to) ?? [] };
}
