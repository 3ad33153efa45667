/**
 * The sync server over real sockets on 127.0.0.1: devices on PGlite engines push, pull and get
 * poked; authentication, ownership and bad batches are refused with typed errors and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Engine } from "../index.js";
import { backends } from "./helpers/backends.js";
import { pglite } from "../storage/pglite/index.js";
import { createSyncClient, httpTransport, SyncError, type PushBatch, type SyncClient } from "../sync/index.js";
import { startSyncServer, type TestDevice, type TestSyncServer } from "./helpers/sync-fixtures.js";

let server: TestSyncServer;
const engines: Engine[] = [];

async function device(token: string, spaceId?: string, options: { readonly bootstrap?: boolean } = {}): Promise<{ engine: Engine; client: SyncClient; spaceId: string }> {
  const fresh = await backends[0]!.fresh();
  const engine = fresh.engine;
  engines.push(engine);
  const space = spaceId === undefined ? await engine.createSpace() : await engine.createSpace({ spaceId });
  const transport = httpTransport({ baseUrl: server.url, token });
  // Registered (and its space created when new) at once, so tests may also push raw batches.
  if (spaceId === undefined) await transport.createSpace!(space.spaceId);
  await transport.bind!(engine.deviceId);
  const client = createSyncClient({ engine, spaceId: space.spaceId, transport, pollMs: 60_000, ...options });
  return { engine, client, spaceId: space.spaceId };
}

/** The JSON answers of the sync routes, loosely. */
interface Answer {
  readonly error: { readonly code: string; readonly message: string };
  readonly ops: unknown[];
  readonly accepted: number;
}
const json = async (r: Response | Promise<Response>): Promise<Answer> => (await (await r).json()) as Answer;

const post = (path: string, token: string, body: unknown) =>
  fetch(`${server.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
const get = (path: string, token: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  server = await startSyncServer({ revalidateMs: 60_000 });
});
afterAll(async () => {
  for (const e of engines) await e.close();
  await server?.close();
});

describe("sync server", () => {
  let laptop: TestDevice;
  let phone: TestDevice;
  beforeAll(async () => {
    laptop = await server.signIn("laptop");
    phone = await server.signIn("phone", laptop.email);
  });

  it("two devices sync a space through the server, in both directions, and get poked", async () => {
    const a = await device(laptop.token);
    const doc = await a.engine.createDocument(a.spaceId, { content: "Plan" });
    await a.engine.create(a.spaceId, { parentOid: doc.oid, content: "one" });
    expect(await a.client.sync()).toEqual({ pushed: 2, pulled: 0 });
    // Replaying the ops (a snapshot would copy them: see "joins late" below).
    const b = await device(phone.token, a.spaceId, { bootstrap: false });
    expect((await b.client.sync()).pulled).toBe(2);
    expect((await b.engine.get(a.spaceId, doc.oid)).vid).toBe((await a.engine.get(a.spaceId, doc.oid)).vid);

    // Online: b listens, a edits, b follows without being asked.
    b.client.start();
    await until(() => b.client.status === "online");
    await a.engine.create(a.spaceId, { parentOid: doc.oid, content: "two" });
    await a.client.sync();
    await until(async () => (await b.engine.get(a.spaceId, doc.oid)).vid === (await a.engine.get(a.spaceId, doc.oid)).vid);
    expect((await b.engine.view(a.spaceId, doc.oid)).rows.map((r) => r.content)).toEqual(["one", "two"]);
    await b.client.stop();
    // A retried push changes nothing.
    const ops = await a.engine.logSince(a.spaceId);
    const again = await post(`/sync/${a.spaceId}/push`, laptop.token, { device: a.engine.deviceId, ops: ops.map(({ serverSeq: _s, ...op }) => op) });
    expect(await json(again)).toMatchObject({ accepted: 0, duplicates: 3, lastSeq: 3 });
  });

  it("an import reaches the other device through the server: the same rows and vids, and later edits of its rows", async () => {
    const a = await device(laptop.token);
    const doc = await a.engine.createDocument(a.spaceId, { content: "Inbox" });
    // 10,000 rows of ~110 bytes: its parts need more than one push batch (1 MiB each) and pull page.
    const nodes = Array.from({ length: 100 }, (_, i) => ({
      content: `project ${i}`,
      children: Array.from({ length: 99 }, (_, j) => ({ content: `task ${i}.${j} ${"·".repeat(50)}`, props: { done: j % 3 === 0 } })),
    }));
    await a.engine.importTree(a.spaceId, { parentOid: doc.oid, nodes });
    const round = await a.client.sync();
    const parts = (await a.engine.logSince(a.spaceId, { limit: 10_000 })).filter((op) => op.kind === "importPart").length;
    expect(parts).toBeGreaterThan(20);
    expect(round.pushed).toBe(2 + parts);
    const b = await device(phone.token, a.spaceId, { bootstrap: false });
    expect((await b.client.sync()).pulled).toBe(2 + parts);
    expect((await b.engine.get(a.spaceId, doc.oid)).vid).toBe((await a.engine.get(a.spaceId, doc.oid)).vid);
    expect((await b.engine.get(a.spaceId, doc.oid)).stats.descendants).toBe(10_000);
    const window = async (e: Engine) => (await e.view(a.spaceId, doc.oid, { offset: 5_000, limit: 50 })).rows.map((r) => [r.oid, r.vid, r.content, r.props]);
    expect(await window(b.engine)).toEqual(await window(a.engine));
    // The phone edits an imported row; the laptop gets it.
    const row = (await b.engine.view(a.spaceId, doc.oid, { offset: 7_777, limit: 1 })).rows[0]!;
    await b.engine.update(a.spaceId, row.oid, { content: "done on the phone", props: { done: true } });
    await b.client.sync();
    await a.client.sync();
    expect((await a.engine.get(a.spaceId, row.oid)).content).toBe("done on the phone");
    expect((await a.engine.get(a.spaceId, doc.oid)).vid).toBe((await b.engine.get(a.spaceId, doc.oid)).vid);
    // The server's replica replayed the import too.
    await server.app.syncReplica!.caughtUp(a.spaceId);
    expect((await server.app.syncReplica!.engine.get(a.spaceId, doc.oid)).vid).toBe((await a.engine.get(a.spaceId, doc.oid)).vid);
    expect(await window(server.app.syncReplica!.engine)).toEqual(await window(a.engine));
  });

  it("a device that joins late copies the replica's rows (a snapshot) instead of replaying the history, and syncs on", async () => {
    const a = await device(laptop.token);
    const doc = await a.engine.createDocument(a.spaceId, { content: "Journal" });
    await a.engine.importTree(a.spaceId, { parentOid: doc.oid, nodes: Array.from({ length: 200 }, (_, i) => ({ content: `day ${i}`, children: [{ content: `note ${i}` }] })) });
    const days = await a.engine.children(a.spaceId, doc.oid, { limit: 10 });
    for (const [i, day] of days.entries()) await a.engine.update(a.spaceId, day.oid, { content: `day ${i}, edited` });
    const before = (await a.engine.get(a.spaceId, days[3]!.oid)).vid;
    await a.engine.update(a.spaceId, days[3]!.oid, { content: "rewritten" });
    await a.engine.checkout(a.spaceId, days[3]!.oid, before);
    await a.client.sync();
    const ops = (await a.engine.logSince(a.spaceId, { limit: 10_000 })).length;

    const c = await device(phone.token, a.spaceId);
    const round = await c.client.sync();
    // Nothing replayed: the rows came as they are, then nothing was left to pull.
    expect(round).toEqual({ pushed: 0, pulled: 0 });
    expect(await c.engine.pullCursor(a.spaceId)).toBe(ops);
    expect((await c.engine.get(a.spaceId, doc.oid)).vid).toBe((await a.engine.get(a.spaceId, doc.oid)).vid);
    const whole = async (e: Engine) => (await e.view(a.spaceId, doc.oid, { limit: 1_000 })).rows.map((r) => [r.oid, r.vid, r.content]);
    expect(await whole(c.engine)).toEqual(await whole(a.engine));
    // The same history (local seqs aside: an import's parts apply before it here; and the server
    // stamps the signed-in user as actor on ops that came without one).
    const history = async (e: Engine) => (await e.history(a.spaceId, days[3]!.oid)).ops.map(({ actor: _a, seq: _s, ...op }) => op);
    expect(await history(c.engine)).toEqual(await history(a.engine));
    // And on from there, both ways.
    await a.engine.create(a.spaceId, { parentOid: doc.oid, index: 0, content: "from the laptop" });
    await a.client.sync();
    await c.engine.update(a.spaceId, days[0]!.oid, { props: { done: true } });
    expect(await c.client.sync()).toEqual({ pushed: 1, pulled: 1 });
    await a.client.sync();
    expect((await c.engine.get(a.spaceId, doc.oid)).vid).toBe((await a.engine.get(a.spaceId, doc.oid)).vid);
    await server.app.syncReplica!.caughtUp(a.spaceId);
    expect((await server.app.syncReplica!.engine.get(a.spaceId, doc.oid)).vid).toBe((await a.engine.get(a.spaceId, doc.oid)).vid);
    // A device whose database holds another space already (other device numbers) takes it too.
    const d = await device(phone.token);
    await d.engine.createDocument(d.spaceId, { content: "another space" });
    await d.client.sync();
    await d.engine.createSpace({ spaceId: a.spaceId });
    const errors: unknown[] = [];
    const joining = createSyncClient({ engine: d.engine, spaceId: a.spaceId, transport: httpTransport({ baseUrl: server.url, token: phone.token }), pollMs: 60_000, onError: (e) => errors.push(e) });
    expect((await joining.sync()).pulled).toBe(0);
    expect(errors).toEqual([]);
    expect((await d.engine.get(a.spaceId, doc.oid)).vid).toBe((await a.engine.get(a.spaceId, doc.oid)).vid);
    expect(await whole(d.engine)).toEqual(await whole(a.engine));
  });

  it("a snapshot that breaks off leaves nothing behind, and the next round starts it again", async () => {
    const a = await device(laptop.token);
    const doc = await a.engine.createDocument(a.spaceId, { content: "Plan" });
    await a.engine.importTree(a.spaceId, { parentOid: doc.oid, nodes: Array.from({ length: 50 }, (_, i) => ({ content: `step ${i}` })) });
    await a.client.sync();
    const fresh = await backends[0]!.fresh();
    engines.push(fresh.engine);
    const e = fresh.engine;
    await e.createSpace({ spaceId: a.spaceId });
    const http = httpTransport({ baseUrl: server.url, token: phone.token });
    let broken = 0;
    const transport = {
      ...http,
      async *snapshot(space: string) {
        let n = 0;
        for await (const frame of http.snapshot!(space)) {
          // The first download dies after two frames, as when the server is killed mid-stream.
          if (broken === 0 && ++n > 2) {
            broken++;
            throw new SyncError("UNAVAILABLE", "connection reset");
          }
          yield frame;
        }
      },
    };
    const client = createSyncClient({ engine: e, spaceId: a.spaceId, transport, pollMs: 60_000 });
    await expect(client.sync()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(await e.logSince(a.spaceId)).toEqual([]);
    expect(await e.pullCursor(a.spaceId)).toBe(0);
    expect(await client.sync()).toEqual({ pushed: 0, pulled: 0 });
    expect(broken).toBe(1);
    expect((await e.get(a.spaceId, doc.oid)).vid).toBe((await a.engine.get(a.spaceId, doc.oid)).vid);
  });

  it("the server's replica catches up on start with ops stored while it was not following", async () => {
    const storage = await pglite().open();
    // A server stopped before its replica followed its last pushes, played by one without a replica.
    const off = await startSyncServer({ storage, revalidateMs: 60_000, sync: { replica: false } });
    expect(off.app.syncReplica).toBeUndefined();
    const user = await off.signIn("laptop");
    const fresh = await backends[0]!.fresh();
    engines.push(fresh.engine);
    const e = fresh.engine;
    const { spaceId } = await e.createSpace();
    const doc = await e.createDocument(spaceId, { content: "Plan" });
    for (let i = 0; i < 20; i++) await e.create(spaceId, { parentOid: doc.oid, index: 0, content: `row ${i}` });
    await e.importTree(spaceId, { parentOid: doc.oid, index: 3, nodes: [{ content: "pasted", children: [{ content: "below" }] }] });
    await e.update(spaceId, doc.oid, { content: "Plan, renamed" });
    const pushed = (await createSyncClient({ engine: e, spaceId, transport: httpTransport({ baseUrl: off.url, token: user.token }), pollMs: 60_000, create: true }).sync()).pushed;
    // Without a replica there is no snapshot (404): a joining device replays the ops instead.
    const joiner = await backends[0]!.fresh();
    engines.push(joiner.engine);
    await joiner.engine.createSpace({ spaceId });
    const errors: unknown[] = [];
    const joined = await createSyncClient({ engine: joiner.engine, spaceId, transport: httpTransport({ baseUrl: off.url, token: user.token }), pollMs: 60_000, onError: (x) => errors.push(x) }).sync();
    expect(joined.pulled).toBe(pushed);
    expect(errors).toMatchObject([{ code: "NOT_FOUND" }]);
    expect((await joiner.engine.get(spaceId, doc.oid)).vid).toBe((await e.get(spaceId, doc.oid)).vid);
    await off.close();
    const on = await startSyncServer({ storage, revalidateMs: 60_000 });
    try {
      const replica = on.app.syncReplica!;
      await until(async () => (await replica.engine.pullCursor(spaceId)) === pushed);
      expect((await replica.engine.get(spaceId, doc.oid)).vid).toBe((await e.get(spaceId, doc.oid)).vid);
      expect((await replica.engine.view(spaceId, doc.oid)).rows.map((r) => r.content).slice(2, 6)).toEqual(["row 17", "pasted", "below", "row 16"]);
    } finally {
      await on.close();
      await storage.close();
    }
  });

  it("an edit made while a round runs reaches the server at once, not at the next poll", async () => {
    const fresh = await backends[0]!.fresh();
    const engine = fresh.engine;
    engines.push(engine);
    const { spaceId } = await engine.createSpace();
    const doc = await engine.createDocument(spaceId, { content: "Plan" });
    // A pull that waits for the test: the round in progress stays open while the edit is made.
    let gate: { opened: Promise<void>; open: () => void } | undefined;
    let held = false;
    const inner = httpTransport({ baseUrl: server.url, token: laptop.token });
    const transport = {
      ...inner,
      async pull(space: string, after: number, limit: number) {
        if (gate) {
          held = true;
          await gate.opened;
        }
        return inner.pull(space, after, limit);
      },
    };
    const client = createSyncClient({ engine, spaceId, transport, pollMs: 60_000, create: true });
    client.start();
    await until(() => client.status === "online");
    let open!: () => void;
    gate = { opened: new Promise<void>((r) => (open = r)), open: () => open() };
    client.changed(); // a round starts and waits in its pull
    await until(() => held);
    await engine.create(spaceId, { parentOid: doc.oid, content: "during the round" });
    client.changed();
    const g = gate;
    gate = undefined;
    g.open();
    // On the server well before the next poll (60 s): the loop ran another round at once.
    const onServer = async () => {
      const page = (await (await get(`/sync/${spaceId}/pull?after=0&limit=100`, laptop.token)).json()) as { ops: { data: { content?: string } }[] };
      return page.ops.some((op) => op.data.content === "during the round");
    };
    await until(onServer, 15_000);
    await client.stop();
    // What the server acknowledged is kept in the engine: a restarted client starts after it.
    const own = await engine.logSince(spaceId, { device: engine.deviceId });
    expect(await engine.pushMark(spaceId)).toBe(own.at(-1)!.hlc);
    const pushes: number[] = [];
    const counting = { ...inner, push: async (space: string, batch: PushBatch) => (pushes.push(batch.ops.length), inner.push(space, batch)) };
    const restarted = createSyncClient({ engine, spaceId, transport: counting, pollMs: 60_000 });
    expect((await restarted.sync()).pushed).toBe(0);
    await engine.update(spaceId, doc.oid, { content: "Plan 2" });
    expect((await restarted.sync()).pushed).toBe(1);
    expect(pushes).toEqual([1]);
    // The mark only moves forward, and takes only a clock.
    await engine.setPushMark(spaceId, "");
    expect(await engine.pushMark(spaceId)).toBe((await engine.logSince(spaceId, { device: engine.deviceId })).at(-1)!.hlc);
    await expect(engine.setPushMark(spaceId, "x".repeat(65))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("creates spaces only when asked, for their creator: an unknown space is 404, an unregistered device is refused", async () => {
    const fresh = await backends[0]!.fresh();
    engines.push(fresh.engine);
    const e = fresh.engine;
    const { spaceId } = await e.createSpace();
    await e.createDocument(spaceId, { content: "new" });
    const ops = (await e.logSince(spaceId)).map(({ serverSeq: _s, ...op }) => op);
    // Nobody created it: pull, push and socket say so, and nothing is made by asking.
    const pulled = await get(`/sync/${spaceId}/pull?after=0`, laptop.token);
    expect([pulled.status, (await json(pulled)).error.code]).toEqual([404, "NOT_FOUND"]);
    const transport = httpTransport({ baseUrl: server.url, token: laptop.token });
    await transport.bind!(e.deviceId);
    const early = await post(`/sync/${spaceId}/push`, laptop.token, { device: e.deviceId, ops });
    expect([early.status, (await json(early)).error.message]).toEqual([404, expect.stringContaining("create it first")]);
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/sync/ws?spaces=${spaceId}`, { headers: { authorization: `Bearer ${laptop.token}` } });
    expect(await new Promise<number>((resolve) => socket.on("unexpected-response", (_q, r) => resolve(r.statusCode ?? 0)))).toBe(404);
    // A device that joins a space nobody created stops with NOT_FOUND.
    const joining = createSyncClient({ engine: e, spaceId, transport, pollMs: 60_000 });
    await expect(joining.sync()).rejects.toMatchObject({ code: "NOT_FOUND" });
    // Created by an authenticated call: its creator's, idempotently; another user cannot take it.
    const made = await post("/sync/spaces", laptop.token, { spaceId });
    expect([made.status, await made.json()]).toEqual([201, { spaceId, created: true }]);
    const again = await post("/sync/spaces", phone.token, { spaceId: spaceId.toUpperCase() });
    expect([again.status, await again.json()]).toEqual([200, { spaceId, created: false }]);
    const mallory = await server.signIn("mallory-phone");
    const taken = await post("/sync/spaces", mallory.token, { spaceId });
    expect([taken.status, (await json(taken)).error.code]).toEqual([409, "CONFLICT"]);
    expect((await json(post("/sync/spaces", laptop.token, { spaceId: "mine" }))).error.code).toBe("BAD_BATCH");
    // An engine device is bound when it registers, not by pushing: an unregistered one is refused.
    const other = await backends[0]!.fresh();
    engines.push(other.engine);
    await other.engine.createSpace({ spaceId });
    await other.engine.createDocument(spaceId, { content: "from an unregistered device" });
    const theirs = (await other.engine.logSince(spaceId)).map(({ serverSeq: _s, ...op }) => op);
    const unregistered = await post(`/sync/${spaceId}/push`, phone.token, { device: other.engine.deviceId, ops: theirs });
    expect([unregistered.status, (await json(unregistered)).error.message]).toEqual([403, expect.stringContaining("not registered")]);
    expect((await json(get(`/sync/${spaceId}/pull?after=0`, laptop.token))).ops).toHaveLength(0);
    // The creator's client (create: true) and a joining client of the same user then sync as usual.
    expect(await createSyncClient({ engine: e, spaceId, transport, pollMs: 60_000, create: true }).sync()).toEqual({ pushed: 1, pulled: 0 });
    const phoneClient = createSyncClient({ engine: other.engine, spaceId, transport: httpTransport({ baseUrl: server.url, token: phone.token }), pollMs: 60_000 });
    expect(await phoneClient.sync()).toEqual({ pushed: 1, pulled: 1 });
  });

  it("refuses a device's ops from another device's session (forged), and keeps nothing of it", async () => {
    const a = await device(laptop.token);
    await a.engine.createDocument(a.spaceId, { content: "mine" });
    await a.client.sync();
    const ops = (await a.engine.logSince(a.spaceId)).map(({ serverSeq: _s, ...op }) => op);
    // The phone's session claims the laptop engine's device.
    const forged = await post(`/sync/${a.spaceId}/push`, phone.token, { device: a.engine.deviceId, ops });
    expect(forged.status).toBe(403);
    expect((await json(forged)).error.code).toBe("FORGED");
    // Ops that claim a device other than the batch's.
    const p = await device(phone.token, a.spaceId);
    const mixed = await post(`/sync/${a.spaceId}/push`, phone.token, { device: p.engine.deviceId, ops });
    expect((await json(mixed)).error.code).toBe("FORGED");
    const page = await json(get(`/sync/${a.spaceId}/pull?after=0`, laptop.token));
    expect(page.ops).toHaveLength(1);
  });

  it("keeps one user's spaces from every other user", async () => {
    const a = await device(laptop.token);
    await a.engine.createDocument(a.spaceId, { content: "private" });
    await a.client.sync();
    const mallory = await server.signIn("mallory-laptop");
    const m = await device(mallory.token, a.spaceId);
    await expect(m.client.sync()).rejects.toMatchObject({ code: "FORBIDDEN" });
    await m.engine.createDocument(a.spaceId, { content: "intrusion" });
    const ops = (await m.engine.logSince(a.spaceId)).map(({ serverSeq: _s, ...op }) => op);
    const push = await post(`/sync/${a.spaceId}/push`, mallory.token, { device: m.engine.deviceId, ops });
    expect(push.status).toBe(403);
    expect((await json(push)).error.code).toBe("FORBIDDEN");
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/sync/ws?spaces=${a.spaceId}`, { headers: { authorization: `Bearer ${mallory.token}` } });
    const status = await new Promise<number>((resolve) => socket.on("unexpected-response", (_q, r) => resolve(r.statusCode ?? 0)));
    expect(status).toBe(403);
    expect((await json(get(`/sync/${a.spaceId}/pull`, laptop.token))).ops).toHaveLength(1);
  });

  it("answers malformed, oversized and skewed batches with typed 4xx and changes nothing", async () => {
    const a = await device(laptop.token);
    await a.engine.createDocument(a.spaceId, { content: "doc" });
    const [op] = (await a.engine.logSince(a.spaceId)).map(({ serverSeq: _s, ...o }) => o);
    const dev = a.engine.deviceId;
    const cases: [unknown, number, string][] = [
      ["{not json", 400, "BAD_REQUEST"],
      [{ device: dev }, 400, "BAD_BATCH"],
      [{ device: dev, ops: [] }, 400, "BAD_BATCH"],
      [{ device: dev, ops: [{ ...op, hlc: "yesterday" }] }, 400, "BAD_BATCH"],
      [{ device: dev, ops: [{ ...op, data: "x" }] }, 400, "BAD_BATCH"],
      [{ device: dev, ops: [{ ...op, extra: 1 }] }, 400, "BAD_BATCH"],
      [{ device: dev, ops: [{ ...op, hlc: op!.hlc.replace(/^\d{15}/, String(Date.now() + 3_600_000).padStart(15, "0")) }] }, 400, "CLOCK_SKEW"],
      [{ device: dev, ops: Array.from({ length: 501 }, () => op) }, 413, "TOO_LARGE"],
      [{ device: dev, ops: [{ ...op, data: { content: "x".repeat(2_000_000) } }] }, 413, "TOO_LARGE"],
    ];
    for (const [body, status, code] of cases) {
      const r = await post(`/sync/${a.spaceId}/push`, laptop.token, body);
      expect([r.status, (await json(r)).error.code], JSON.stringify(body).slice(0, 200)).toEqual([status, code]);
    }
    expect((await json(get(`/sync/${a.spaceId}/pull`, laptop.token))).ops).toHaveLength(0);
    expect((await get(`/sync/${a.spaceId}/pull?limit=0`, laptop.token)).status).toBe(400);
    expect((await get(`/sync/not-a-space/pull`, laptop.token)).status).toBe(400);
    expect((await post(`/sync/${a.spaceId}/push`, "x".repeat(43), { device: dev, ops: [op] })).status).toBe(401);
    const batch: PushBatch = { device: dev, ops: [op!] };
    expect((await post(`/sync/${a.spaceId}/push`, laptop.token, batch)).status).toBe(200);
  });

  it("stores and forwards an op kind from a newer client; older clients keep it and their views stay right", async () => {
    const older = await device(laptop.token);
    const doc = await older.engine.createDocument(older.spaceId, { content: "doc" });
    const kid = await older.engine.create(older.spaceId, { parentOid: doc.oid, content: "kid" });
    await older.client.sync();
    // A "newer" device (another engine, pushing raw) sends a kind nobody here knows, between edits.
    const newer = await device(phone.token, older.spaceId);
    await newer.client.sync();
    await newer.engine.update(older.spaceId, kid.oid, { content: "kid, edited by the newer device" });
    const [edit] = await newer.engine.logSince(older.spaceId, { device: newer.engine.deviceId });
    const hlc = edit!.hlc.replace(/:(\d{6}):/, (_m, c: string) => `:${String(Number(c) + 1).padStart(6, "0")}:`);
    const colorize = { opId: `${newer.engine.deviceId}.900000`, kind: "colorize", oid: kid.oid, hlc, at: edit!.at, actor: null, device: newer.engine.deviceId, data: { color: "teal" } };
    await newer.client.sync();
    const pushed = await post(`/sync/${older.spaceId}/push`, phone.token, { device: newer.engine.deviceId, ops: [colorize] });
    expect(pushed.status).toBe(200);

    await older.client.sync();
    expect((await older.engine.logSince(older.spaceId)).map((op) => op.kind)).toEqual(["createDocument", "create", "update", "colorize"]);
    expect((await older.engine.view(older.spaceId, doc.oid)).rows.map((r) => r.content)).toEqual(["kid, edited by the newer device"]);
    expect(await older.engine.conflicts(older.spaceId)).toMatchObject([{ opId: colorize.opId, outcome: "unknown-kind" }]);
    // Forwarded: a third device gets it from the server too, and an edit after it still applies.
    await older.engine.update(older.spaceId, kid.oid, { props: { done: true } });
    await older.client.sync();
    const third = await device(laptop.token, older.spaceId);
    await third.client.sync();
    expect((await third.engine.logSince(older.spaceId)).map((op) => op.kind)).toContain("colorize");
    expect((await third.engine.get(older.spaceId, doc.oid)).vid).toBe((await older.engine.get(older.spaceId, doc.oid)).vid);
  });

  it("refuses a revoked session at once, on HTTP and on an open socket", async () => {
    const tablet = await server.signIn("tablet", laptop.email);
    const a = await device(tablet.token);
    await a.engine.createDocument(a.spaceId, { content: "doc" });
    await a.client.sync();
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/sync/ws?spaces=${a.spaceId}`, { headers: { authorization: `Bearer ${tablet.token}` } });
    await new Promise((resolve) => socket.on("open", resolve));
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
    // The laptop revokes the tablet through the accounts routes.
    const revoke = await fetch(`${server.url}/accounts/devices/${tablet.accountDeviceId}`, { method: "DELETE", headers: { authorization: `Bearer ${laptop.token}` } });
    expect(revoke.status).toBe(204);
    expect(await closed).toBe(4401);
    await a.engine.createDocument(a.spaceId, { content: "after" });
    await expect(a.client.sync()).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    // The background loop gives up on a refused session instead of retrying forever.
    const errors: unknown[] = [];
    const c = createSyncClient({ engine: a.engine, spaceId: a.spaceId, transport: httpTransport({ baseUrl: server.url, token: tablet.token }), onError: (e) => errors.push(e) });
    c.start();
    await until(() => c.status === "refused");
    await c.stop();
    expect(errors[0]).toBeInstanceOf(SyncError);
  });
});
