/**
 * A page of replayed ops written in one transaction (engine/apply-batch.ts) must leave exactly the
 * rows that applying the same ops one transaction each leaves: every table, every seq, every vid.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, ReplicaOp } from "../index.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";
import { lcg, randomEdits, type EditMix } from "./helpers/random-edits.js";

/** Few distinct contents and props, so many updates change nothing (no-ops in a page). */
const mix: EditMix = {
  create: (i, rand) => ({ index: Math.floor(rand() * 3), content: `c${i}`, props: { done: rand() < 0.5 } }),
  update: (i) => ({ content: `u${i % 3}`, props: { n: i % 2 } }),
};

/**
 * Every table a replayed op writes, and the space's counter. Not `active_undo`: its images are per
 * transaction (the state before a page); late deliveries below check that undo still restores exactly.
 */
const TABLES = ["objective", "link", "op", "op_transitive", "active_version", "op_log", "space"];
/** Columns local to one database: the id of the transaction that wrote an op, when the replica was made. */
const LOCAL: Record<string, string> = { op_log: "tx", space: "created_at" };

async function rows(f: Fresh, s: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of TABLES) {
    const r = await f.sql<{ row: string }>(`select (to_jsonb(t) - $2::text)::text as row from ${t} t where space_id = $1 order by 1`, [s, LOCAL[t] ?? ""]);
    out[t] = r.map((x) => x.row);
  }
  return out;
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
    if (r < 0.06) out.push({ ...op, opId: `ghost.${i}`, kind: "update", oid: "01900000-0000-7000-8000-00000000dead", data: { content: "x" }, hlc: after(op, "a") });
    else if (r < 0.1) out.push({ ...op, opId: `future.${i}`, kind: "colorize", data: { color: "red" }, hlc: after(op, "b") });
    else if (r < 0.16 && op.kind === "update") out.push({ ...op, opId: `again.${i}`, hlc: after(op, "c") });
  });
  return out;
}

describe.each(await usableBackends())("a page of ops in one transaction on $name", (backend) => {
  let a: Fresh;
  let paged: Fresh;
  let single: Fresh;
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

  it("writes the same rows as one transaction per op (random ops, misfits, late deliveries)", async () => {
    const runs = Math.max(8, Number(process.env["LOGBOOK_PROPERTY_RUNS"] ?? 200) >> 4);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), async (seed, pageSize, late) => {
        const rand = lcg(seed);
        const A = a.engine;
        const { spaceId: s } = await A.createSpace();
        await paged.engine.createSpace({ spaceId: s });
        await single.engine.createSpace({ spaceId: s });
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
      }),
      { numRuns: runs },
    );
  });

  it("a whole catch-up in default pages equals one transaction per op, and a duplicate delivery changes nothing", async () => {
    const rand = lcg(7);
    const { spaceId: s } = await a.engine.createSpace();
    await paged.engine.createSpace({ spaceId: s });
    await single.engine.createSpace({ spaceId: s });
    const docs = [(await a.engine.createDocument(s, { content: "doc" })).oid];
    // A parent wider than one chunk (64 links), so edits under it write chunk rows.
    const wide = (await a.engine.create(s, { parentOid: docs[0]!, content: "wide" })).oid;
    for (let i = 0; i < 150; i++) await a.engine.create(s, { parentOid: wide, index: Math.floor(rand() * (i + 1)), content: `w${i}` });
    await randomEdits(a.engine, s, docs, rand, 120, mix);
    const ops = await a.engine.logSince(s, { limit: 10_000 });
    expect(await paged.engine.applyOps(s, ops)).toMatchObject({ applied: ops.length, skipped: 0 });
    await single.engine.applyOps(s, ops, { pageSize: 1 });
    const want = await rows(single, s);
    expect(want["link"]!.length, JSON.stringify(Object.fromEntries(Object.entries(want).map(([k, v]) => [k, v.length])))).toBeGreaterThan(10);
    expect(await rows(paged, s)).toEqual(want);
    expect(await paged.engine.applyOps(s, ops)).toMatchObject({ applied: 0, skipped: ops.length });
    expect(await rows(paged, s)).toEqual(want);
    expect((await paged.engine.get(s, docs[0]!)).vid).toBe((await a.engine.get(s, docs[0]!)).vid);
    await expect(paged.engine.applyOps(s, ops, { pageSize: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("pageSize") });
  });
});
