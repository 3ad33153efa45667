/**
 * Runnable accounts server: `npm run accounts:server`. Configured by environment:
 * ACCOUNTS_STORE (`pglite:<dir>` default `pglite:./data/accounts`, `pglite` in memory,
 * `postgres://…`, `mysql://…`), SMTP_URL (unset: mails are printed), MAIL_FROM, HOST
 * (default 127.0.0.1), PORT (default 8787), TRUST_PROXY (`1` behind a reverse proxy).
 */
import { openAccounts, parseStoreUrl } from "../accounts/index.js";
import { consoleMailTransport } from "./console-mail-transport.js";
import { createServer } from "./create-server.js";

const env = process.env;
const smtpUrl = env["SMTP_URL"];
const accounts = await openAccounts({
  store: parseStoreUrl(env["ACCOUNTS_STORE"] ?? "pglite:./data/accounts"),
  mail: { transport: smtpUrl ?? consoleMailTransport(), from: env["MAIL_FROM"] ?? '"Logbook" <no-reply@localhost.localdomain>' },
});
const app = await createServer({ accounts, logger: true, trustProxy: env["TRUST_PROXY"] === "1" });
const shutdown = async (): Promise<void> => {
  await app.close();
  await accounts.close();
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
await app.listen({ host: env["HOST"] ?? "127.0.0.1", port: Number(env["PORT"] ?? 8787) });
