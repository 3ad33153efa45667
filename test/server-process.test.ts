/**
 * The runnable servers as processes (`npm run accounts:server`, `npm run sync:server`), black-box
 * over HTTP (issue 16): the client address behind a proxy (TRUST_PROXY trusts exactly its hops or
 * its addresses, in both servers), and the defaults: stores persisted in a data directory created
 * when missing and named at start, requests logged, mail without SMTP withheld instead of printed.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHlc } from "../sync/index.js";
import { PASSWORD } from "./helpers/accounts-fixtures.js";
import { startMailServer, codeIn, type TestMailServer } from "./helpers/accounts-smtp.js";
import { postgresUnavailable, throwawayDatabase } from "./helpers/backends.js";
import { run, type Proc } from "./helpers/server-process.js";

const noPostgres = await postgresUnavailable();
if (noPostgres) console.warn(`[logbook tests] skipping the server process tests on Postgres: ${noPostgres}`);

const running: Proc[] = [];
afterAll(async () => {
  for (const p of running) {
    p.child.kill("SIGKILL");
    await p.exited;
  }
});

/** Starts a server script and waits until it listens. */
async function start(script: string, env: Record<string, string>): Promise<{ proc: Proc; url: string }> {
  const proc = run(script, [], { PORT: "0", LOG_LEVEL: "info", ...env });
  running.push(proc);
  const url = (await proc.line(/^listening (\S+)/))[1]!;
  return { proc, url };
}

async function stop(proc: Proc): Promise<void> {
  proc.child.kill("SIGTERM");
  await proc.exited;
}

/** POST JSON as if through a proxy that appended the client's address to `X-Forwarded-For`. */
const post = (url: string, body: unknown, forwardedFor?: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }) },
    body: JSON.stringify(body),
  });
const someone = (i: number) => ({ email: `nobody-${i}-${Math.random().toString(36).slice(2, 8)}@example.com` });

describe.skipIf(noPostgres !== undefined)("client address behind a proxy (Postgres)", () => {
  let db: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await throwawayDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  for (const trust of ["1", "127.0.0.1"]) {
    it(`accounts:server with TRUST_PROXY=${trust} keys the mail budget on the proxy's client address, not on what the client wrote`, async () => {
      const { proc, url } = await start("server/accounts-server.ts", { ACCOUNTS_STORE: db.url, TRUST_PROXY: trust });
      try {
        const statuses: number[] = [];
        // Each request claims a fresh address; the proxy appends the real one, 203.0.113.9.
        for (let i = 0; i < 35; i++) statuses.push((await post(`${url}/accounts/resend-verification`, someone(i), `198.51.100.${i}, 203.0.113.9`)).status);
        expect(statuses.slice(0, 30)).toEqual(Array(30).fill(202));
        expect(statuses.slice(30)).toEqual(Array(5).fill(429));
      } finally {
        await stop(proc);
      }
    });
  }

  it("sync:server honours TRUST_PROXY: one client behind the proxy spending its budget does not throttle another", async () => {
    const { proc, url } = await start("server/sync-server.ts", { SYNC_STORE: db.url, ACCOUNTS_STORE: db.url, TRUST_PROXY: "1" });
    try {
      const a: number[] = [];
      for (let i = 0; i < 31; i++) a.push((await post(`${url}/accounts/resend-verification`, someone(i), "203.0.113.1")).status);
      expect(a.slice(0, 30)).toEqual(Array(30).fill(202));
      expect(a[30]).toBe(429);
      expect((await post(`${url}/accounts/resend-verification`, someone(99), "203.0.113.2")).status).toBe(202);
    } finally {
      await stop(proc);
    }
  });

  it("refuses to start with TRUST_PROXY=true (every hop trusted) or a malformed address", async () => {
    for (const bad of ["true", "proxy.example.com"]) {
      const proc = run("server/sync-server.ts", [], { SYNC_STORE: db.url, PORT: "0", TRUST_PROXY: bad });
      running.push(proc);
      expect(await proc.exited).toBe(2);
      expect(proc.stderr()).toMatch(/trust/i);
      expect(proc.lines.some((l) => l.startsWith("listening"))).toBe(false);
    }
  });
});

describe("safe defaults of the runnable servers", () => {
  let dir: string;
  let mail: TestMailServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "logbook-server-"));
    mail = await startMailServer();
  });
  afterAll(async () => {
    await mail?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("accounts:server creates its missing data directory, says so, and starts", async () => {
    const dataDir = join(dir, "accounts-only", "nested", "data");
    const { proc } = await start("server/accounts-server.ts", { DATA_DIR: dataDir });
    try {
      expect(proc.lines).toContain(`accounts store: pglite:${join(dataDir, "accounts")} (data directory created)`);
      expect(existsSync(join(dataDir, "accounts"))).toBe(true);
    } finally {
      await stop(proc);
    }
  });

  it("sync:server keeps accounts and ops in a data directory across restarts, logs requests, and never prints mail without SMTP", async () => {
    const dataDir = join(dir, "sync", "data");
    const env = { DATA_DIR: dataDir };
    const smtp = mail.mailConfig.transport as { host: string; port: number };
    // First run: mail through a real SMTP server, so the test can verify an account.
    let server = await start("server/sync-server.ts", { ...env, SMTP_URL: `smtp://${smtp.host}:${smtp.port}` });
    expect(server.proc.lines).toEqual(
      expect.arrayContaining([
        `accounts store: pglite:${join(dataDir, "accounts")} (data directory created)`,
        `sync store: pglite:${join(dataDir, "sync")} (data directory created)`,
      ]),
    );
    const email = `persist-${Math.random().toString(36).slice(2, 8)}@example.com`;
    expect((await post(`${server.url}/accounts/sign-up`, { email, password: PASSWORD, firstName: "Ada" })).status).toBe(202);
    const code = codeIn(await mail.waitForMail(email));
    expect((await post(`${server.url}/accounts/verify-email`, { email, code })).status).toBe(200);
    const signIn = async (url: string) => {
      const r = await post(`${url}/accounts/sign-in`, { email, password: PASSWORD, deviceName: "laptop", returnToken: true });
      expect(r.status).toBe(200);
      return ((await r.json()) as { token: string }).token;
    };
    const token = await signIn(server.url);
    const space = crypto.randomUUID();
    const device = crypto.randomUUID();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    expect((await fetch(`${server.url}/sync/spaces`, { method: "POST", headers: auth, body: JSON.stringify({ spaceId: space }) })).status).toBe(201);
    expect((await fetch(`${server.url}/sync/devices/${device}/bind`, { method: "POST", headers: auth, body: "{}" })).status).toBe(200);
    const op = { opId: `${device}.1`, kind: "update", oid: "o1", hlc: encodeHlc({ wall: Date.now(), counter: 1, device }), at: Date.now(), actor: null, device, data: { content: "kept" } };
    const pushed = await fetch(`${server.url}/sync/${space}/push`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ device, ops: [op] }) });
    expect(pushed.status).toBe(200);
    // Requests are logged (fastify's pino logger, JSON lines on stdout).
    await new Promise((r) => setTimeout(r, 200));
    const logged = server.proc.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { msg?: string; res?: { statusCode?: number } });
    expect(logged.some((l) => l.msg === "request completed" && l.res?.statusCode === 200)).toBe(true);
    await stop(server.proc);

    // Second run, same directory, no SMTP: everything is still there; mail is withheld, not printed.
    server = await start("server/sync-server.ts", env);
    expect(server.proc.lines).toContain(`sync store: pglite:${join(dataDir, "sync")}`);
    expect(server.proc.lines.some((l) => /^mail: not sent/.test(l))).toBe(true);
    const again = await signIn(server.url);
    const page = (await (await fetch(`${server.url}/sync/${space}/pull`, { headers: { authorization: `Bearer ${again}` } })).json()) as { ops: { data: unknown }[] };
    expect(page.ops.map((o) => o.data)).toEqual([{ content: "kept" }]);
    const other = `withheld-${Math.random().toString(36).slice(2, 8)}@example.com`;
    expect((await post(`${server.url}/accounts/sign-up`, { email: other, password: PASSWORD, firstName: "Bo" })).status).toBe(202);
    expect((await post(`${server.url}/accounts/password-reset/request`, { email })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    const output = `${server.proc.lines.join("\n")}\n${server.proc.stderr()}`;
    expect(output).toContain(`mail to ${other}`);
    expect(output).toMatch(/not sent: SMTP_URL is not set/);
    expect(output).not.toMatch(/verification code is|reset key is|\b\d{6}\b\s*\n\s*It expires/);
    await stop(server.proc);
  });
});
