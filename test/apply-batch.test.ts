/**
 * A page of replayed ops written in one transaction (engine/apply-batch.ts) must leave exactly the
 * records that applying the same ops one transaction each leaves: every record, chunk, op and
 * document, every seq, every vid. Only the packing differs: a page keeps all records of one
 * objective in one row, so rows are compared record by record.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEngine, type Engine, type ReplicaOp } from "../index.js";
import type { Storage } from "../storage/contract.js";
import { serverStorage, usableBackends, type Fresh } from "./helpers/backends.js";
import { lcg, randomEdits, type EditMix } from "./helpers/random-edits.js";
import { unpack } from "../engine/format/codec.js";
import { decodeOpData, decodeTouched } from "../engine/format/op-row.js";
import { decodeBody } from "../engine/format/rows.js";

/** Few distinct contents and props, so many updates change nothing (no-ops in a page). */
const mix: EditMix = {
  create: (i, rand) => ({ index: Math.floor(rand() * 3), content: `c${i}`, props: { done: rand() < 0.5 } }),
  update: (i) => ({ content: `u${i % 3}`, props: { n: i % 2 } }),
};

/** Every record, chunk, op, document and the space's counter, in a form that does not depend on packing. */
async function rows(f: Fresh, s: string): Promise<Record<string, string[]>> {
  const devices = new Map((await f.sql<{ no: number; id: string }>("select no, id from device")).map((d) => [d.no, d.id]));
  // Device numbers are per database: compare the devices themselves.
  const vid = (v: unknown) => {
    if (typeof v === "string" || v === null) return v;
    const [h, dev, counter] = Array.isArray(v) ? v : [(v as { h: Uint8Array }).h, (v as { dev: number }).dev, (v as { counter: number }).counter];
    return [Buffer.from(h as Uint8Array).toString("hex"), devices.get(dev as number), counter];
  };
  const records: string[] = [];
  for (const row of await f.sql<{ oid: string; body: Uint8Array }>("select oid, body from version where space_id = $1", [s])) {
    for (const r of decodeBody(row.body)) {
      const { size: _size, ...rest } = r;
      records.push(JSON.stringify({ oid: row.oid, ...rest, ...("vid" in rest ? { vid: vid(rest.vid) } : {}) }));
    }
  }
  const ops = (await f.sql<Record<string, unknown>>("select op_id, hlc, kind, oid, at, actor, device, data, seq, outcome, detail, server_seq, vids, touched from op where space_id = $1", [s])).map((o) =>
    JSON.stringify({
      ...o,
      data: decodeOpData(o["data"] as Uint8Array),
      vids: o["vids"] === null ? null : (unpack(o["vids"] as Uint8Array) as unknown[]).map(vid),
      touched: decodeTouched(o["touched"] as Uint8Array | null),
    }),
  );
  const chunks = (await f.sql<{ chunk_id: Uint8Array; node: Uint8Array }>("select chunk_id, node from chunk where space_id = $1", [s])).map(
    (c) => `${Buffer.from(c.chunk_id).toString("hex")} ${Buffer.from(c.node).toString("hex")}`,
  );
  const docs = (await f.sql<{ oid: string; seq: number }>("select oid, seq from document where space_id = $1", [s])).map((d) => `${d.oid} ${d.seq}`);
  const space = (await f.sql<{ seq: number }>("select seq from space where space_id = $1", [s])).map((r) => String(r.seq));
  return { records: records.sort(), ops: ops.sort(), chunks: chunks.sort(), docs: docs.sort(), space };
}

/** A clock just after `op`'s (same reading, a device id that sorts after every UUID). */
const after = (op: ReplicaOp, tag: string) => op.hlc.replace(/:[^:]*$/, `:zz${tag}`);

/**
 * Ops no merge rule lets through, spliced in after random ops: an update of an objective that does
 * not exist, a kind this engine does not know, and an update that changes nothing.
 */
function withMisfits(ops: readonly ReplicaOp[], rand: () => number): ReplicaOp[] {
  const out: ReplicaOp[] = [];
  ops.forEach((op, i) => {
    out.push(op);
    const r = rand();
    if (r < 0.06) out.push({ ...op, opId: `${op.device}.${900_000 + i}`, kind: "update", oid: "01900000-0000-7000-8000-00000000dead", data: { content: "x" }, hlc: after(op, "a") });
    else if (r < 0.1) out.push({ ...op, opId: `${op.device}.${910_000 + i}`, kind: "colorize", data: { color: "red" }, hlc: after(op, "b") });
    else if (r < 0.16 && op.kind === "update") out.push({ ...op, opId: `${op.device}.${920_000 + i}`, hlc: after(op, "c") });
  });
  return out;
}

/**
 * Every version of every objective reads the same from storage alone on both engines: packed rows
 * (a page's records of one objective in one row) resolve like single ones.
 */
async function sameVersions(x: Engine, y: Engine, s: string): Promise<void> {
  x.clearCache();
  y.clearCache();
  const oids = (await single.sql<{ oid: string }>("select distinct oid from version where space_id = $1", [s])).map((r) => r.oid);
  for (const oid of oids) {
    const list = (await y.versions(s, oid, { limit: 1000 })).versions;
    expect((await x.versions(s, oid, { limit: 1000 })).versions.map((v) => [v.vid, v.vidBefore])).toEqual(list.map((v) => [v.vid, v.vidBefore]));
    for (const v of list) expect(await x.get(s, oid, { vid: v.vid })).toEqual(await y.get(s, oid, { vid: v.vid }));
  }
}

let single: Fresh;

describe.each(await usableBackends())("a page of ops in one transaction on $name", (backend) => {
  let a: Fresh;
  let paged: Fresh;
  beforeAll(async () => {
    a = await backend.fresh();
    paged = await backend.fresh();
    single = await backend.fresh();
  });
  afterAll(async () => {
    await a?.release();
    await paged?.release();
    await single?.release();
  });

  /** A new space on the origin, and the same space (empty) on the paged and the single engine. */
  const sharedSpace = async (): Promise<string> => {
    const { spaceId } = await a.engine.createSpace();
    await paged.engine.createSpace({ spaceId });
    await single.engine.createSpace({ spaceId });
    return spaceId;
  };

  it("writes the same rows as one transaction per op (random ops, misfits, late deliveries)", async () => {
    const runs = Math.max(8, Number(process.env["LOGBOOK_PROPERTY_RUNS"] ?? 200) >> 4);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), async (seed, pageSize, late) => {
        const rand = lcg(seed);
        const A = a.engine;
        const s = await sharedSpace();
        const docs = [(await A.createDocument(s, { content: "one" })).oid, (await A.createDocument(s, { content: "two" })).oid];
        await randomEdits(A, s, docs, rand, 30, mix);
        const ops = withMisfits(await A.logSince(s, { limit: 10_000 }), rand);
        // Late: the second delivery holds ops older than some of the first (a rebuild from the undo images).
        const cut = Math.floor(ops.length / 2);
        const deliveries = late ? [ops.slice(cut), ops.slice(0, cut)] : [ops.slice(0, cut), ops.slice(cut)];
        for (const d of deliveries) {
          await paged.engine.applyOps(s, d, { pageSize });
          await single.engine.applyOps(s, d, { pageSize: 1 });
        }
        expect(await rows(paged, s)).toEqual(await rows(single, s));
        for (const d of docs) expect((await paged.engine.get(s, d).catch(() => null))?.vid).toBe((await A.get(s, d).catch(() => null))?.vid);
        await sameVersions(paged.engine, single.engine, s);
      }),
      { numRuns: runs },
    );
  });

  it("a whole catch-up in default pages equals one transaction per op, and a duplicate delivery changes nothing", async () => {
    const rand = lcg(7);
    const s = await sharedSpace();
    const docs = [(await a.engine.createDocument(s, { content: "doc" })).oid];
    // A parent wider than one chunk (64 links), so edits under it write chunk rows.
    const wide = (await a.engine.create(s, { parentOid: docs[0]!, content: "wide" })).oid;
    for (let i = 0; i < 150; i++) await a.engine.create(s, { parentOid: wide, index: Math.floor(rand() * (i + 1)), content: `w${i}` });
    await randomEdits(a.engine, s, docs, rand, 120, mix);
    const ops = await a.engine.logSince(s, { limit: 10_000 });
    expect(await paged.engine.applyOps(s, ops)).toMatchObject({ applied: ops.length, skipped: 0 });
    await single.engine.applyOps(s, ops, { pageSize: 1 });
    const want = await rows(single, s);
    expect(want["chunks"]!.length, JSON.stringify(Object.fromEntries(Object.entries(want).map(([k, v]) => [k, v.length])))).toBeGreaterThan(10);
    expect(await rows(paged, s)).toEqual(want);
    expect(await paged.engine.applyOps(s, ops)).toMatchObject({ applied: 0, skipped: ops.length });
    expect(await rows(paged, s)).toEqual(want);
    expect((await paged.engine.get(s, docs[0]!)).vid).toBe((await a.engine.get(s, docs[0]!)).vid);
    await expect(paged.engine.applyOps(s, ops, { pageSize: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("pageSize") });
  });

  it("a page reads no chain the page before it read or wrote, and the first local edit after it reads nothing", async () => {
    // An engine on storage whose statements are recorded.
    const { storage, release } = await serverStorage(backend.name);
    const statements: string[] = [];
    const wrap = <Q extends { query: Storage["query"] }>(q: Q): Q =>
      ({ ...q, query: (sql: string, params?: readonly unknown[]) => (statements.push(sql), q.query(sql, params)) }) as Q;
    const recorded: Storage = { ...wrap(storage), kind: storage.kind, transaction: (fn) => storage.transaction((tx) => fn(wrap(tx))), close: async () => {} };
    const device = await openEngine({ storage: { kind: storage.kind, open: async () => recorded } });
    try {
      const { spaceId: s } = await a.engine.createSpace();
      await device.createSpace({ spaceId: s });
      const doc = (await a.engine.createDocument(s, { content: "doc" })).oid;
      const x = (await a.engine.create(s, { parentOid: doc, content: "x" })).oid;
      const y = (await a.engine.create(s, { parentOid: x, content: "y" })).oid;
      const first = await a.engine.logSince(s, { limit: 100 });
      await device.applyOps(s, first);
      await a.engine.update(s, y, { content: "y2" });
      const next = (await a.engine.logSince(s, { limit: 100 })).slice(first.length);
      statements.length = 0;
      await device.applyOps(s, next);
      expect(statements.filter((q) => q.includes("logbook_chains"))).toEqual([]);
      expect((await device.get(s, y)).vid).toBe((await a.engine.get(s, y)).vid);
      // Built from what the page left: the one-statement write, no lock-and-read first.
      statements.length = 0;
      await device.update(s, y, { content: "y3" });
      expect(statements.some((q) => q.includes("logbook_begin_write"))).toBe(false);
      expect(statements.some((q) => q.includes("bump as"))).toBe(true);
      expect((await device.get(s, doc)).stats.descendants).toBe(2);
    } finally {
      await device.close();
      await release();
    }
  });

  it("what a page learnt serves the next page and the local edits after it; another writer in between voids it", async () => {
    const rand = lcg(11);
    const s = await sharedSpace();
    const docs = [(await a.engine.createDocument(s, { content: "doc" })).oid];
    await randomEdits(a.engine, s, docs, rand, 90, mix);
    const ops = await a.engine.logSince(s, { limit: 10_000 });
    const half = Math.floor(ops.length / 2);
    // Small pages: each one starts from what the one before it read and wrote.
    await paged.engine.applyOps(s, ops.slice(0, half), { pageSize: 7 });
    await single.engine.applyOps(s, ops.slice(0, half), { pageSize: 1 });
    // Another engine on the same database applies the next op: the space's counter moves on, so
    // what the paged engine learnt is stale, and its next page must read storage again.
    const other = await paged.another?.();
    if (other) await other.applyOps(s, [ops[half]!]);
    await paged.engine.applyOps(s, ops.slice(half), { pageSize: 7 });
    await single.engine.applyOps(s, ops.slice(half), { pageSize: 1 });
    expect(await rows(paged, s)).toEqual(await rows(single, s));
    // Both replayed in pages: the origin, which made the ops one write at a time, is the reference.
    expect((await paged.engine.get(s, docs[0]!)).vid).toBe((await a.engine.get(s, docs[0]!)).vid);
    await sameVersions(paged.engine, a.engine, s);
    // Local edits right after a catch-up are built from what its last page learnt (no read at
    // all on the fast path): the same edits replayed from the log on the other engine make the
    // same versions. (Seqs may differ there: a replayed import's parts sort before it.)
    await randomEdits(paged.engine, s, docs, lcg(12), 30, mix);
    const mine = (await paged.engine.logSince(s, { limit: 10_000 })).filter((o) => !ops.some((x) => x.opId === o.opId));
    expect(mine.length).toBeGreaterThan(10);
    await single.engine.applyOps(s, mine, { pageSize: 1 });
    expect((await paged.engine.get(s, docs[0]!)).vid).toBe((await single.engine.get(s, docs[0]!)).vid);
    await sameVersions(paged.engine, single.engine, s);
  });
});
