/**
 * Runnable accounts server: `npm run accounts:server`. Configured by environment (docs/accounts.md,
 * "How to run the accounts server"): DATA_DIR, ACCOUNTS_STORE, SMTP_URL, MAIL_FROM, HOST, PORT
 * (default 8787), TRUST_PROXY, LOG_LEVEL, SESSION_IDLE_HOURS.
 */
import { main } from "./run-server.js";

await main("accounts");
