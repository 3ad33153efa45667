/**
 * A real SMTP server (smtp-server) on 127.0.0.1 with a random port, recording every message
 * it receives, so tests read verification codes and reset keys from actual mail.
 */
import type { AddressInfo } from "node:net";
import { domainToUnicode } from "node:url";
import { SMTPServer } from "smtp-server";
import type { MailConfig } from "../../accounts/index.js";

/** A received message, decoded enough to read its text. */
export interface ReceivedMail {
  /** Envelope recipients (as sent; IDN domains may be punycode). */
  readonly to: readonly string[];
  /** Decoded subject and body text. */
  readonly text: string;
  /** The raw message. */
  readonly raw: string;
}

/** The running test mail server. */
export interface TestMailServer {
  /** Everything received so far. */
  readonly messages: ReceivedMail[];
  /** Mail config pointing nodemailer at this server. */
  readonly mailConfig: MailConfig;
  /** Messages received for `address` (compared case-insensitively, IDN-aware). */
  readonly mailsTo: (address: string) => ReceivedMail[];
  /** Waits for the `n`-th (1-based) message to `address`. */
  readonly waitForMail: (address: string, n?: number, timeoutMs?: number) => Promise<ReceivedMail>;
  /** Stops the server. */
  readonly close: () => Promise<void>;
}

function canonical(address: string): string {
  const at = address.lastIndexOf("@");
  return `${address.slice(0, at)}@${domainToUnicode(address.slice(at + 1)) || address.slice(at + 1)}`.normalize("NFC").toLowerCase();
}

function decodeQuotedPrintable(body: string): string {
  const bytes = Buffer.from(body.replace(/=\r?\n/g, ""), "latin1");
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    const hex = bytes.subarray(i + 1, i + 3).toString("latin1");
    if (byte === 0x3d && /^[0-9A-F]{2}$/i.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(byte);
  }
  return Buffer.from(out).toString("utf8");
}

function decodeMessage(raw: string): string {
  const split = raw.indexOf("\r\n\r\n");
  const headers = raw.slice(0, split);
  const body = raw.slice(split + 4);
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(headers)?.[1]?.toLowerCase();
  const subject = /^subject:\s*(.*)$/im.exec(headers)?.[1] ?? "";
  const text = encoding === "quoted-printable" ? decodeQuotedPrintable(body) : encoding === "base64" ? Buffer.from(body, "base64").toString("utf8") : body;
  return `${subject}\n${text}`;
}

/** Starts the server. */
export async function startMailServer(): Promise<TestMailServer> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), text: decodeMessage(raw), raw });
        for (const wake of waiters) wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  const mailsTo = (address: string): ReceivedMail[] =>
    messages.filter((m) => m.to.some((to) => canonical(to) === canonical(address)));
  const waitForMail = async (address: string, n = 1, timeoutMs = 10_000): Promise<ReceivedMail> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = mailsTo(address)[n - 1];
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no mail #${n} to ${address} within ${timeoutMs} ms (have ${messages.length} messages)`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
        setTimeout(wake, 100);
      });
    }
  };
  return {
    messages,
    mailConfig: {
      transport: { host: "127.0.0.1", port, secure: false, ignoreTLS: true },
      from: '"Logbook" <no-reply@logbook.test>',
      onError: (error) => console.error("test mail failed:", error),
    },
    mailsTo,
    waitForMail,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The verification code in a mail. */
export function codeIn(mail: ReceivedMail): string {
  const code = /verification code is:\s+(\d{6})/.exec(mail.text)?.[1];
  if (code === undefined) throw new Error(`no verification code in mail:\n${mail.text}`);
  return code;
}

/** The reset key in a mail. */
export function resetKeyIn(mail: ReceivedMail): string {
  const key = /reset key is:\s+([A-Za-z0-9_-]{43})/.exec(mail.text)?.[1];
  if (key === undefined) throw new Error(`no reset key in mail:\n${mail.text}`);
  return key;
}
