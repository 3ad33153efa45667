/**
 * Convergence through a real server (issue 8): several devices (separate PGlite engines) edit at
 * random, go offline and back in random order, through a transport that drops, duplicates, delays
 * and serves stale pages. After quiescence every device holds the same root vid and the same tree
 * as a reference device that applied all ops once, in clock order; the server holds every op once.
 *
 * Runs: LOGBOOK_SYNC_RUNS (default 100 with the server on Postgres, a quarter of it on PGlite;
 * all of it on PGlite when there is no Postgres server).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, ReplicaOp } from "../index.js";
import { createSyncClient, faultyTransport, httpTransport, SyncError, type FaultyTransport, type SyncClient } from "../sync/index.js";
import { backends, postgresUnavailable, serverStorage, type Fresh } from "./helpers/backends.js";
import { lcg, randomEdits, type EditMix } from "./helpers/random-edits.js";

/** Concurrent field edits of few objectives: per-field merges get exercised. */
const mix: EditMix = {
  shares: [0.3, 0.55, 0.75, 0.87],
  create: (_i, rand) => ({ index: 0, content: `c${Math.floor(rand() * 1000)}` }),
  update: (_i, rand) => (rand() < 0.5 ? { content: `u${Math.floor(rand() * 1000)}` } : { props: { [rand() < 0.5 ? "done" : "tag"]: rand() < 0.5 } }),
};
import { startSyncServer, type TestDevice, type TestSyncServer } from "./helpers/sync-fixtures.js";

const RUNS = Number(process.env["LOGBOOK_SYNC_RUNS"] ?? 100);
const DEVICES = 3;

/** What a device shows of the document: root vid and every row. */
async function state(e: Engine, s: string, doc: string) {
  const root = await e.get(s, doc);
  const { rows } = await e.view(s, doc, { limit: 10_000 });
  return { vid: root.vid, rows: rows.map((r) => [r.oid, r.vid, r.depth, r.content, r.props]) };
}

/** Syncs until a round succeeds (faults make some fail). */
async function syncHard(client: SyncClient): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.sync();
      return;
    } catch (error) {
      if (!(error instanceof SyncError) || error.code !== "UNAVAILABLE" || attempt > 200) throw error;
    }
  }
}

// The server's production store gets the full count; PGlite a quarter, or the full count when
// there is no Postgres server (so every CI run makes at least RUNS runs).
const noPostgres = await postgresUnavailable();
const serverStores = [
  { name: "postgres", runs: RUNS, skip: async () => noPostgres },
  { name: "pglite", runs: noPostgres ? RUNS : Math.max(5, RUNS >> 2), skip: async () => undefined },
] as const;

describe.each(serverStores)("sync convergence, server storage on $name", (store) => {
  let server: TestSyncServer | undefined;
  let releaseStorage: (() => Promise<void>) | undefined;
  const devices: Fresh[] = [];
  let reference: Fresh;
  let session: TestDevice[] = [];
  let skipped: string | undefined;

  beforeAll(async () => {
    skipped = await store.skip();
    if (skipped) {
      console.warn(`[logbook tests] skipping sync convergence on ${store.name}: ${skipped}`);
      return;
    }
    const made = await serverStorage(store.name);
    releaseStorage = made.release;
    server = await startSyncServer({ storage: made.storage, revalidateMs: 60_000 });
    const first = await server.signIn("device-0");
    session = [first];
    for (let i = 1; i < DEVICES; i++) session.push(await server.signIn(`device-${i}`, first.email));
    for (let i = 0; i < DEVICES; i++) devices.push(await backends[0]!.fresh());
    reference = await backends[0]!.fresh();
  });
  afterAll(async () => {
    for (const d of devices) await d.release();
    await reference?.release();
    await server?.close();
    await releaseStorage?.();
  });

  it("every device converges to the reference applying all ops in clock order", async () => {
    if (skipped) return;
    const srv = server!;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.record({ dropRequest: fc.constantFrom(0, 0.1, 0.3), dropResponse: fc.constantFrom(0, 0.1, 0.3), duplicate: fc.constantFrom(0, 0.2), stale: fc.constantFrom(0, 0.2) }),
        async (seed, faults) => {
          const rand = lcg(seed);
          const engines = devices.map((d) => d.engine);
          const { spaceId: s } = await engines[0]!.createSpace();
          for (const e of engines.slice(1)) await e.createSpace({ spaceId: s });
          const nets: FaultyTransport[] = [];
          const clients = engines.map((engine, i) => {
            const net = faultyTransport(httpTransport({ baseUrl: srv.url, token: session[i]!.token }), { ...faults, maxDelayMs: 3 }, rand);
            nets.push(net);
            return createSyncClient({ engine, spaceId: s, transport: net, pushBatch: 7, pullLimit: 5, create: i === 0 });
          });
          const doc = (await engines[0]!.createDocument(s, { content: "doc" })).oid;
          for (const c of clients) await syncHard(c);

          // Random edits, offline spells and syncs (which may fail: the edits stay local).
          for (let step = 0; step < 8; step++) {
            const i = Math.floor(rand() * DEVICES);
            const r = rand();
            if (r < 0.5) await randomEdits(engines[i]!, s, [doc], rand, 1 + Math.floor(rand() * 3), mix);
            else if (r < 0.65) nets[i]!.offline = !nets[i]!.offline;
            else await clients[i]!.sync().catch((error: unknown) => {
              if (!(error instanceof SyncError) || error.code !== "UNAVAILABLE") throw error;
            });
          }

          // Quiescence: everyone back online, in random order, until a full round passes twice.
          for (const n of nets) n.offline = false;
          const order = clients.map((c, i) => [rand(), i] as const).sort((x, y) => x[0] - y[0]).map(([, i]) => i);
          const direct = httpTransport({ baseUrl: srv.url, token: session[0]!.token });
          for (let pass = 0; ; pass++) {
            for (const i of order) await syncHard(clients[i]!);
            for (const n of nets) await n.idle();
            const last = (await direct.pull(s, 0, 1)).lastSeq;
            const cursors = await Promise.all(engines.map((e) => e.pullCursor(s)));
            if (pass >= 1 && cursors.every((c) => c === last)) break;
            expect(pass).toBeLessThan(20);
          }

          // The reference: every op the server has, applied once in clock order.
          const all: ReplicaOp[] = [];
          for (let after = 0; ; ) {
            const page = await direct.pull(s, after, 1000);
            all.push(...page.ops);
            if (!page.more) break;
            after = page.ops[page.ops.length - 1]!.serverSeq;
          }
          const ids = all.map((op) => op.opId);
          expect(new Set(ids).size).toBe(ids.length); // nothing doubled
          for (const e of engines) {
            const mine = (await e.logSince(s, { device: e.deviceId, limit: 10_000 })).map((op) => op.opId);
            expect(ids).toEqual(expect.arrayContaining(mine)); // nothing lost
          }
          await reference.engine.createSpace({ spaceId: s });
          await reference.engine.applyOps(s, [...all].sort((x, y) => (x.hlc < y.hlc ? -1 : x.hlc > y.hlc ? 1 : 0)));
          const want = await state(reference.engine, s, doc);
          for (const e of engines) expect(await state(e, s, doc)).toEqual(want);
          const events = await reference.engine.conflicts(s, { limit: 1000 });
          for (const e of engines) expect(await e.conflicts(s, { limit: 1000 })).toEqual(events);
          // The server's replica (an engine on the server's storage) holds the same versions.
          const replica = srv.app.syncReplica!;
          await replica.caughtUp(s);
          expect(await state(replica.engine, s, doc)).toEqual(want);
          expect(await replica.engine.conflicts(s, { limit: 1000 })).toEqual(events);
        },
      ),
      { numRuns: store.runs },
    );
  });
});
