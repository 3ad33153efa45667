/**
 * The settings of the runnable servers (`npm run accounts:server`, `npm run sync:server`) read from
 * the environment, with safe defaults: stores persist in a data directory, requests and errors
 * are logged, mail without SMTP is not printed, the client address comes from the socket unless
 * the proxies are named.
 */
import { resolve } from "node:path";
import { AccountsError } from "../accounts/index.js";
import { parseTrustProxy } from "./trust-proxy.js";
import type { TrustProxy } from "./trust-proxy.js";

/** What a runnable server is started with (see docs/accounts.md and docs/sync.md for each variable). */
export interface ServerEnv {
  readonly kind: "accounts" | "sync";
  readonly host: string;
  readonly port: number;
  /** `TRUST_PROXY`: hop count or proxy addresses. */
  readonly trustProxy: TrustProxy;
  /** `LOG_LEVEL`: pino level, default `info`; `silent` logs nothing. */
  readonly logLevel: string;
  /** `DATA_DIR`: where the embedded stores live, default `./data`. */
  readonly dataDir: string;
  /** `ACCOUNTS_STORE`: `pglite:<dir>`, `pglite` (memory), `postgres://…`, `mysql://…`. */
  readonly accountsStore: string;
  /** `SYNC_STORE` (sync server only): `pglite:<dir>`, `pglite` (memory), `postgres://…`. */
  readonly syncStore: string | undefined;
  /** `SMTP_URL`: an SMTP URL, `console` (print mails, development only), or undefined (mails not sent, logged without content). */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** `SESSION_IDLE_HOURS`: the session idle timeout, when set. */
  readonly sessionIdleMs: number | undefined;
  /** `SYNC_SPACES_PER_USER`, `SYNC_OPS_PER_USER`: quotas, when set. */
  readonly quotas: { readonly spacesPerUser?: number; readonly opsPerUser?: number };
  /** `SYNC_SOCKETS_PER_USER`: open sockets per user, when set. */
  readonly socketsPerUser: number | undefined;
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

function positive(env: NodeJS.ProcessEnv, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new AccountsError("INVALID_ARGUMENT", `${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Reads the environment of a runnable server; `INVALID_ARGUMENT` names a bad variable. */
export function readServerEnv(kind: "accounts" | "sync", env: NodeJS.ProcessEnv = process.env): ServerEnv {
  const dataDir = resolve(env["DATA_DIR"] || "./data");
  const syncStore = kind === "sync" ? env["SYNC_STORE"] || `pglite:${resolve(dataDir, "sync")}` : undefined;
  // The sync server keeps accounts with its ops when those are on Postgres (the table names differ).
  const sharedPostgres = syncStore !== undefined && /^postgres(ql)?:\/\//.test(syncStore) ? syncStore : undefined;
  const accountsStore = env["ACCOUNTS_STORE"] || sharedPostgres || `pglite:${resolve(dataDir, "accounts")}`;
  const logLevel = env["LOG_LEVEL"] || "info";
  if (!LEVELS.has(logLevel)) throw new AccountsError("INVALID_ARGUMENT", `LOG_LEVEL must be one of ${[...LEVELS].join(", ")}, got ${JSON.stringify(logLevel)}`);
  const port = env["PORT"] === undefined || env["PORT"] === "" ? (kind === "sync" ? 8788 : 8787) : Number(env["PORT"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AccountsError("INVALID_ARGUMENT", `PORT must be 0..65535, got ${JSON.stringify(env["PORT"])}`);
  const idleHours = positive(env, "SESSION_IDLE_HOURS", 24 * 365);
  const spacesPerUser = positive(env, "SYNC_SPACES_PER_USER");
  const opsPerUser = positive(env, "SYNC_OPS_PER_USER");
  return {
    kind,
    host: env["HOST"] || "127.0.0.1",
    port,
    trustProxy: parseTrustProxy(env["TRUST_PROXY"]),
    logLevel,
    dataDir,
    accountsStore,
    syncStore,
    smtpUrl: env["SMTP_URL"] || undefined,
    mailFrom: env["MAIL_FROM"] || '"Logbook" <no-reply@localhost.localdomain>',
    sessionIdleMs: idleHours === undefined ? undefined : idleHours * 3_600_000,
    quotas: { ...(spacesPerUser === undefined ? {} : { spacesPerUser }), ...(opsPerUser === undefined ? {} : { opsPerUser }) },
    socketsPerUser: positive(env, "SYNC_SOCKETS_PER_USER", 10_000),
  };
}

/** A store description fit for a log line: a URL's password masked. */
export function describeStore(text: string): string {
  if (text === "pglite" || text === "pglite:" || text === "pglite:memory") return "pglite in memory (lost at exit)";
  return text.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, "$1***@");
}
