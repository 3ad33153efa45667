/**
 * The fastify plugin of the accounts HTTP surface. It decorates the instance it is
 * registered on (not encapsulated) with `accounts` and `authenticateRequest`, so the sync
 * server can protect its own routes, and mounts the JSON routes under `prefix`.
 */
import fastifyCookie from "@fastify/cookie";
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import { AccountsError } from "../accounts/index.js";
import type { Accounts, Authenticated } from "../accounts/index.js";
import { accountsRoutes } from "./accounts-routes.js";
import { sessionTokenFrom } from "./cookies.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The accounts instance behind the HTTP surface. */
    accounts: Accounts;
    /** Resolves a request's session (session cookie or `Authorization: Bearer`); throws `UNAUTHENTICATED`. */
    authenticateRequest: (request: FastifyRequest) => Promise<Authenticated>;
  }
}

/** Options of {@link accountsPlugin}. */
export interface AccountsPluginOptions {
  /** The accounts instance (its lifetime is the caller's). */
  readonly accounts: Accounts;
  /** URL prefix of the routes. Default `/accounts`. */
  readonly routePrefix?: string;
  /** Device name when the sign-in body and the device cookie name none. Default `Web browser`. */
  readonly defaultDeviceName?: string;
}

const plugin: FastifyPluginAsync<AccountsPluginOptions> = async (app: FastifyInstance, options) => {
  if (!app.hasRequestDecorator("cookies")) await app.register(fastifyCookie);
  const { accounts } = options;
  const authenticateRequest = async (request: FastifyRequest): Promise<Authenticated> => {
    const token = sessionTokenFrom(request);
    if (token === undefined) throw new AccountsError("UNAUTHENTICATED", "no session cookie or bearer token");
    return accounts.authenticate(token);
  };
  app.decorate("accounts", accounts);
  app.decorate("authenticateRequest", authenticateRequest);
  await app.register(accountsRoutes, {
    prefix: options.routePrefix ?? "/accounts",
    accounts,
    authenticateRequest,
    defaultDeviceName: options.defaultDeviceName ?? "Web browser",
  });
};

// Not encapsulated (what fastify-plugin does): the decorators are visible to the parent.
Object.assign(plugin, { [Symbol.for("skip-override")]: true, [Symbol.for("fastify.display-name")]: "logbook-accounts" });

/** Registers cookies, the `accounts`/`authenticateRequest` decorators and the accounts routes. */
export const accountsPlugin: FastifyPluginAsync<AccountsPluginOptions> = plugin;
