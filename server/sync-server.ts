/**
 * Runnable sync server (accounts + sync routes): `npm run sync:server`. Configured by environment:
 * SYNC_STORE (`postgres://…`, `pglite:<dir>`, default `pglite` in memory) for the ops,
 * ACCOUNTS_STORE (as in accounts-server.ts, default the same as SYNC_STORE's kind in memory),
 * HOST (default 127.0.0.1), PORT (default 8788; 0 picks one), SMTP_URL, MAIL_FROM.
 * Prints `listening <url>` on stdout once ready (tests wait for it).
 */
import { openAccounts, parseStoreUrl } from "../accounts/index.js";
import { pglite } from "../storage/pglite/index.js";
import { postgres } from "../storage/postgres/index.js";
import { consoleMailTransport } from "./console-mail-transport.js";
import { createServer } from "./create-server.js";
import { syncPlugin } from "./sync-routes.js";

const env = process.env;
const syncStore = env["SYNC_STORE"] ?? "pglite";
const storage = await (/^postgres(ql)?:\/\//.test(syncStore)
  ? postgres({ connectionString: syncStore })
  : pglite(syncStore.startsWith("pglite:") ? { dataDir: syncStore.slice("pglite:".length) } : {})
).open();
const smtpUrl = env["SMTP_URL"];
const accounts = await openAccounts({
  store: parseStoreUrl(env["ACCOUNTS_STORE"] ?? "pglite"),
  mail: { transport: smtpUrl ?? consoleMailTransport(), from: env["MAIL_FROM"] ?? '"Logbook" <no-reply@localhost.localdomain>' },
});
const app = await createServer({ accounts, logger: env["LOG"] === "1" });
await app.register(syncPlugin, { storage });
const shutdown = async (): Promise<void> => {
  await app.close();
  await accounts.close();
  await storage.close();
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
const url = await app.listen({ host: env["HOST"] ?? "127.0.0.1", port: Number(env["PORT"] ?? 8788) });
console.log(`listening ${url}`);
