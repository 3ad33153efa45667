import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, Props, ReplicaOp } from "../index.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";
import { lcg, randomEdits } from "./helpers/random-edits.js";

async function allOps(e: Engine, s: string, after = 0): Promise<ReplicaOp[]> {
  const out: ReplicaOp[] = [];
  let page = await e.opsSince(s, { after, limit: 7 });
  out.push(...page.ops);
  while (page.next !== undefined) {
    page = await e.opsSince(s, { after: page.next, limit: 7 });
    out.push(...page.ops);
  }
  return out;
}

/** Everything a device shows of a space: each document's root vid and its whole view. */
async function state(e: Engine, s: string, docs: readonly string[]) {
  const out: unknown[] = [];
  for (const d of docs) {
    const root = await e.get(s, d).catch(() => null);
    if (!root) {
      out.push(null);
      continue;
    }
    const { rows } = await e.view(s, d, { limit: 10_000 });
    out.push({ vid: root.vid, stats: root.stats, rows: rows.map((r) => [r.oid, r.vid, r.depth, r.content, r.props]) });
  }
  return out;
}

describe.each(await usableBackends())("replication on $name", (backend) => {
  let a: Fresh;
  let b: Fresh;
  let c: Fresh;
  beforeAll(async () => {
    a = await backend.fresh();
    b = await backend.fresh();
    c = await backend.fresh();
  });
  afterAll(async () => {
    await a?.release();
    await b?.release();
    await c?.release();
  });

  it("two devices that apply the same ops in the same order hold the same versions", async () => {
    const runs = Math.max(20, Number(process.env["LOGBOOK_PROPERTY_RUNS"] ?? 200) >> 3);
    const kinds = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), async (seed) => {
        const rand = lcg(seed);
        const A = a.engine;
        const B = b.engine;
        const { spaceId: s } = await A.createSpace();
        await B.createSpace({ spaceId: s });
        const docs = [(await A.createDocument(s, { content: "one" })).oid, (await A.createDocument(s, { content: "two" })).oid];
        // Ping-pong: each device edits, then the other catches up; the order is the same on both.
        let seenByB = 0;
        let seenByA = 0;
        for (let round = 0; round < 3; round++) {
          await randomEdits(A, s, docs, rand, 6);
          const fromA = await allOps(A, s, seenByA);
          seenByA += fromA.length;
          await B.applyOps(s, fromA);
          seenByB = (await B.opsSince(s, { limit: 10_000 })).ops.length;
          expect(await state(B, s, docs)).toEqual(await state(A, s, docs));
          await randomEdits(B, s, docs, rand, 4);
          const fromB = (await B.opsSince(s, { limit: 10_000 })).ops.slice(seenByB);
          const applied = await A.applyOps(s, fromB);
          expect(applied.skipped).toBe(0);
          seenByA = (await A.opsSince(s, { limit: 10_000 })).ops.length;
          expect(await state(A, s, docs)).toEqual(await state(B, s, docs));
        }
        // Duplicated delivery changes nothing.
        for (const op of await allOps(A, s)) kinds.add(op.kind);
        const again = await B.applyOps(s, await allOps(A, s));
        expect(again.applied).toBe(0);
        expect(await state(B, s, docs)).toEqual(await state(A, s, docs));
      }),
      { numRuns: runs },
    );
    expect([...kinds].sort()).toEqual(["checkout", "create", "createDocument", "import", "importPart", "move", "remove", "restore", "update"]);
  });

  it("a late op that sorts into an applied page undoes and re-applies only the ops after it", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    await c.engine.createSpace({ spaceId: s });
    const doc = await a.engine.createDocument(s, { content: "paged" });
    for (let i = 0; i < 300; i++) await a.engine.create(s, { parentOid: doc.oid, index: i % 7, content: `row ${i}` });
    const ops = await a.engine.logSince(s, { limit: 10_000 });
    // One page of 301 ops, one transaction.
    expect(await b.engine.applyOps(s, ops, { pageSize: 500 })).toEqual({ applied: 301, skipped: 0, rebuilt: 0 });
    // An update whose clock sorts just before op 200 (same wall time and counter, a device id that sorts first).
    const device = "00000000-0000-7000-8000-000000000001";
    const late = { ...ops[200]!, opId: `${device}.1`, device, kind: "update", oid: doc.oid, hlc: ops[200]!.hlc.replace(/:[^:]+$/, `:${device}`), data: { content: "late" } };
    expect(late.hlc < ops[200]!.hlc && late.hlc > ops[199]!.hlc).toBe(true);
    expect(await b.engine.applyOps(s, [late])).toEqual({ applied: 1, skipped: 0, rebuilt: 101 });
    // The same as a device that got everything in clock order.
    await c.engine.applyOps(s, [...ops, late]);
    expect(await state(b.engine, s, [doc.oid])).toEqual(await state(c.engine, s, [doc.oid]));
    expect((await b.engine.get(s, doc.oid)).content).toBe("late");
  });

  it("a catch-up moves the pull cursor to the last server seq it applied, in a page or op by op", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    const doc = await a.engine.createDocument(s, { content: "cursor" });
    for (let i = 0; i < 30; i++) await a.engine.create(s, { parentOid: doc.oid, index: 0, content: `row ${i}` });
    const ops = (await allOps(a.engine, s)).map((op, i) => ({ ...op, serverSeq: 100 + i }));
    // The first 20 arrive as a fresh catch-up (one page), the rest after one was already known.
    expect((await b.engine.applyOps(s, ops.slice(0, 20))).applied).toBe(20);
    expect(await b.engine.pullCursor(s)).toBe(119);
    expect((await b.engine.applyOps(s, ops.slice(19), { pageSize: 1 })).applied).toBe(11);
    expect(await b.engine.pullCursor(s)).toBe(100 + ops.length - 1);
    expect((await b.engine.get(s, doc.oid)).vid).toBe((await a.engine.get(s, doc.oid)).vid);
  });

  it("devices that edited concurrently converge whatever order the ops arrive in (late ops rebuild)", async () => {
    const runs = Math.max(10, Number(process.env["LOGBOOK_PROPERTY_RUNS"] ?? 200) >> 4);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 5 }), async (seed, chunks) => {
        const rand = lcg(seed);
        const A = a.engine;
        const B = b.engine;
        const C = c.engine;
        const { spaceId: s } = await A.createSpace();
        await B.createSpace({ spaceId: s });
        await C.createSpace({ spaceId: s });
        const docs = [(await A.createDocument(s, { content: "one" })).oid, (await A.createDocument(s, { content: "two" })).oid];
        await B.applyOps(s, await allOps(A, s));
        // Offline, concurrently.
        await randomEdits(A, s, docs, rand, 6);
        await randomEdits(B, s, docs, rand, 6);
        const logA = await A.logSince(s, { limit: 10_000 });
        const logB = await B.logSince(s, { limit: 10_000 });
        // Each gets the other's ops; C gets everything shuffled, in a few deliveries, some twice.
        await A.applyOps(s, logB);
        await B.applyOps(s, logA);
        const all = [...new Map([...logA, ...logB].map((op) => [op.opId, op])).values()];
        const shuffled = all.map((op) => [rand(), op] as const).sort((x, y) => x[0] - y[0]).map(([, op]) => op);
        const size = Math.ceil(shuffled.length / chunks);
        for (let i = 0; i < shuffled.length; i += size) await C.applyOps(s, shuffled.slice(i, i + size + 1));
        const want = await state(A, s, docs);
        expect(await state(B, s, docs)).toEqual(want);
        expect(await state(C, s, docs)).toEqual(want);
        expect((await B.logSince(s, { limit: 10_000 })).map((op) => op.opId)).toEqual((await A.logSince(s, { limit: 10_000 })).map((op) => op.opId));
        expect(await C.conflicts(s, { limit: 1000 })).toEqual(await A.conflicts(s, { limit: 1000 }));
      }),
      { numRuns: runs },
    );
  });

  it("an import reaches another device: its rows travel in parts, with the same oids, keys and vids", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    await c.engine.createSpace({ spaceId: s });
    const doc = await a.engine.createDocument(s, { content: "inbox" });
    await a.engine.create(s, { parentOid: doc.oid, content: "first" });
    await a.engine.create(s, { parentOid: doc.oid, content: "last" });
    // A document of 3,000 rows (several parts), streamed as a file import is.
    const outline = function* () {
      yield { kind: "open" as const, content: "big" };
      for (let i = 0; i < 60; i++) {
        yield { kind: "open" as const, content: `section ${i} ${"é".repeat(20)}`, props: { tag: [`t${i}`] } };
        for (let j = 0; j < 49; j++) yield* [{ kind: "open" as const, content: `row ${i}.${j}` }, { kind: "close" as const }];
        yield { kind: "close" as const };
      }
      yield { kind: "close" as const };
    };
    const { oids: [big] } = await a.engine.importStream(s, outline());
    // Under a row, between two of its children, and appended at the end.
    await a.engine.importTree(s, { parentOid: doc.oid, index: 1, nodes: [{ content: "pasted", children: [{ content: "child" }] }, { content: "second" }] });
    await a.engine.importStream(s, [{ kind: "open", content: "appended" }, { kind: "close" }], { parentOid: doc.oid });
    const log = await a.engine.logSince(s, { limit: 10_000 });
    expect(log.filter((op) => op.kind === "importPart").length).toBeGreaterThan(3);
    for (const op of log) expect(Buffer.byteLength(JSON.stringify(op))).toBeLessThan(64 * 1024);
    // B pages through opsSince (an import's parts follow it there); C gets the log reversed.
    await b.engine.applyOps(s, await allOps(a.engine, s));
    await c.engine.applyOps(s, [...log].reverse());
    const docs = [doc.oid, big!];
    const want = await state(a.engine, s, docs);
    expect((want[1] as { rows: unknown[] }).rows).toHaveLength(3_000);
    expect(await state(b.engine, s, docs)).toEqual(want);
    expect(await state(c.engine, s, docs)).toEqual(want);
    expect((await b.engine.view(s, doc.oid)).rows.map((r) => r.content)).toEqual(["first", "pasted", "child", "second", "last", "appended"]);
    expect(await b.engine.conflicts(s)).toEqual([]);
    // Edits of imported rows apply everywhere.
    const row = (await a.engine.view(s, big!, { offset: 10, limit: 1 })).rows[0]!;
    await a.engine.update(s, row.oid, { content: "edited" });
    await a.engine.move(s, row.oid, { parentOid: doc.oid, index: 0 });
    const more = (await a.engine.logSince(s, { limit: 10_000 })).slice(log.length);
    expect((await b.engine.applyOps(s, more)).applied).toBe(2);
    expect(await state(b.engine, s, docs)).toEqual(await state(a.engine, s, docs));
  });

  it("a late op older than an import undoes the import and replays it from its parts", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    const doc = await a.engine.createDocument(s, { content: "doc" });
    await b.engine.applyOps(s, await a.engine.logSince(s));
    // B edits offline first; A imports later (its clock follows B's edit once they meet).
    const early = await b.engine.create(s, { parentOid: doc.oid, content: "made offline" });
    const nodes = Array.from({ length: 400 }, (_, i) => ({ content: `imported ${i} ${"x".repeat(150)}`, children: [{ content: `under ${i}` }] }));
    await new Promise((r) => setTimeout(r, 5));
    await a.engine.importTree(s, { parentOid: doc.oid, index: 0, nodes });
    await a.engine.update(s, doc.oid, { content: "doc, renamed" });
    const fromA = await a.engine.logSince(s, { limit: 10_000 });
    const fromB = await b.engine.logSince(s, { device: b.engine.deviceId });
    expect(fromB[0]!.hlc < fromA.find((op) => op.kind === "import")!.hlc).toBe(true);
    const placed = await a.engine.applyOps(s, fromB);
    // The import, its parts and the update after it were undone and applied again.
    expect(placed.rebuilt).toBe(fromA.length - 1);
    // A undid its import and replayed it after B's older op: the local order now follows the clocks.
    const order = (await allOps(a.engine, s)).map((op) => op.kind);
    expect(order.indexOf("create")).toBeLessThan(order.indexOf("import"));
    await b.engine.applyOps(s, fromA);
    const want = await state(b.engine, s, [doc.oid]);
    expect(await state(a.engine, s, [doc.oid])).toEqual(want);
    const rows = (await a.engine.view(s, doc.oid, { limit: 2_000 })).rows;
    expect(rows).toHaveLength(801);
    expect(rows.some((r) => r.oid === early.oid)).toBe(true);
  });

  it("an import larger than one write batch, delivered before its parts, is skipped whole and applied once they come", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    const doc = await a.engine.createDocument(s, { content: "big paste" });
    await a.engine.create(s, { parentOid: doc.oid, content: "first" });
    const nodes = Array.from({ length: 400 }, (_, i) => ({ content: `block ${i}`, children: Array.from({ length: 29 }, (_, j) => ({ content: `line ${i}.${j}` })) }));
    await a.engine.importTree(s, { parentOid: doc.oid, nodes }); // 12,000 rows: written in batches of 5,000
    // opsSince lists the import before its parts: a page of 7 gets it alone first.
    const ops = await allOps(a.engine, s);
    const at = ops.findIndex((op) => op.kind === "import");
    await b.engine.applyOps(s, ops.slice(0, at + 1));
    expect((await b.engine.conflicts(s)).map((e) => [e.kind, e.outcome])).toEqual([["import", "skipped:NOT_FOUND"]]);
    expect((await b.engine.get(s, doc.oid)).stats.descendants).toBe(1);
    await b.engine.applyOps(s, ops.slice(at + 1));
    expect(await b.engine.conflicts(s)).toEqual([]);
    expect(await state(b.engine, s, [doc.oid])).toEqual(await state(a.engine, s, [doc.oid]));
    expect((await b.engine.get(s, doc.oid)).stats.descendants).toBe(12_001);
  });

  it("a pasted outline survives a concurrent removal that leaves fewer children than its index", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    const doc = await a.engine.createDocument(s, { content: "doc" });
    const kids = [];
    for (let i = 0; i < 3; i++) kids.push(await a.engine.create(s, { parentOid: doc.oid, content: `kid ${i}` }));
    await b.engine.applyOps(s, await a.engine.logSince(s));
    await b.engine.remove(s, kids[0]!.oid); // offline, first
    await new Promise((r) => setTimeout(r, 5));
    await a.engine.importTree(s, { parentOid: doc.oid, index: 3, nodes: [{ content: "pasted last" }] });
    await a.engine.applyOps(s, await b.engine.logSince(s, { device: b.engine.deviceId }));
    await b.engine.applyOps(s, await a.engine.logSince(s, { device: a.engine.deviceId }));
    for (const e of [a.engine, b.engine]) {
      expect((await e.view(s, doc.oid)).rows.map((r) => r.content)).toEqual(["kid 1", "kid 2", "pasted last"]);
      expect(await e.conflicts(s)).toEqual([]);
    }
    expect(await state(a.engine, s, [doc.oid])).toEqual(await state(b.engine, s, [doc.oid]));
  });

  it("skips a forged import whose counts its parts do not hold, before any work (a billion top-level keys)", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    const doc = await a.engine.createDocument(s, { content: "doc" });
    await a.engine.importTree(s, { parentOid: doc.oid, nodes: [{ content: "one" }] });
    const log = await a.engine.logSince(s);
    const forge = (data: Props): ReplicaOp[] => log.map((op) => (op.kind === "import" ? { ...op, data: { ...op.data, ...data } } : op));
    for (const [data, message] of [
      [{ tops: 1_000_000_000 }, "says 1000000000 top-level rows, its parts hold 1"],
      [{ count: 7 }, "says 7 rows, its parts hold 1"],
      [{ parts: 3 }, "lacks its part"],
    ] as const) {
      const { spaceId: t } = await b.engine.createSpace();
      await b.engine.applyOps(t, forge(data));
      const [event] = await b.engine.conflicts(t);
      expect(event).toMatchObject({ kind: "import", outcome: expect.stringMatching(/^skipped:/), detail: expect.stringContaining(message) });
      expect((await b.engine.get(t, doc.oid)).stats.descendants).toBe(0);
    }
  });

  it("an import made before imports replicated stays a barrier on the device that made it, even with an edit right after it", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    const doc = await a.engine.createDocument(s, { content: "doc" });
    await b.engine.applyOps(s, await a.engine.logSince(s));
    await b.engine.create(s, { parentOid: doc.oid, content: "made offline, earlier" });
    await new Promise((r) => setTimeout(r, 5));
    await a.engine.importTree(s, { parentOid: doc.oid, nodes: [{ content: "imported" }] });
    await a.engine.update(s, doc.oid, { content: "doc 2" });
    // A's log as an older engine left it: the import has no parts, and the edit after it took the next counter.
    const log = await a.engine.logSince(s, { limit: 100 });
    const imported = log.find((op) => op.kind === "import")!;
    const edit = log.find((op) => op.kind === "update")!;
    const dot = imported.opId.lastIndexOf(".");
    await a.sql("delete from op where space_id = $1 and kind = 'importPart'", [s]);
    await a.sql("update op set op_id = $3 where space_id = $1 and op_id = $2", [s, edit.opId, `${imported.opId.slice(0, dot)}.${Number(imported.opId.slice(dot + 1)) + 1}`]);
    await a.engine.applyOps(s, await b.engine.logSince(s, { device: b.engine.deviceId }));
    // The import could not be replayed: it was not undone. The late op went after it.
    expect((await a.engine.view(s, doc.oid)).rows.map((r) => r.content).sort()).toEqual(["imported", "made offline, earlier"]);
    expect((await a.engine.get(s, doc.oid)).content).toBe("doc 2");
  });

  it("keeps ops it cannot replay (unknown kinds, imports from before imports replicated) in its log and skips them", async () => {
    const { spaceId: s } = await a.engine.createSpace();
    await b.engine.createSpace({ spaceId: s });
    await expect(b.engine.createSpace({ spaceId: s })).rejects.toMatchObject({ code: "CONFLICT" });
    const doc = await a.engine.createDocument(s, { content: "doc" });
    await a.engine.update(s, doc.oid, { content: "doc 2" });
    const ops = await a.engine.logSince(s);
    const future = { ...ops[0]!, opId: `${ops[0]!.device}.999999`, kind: "colorize", hlc: ops[1]!.hlc.replace(/:\d{6}:/, ":999999:"), data: { color: "red" } };
    const legacy = { ...ops[0]!, opId: `${ops[0]!.device}.999998`, kind: "import", hlc: ops[1]!.hlc.replace(/:\d{6}:/, ":999998:"), data: { parentOid: doc.oid, count: 1, tops: [doc.oid] } };
    expect(await b.engine.applyOps(s, [...ops, future, legacy])).toMatchObject({ applied: 4, skipped: 0 });
    expect(await b.engine.applyOps(s, [...ops, future, legacy])).toMatchObject({ applied: 0, skipped: 4 });
    expect((await b.engine.get(s, doc.oid)).content).toBe("doc 2");
    expect((await b.engine.logSince(s)).map((op) => op.kind)).toEqual(["createDocument", "update", "import", "colorize"]);
    const events = await b.engine.conflicts(s);
    expect(events.map((e) => [e.kind, e.outcome])).toEqual([["colorize", "unknown-kind"], ["import", "skipped:INVALID_ARGUMENT"]]);
    expect(events[1]!.detail).toContain("carries no rows");
    await expect(b.engine.applyOps(s, [{ ...future, hlc: "soon" }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("soon") });
  });
});
