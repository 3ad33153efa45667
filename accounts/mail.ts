/**
 * Outgoing mail through nodemailer. Mails are queued and sent in the background so that a
 * flow answers in the same time whether or not it sent one (no e-mail enumeration by
 * timing); `drain()` waits for the queue, and failures go to `onError`.
 */
import nodemailer from "nodemailer";
import type { Transporter } from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";

/** How to send mail. */
export interface MailConfig {
  /** A nodemailer transport, SMTP options, or an `smtp://` URL. */
  readonly transport: Transporter | SMTPTransport.Options | string;
  /** The From header, e.g. `"Logbook" <no-reply@example.com>`. */
  readonly from: string;
  /** Product name used in subjects and bodies. Defaults to "Logbook". */
  readonly product?: string;
  /** Called when a queued mail fails. Defaults to `console.error`. */
  readonly onError?: (error: unknown) => void;
}

/** One outgoing message. */
export interface MailMessage {
  /** Recipient address. */
  readonly to: string;
  /** Subject line. */
  readonly subject: string;
  /** Plain-text body. */
  readonly text: string;
}

/** The queue-backed sender used by the flows. */
export interface Mailer {
  /** Product name for templates. */
  readonly product: string;
  /** Queues a message; returns at once. */
  readonly enqueue: (message: MailMessage) => void;
  /** Resolves when every queued message has been attempted. */
  readonly drain: () => Promise<void>;
  /** Drains, then closes the transport if this mailer created it. */
  readonly close: () => Promise<void>;
}

function isTransporter(value: MailConfig["transport"]): value is Transporter {
  return typeof value === "object" && typeof (value as Partial<Transporter>).sendMail === "function";
}

/** Creates a {@link Mailer} for a {@link MailConfig}. */
export function createMailer(config: MailConfig): Mailer {
  const owned = !isTransporter(config.transport);
  const transporter: Transporter = isTransporter(config.transport)
    ? config.transport
    : nodemailer.createTransport(config.transport as SMTPTransport.Options);
  const onError = config.onError ?? ((error: unknown) => console.error("accounts: sending mail failed:", error));
  const pending = new Set<Promise<void>>();
  const enqueue = (message: MailMessage): void => {
    const sending: Promise<void> = transporter
      .sendMail({ from: config.from, ...message })
      .then(() => undefined, onError)
      .finally(() => pending.delete(sending));
    pending.add(sending);
  };
  const drain = async (): Promise<void> => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };
  const close = async (): Promise<void> => {
    await drain();
    if (owned) transporter.close();
  };
  return { product: config.product ?? "Logbook", enqueue, drain, close };
}

const hello = (firstName: string | undefined) => (firstName === undefined || firstName === "" ? "Hello," : `Hello ${firstName},`);

/**
 * The verification-code mail. It greets nobody by name: it goes to an address nobody has proven
 * yet, so a name in it would be anyone's text in anyone's mailbox.
 */
export function verificationMail(product: string, to: string, code: string, ttlMs: number): MailMessage {
  return {
    to,
    subject: `${product}: your verification code`,
    text: [
      "Hello,",
      "",
      `Your ${product} verification code is:`,
      "",
      `    ${code}`,
      "",
      `It expires in ${Math.round(ttlMs / 60_000)} minutes. If you did not sign up, ignore this message.`,
    ].join("\n"),
  };
}

/**
 * The mail sent when someone signs up again, with another password, for an address whose
 * sign-up is still unverified. Neither password is trusted: the pending code and password are
 * void, and the key sets the password of whoever reads this mailbox (and verifies the account).
 */
export function pendingAgainMail(product: string, to: string, key: string, ttlMs: number): MailMessage {
  return {
    to,
    subject: `${product}: finish signing up`,
    text: [
      "Hello,",
      "",
      `Someone signed up for ${product} again with this address, with a different password, before it was verified.`,
      "The earlier verification code and both passwords no longer work. If you are signing up, choose your password with a reset (it also verifies the address).",
      "",
      "Your password reset key is:",
      "",
      `    ${key}`,
      "",
      `It works once and expires in ${Math.round(ttlMs / 60_000)} minutes. If you did not sign up, ignore this message.`,
    ].join("\n"),
  };
}

/** The mail sent when someone signs up with an address that already has a verified account (greets its owner). */
export function alreadyRegisteredMail(product: string, to: string, firstName: string): MailMessage {
  return {
    to,
    subject: `${product}: you already have an account`,
    text: [
      hello(firstName),
      "",
      `Someone tried to create a ${product} account with this address, which already has one.`,
      "If it was you, sign in instead, or reset your password. Otherwise ignore this message.",
    ].join("\n"),
  };
}

/** The password-reset mail carrying the single-use key; `firstName` only for a verified owner. */
export function resetMail(product: string, to: string, firstName: string | undefined, key: string, ttlMs: number): MailMessage {
  return {
    to,
    subject: `${product}: reset your password`,
    text: [
      hello(firstName),
      "",
      "Your password reset key is:",
      "",
      `    ${key}`,
      "",
      `It works once and expires in ${Math.round(ttlMs / 60_000)} minutes. If you did not ask for it, ignore this message.`,
    ].join("\n"),
  };
}
