/**
 * The accounts HTTP surface on PostgreSQL, PGlite and MariaDB: through fastify's inject and
 * through a real socket on 127.0.0.1. Real SMTP, no mocks.
 */
import Fastify from "fastify";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAccounts } from "../accounts/index.js";
import type { Accounts } from "../accounts/index.js";
import { DEVICE_COOKIE, SESSION_COOKIE, accountsPlugin, createServer } from "../server/index.js";
import { codeIn, resetKeyIn, startMailServer } from "./helpers/accounts-smtp.js";
import type { TestMailServer } from "./helpers/accounts-smtp.js";
import { FAST_SETTINGS, PASSWORD, createVerifiedUser, uniqueEmail } from "./helpers/accounts-fixtures.js";
import { testStores } from "./helpers/accounts-stores.js";

const stores = await testStores();

interface Cookie {
  readonly value: string;
  readonly attributes: readonly string[];
}

function cookiesOf(headers: string | string[] | undefined | null): Map<string, Cookie> {
  const list = headers === undefined || headers === null ? [] : Array.isArray(headers) ? headers : [headers];
  const cookies = new Map<string, Cookie>();
  for (const header of list) {
    const [pair = "", ...attributes] = header.split(/;\s*/);
    const eq = pair.indexOf("=");
    cookies.set(pair.slice(0, eq), { value: decodeURIComponent(pair.slice(eq + 1)), attributes });
  }
  return cookies;
}

function setCookies(response: LightMyRequestResponse): Map<string, Cookie> {
  return cookiesOf(response.headers["set-cookie"]);
}

describe.each(stores)("accounts HTTP on $name", (store) => {
  describe.skipIf(store.skipReason !== undefined)("server", () => {
    let accounts: Accounts;
    let mail: TestMailServer;
    let app: FastifyInstance;
    let drop: () => Promise<void>;

    const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
      app.inject({ method: "POST", url: `/accounts${url}`, payload, headers });
    const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: "GET", url: `/accounts${url}`, headers });
    const cookieHeader = (token: string, device?: string) => ({
      cookie: `${SESSION_COOKIE}=${token}${device === undefined ? "" : `; ${DEVICE_COOKIE}=${encodeURIComponent(device)}`}`,
    });

    async function signedIn(email: string, deviceName = "laptop"): Promise<{ token: string; response: LightMyRequestResponse }> {
      const response = await post("/sign-in", { email, password: PASSWORD, deviceName });
      expect(response.statusCode).toBe(200);
      const token = setCookies(response).get(SESSION_COOKIE)?.value ?? "";
      return { token, response };
    }

    beforeAll(async () => {
      mail = await startMailServer();
      const created = await store.create();
      drop = created.drop;
      accounts = await openAccounts({ store: created.config, mail: mail.mailConfig, settings: FAST_SETTINGS });
      app = await createServer({ accounts });
    });
    afterAll(async () => {
      await app?.close();
      await accounts?.close();
      await drop?.();
      await mail?.close();
    });

    it("runs sign-up, verification and sign-in with hardened cookies", async () => {
      const email = uniqueEmail("http");
      const signUp = await post("/sign-up", { email, password: PASSWORD, firstName: "Ada" });
      expect(signUp.statusCode).toBe(202);
      const code = codeIn(await mail.waitForMail(email));
      const early = await post("/sign-in", { email, password: PASSWORD, deviceName: "laptop" });
      expect(early.statusCode).toBe(403);
      const verified = await post("/verify-email", { email, code });
      expect(verified.statusCode).toBe(200);
      expect(verified.json().user.state).toBe("verified");

      const { token, response } = await signedIn(email, "Ada’s laptop");
      expect(response.json().token).toBeUndefined();
      expect(response.json().device.name).toBe("Ada’s laptop");
      const cookies = setCookies(response);
      const session = cookies.get(SESSION_COOKIE);
      expect(SESSION_COOKIE.startsWith("__Host-")).toBe(true);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(session?.attributes).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "Secure", "SameSite=Lax"]));
      expect(session?.attributes.some((a) => /^Domain=/i.test(a))).toBe(false);
      const expires = Date.parse(session?.attributes.find((a) => a.startsWith("Expires="))?.slice(8) ?? "");
      expect(expires).toBeGreaterThan(Date.now() + 29 * 86_400_000);
      const device = cookies.get(DEVICE_COOKIE);
      expect(device?.value).toBe("Ada’s laptop");
      expect(device?.attributes).toEqual(expect.arrayContaining(["Path=/", "Secure", "SameSite=Lax"]));
      expect(Date.parse(device?.attributes.find((a) => a.startsWith("Expires="))?.slice(8) ?? "")).toBeGreaterThan(Date.parse("9999-01-01"));

      const me = await get("/me", cookieHeader(token));
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ user: { email, firstName: "Ada" }, device: { name: "Ada’s laptop" } });
      expect(me.json().user.password_hash).toBeUndefined();
    });

    it("pre-fills the device from the device cookie and supports bearer tokens", async () => {
      const email = uniqueEmail("http-device");
      await createVerifiedUser(accounts, mail, email);
      const first = await signedIn(email, "tablet");
      const again = await post("/sign-in", { email, password: PASSWORD, returnToken: true }, { cookie: `${DEVICE_COOKIE}=tablet` });
      expect(again.statusCode).toBe(200);
      expect(again.json().device.id).toBe(first.response.json().device.id);
      const bearer = again.json().token as string;
      expect(bearer).toBe(setCookies(again).get(SESSION_COOKIE)?.value);
      expect((await get("/me", { authorization: `Bearer ${bearer}` })).statusCode).toBe(200);
      expect((await get("/me", cookieHeader(first.token))).statusCode).toBe(401);
      const fallback = await post("/sign-in", { email, password: PASSWORD });
      expect(fallback.json().device.name).toBe("Web browser");
    });

    it("lists, renames and revokes devices; sign-out clears the cookie", async () => {
      const email = uniqueEmail("http-devices");
      await createVerifiedUser(accounts, mail, email);
      const laptop = await signedIn(email, "laptop");
      const phone = await signedIn(email, "phone");
      const list = await get("/devices", cookieHeader(laptop.token));
      expect(list.json().devices.map((d: { name: string; current: boolean }) => [d.name, d.current])).toEqual([
        ["laptop", true],
        ["phone", false],
      ]);
      const laptopId = laptop.response.json().device.id as string;
      const phoneId = phone.response.json().device.id as string;
      const renamed = await app.inject({ method: "PATCH", url: `/accounts/devices/${laptopId}`, payload: { name: "work laptop" }, headers: cookieHeader(laptop.token) });
      expect(renamed.statusCode).toBe(200);
      expect(setCookies(renamed).get(DEVICE_COOKIE)?.value).toBe("work laptop");
      const clash = await app.inject({ method: "PATCH", url: `/accounts/devices/${phoneId}`, payload: { name: "work laptop" }, headers: cookieHeader(laptop.token) });
      expect(clash.statusCode).toBe(409);
      expect(clash.json().error.code).toBe("CONFLICT");
      const revoked = await app.inject({ method: "DELETE", url: `/accounts/devices/${phoneId}`, headers: cookieHeader(laptop.token) });
      expect(revoked.statusCode).toBe(204);
      expect((await get("/me", cookieHeader(phone.token))).statusCode).toBe(401);
      const missing = await app.inject({ method: "DELETE", url: `/accounts/devices/${phoneId}`, headers: cookieHeader(laptop.token) });
      expect(missing.statusCode).toBe(404);
      const out = await post("/sign-out", {}, cookieHeader(laptop.token));
      expect(out.statusCode).toBe(204);
      const cleared = setCookies(out).get(SESSION_COOKIE);
      expect(cleared?.value).toBe("");
      expect((await get("/me", cookieHeader(laptop.token))).statusCode).toBe(401);
      const none = await get("/devices");
      expect(none.statusCode).toBe(401);
      expect(none.json().error.code).toBe("UNAUTHENTICATED");
    });

    it("answers a wrong password and an unknown e-mail identically", async () => {
      const email = uniqueEmail("http-wrong");
      await createVerifiedUser(accounts, mail, email);
      const wrong = await post("/sign-in", { email, password: "not the password" });
      const unknown = await post("/sign-in", { email: uniqueEmail("http-nobody"), password: "not the password" });
      expect(wrong.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      expect(unknown.body).toBe(wrong.body);
      expect(wrong.body).not.toContain("not the password");
    });

    it("resets a password over HTTP with an identical answer for unknown addresses, killing sessions", async () => {
      const email = uniqueEmail("http-reset");
      await createVerifiedUser(accounts, mail, email);
      const session = await signedIn(email);
      const known = await post("/password-reset/request", { email });
      const unknown = await post("/password-reset/request", { email: uniqueEmail("http-reset-nobody") });
      expect(known.statusCode).toBe(202);
      expect(unknown.statusCode).toBe(202);
      expect(unknown.body).toBe(known.body);
      const key = resetKeyIn(await mail.waitForMail(email, 2));
      const reset = await post("/password-reset", { key, newPassword: "brand new password" });
      expect(reset.statusCode).toBe(204);
      expect((await get("/me", cookieHeader(session.token))).statusCode).toBe(401);
      const reused = await post("/password-reset", { key, newPassword: "another new password" });
      expect(reused.statusCode).toBe(401);
      expect(reused.json().error.code).toBe("INVALID_CREDENTIALS");
      expect((await post("/sign-in", { email, password: "brand new password" })).statusCode).toBe(200);
    });

    it("changes a password keeping the caller's session only", async () => {
      const email = uniqueEmail("http-change");
      await createVerifiedUser(accounts, mail, email);
      const mine = await signedIn(email, "mine");
      const other = await signedIn(email, "other");
      const wrong = await post("/change-password", { oldPassword: "wrong password", newPassword: "next password" }, cookieHeader(mine.token));
      expect(wrong.statusCode).toBe(401);
      const changed = await post("/change-password", { oldPassword: PASSWORD, newPassword: "next password" }, cookieHeader(mine.token));
      expect(changed.statusCode).toBe(204);
      expect((await get("/me", cookieHeader(mine.token))).statusCode).toBe(200);
      expect((await get("/me", cookieHeader(other.token))).statusCode).toBe(401);
      expect((await post("/change-password", { oldPassword: "x", newPassword: "next password" })).statusCode).toBe(401);
    });

    it("rejects malformed requests with typed JSON errors", async () => {
      const missing = await post("/sign-up", { email: uniqueEmail() });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().error.code).toBe("INVALID_ARGUMENT");
      const long = await post("/sign-up", { email: `${"a".repeat(300)}@example.com`, password: PASSWORD, firstName: "A" });
      expect(long.statusCode).toBe(400);
      expect(long.json().error.message).toMatch(/email is too long/);
      const form = await app.inject({ method: "POST", url: "/accounts/sign-in", payload: "email=a&password=b", headers: { "content-type": "application/x-www-form-urlencoded" } });
      expect(form.statusCode).toBe(415);
      const huge = await post("/sign-in", { email: uniqueEmail(), password: "p".repeat(100_000) });
      expect(huge.statusCode).toBe(413);
      const badJson = await app.inject({ method: "POST", url: "/accounts/sign-in", payload: "{", headers: { "content-type": "application/json" } });
      expect(badJson.statusCode).toBe(400);
      expect(badJson.json().error.code).toBe("BAD_REQUEST");
      const badId = await app.inject({ method: "DELETE", url: "/accounts/devices/x'; drop table account_users; --", headers: cookieHeader((await signedInFresh()).token) });
      expect(badId.statusCode).toBe(400);
    });

    async function signedInFresh(): Promise<{ token: string }> {
      const email = uniqueEmail("http-fresh");
      await createVerifiedUser(accounts, mail, email);
      return signedIn(email);
    }

    it("returns 429 with Retry-After when sign-in is throttled per IP", async () => {
      const tight = await openAccounts({
        database: accounts.database,
        mail: mail.mailConfig,
        migrate: false,
        settings: { ...FAST_SETTINGS, limits: { signIn: { perAccount: { points: 100, durationSec: 60 }, perIp: { points: 2, durationSec: 60 } } } },
      });
      const tightApp = await createServer({ accounts: tight });
      try {
        const attempt = (remoteAddress: string) =>
          tightApp.inject({ method: "POST", url: "/accounts/sign-in", payload: { email: uniqueEmail(), password: "wrong password" }, remoteAddress });
        expect((await attempt("192.0.2.7")).statusCode).toBe(401);
        expect((await attempt("192.0.2.7")).statusCode).toBe(401);
        const limited = await attempt("192.0.2.7");
        expect(limited.statusCode).toBe(429);
        expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
        expect(limited.json().error).toMatchObject({ code: "RATE_LIMITED" });
        expect(limited.json().error.retryAfterMs).toBeGreaterThan(0);
        expect((await attempt("192.0.2.8")).statusCode).toBe(401);
      } finally {
        await tightApp.close();
        await tight.close();
      }
    });

    it("serves over a real socket on 127.0.0.1", async () => {
      const live = await createServer({ accounts });
      const address = await live.listen({ host: "127.0.0.1", port: 0 });
      try {
        const email = uniqueEmail("socket");
        const json = { "content-type": "application/json" };
        const signUp = await fetch(`${address}/accounts/sign-up`, { method: "POST", headers: json, body: JSON.stringify({ email, password: PASSWORD, firstName: "Sock" }) });
        expect(signUp.status).toBe(202);
        const code = codeIn(await mail.waitForMail(email));
        expect((await fetch(`${address}/accounts/verify-email`, { method: "POST", headers: json, body: JSON.stringify({ email, code }) })).status).toBe(200);
        const signIn = await fetch(`${address}/accounts/sign-in`, { method: "POST", headers: json, body: JSON.stringify({ email, password: PASSWORD, deviceName: "socket" }) });
        expect(signIn.status).toBe(200);
        const cookies = cookiesOf(signIn.headers.getSetCookie());
        const token = cookies.get(SESSION_COOKIE)?.value ?? "";
        const me = await fetch(`${address}/accounts/me`, { headers: { cookie: `${SESSION_COOKIE}=${token}` } });
        expect(me.status).toBe(200);
        expect(((await me.json()) as { device: { name: string } }).device.name).toBe("socket");
        expect((await fetch(`${address}/health`)).status).toBe(200);
      } finally {
        await live.close();
      }
    });

    it("works as a plugin inside another server (how the sync server reuses it)", async () => {
      const host = Fastify();
      await host.register(accountsPlugin, { accounts, routePrefix: "/auth" });
      host.get("/sync/whoami", async (request) => {
        const auth = await host.authenticateRequest(request);
        return { userId: auth.user.id, device: auth.device.name };
      });
      try {
        const email = uniqueEmail("plugin");
        await createVerifiedUser(accounts, mail, email);
        const signIn = await host.inject({ method: "POST", url: "/auth/sign-in", payload: { email, password: PASSWORD, deviceName: "sync" } });
        expect(signIn.statusCode).toBe(200);
        const token = setCookies(signIn).get(SESSION_COOKIE)?.value ?? "";
        const who = await host.inject({ method: "GET", url: "/sync/whoami", headers: { authorization: `Bearer ${token}` } });
        expect(who.statusCode).toBe(200);
        expect(who.json().device).toBe("sync");
        expect(host.accounts).toBe(accounts);
      } finally {
        await host.close();
      }
    });
  });
});
