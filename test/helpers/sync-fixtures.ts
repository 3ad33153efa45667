/**
 * A real sync server on 127.0.0.1 for the sync suites: accounts (fast argon2) and the sync routes,
 * mails captured in memory so tests can verify accounts without an SMTP server.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { openAccounts } from "../../accounts/index.js";
import type { Accounts, AccountsSettingsOverride, StoreConfig } from "../../accounts/index.js";
import { createServer, memoryMailTransport as memoryMail, syncPlugin } from "../../server/index.js";
import type { SyncPluginOptions, TrustProxy } from "../../server/index.js";
import type { Storage } from "../../storage/contract.js";
import { pglite } from "../../storage/pglite/index.js";
import { FAST_SETTINGS, PASSWORD } from "./accounts-fixtures.js";

export { memoryMailTransport as memoryMail } from "../../server/index.js";

/** A signed-in device of a test user. */
export interface TestDevice {
  readonly token: string;
  readonly userId: string;
  readonly accountDeviceId: string;
  readonly email: string;
}

/** A running sync server and how to make users. */
export interface TestSyncServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly accounts: Accounts;
  /** The mails sent, per recipient. */
  readonly mail: ReturnType<typeof memoryMail>;
  /** Signs up and verifies a user (new email unless given) and signs a device in. */
  signIn(deviceName: string, email?: string): Promise<TestDevice>;
  close(): Promise<void>;
}

/** Signs up and verifies `email` with accounts whose mail goes to `mail`. */
export async function verifiedUser(accounts: Accounts, mail: ReturnType<typeof memoryMail>, email: string): Promise<void> {
  await accounts.signUp({ email, password: PASSWORD, firstName: "Ada" });
  await accounts.drainMail();
  const text = mail.textsTo(email).at(-1) ?? "";
  const code = /verification code is:\s+(\d{6})/.exec(text)?.[1];
  if (!code) throw new Error(`no verification code for ${email}: ${text}`);
  await accounts.verifyEmail({ email, code });
}

/** Options of {@link startSyncServer}. */
export interface SyncServerOptions {
  /** Where ops go (the caller closes it); a fresh in-memory PGlite when omitted. */
  readonly storage?: Storage;
  /** Where accounts go; in-memory PGlite when omitted. */
  readonly accountsStore?: StoreConfig;
  readonly revalidateMs?: number;
  /** More sync plugin options (quotas, socket caps, ping interval). */
  readonly sync?: Omit<SyncPluginOptions, "storage">;
  /** Accounts settings on top of the fast test ones. */
  readonly settings?: AccountsSettingsOverride;
  /** The accounts clock. */
  readonly now?: () => number;
  readonly trustProxy?: TrustProxy;
  /** What the server sees as the accounts instance (e.g. one counting calls); the real one when omitted. */
  readonly wrapAccounts?: (accounts: Accounts) => Accounts;
}

/**
 * Starts accounts + sync on 127.0.0.1 (random port). Ops go to `storage` (a fresh in-memory PGlite
 * when omitted), accounts to `accountsStore` (in-memory PGlite when omitted).
 */
export async function startSyncServer(options: SyncServerOptions = {}): Promise<TestSyncServer> {
  const mail = memoryMail();
  const accounts = await openAccounts({
    store: options.accountsStore ?? { kind: "pglite" },
    mail: { transport: mail.transport, from: "test@localhost" },
    settings: { ...FAST_SETTINGS, ...options.settings },
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const storage = options.storage ?? (await pglite().open());
  const app = await createServer({ accounts: options.wrapAccounts?.(accounts) ?? accounts, ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }) });
  await app.register(syncPlugin, { ...options.sync, storage, ...(options.revalidateMs === undefined ? {} : { revalidateMs: options.revalidateMs }) });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const users = new Set<string>();
  return {
    url,
    app,
    accounts,
    mail,
    async signIn(deviceName, email = `sync-${randomBytes(5).toString("hex")}@example.com`) {
      if (!users.has(email)) {
        await verifiedUser(accounts, mail, email);
        users.add(email);
      }
      const r = await accounts.signIn({ email, password: PASSWORD, deviceName });
      return { token: r.token, userId: r.user.id, accountDeviceId: r.device.id, email };
    },
    async close() {
      await app.close();
      await accounts.close();
      if (!options.storage) await storage.close();
    },
  };
}
