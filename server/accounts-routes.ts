/**
 * The JSON routes of the accounts HTTP surface (registered under a prefix by the plugin).
 * Bodies are JSON only, which together with SameSite=Lax cookies keeps cross-site form
 * posts out.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Accounts, Authenticated, Device } from "../accounts/index.js";
import { clearSessionCookie, deviceNameFrom, sessionTokenFrom, setDeviceCookie, setSessionCookie } from "./cookies.js";
import { handleError } from "./http-errors.js";

/** Options of {@link accountsRoutes}. */
export interface AccountsRoutesOptions {
  /** The accounts instance. */
  readonly accounts: Accounts;
  /** Resolves the request's session (cookie or bearer token). */
  readonly authenticateRequest: (request: FastifyRequest) => Promise<Authenticated>;
  /** Device name used when neither the body nor the device cookie names one. */
  readonly defaultDeviceName: string;
}

const str = { type: "string" } as const;
const bodyOf = (required: readonly string[], optional: Record<string, object> = {}) => ({
  body: {
    type: "object",
    required,
    additionalProperties: false,
    properties: { ...Object.fromEntries(required.map((key) => [key, str])), ...optional },
  },
});

const ACCEPTED = { status: "accepted", message: "if the address can receive it, a mail is on its way" } as const;

const deviceJson = (device: Device, current: Device | undefined) => ({ ...device, current: device.id === current?.id });

/** Registers the routes on an (encapsulated) fastify instance. */
export async function accountsRoutes(app: FastifyInstance, options: AccountsRoutesOptions): Promise<void> {
  const { accounts, authenticateRequest } = options;
  app.setErrorHandler(handleError);
  // Answers carry sessions, tokens and personal data: no browser or proxy cache may keep them.
  app.addHook("onSend", async (_request, reply, payload) => {
    void reply.header("cache-control", "no-store");
    return payload;
  });

  app.post<{ Body: { email: string; password: string; firstName: string } }>(
    "/sign-up",
    { schema: bodyOf(["email", "password", "firstName"]) },
    async (request, reply) => {
      await accounts.signUp({ ...request.body, ip: request.ip });
      return reply.status(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { email: string } }>("/resend-verification", { schema: bodyOf(["email"]) }, async (request, reply) => {
    await accounts.resendVerification({ email: request.body.email, ip: request.ip });
    return reply.status(202).send(ACCEPTED);
  });

  app.post<{ Body: { email: string; code: string } }>("/verify-email", { schema: bodyOf(["email", "code"]) }, async (request) => {
    const user = await accounts.verifyEmail({ ...request.body, ip: request.ip });
    return { user };
  });

  app.post<{ Body: { email: string; password: string; deviceName?: string; deviceId?: string; returnToken?: boolean } }>(
    "/sign-in",
    { schema: bodyOf(["email", "password"], { deviceName: str, deviceId: str, returnToken: { type: "boolean" } }) },
    async (request, reply) => {
      const { email, password, deviceId, returnToken } = request.body;
      const deviceName = request.body.deviceName ?? deviceNameFrom(request) ?? options.defaultDeviceName;
      const result = await accounts.signIn({ email, password, deviceName, ip: request.ip, ...(deviceId === undefined ? {} : { deviceId }) });
      setSessionCookie(reply, result.token, result.session.expiresAt);
      setDeviceCookie(reply, result.device.name);
      const body = { user: result.user, device: result.device, session: result.session };
      return returnToken === true ? { ...body, token: result.token } : body;
    },
  );

  app.post("/sign-out", async (request, reply) => {
    await accounts.signOut(sessionTokenFrom(request), request.ip);
    clearSessionCookie(reply);
    return reply.status(204).send();
  });

  app.get("/me", async (request) => authenticateRequest(request));

  app.get("/devices", async (request) => {
    const auth = await authenticateRequest(request);
    const devices = await accounts.listDevices(auth.user.id);
    return { devices: devices.map((device) => deviceJson(device, auth.device)) };
  });

  app.patch<{ Params: { id: string }; Body: { name: string } }>("/devices/:id", { schema: bodyOf(["name"]) }, async (request, reply) => {
    const auth = await authenticateRequest(request);
    const device = await accounts.renameDevice(auth.user.id, request.params.id, request.body.name);
    if (device.id === auth.device.id) setDeviceCookie(reply, device.name);
    return { device: deviceJson(device, auth.device) };
  });

  app.delete<{ Params: { id: string } }>("/devices/:id", async (request, reply) => {
    const auth = await authenticateRequest(request);
    await accounts.revokeDevice(auth.user.id, request.params.id, request.ip);
    if (request.params.id === auth.device.id) clearSessionCookie(reply);
    return reply.status(204).send();
  });

  app.get<{ Querystring: { limit?: string; before?: string } }>(
    "/audit",
    {
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { limit: { type: "string", pattern: "^[0-9]{1,4}$" }, before: { type: "string", pattern: "^[0-9]{1,16}$" } },
        },
      },
    },
    async (request) => {
      const auth = await authenticateRequest(request);
      const { limit, before } = request.query;
      const events = await accounts.auditTrail({
        userId: auth.user.id,
        ...(limit === undefined ? {} : { limit: Number(limit) }),
        ...(before === undefined ? {} : { beforeId: Number(before) }),
      });
      return { events };
    },
  );

  app.post<{ Body: { email: string } }>("/password-reset/request", { schema: bodyOf(["email"]) }, async (request, reply) => {
    await accounts.requestPasswordReset({ email: request.body.email, ip: request.ip });
    return reply.status(202).send(ACCEPTED);
  });

  app.post<{ Body: { key: string; newPassword: string } }>("/password-reset", { schema: bodyOf(["key", "newPassword"]) }, async (request, reply) => {
    await accounts.resetPassword({ ...request.body, ip: request.ip });
    clearSessionCookie(reply);
    return reply.status(204).send();
  });

  app.post<{ Body: { oldPassword: string; newPassword: string } }>(
    "/change-password",
    { schema: bodyOf(["oldPassword", "newPassword"]) },
    async (request, reply) => {
      const auth = await authenticateRequest(request);
      await accounts.changePassword({ userId: auth.user.id, keepSessionId: auth.session.id, ip: request.ip, ...request.body });
      return reply.status(204).send();
    },
  );
}
