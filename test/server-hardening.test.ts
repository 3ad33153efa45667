/**
 * The sync and accounts server against hostile clients (issue 16), over real HTTP and WebSocket on
 * 127.0.0.1, with ops and accounts on Postgres and on PGlite: byte-capped pull pages, unstorable
 * text and deep nesting refused, common passwords refused, no pending-account takeover, device
 * rebinding, socket caps and pings, per-user re-checks, strict schemas, no-store answers, idle
 * sessions, quotas, bound actors and the audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Accounts, StoreConfig } from "../accounts/index.js";
import type { Engine } from "../index.js";
import type { Storage } from "../storage/contract.js";
import { pglite } from "../storage/pglite/index.js";
import { postgres } from "../storage/postgres/index.js";
import { createSyncClient, encodeHlc, httpTransport, LIMITS, SyncError, type WireOp } from "../sync/index.js";
import { PASSWORD } from "./helpers/accounts-fixtures.js";
import { backends, postgresUnavailable, throwawayDatabase } from "./helpers/backends.js";
import { startSyncServer, type SyncServerOptions, type TestDevice, type TestSyncServer } from "./helpers/sync-fixtures.js";

const noPostgres = await postgresUnavailable();
if (noPostgres) console.warn(`[logbook tests] skipping the Postgres half of the hardening tests: ${noPostgres}`);

/** Where a test server keeps ops and accounts: both on PGlite, or both on one Postgres database. */
const stores = [
  { name: "postgres", skip: noPostgres !== undefined },
  { name: "pglite", skip: false },
] as const;

interface Answer {
  readonly error: { readonly code: string; readonly message: string };
  readonly ops: (WireOp & { serverSeq: number })[];
  readonly more: boolean;
  readonly accepted: number;
  readonly duplicates: number;
}

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

let counter = 0;
/** Ops of one (made-up) engine device, as a client would push them. */
function rawOps(device: string, n: number, data: (i: number) => Record<string, unknown> = () => ({ content: "x" })): WireOp[] {
  const wall = Date.now();
  return Array.from({ length: n }, (_, i) => {
    counter++;
    return { opId: `${device}.${counter}`, kind: "update", oid: `o${counter}`, hlc: encodeHlc({ wall, counter, device }), at: wall, actor: null, device, data: data(i) } as WireOp;
  });
}
const newDevice = () => crypto.randomUUID();
const newSpace = () => crypto.randomUUID();

describe.each(stores)("server hardening, ops and accounts on $name", (store) => {
  const cleanups: (() => Promise<void>)[] = [];
  const engines: Engine[] = [];

  /** A server on this store kind (its own database, dropped afterwards). */
  async function server(options: Omit<SyncServerOptions, "storage" | "accountsStore"> = {}): Promise<TestSyncServer> {
    let storage: Storage;
    let accountsStore: StoreConfig;
    if (store.name === "postgres") {
      const db = await throwawayDatabase();
      storage = await postgres({ connectionString: db.url }).open();
      accountsStore = { kind: "postgres", url: db.url };
      cleanups.push(db.drop);
    } else {
      storage = await pglite().open();
      accountsStore = { kind: "pglite" };
    }
    const s = await startSyncServer({ revalidateMs: 60_000, ...options, storage, accountsStore });
    cleanups.push(() => storage.close());
    cleanups.push(() => s.close());
    return s;
  }

  afterAll(async () => {
    for (const e of engines) await e.close();
    for (const c of cleanups.reverse()) await c();
  });

  describe.skipIf(store.skip)("one server", () => {
    let s: TestSyncServer;
    let me: TestDevice;
    const post = (path: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${s.url}${path}`, {
        method: "POST",
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    const get = (path: string, token?: string) => fetch(`${s.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const json = async (r: Response | Promise<Response>): Promise<Answer> => (await (await r).json()) as Answer;
    // Spaces are created and devices registered before pushing (each once; refusals are the push's to report).
    const ready = new Set<string>();
    const prepare = async (space: string, token: string, device: string) => {
      if (ready.has(`${space}|${token}|${device}`)) return;
      ready.add(`${space}|${token}|${device}`);
      await post("/sync/spaces", token, { spaceId: space });
      await post(`/sync/devices/${device}/bind`, token, {});
    };
    const push = async (space: string, token: string, device: string, ops: unknown[]) => {
      await prepare(space, token, device);
      return post(`/sync/${space}/push`, token, { device, ops });
    };

    beforeAll(async () => {
      s = await server();
      me = await s.signIn("laptop");
    });

    it("cuts pull pages at 1 MiB of ops and says more, whatever the limit asked", async () => {
      const space = newSpace();
      const device = newDevice();
      const big = "y".repeat(40_000);
      const ops = rawOps(device, 48, (i) => ({ content: `${i}:${big}` }));
      for (let i = 0; i < ops.length; i += 12) expect((await push(space, me.token, device, ops.slice(i, i + 12))).status).toBe(200);
      const seen: number[] = [];
      let after = 0;
      let pages = 0;
      for (;;) {
        const r = await get(`/sync/${space}/pull?after=${after}&limit=1000`, me.token);
        const text = await r.text();
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMITS.maxPullBytes + 16 * 1024);
        const page = JSON.parse(text) as Answer;
        pages++;
        seen.push(...page.ops.map((op) => op.serverSeq));
        if (!page.more) break;
        expect(page.ops.length).toBeGreaterThan(0);
        after = page.ops.at(-1)!.serverSeq;
      }
      expect(pages).toBeGreaterThanOrEqual(2);
      expect(seen).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    });

    it("refuses NUL characters and unpaired surrogates anywhere in an op with 400 BAD_BATCH naming the field, storing nothing", async () => {
      const space = newSpace();
      const device = newDevice();
      const op = () => rawOps(device, 1)[0]!;
      const cases: [WireOp, RegExp][] = [
        [{ ...op(), data: { content: "a\u0000b" } }, /ops\[0\]\.data\.content contains a NUL/],
        [{ ...op(), data: { props: { "k\u0000": 1 } } }, /ops\[0\]\.data\.props key .* contains a NUL/],
        [{ ...op(), data: { props: { tag: ["ok", "half \ud800 pair"] } } }, /ops\[0\]\.data\.props\.tag\[1\] contains an unpaired surrogate/],
        [{ ...op(), oid: "o\udc00" }, /ops\[0\]\.oid contains an unpaired surrogate/],
        [{ ...op(), opId: `${device}.1\u0000` }, /ops\[0\]\.opId contains a NUL/],
      ];
      for (const [bad, message] of cases) {
        const r = await push(space, me.token, device, [bad]);
        const body = await json(r);
        expect([r.status, body.error?.code], JSON.stringify(bad)).toEqual([400, "BAD_BATCH"]);
        expect(body.error.message).toMatch(message);
      }
      expect((await json(get(`/sync/${space}/pull`, me.token))).ops).toHaveLength(0);
      // Well-formed text outside the BMP is fine.
      expect((await push(space, me.token, device, [{ ...op(), data: { content: "ok 😀 \u2028" } }])).status).toBe(200);
    });

    it("answers 400 for op data nested too deep (5,000 levels and 65), 200 within the bound", async () => {
      const space = newSpace();
      const device = newDevice();
      const [op] = rawOps(device, 1);
      // Built as text: serializing 5,000 levels is what overflowed the server's stack.
      const nested = (depth: number) => `{"device":"${device}","ops":[${JSON.stringify(op).replace('"data":{"content":"x"}', `"data":{"x":${"[".repeat(depth)}${"]".repeat(depth)}}`)}]}`;
      await prepare(space, me.token, device);
      for (const depth of [5_000, 65]) {
        const r = await post(`/sync/${space}/push`, me.token, nested(depth));
        const body = await json(r);
        expect([r.status, body.error?.code], `depth ${depth}`).toEqual([400, "BAD_BATCH"]);
        expect(body.error.message).toMatch(/nests deeper than 64 levels/);
      }
      expect((await post(`/sync/${space}/push`, me.token, nested(60))).status).toBe(200);
    });

    it("binds each op's actor to the signed-in user", async () => {
      const space = newSpace();
      const device = newDevice();
      const [a, b, c] = rawOps(device, 3);
      const forged = await push(space, me.token, device, [{ ...a!, actor: "someone-else" }]);
      expect(forged.status).toBe(403);
      expect((await json(forged)).error).toMatchObject({ code: "FORGED", message: expect.stringMatching(/ops\[0\]\.actor "someone-else"/) });
      expect((await push(space, me.token, device, [{ ...b!, actor: null }, { ...c!, actor: me.userId }])).status).toBe(200);
      const page = await json(get(`/sync/${space}/pull`, me.token));
      expect(page.ops.map((op) => op.actor)).toEqual([me.userId, me.userId]);
    });

    it("refuses unknown fields and wrongly typed values instead of dropping or coercing them", async () => {
      const extra = await post("/accounts/sign-up", undefined, { email: `x-${newDevice()}@example.com`, password: PASSWORD, firstName: "Ada", isAdmin: true });
      expect(extra.status).toBe(400);
      expect((await json(extra)).error.code).toBe("INVALID_ARGUMENT");
      const number = await post("/accounts/sign-in", undefined, { email: me.email, password: 12345678 });
      expect(number.status).toBe(400);
      expect((await json(number)).error.code).toBe("INVALID_ARGUMENT");
      const text = await post("/accounts/sign-in", undefined, { email: me.email, password: PASSWORD, returnToken: "true" });
      expect(text.status).toBe(400);
      const space = newSpace();
      for (const q of ["after=", "after=%20", "after=1e3", "limit=0x10", "limit=1.0"]) {
        expect((await get(`/sync/${space}/pull?${q}`, me.token)).status, q).toBe(400);
      }
    });

    it("answers sign-in, /me, devices and pulls with Cache-Control: no-store", async () => {
      const signIn = await post("/accounts/sign-in", undefined, { email: me.email, password: PASSWORD, deviceName: "cache test", returnToken: true });
      expect(signIn.status).toBe(200);
      expect(signIn.headers.get("cache-control")).toBe("no-store");
      const token = ((await signIn.json()) as { token: string }).token;
      const space = newSpace();
      expect((await post("/sync/spaces", token, { spaceId: space })).headers.get("cache-control")).toBe("no-store");
      for (const path of ["/accounts/me", "/accounts/devices", `/sync/${space}/pull`]) {
        const r = await get(path, token);
        expect(r.status, path).toBe(200);
        expect(r.headers.get("cache-control"), path).toBe("no-store");
      }
      expect((await get("/accounts/me")).headers.get("cache-control")).toBe("no-store");
    });

    it("refuses the most common passwords at sign-up, password reset and password change", async () => {
      for (const common of ["password", "12345678", "qwertyuiop", "Password1"]) {
        const r = await post("/accounts/sign-up", undefined, { email: `common-${newDevice()}@example.com`, password: common, firstName: "Ada" });
        const body = await json(r);
        expect([r.status, body.error.code], common).toEqual([400, "INVALID_ARGUMENT"]);
        expect(body.error.message).toMatch(/most common passwords/);
        expect(body.error.message).not.toContain(`"${common}"`); // never quoted back
      }
      const user = await s.signIn("common-pw");
      const change = await post("/accounts/change-password", user.token, { oldPassword: PASSWORD, newPassword: "qwertyuiop" });
      expect([change.status, (await json(change)).error.code]).toEqual([400, "INVALID_ARGUMENT"]);
      expect((await post("/accounts/password-reset/request", undefined, { email: user.email })).status).toBe(202);
      await s.accounts.drainMail();
      const key = /reset key is:\s+(\S{43})/.exec(s.mail.textsTo(user.email).at(-1) ?? "")![1]!;
      const reset = await post("/accounts/password-reset", undefined, { key, newPassword: "12345678" });
      expect([reset.status, (await json(reset)).error.code]).toEqual([400, "INVALID_ARGUMENT"]);
      expect((await post("/accounts/password-reset", undefined, { key, newPassword: "a far less common passphrase" })).status).toBe(204);
    });

    it("keeps a pending account from a second sign-up: no takeover, and no chosen text in mail to the unproven address", async () => {
      const email = `pending-${newDevice()}@example.com`;
      const mails = () => s.mail.textsTo(email);
      const code = async () => {
        await s.accounts.drainMail();
        return /verification code is:\s+(\d{6})/.exec(mails().at(-1) ?? "")?.[1];
      };
      expect((await post("/accounts/sign-up", undefined, { email, password: PASSWORD, firstName: "Ada" })).status).toBe(202);
      const victimCode = await code();
      expect(victimCode).toMatch(/^\d{6}$/);
      const attack = await post("/accounts/sign-up", undefined, { email, password: "attacker password", firstName: "Click evil.example/claim now" });
      expect(attack.status).toBe(202);
      await s.accounts.drainMail();
      expect(mails().join("\n")).not.toMatch(/evil\.example|Ada/);
      // Whatever the mailbox owner enters now, the attacker's password never opens the account.
      const latest = await code();
      for (const c of [victimCode, latest]) {
        if (c !== undefined) await post("/accounts/verify-email", undefined, { email, code: c });
      }
      const attackerIn = await post("/accounts/sign-in", undefined, { email, password: "attacker password" });
      expect(attackerIn.status).toBe(401);
      // The owner takes the address with the key mailed after the second sign-up.
      const key = /reset key is:\s+(\S{43})/.exec(mails().at(-1) ?? "")?.[1];
      expect(key).toBeDefined();
      expect((await post("/accounts/password-reset", undefined, { key, newPassword: PASSWORD })).status).toBe(204);
      expect((await post("/accounts/sign-in", undefined, { email, password: PASSWORD })).status).toBe(200);
      expect((await post("/accounts/sign-in", undefined, { email, password: "attacker password" })).status).toBe(401);

      // A sign-up repeated with the same password (a double submit) just gets a fresh code.
      const again = `again-${newDevice()}@example.com`;
      await post("/accounts/sign-up", undefined, { email: again, password: PASSWORD, firstName: "Bo" });
      await post("/accounts/sign-up", undefined, { email: again, password: PASSWORD, firstName: "Bo" });
      await s.accounts.drainMail();
      const fresh = /verification code is:\s+(\d{6})/.exec(s.mail.textsTo(again).at(-1) ?? "")![1]!;
      expect((await post("/accounts/verify-email", undefined, { email: again, code: fresh })).status).toBe(200);
      expect((await post("/accounts/sign-in", undefined, { email: again, password: PASSWORD })).status).toBe(200);
    });

    it("keeps an audit trail of sign-in, failures, revocation, password change and reset, each user reading their own", async () => {
      const signIn = async (email: string, password: string, deviceName: string) =>
        (await (await post("/accounts/sign-in", undefined, { email, password, deviceName, returnToken: true })).json()) as { token: string; device: { id: string } };
      const user = await s.signIn("audit-a");
      await s.signIn("other-user-device"); // another user, whose events must not show
      expect((await post("/accounts/sign-in", undefined, { email: user.email, password: "not the password" })).status).toBe(401);
      const b = await signIn(user.email, PASSWORD, "audit-b");
      expect((await fetch(`${s.url}/accounts/devices/${b.device.id}`, { method: "DELETE", headers: { authorization: `Bearer ${user.token}` } })).status).toBe(204);
      expect((await post("/accounts/change-password", user.token, { oldPassword: PASSWORD, newPassword: "the second passphrase" })).status).toBe(204);
      await post("/accounts/password-reset/request", undefined, { email: user.email });
      await s.accounts.drainMail();
      const key = /reset key is:\s+(\S{43})/.exec(s.mail.textsTo(user.email).at(-1) ?? "")![1]!;
      expect((await post("/accounts/password-reset", undefined, { key, newPassword: "the third passphrase" })).status).toBe(204);
      const c = await signIn(user.email, "the third passphrase", "audit-c");
      const r = await get("/accounts/audit", c.token);
      expect(r.status).toBe(200);
      expect(r.headers.get("cache-control")).toBe("no-store");
      const { events } = (await r.json()) as { events: { event: string; userId: string; deviceId: string | null; ip: string | null }[] };
      expect(events.map((e) => e.event)).toEqual([
        "sign-in",
        "password-reset",
        "password-reset-requested",
        "password-changed",
        "device-revoked",
        "sign-in",
        "sign-in-failed",
        "sign-in",
      ]);
      expect(events.every((e) => e.userId === user.userId)).toBe(true);
      // Every event but the first sign-in (made through the library, without an address) came over HTTP.
      expect(events.map((e) => e.ip)).toEqual([...Array(7).fill("127.0.0.1"), null]);
      expect(events[4]!.deviceId).toBe(b.device.id);
      // The administration reads everyone's, newest first.
      const all = await s.accounts.auditTrail({ limit: 1000 });
      expect(all.length).toBeGreaterThan(events.length);
      expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((x, y) => y - x));
      expect((await get("/accounts/audit?limit=0", c.token)).status).toBe(400);
      expect((await get("/accounts/audit")).status).toBe(401);
    });
  });

  describe.skipIf(store.skip)("a device whose accounts device was revoked", () => {
    it("rebinds its engine device after signing in again, and its offline edits reach the server", async () => {
      const s = await server();
      const laptop = await s.signIn("laptop");
      const phone = await s.signIn("phone", laptop.email);
      const fresh = await backends[0]!.fresh();
      const engine = fresh.engine;
      engines.push(engine);
      const { spaceId } = await engine.createSpace();
      const doc = await engine.createDocument(spaceId, { content: "Notes" });
      const first = createSyncClient({ engine, spaceId, transport: httpTransport({ baseUrl: s.url, token: laptop.token }), create: true });
      await first.sync();
      // Offline edits, then the laptop's accounts device is revoked from the phone.
      await engine.create(spaceId, { parentOid: doc.oid, content: "written offline" });
      await engine.update(spaceId, doc.oid, { content: "Notes (edited offline)" });
      const revoke = await fetch(`${s.url}/accounts/devices/${laptop.accountDeviceId}`, { method: "DELETE", headers: { authorization: `Bearer ${phone.token}` } });
      expect(revoke.status).toBe(204);
      await expect(first.sync()).rejects.toMatchObject({ code: "UNAUTHENTICATED" });

      // Signed in again: a new accounts device. Pushing with it is refused until the engine's device
      // is bound to it; another user cannot take the device meanwhile.
      const again = await s.signIn("laptop", laptop.email);
      expect(again.accountDeviceId).not.toBe(laptop.accountDeviceId);
      const ops = (await engine.logSince(spaceId, { device: engine.deviceId })).slice(-2).map(({ serverSeq: _s, ...op }) => op);
      const early = await fetch(`${s.url}/sync/${spaceId}/push`, { method: "POST", headers: { authorization: `Bearer ${again.token}`, "content-type": "application/json" }, body: JSON.stringify({ device: engine.deviceId, ops }) });
      expect(((await early.json()) as Answer).error.code).toBe("FORGED");
      const mallory = await s.signIn("mallory");
      await expect(httpTransport({ baseUrl: s.url, token: mallory.token }).bind!(engine.deviceId)).rejects.toMatchObject({ code: "FORGED" });
      // A client registers its device as its first round begins: the revoked binding passes to the new one.
      const second = createSyncClient({ engine, spaceId, transport: httpTransport({ baseUrl: s.url, token: again.token }) });
      expect((await second.sync()).pushed).toBe(2);
      // Not a device of this user while the bound one is active.
      await expect(httpTransport({ baseUrl: s.url, token: phone.token }).bind!(engine.deviceId)).rejects.toMatchObject({ code: "CONFLICT" });
      await second.rebind();

      const other = await backends[0]!.fresh();
      engines.push(other.engine);
      await other.engine.createSpace({ spaceId });
      await createSyncClient({ engine: other.engine, spaceId, transport: httpTransport({ baseUrl: s.url, token: phone.token }) }).sync();
      const view = await other.engine.view(spaceId, doc.oid);
      expect(view.rows.map((r) => r.content)).toEqual(["written offline"]);
      expect((await other.engine.get(spaceId, doc.oid)).content).toBe("Notes (edited offline)");
      expect((await other.engine.get(spaceId, doc.oid)).vid).toBe((await engine.get(spaceId, doc.oid)).vid);
    });
  });

  describe.skipIf(store.skip)("sockets", () => {
    it("caps sockets per user, drops a socket that stops answering pings, and re-checks only the affected user's sockets", async () => {
      let checks = 0;
      const counting = (a: Accounts): Accounts => ({
        ...a,
        authenticate: (token) => {
          checks++;
          return a.authenticate(token);
        },
      });
      const s = await server({ wrapAccounts: counting, sync: { maxSocketsPerUser: 3, pingMs: 150 } });
      const a = await s.signIn("a-laptop");
      const spaceA = newSpace();
      await fetch(`${s.url}/sync/spaces`, { method: "POST", headers: { authorization: `Bearer ${a.token}`, "content-type": "application/json" }, body: JSON.stringify({ spaceId: spaceA }) });
      const open = (token: string, options: WebSocket.ClientOptions = {}, space = spaceA) =>
        new WebSocket(`${s.url.replace("http", "ws")}/sync/ws?spaces=${space}`, { ...options, headers: { authorization: `Bearer ${token}` } });
      const opened = (socket: WebSocket) =>
        new Promise<number>((resolve) => {
          socket.on("open", () => resolve(101));
          socket.on("unexpected-response", (_q, r) => resolve(r.statusCode ?? 0));
        });
      const mine = [open(a.token), open(a.token), open(a.token)];
      expect(await Promise.all(mine.map(opened))).toEqual([101, 101, 101]);
      const fourth = open(a.token);
      expect(await opened(fourth)).toBe(429);
      await until(() => s.app.syncHub.size() === 3);

      // Another user signs in and out through the accounts routes: A's sockets are not re-checked.
      checks = 0;
      const email = `b-${newDevice()}@example.com`;
      await s.signIn("b-phone", email);
      const b = (await (await fetch(`${s.url}/accounts/sign-in`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD, deviceName: "b-laptop", returnToken: true }) })).json()) as { token: string };
      expect((await fetch(`${s.url}/accounts/sign-out`, { method: "POST", headers: { authorization: `Bearer ${b.token}`, "content-type": "application/json" }, body: "{}" })).status).toBe(204);
      await new Promise((r) => setTimeout(r, 300));
      expect(checks).toBe(0);

      // A client that never answers pings is dropped; the ones that answer stay.
      const tablet = (await s.signIn("b-tablet", email)).token;
      const spaceB = newSpace();
      await fetch(`${s.url}/sync/spaces`, { method: "POST", headers: { authorization: `Bearer ${tablet}`, "content-type": "application/json" }, body: JSON.stringify({ spaceId: spaceB }) });
      const deaf = open(tablet, { autoPong: false }, spaceB);
      expect(await opened(deaf)).toBe(101);
      await until(() => s.app.syncHub.size() === 4);
      const closed = new Promise<number>((resolve) => deaf.on("close", (code) => resolve(code)));
      expect(await closed).toBe(1006);
      await until(() => s.app.syncHub.size() === 3);
      await new Promise((r) => setTimeout(r, 500));
      expect(mine.every((w) => w.readyState === WebSocket.OPEN)).toBe(true);

      // A revocation of A's device closes A's sockets at once, re-checking only them.
      checks = 0;
      const revoke = await fetch(`${s.url}/accounts/devices/${a.accountDeviceId}`, { method: "DELETE", headers: { authorization: `Bearer ${(await s.signIn("a-phone", a.email)).token}` } });
      expect(revoke.status).toBe(204);
      await until(() => mine.every((w) => w.readyState === WebSocket.CLOSED));
      expect(checks).toBeLessThanOrEqual(1 + 3); // the DELETE's own session check, then A's three sockets
      for (const w of mine) w.terminate();
    });
  });

  describe.skipIf(store.skip)("idle sessions", () => {
    it("refuses a session unused for longer than the idle timeout; use keeps it alive", async () => {
      let offset = 0;
      const s = await server({ settings: { sessionIdleMs: 60_000, lastSeenResolutionMs: 1_000 }, now: () => Date.now() + offset });
      const user = await s.signIn("idle");
      const me = () => fetch(`${s.url}/accounts/me`, { headers: { authorization: `Bearer ${user.token}` } });
      offset += 40_000;
      expect((await me()).status).toBe(200);
      offset += 40_000; // 80 s after sign-in, 40 s after the last use
      expect((await me()).status).toBe(200);
      offset += 61_000;
      const idle = await me();
      expect(idle.status).toBe(401);
      expect(((await idle.json()) as Answer).error.code).toBe("UNAUTHENTICATED");
      expect(s.accounts.settings.sessionIdleMs).toBe(60_000);
    });
  });

  describe.skipIf(store.skip)("quotas", () => {
    it("refuses spaces and pushes past a user's space and op quotas with 403 QUOTA_EXCEEDED, changing nothing", async () => {
      const s = await server({ sync: { quotas: { spacesPerUser: 2, opsPerUser: 10 } } });
      const user = await s.signIn("quota");
      const device = newDevice();
      const [one, two, three] = [newSpace(), newSpace(), newSpace()];
      const call = (path: string, body: unknown) =>
        fetch(`${s.url}/sync/${path}`, { method: "POST", headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      const push = (space: string, ops: WireOp[]) => call(`${space}/push`, { device, ops });
      expect((await call(`devices/${device}/bind`, {})).status).toBe(200);
      expect((await call("spaces", { spaceId: one })).status).toBe(201);
      expect((await call("spaces", { spaceId: two })).status).toBe(201);
      const third = await call("spaces", { spaceId: three });
      expect(third.status).toBe(403);
      expect(((await third.json()) as Answer).error).toMatchObject({ code: "QUOTA_EXCEEDED", message: expect.stringMatching(/2 spaces; the quota is 2/) });
      expect((await call("spaces", { spaceId: one })).status).toBe(200);
      expect((await push(three, rawOps(device, 1))).status).toBe(404);
      const first = rawOps(device, 1);
      expect((await push(one, first)).status).toBe(200);
      expect((await push(two, rawOps(device, 1))).status).toBe(200);
      expect((await push(one, rawOps(device, 8))).status).toBe(200);
      const over = await push(one, rawOps(device, 1));
      expect(over.status).toBe(403);
      expect(((await over.json()) as Answer).error.code).toBe("QUOTA_EXCEEDED");
      // A retried push of stored ops is still answered.
      expect(((await (await push(one, first)).json()) as Answer).duplicates).toBe(1);
      const page = (await (await fetch(`${s.url}/sync/${one}/pull`, { headers: { authorization: `Bearer ${user.token}` } })).json()) as Answer;
      expect(page.ops).toHaveLength(9);
      const client = createSyncClient({
        engine: (await (async () => {
          const f = await backends[0]!.fresh();
          engines.push(f.engine);
          await f.engine.createSpace({ spaceId: three });
          await f.engine.createDocument(three, { content: "over quota" });
          return f.engine;
        })()),
        spaceId: three,
        transport: httpTransport({ baseUrl: s.url, token: user.token }),
        create: true,
      });
      const error = await client.sync().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(SyncError);
      expect((error as SyncError).code).toBe("QUOTA_EXCEEDED");
    });
  });
});
