/**
 * Starts a runnable server from its environment (server-env.ts): creates missing data
 * directories, says on stdout what it stores where and where mail goes, logs requests and errors
 * (fastify's pino logger), prints `listening <url>` once ready (tests wait for it), and closes
 * everything on SIGINT/SIGTERM.
 */
import { existsSync, mkdirSync } from "node:fs";
import type { Transporter } from "nodemailer";
import { openAccounts, parseStoreUrl } from "../accounts/index.js";
import type { Storage } from "../storage/contract.js";
import { pglite } from "../storage/pglite/index.js";
import { postgres } from "../storage/postgres/index.js";
import { consoleMailTransport } from "./console-mail-transport.js";
import { createServer } from "./create-server.js";
import { describeStore, readServerEnv } from "./server-env.js";
import type { ServerEnv } from "./server-env.js";
import { syncPlugin } from "./sync-routes.js";
import { withheldMailTransport } from "./withheld-mail-transport.js";

/** Creates the data directory of a `pglite:<dir>` store if missing; the line saying what the store is. */
function prepareStore(what: string, text: string): string {
  const dir = /^pglite:(?!memory$)(.+)$/.exec(text)?.[1];
  let note = "";
  if (dir !== undefined && !existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    note = " (data directory created)";
  }
  return `${what} store: ${describeStore(text)}${note}`;
}

function openSyncStorage(text: string): Promise<Storage> {
  if (/^postgres(ql)?:\/\//.test(text)) return postgres({ connectionString: text }).open();
  const dir = /^pglite:(?!memory$)(.+)$/.exec(text)?.[1];
  if (dir === undefined && text !== "pglite" && text !== "pglite:" && text !== "pglite:memory") {
    throw new Error(`SYNC_STORE ${JSON.stringify(text)} is not pglite[:dir] or postgres://…`);
  }
  return pglite(dir === undefined ? {} : { dataDir: dir }).open();
}

/** Starts the accounts server or the accounts + sync server with the settings of `config`. */
export async function runServer(config: ServerEnv): Promise<void> {
  const say = (line: string) => console.log(line);
  say(prepareStore("accounts", config.accountsStore));
  if (config.syncStore !== undefined) say(prepareStore("sync", config.syncStore));
  let warn = (line: string) => console.warn(line);
  let transport: Transporter | string;
  if (config.smtpUrl === undefined) {
    transport = withheldMailTransport((line) => warn(line));
    say("mail: not sent (SMTP_URL is not set); each withheld mail is logged by recipient and subject only");
  } else if (config.smtpUrl === "console") {
    transport = consoleMailTransport();
    say("mail: printed to stdout, codes and reset keys included (SMTP_URL=console: development only)");
  } else {
    transport = config.smtpUrl;
    say(`mail: ${describeStore(config.smtpUrl)}`);
  }
  const accounts = await openAccounts({
    store: parseStoreUrl(config.accountsStore),
    mail: { transport, from: config.mailFrom },
    ...(config.sessionIdleMs === undefined ? {} : { settings: { sessionIdleMs: config.sessionIdleMs } }),
  });
  const storage = config.syncStore === undefined ? undefined : await openSyncStorage(config.syncStore);
  const app = await createServer({
    accounts,
    logger: config.logLevel === "silent" ? false : { level: config.logLevel },
    trustProxy: config.trustProxy,
  });
  warn = (line) => app.log.warn(line);
  if (storage) {
    await app.register(syncPlugin, {
      storage,
      quotas: config.quotas,
      ...(config.socketsPerUser === undefined ? {} : { maxSocketsPerUser: config.socketsPerUser }),
    });
  }
  const proxy = config.trustProxy === false ? "none (client address: the socket's)" : typeof config.trustProxy === "number" ? `${config.trustProxy} hop(s)` : config.trustProxy.join(", ");
  say(`trusted proxies: ${proxy}; log level: ${config.logLevel}`);
  const shutdown = async (): Promise<void> => {
    await app.close();
    await accounts.close();
    await storage?.close();
  };
  process.once("SIGINT", () => void shutdown());
  process.once("SIGTERM", () => void shutdown());
  const url = await app.listen({ host: config.host, port: config.port });
  say(`listening ${url}`);
}

/** Reads the environment and starts; a bad setting is printed and exits with status 2. */
export async function main(kind: "accounts" | "sync"): Promise<void> {
  let config: ServerEnv;
  try {
    config = readServerEnv(kind);
  } catch (error) {
    console.error(`${kind} server: ${(error as Error).message}`);
    process.exit(2);
  }
  await runServer(config);
}
