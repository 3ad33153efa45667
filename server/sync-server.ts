/**
 * Runnable sync server (accounts + sync routes): `npm run sync:server`. Configured by environment
 * (docs/sync.md, "Running the server"): DATA_DIR, SYNC_STORE, ACCOUNTS_STORE, SMTP_URL, MAIL_FROM,
 * HOST, PORT (default 8788; 0 picks one), TRUST_PROXY, LOG_LEVEL, SESSION_IDLE_HOURS,
 * SYNC_SPACES_PER_USER, SYNC_OPS_PER_USER, SYNC_SOCKETS_PER_USER.
 * Prints `listening <url>` on stdout once ready (tests wait for it).
 */
import { main } from "./run-server.js";

await main("sync");
