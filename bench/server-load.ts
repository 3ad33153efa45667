/**
 * Hostile load on the sync server (issue 16): `npm run sync:server` as its own process with its
 * defaults (production argon2, pino request logging, TRUST_PROXY=1, ops and accounts on Postgres,
 * or on PGlite data dirs without a Postgres server), on 127.0.0.1 only. autocannon sends each
 * hostile mix for a bounded time (16 connections, a few seconds); meanwhile a legitimate device
 * pulls and checks health every 100 ms, and the server's RSS is sampled every 100 ms.
 *
 * Mixes: wrong-password sign-ins with spoofed X-Forwarded-For; sign-up floods from random
 * addresses; malformed pushes (NUL, 5,000-deep nesting, bad JSON, unknown fields, a 1.1 MiB
 * body); full pulls of a 1.9 MiB space (limit=1000, capped at 1 MiB per page); forged tokens;
 * all of them at once (three rounds, to see memory settle); then 100 socket upgrades for one user
 * (16 allowed).
 *
 * Prints a table, writes bench/results/server-load.json and bench/results/server-load.md.
 *
 *   npx tsx bench/server-load.ts [--quick]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import WebSocket from "ws";
import { openAccounts, type StoreConfig } from "../accounts/index.js";
import { memoryMailTransport } from "../server/index.js";
import { encodeHlc, LIMITS } from "../sync/index.js";
import { throwawayDatabase } from "./lib/backends.js";
import { quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECONDS = quick ? 3 : 8;
const CONNECTIONS = 16;
const PASSWORD = "correct horse battery staple";
const MiB = 1024 * 1024;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

/** Starts the runnable sync server with `env`; resolves once it prints `listening`. */
function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "server/sync-server.ts")], {
    cwd: root,
    env: { ...process.env, PORT: "0", TRUST_PROXY: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    let buffer = "";
    let found = false;
    // The request log keeps flowing: read and drop it (as a log shipper would).
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      if (found) return;
      buffer += d;
      const m = /^listening (\S+)$/m.exec(buffer);
      if (m) {
        found = true;
        resolve({ child, url: m[1]! });
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited (${code}) before listening: ${stderr.slice(-2000)}`)));
  });
}

/** The server's resident set in bytes (Linux). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** Samples a process's RSS every 100 ms until stopped. */
function sampleRss(pid: number): { stop(): { peak: number; last: number } } {
  let peak = 0;
  let last = 0;
  const timer = setInterval(() => {
    last = rssOf(pid);
    peak = Math.max(peak, last);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      last = rssOf(pid);
      return { peak: Math.max(peak, last), last };
    },
  };
}

/** A legitimate device during the attack: a small pull and a health check every 100 ms. */
function probe(url: string, token: string, space: string): { stop(): Promise<{ ok: number; failed: number; p50Ms: number; maxMs: number }> } {
  const latencies: number[] = [];
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const [pull, health] = await Promise.all([
          fetch(`${url}/sync/${space}/pull`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) }),
          fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) }),
        ]);
        await Promise.all([pull.arrayBuffer(), health.arrayBuffer()]);
        if (pull.status === 200 && health.status === 200) latencies.push(performance.now() - started);
        else failed++;
      } catch {
        failed++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = [...latencies].sort((a, b) => a - b);
      return { ok: sorted.length, failed, p50Ms: sorted[sorted.length >> 1] ?? Number.NaN, maxMs: sorted.at(-1) ?? Number.NaN };
    },
  };
}

const rand = () => Math.random().toString(36).slice(2, 10);
const ip = () => `198.51.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;
const json = { "content-type": "application/json" };

/** Wire ops of a made-up engine device. */
function wireOps(device: string, n: number, first: number, content: (i: number) => string) {
  const wall = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    opId: `${device}.${first + i}`,
    kind: "update",
    oid: `o${first + i}`,
    hlc: encodeHlc({ wall, counter: first + i, device }),
    at: wall,
    actor: null,
    device,
    data: { content: content(i) },
  }));
}

type Request = autocannon.Request;

interface Row {
  readonly mix: string;
  readonly requests: number;
  readonly reqPerSec: number;
  readonly statuses: Record<string, number>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly probe: { ok: number; failed: number; p50Ms: number; maxMs: number };
  readonly rssPeakMiB: number;
  readonly rssAfterMiB: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "logbook-load-"));
  const db = await throwawayDatabase("logbook_bench_load");
  const onPostgres = typeof db !== "string";
  if (!onPostgres) console.warn(`[bench] no Postgres (${db}); the server keeps its stores in PGlite data dirs`);
  const env: Record<string, string> = onPostgres ? { SYNC_STORE: db.url, ACCOUNTS_STORE: db.url, DATA_DIR: dir } : { DATA_DIR: dir };

  // The legitimate user, made before the server starts (PGlite data dirs take one process at a time).
  const email = `load-${rand()}@example.com`;
  const mail = memoryMailTransport();
  const store: StoreConfig = onPostgres ? { kind: "postgres", url: db.url } : { kind: "pglite", dataDir: join(dir, "accounts") };
  const setup = await openAccounts({ store, mail: { transport: mail.transport, from: "bench@localhost" } });
  await setup.signUp({ email, password: PASSWORD, firstName: "Load" });
  await setup.drainMail();
  await setup.verifyEmail({ email, code: /verification code is:\s+(\d{6})/.exec(mail.textsTo(email).at(-1) ?? "")![1]! });
  await setup.close();

  const server = await startServer(env);
  const pid = server.child.pid!;
  const rows: Row[] = [];
  let sockets = { open: 0, refused: 0, closedAfterOpening: 0, other: 0 };
  try {
    const signIn = await fetch(`${server.url}/accounts/sign-in`, { method: "POST", headers: json, body: JSON.stringify({ email, password: PASSWORD, deviceName: "legit", returnToken: true }) });
    const token = ((await signIn.json()) as { token: string }).token;
    const auth = { authorization: `Bearer ${token}` };
    const device = crypto.randomUUID();
    const bigSpace = crypto.randomUUID();
    const smallSpace = crypto.randomUUID();
    // Spaces exist once created; an engine device pushes once registered.
    for (const spaceId of [bigSpace, smallSpace]) await fetch(`${server.url}/sync/spaces`, { method: "POST", headers: { ...auth, ...json }, body: JSON.stringify({ spaceId }) });
    await fetch(`${server.url}/sync/devices/${device}/bind`, { method: "POST", headers: { ...auth, ...json }, body: "{}" });
    const big = wireOps(device, 48, 1, (i) => `${i}:${"y".repeat(40_000)}`);
    for (let i = 0; i < big.length; i += 12) {
      const r = await fetch(`${server.url}/sync/${bigSpace}/push`, { method: "POST", headers: { ...auth, ...json }, body: JSON.stringify({ device, ops: big.slice(i, i + 12) }) });
      if (r.status !== 200) throw new Error(`setup push: ${r.status} ${await r.text()}`);
    }
    await fetch(`${server.url}/sync/${smallSpace}/push`, { method: "POST", headers: { ...auth, ...json }, body: JSON.stringify({ device, ops: wireOps(device, 1, 100, () => "small") }) });
    const idle = rssOf(pid);

    const [op] = wireOps(device, 1, 1000, () => "x");
    const opText = JSON.stringify(op);
    const push = (body: string): Request => ({ method: "POST", path: `/sync/${crypto.randomUUID()}/push`, headers: { ...auth, ...json }, body });
    const mixes: Record<string, Request[]> = {
      "sign-in: wrong passwords, spoofed X-Forwarded-For": [
        {
          method: "POST",
          path: "/accounts/sign-in",
          headers: json,
          setupRequest: (r) => ({ ...r, headers: { ...r.headers, "x-forwarded-for": `${ip()}, 203.0.113.7` }, body: JSON.stringify({ email, password: `guess ${rand()}` }) }),
        },
      ],
      "sign-up flood: random addresses, spoofed X-Forwarded-For": [
        {
          method: "POST",
          path: "/accounts/sign-up",
          headers: json,
          setupRequest: (r) => ({ ...r, headers: { ...r.headers, "x-forwarded-for": `${ip()}, 203.0.113.8` }, body: JSON.stringify({ email: `spam-${rand()}@example.com`, password: `pw ${rand()} ${rand()}`, firstName: "Spam" }) }),
        },
      ],
      "malformed pushes: NUL, 5,000-deep, bad JSON, unknown field, 1.1 MiB": [
        push(`{"device":"${device}","ops":[${opText.replace('"content":"x"', '"content":"a\\u0000b"')}]}`),
        push(`{"device":"${device}","ops":[${opText.replace('{"content":"x"}', `{"x":${"[".repeat(5000)}${"]".repeat(5000)}}`)}]}`),
        push(`{"device":"${device}","ops":[${opText.slice(0, 40)}`),
        push(`{"device":"${device}","ops":[${opText.replace('"kind"', '"admin":true,"kind"')}]}`),
        push(`{"device":"${device}","ops":[${opText.replace('"content":"x"', `"content":"${"z".repeat(1.1 * MiB)}"`)}]}`),
      ],
      "pulls of a 1.9 MiB space, limit=1000 (1 MiB pages)": [{ method: "GET", path: `/sync/${bigSpace}/pull?after=0&limit=1000`, headers: auth }],
      "forged tokens on pull and push": [
        { method: "GET", path: `/sync/${bigSpace}/pull`, setupRequest: (r) => ({ ...r, headers: { authorization: `Bearer ${rand()}${rand()}${rand()}${rand()}${rand()}${rand().slice(0, 3)}` } }) },
        { method: "POST", path: `/sync/${bigSpace}/push`, headers: { ...json, authorization: `Bearer ${"A".repeat(43)}` }, body: opText },
      ],
    };
    // Repeated, so the table shows whether memory settles or keeps growing under the same attack.
    const all = Object.values(mixes).flat();
    for (let round = 1; round <= (quick ? 1 : 3); round++) mixes[`all of the above at once${round > 1 ? `, round ${round}` : ""}`] = all;

    for (const [mix, requests] of Object.entries(mixes)) {
      console.log(`[bench] ${mix} (${SECONDS} s, ${CONNECTIONS} connections)`);
      const rss = sampleRss(pid);
      const legit = probe(server.url, token, smallSpace);
      const result = await autocannon({ url: server.url, connections: CONNECTIONS, duration: SECONDS, requests, timeout: 10 });
      const probed = await legit.stop();
      const memory = rss.stop();
      const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0]));
      rows.push({
        mix,
        requests: result.requests.total,
        reqPerSec: result.requests.average,
        statuses,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        errors: result.errors,
        timeouts: result.timeouts,
        probe: probed,
        rssPeakMiB: memory.peak / MiB,
        rssAfterMiB: memory.last / MiB,
      });
    }

    // Sockets: one user asks for 100; the cap (16) holds, the rest get 429 before any upgrade.
    const attempts = await Promise.all(
      Array.from({ length: 100 }, () => {
        const socket = new WebSocket(`${server.url.replace("http", "ws")}/sync/ws?spaces=${smallSpace}`, { headers: auth });
        return new Promise<{ socket: WebSocket; status: number }>((resolve) => {
          socket.on("open", () => resolve({ socket, status: 101 }));
          socket.on("unexpected-response", (_q, r) => resolve({ socket, status: r.statusCode ?? 0 }));
          socket.on("error", () => resolve({ socket, status: 0 }));
        });
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    sockets = {
      open: attempts.filter((a) => a.socket.readyState === WebSocket.OPEN).length,
      refused: attempts.filter((a) => a.status === 429).length,
      closedAfterOpening: attempts.filter((a) => a.status === 101 && a.socket.readyState !== WebSocket.OPEN).length,
      other: attempts.filter((a) => a.status !== 101 && a.status !== 429).length,
    };
    for (const a of attempts) a.socket.terminate();
    const after = rssOf(pid);

    const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
    const markdownRows = rows.map((r) => ({
      mix: r.mix,
      "req/s": fmt(r.reqPerSec),
      requests: r.requests,
      statuses: Object.entries(r.statuses)
        .map(([c, n]) => `${c}×${n}`)
        .join(" "),
      "p50 / p99 ms": `${fmt(r.p50Ms)} / ${fmt(r.p99Ms)}`,
      "errors / timeouts": `${r.errors} / ${r.timeouts}`,
      "legit probe ok / failed": `${r.probe.ok} / ${r.probe.failed}`,
      "probe p50 / max ms": `${fmt(r.probe.p50Ms)} / ${fmt(r.probe.maxMs)}`,
      "server RSS peak MiB": fmt(r.rssPeakMiB),
    }));
    const text = table(markdownRows);
    const summary = [
      `Server: \`npm run sync:server\` (one process, defaults: production argon2id, pino request logging at info, TRUST_PROXY=1), ops and accounts on ${onPostgres ? "Postgres" : "PGlite data dirs"}; load from autocannon in another process on the same 2-core machine, ${CONNECTIONS} connections, ${SECONDS} s per mix. Pull pages are capped at ${LIMITS.maxPullBytes / MiB} MiB.`,
      "",
      "req/s, requests, statuses, p50/p99: autocannon's, for the hostile connections. errors: connection resets, in the mixes that send the 1.1 MiB body (the server answers 413 without reading it and closes the connection). legit probe: a signed-in device pulling a small space and checking /health every 100 ms meanwhile, on its own connections.",
      "",
      text,
      "",
      `Server RSS: ${fmt(idle / MiB)} MiB idle before the mixes, ${fmt(Math.max(...rows.map((r) => r.rssPeakMiB)))} MiB at the highest peak, ${fmt(after / MiB)} MiB after. Sockets: of 100 simultaneous upgrades for one user, ${sockets.open} stayed open (cap 16), ${sockets.refused} were refused with 429 before the upgrade, ${sockets.closedAfterOpening} raced past that check and were closed (4429) at once${sockets.other > 0 ? `, ${sockets.other} failed otherwise` : ""}.`,
    ].join("\n");
    console.log(summary.split("\n").at(-1));
    await save("server-load", { onPostgres, seconds: SECONDS, connections: CONNECTIONS, idleRssBytes: idle, afterRssBytes: after, rows, sockets }, summary);
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((r) => server.child.once("exit", r));
    if (onPostgres) await db.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
