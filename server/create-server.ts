/** A ready-to-listen fastify server carrying the accounts plugin. */
import Fastify from "fastify";
import type { FastifyInstance } from "fastify";
import type { Accounts } from "../accounts/index.js";
import { accountsPlugin } from "./accounts-plugin.js";

/** Options of {@link createServer}. */
export interface CreateServerOptions {
  /** The accounts instance (not closed with the server). */
  readonly accounts: Accounts;
  /** URL prefix of the accounts routes. Default `/accounts`. */
  readonly routePrefix?: string;
  /** fastify logger setting. Default false. */
  readonly logger?: boolean;
  /** Trust `X-Forwarded-For` (behind a reverse proxy) so rate limits see the client IP. Default false. */
  readonly trustProxy?: boolean;
  /** Maximum request body in bytes. Default 64 KiB. */
  readonly bodyLimit?: number;
}

/** Creates (does not start) a fastify server with the accounts routes; add the sync routes, then `listen`. */
export async function createServer(options: CreateServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, trustProxy: options.trustProxy ?? false, bodyLimit: options.bodyLimit ?? 64 * 1024 });
  await app.register(accountsPlugin, {
    accounts: options.accounts,
    ...(options.routePrefix === undefined ? {} : { routePrefix: options.routePrefix }),
  });
  app.get("/health", async () => ({ ok: true }));
  return app;
}
