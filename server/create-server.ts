/** A ready-to-listen fastify server carrying the accounts plugin. */
import Fastify from "fastify";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import type { Accounts } from "../accounts/index.js";
import { accountsPlugin } from "./accounts-plugin.js";
import { checkTrustProxy, fastifyTrustProxy } from "./trust-proxy.js";
import type { TrustProxy } from "./trust-proxy.js";

/** Options of {@link createServer}. */
export interface CreateServerOptions {
  /** The accounts instance (not closed with the server). */
  readonly accounts: Accounts;
  /** URL prefix of the accounts routes. Default `/accounts`. */
  readonly routePrefix?: string;
  /** fastify's (pino) logger: `true`, or pino options such as `{ level: "info" }`. Default false. */
  readonly logger?: boolean | { readonly level: string };
  /**
   * Who may tell the client address with `X-Forwarded-For` (rate limits are keyed on it): the
   * number of proxy hops in front of the server, or the proxies' addresses/CIDR ranges. Default
   * false (the socket's address). `true` (every hop) is refused: clients could pick their address.
   */
  readonly trustProxy?: TrustProxy;
  /** Maximum request body in bytes. Default 64 KiB. */
  readonly bodyLimit?: number;
}

/**
 * Request bodies are validated strictly: an unknown field or a value of the wrong type is refused
 * (400 `INVALID_ARGUMENT`), not silently dropped or coerced (fastify's defaults do both).
 */
export const STRICT_AJV: NonNullable<FastifyServerOptions["ajv"]> = {
  customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
};

/** Creates (does not start) a fastify server with the accounts routes; add the sync routes, then `listen`. */
export async function createServer(options: CreateServerOptions): Promise<FastifyInstance> {
  const trustProxy = checkTrustProxy(options.trustProxy);
  const app = Fastify({
    logger: options.logger ?? false,
    trustProxy: fastifyTrustProxy(trustProxy),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    ajv: STRICT_AJV,
  });
  await app.register(accountsPlugin, {
    accounts: options.accounts,
    ...(options.routePrefix === undefined ? {} : { routePrefix: options.routePrefix }),
  });
  app.get("/health", async () => ({ ok: true }));
  return app;
}
