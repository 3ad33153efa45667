/**
 * Partial replicas (engine/partial-replica.ts): a member who may read only part of a space holds
 * its tops' current state, copied as it is from the owner's engine (the sync server's replica),
 * reads and edits it there, and the same ops give the same vids on both sides.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Engine, SnapshotFrame } from "../index.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";
import { lcg, randomEdits } from "./helpers/random-edits.js";

async function collect(gen: AsyncIterable<SnapshotFrame>): Promise<SnapshotFrame[]> {
  const out: SnapshotFrame[] = [];
  for await (const f of gen) out.push(f);
  return out;
}

const whole = async (e: Engine, s: string, top: string) => {
  const root = await e.get(s, top);
  const { rows } = await e.view(s, top, { limit: 10_000 });
  return { vid: root.vid, stats: root.stats, rows: rows.map((r) => [r.oid, r.vid, r.depth, r.content, r.props]) };
};

const code = (p: Promise<unknown>) => p.then(() => "ok", (e: { code?: string }) => e.code ?? String(e));

describe.each(await usableBackends())("partial replicas on $name", (backend) => {
  const opened: Fresh[] = [];
  const fresh = async (options: { actor?: string } = {}) => {
    const f = await backend.fresh(options);
    opened.push(f);
    return f;
  };
  afterAll(async () => {
    for (const f of opened) await f.release();
  });

  it("a member's device holds the subtrees they may read, edits there, and the same ops give the same vids on the replica", async () => {
    const a = (await fresh()).engine;
    const { spaceId: s } = await a.createSpace();
    const doc = (await a.createDocument(s, { content: "plan" })).oid;
    const shared = (await a.create(s, { parentOid: doc, content: "roadmap" })).oid;
    const secret = (await a.create(s, { parentOid: doc, content: "budget" })).oid;
    await a.importTree(s, { parentOid: shared, nodes: Array.from({ length: 60 }, (_, i) => ({ content: `q${i}`, children: [{ content: `item ${i}` }] })) });
    await a.importTree(s, { parentOid: secret, nodes: [{ content: "salaries" }] });
    await randomEdits(a, s, [shared], lcg(3), 40);
    await a.share(s, shared, "bob", "collaborator");
    const other = (await a.create(s, { parentOid: secret, content: "bob may view this one" })).oid;
    await a.share(s, other, "bob", "viewer");
    const { tops, withheld } = await a.partialTops(s, "bob");
    expect(tops.map((t) => t.oid).sort()).toEqual([shared, other].sort());
    expect(withheld).toEqual([]);

    // Another device's edit of what bob may not read: its device id is not his to learn.
    const stranger = "0000ffff-0000-7000-8000-00000000000b";
    const last = (await a.logSince(s, { limit: 10_000 })).at(-1)!.hlc;
    const hlc = last.replace(/^(\d{15})/, (ms) => String(Number(ms) + 1).padStart(15, "0"));
    await a.applyOps(s, [{ opId: `${stranger}.1`, kind: "update", oid: secret, hlc, at: Date.now(), actor: null, device: stranger, data: { content: "budget, edited elsewhere" } }]);
    expect((await a.get(s, secret)).content).toBe("budget, edited elsewhere");
    const frames = await collect(a.exportPartial(s, "bob"));
    const head = frames[0] as Extract<SnapshotFrame, { t: "head" }>;
    expect(head.devices.map(([, id]) => id)).toContain(a.deviceId);
    expect(head.devices.map(([, id]) => id)).not.toContain(stranger);
    // The tops' rows name no place above them.
    for (const f of frames) if (f.t === "version") for (const r of f.rows) if (r[0] === shared || r[0] === other) expect([r[3], r[4]]).toEqual([null, null]);
    const b = (await fresh({ actor: "bob" })).engine;
    await b.createSpace({ spaceId: s });
    const loaded = await b.loadPartial(s, frames, "");
    expect(loaded.tops).toEqual(tops);
    // The same subtrees, vid for vid; the rest is not there; the tops are roots here.
    expect(await whole(b, s, shared)).toEqual(await whole(a, s, shared));
    expect(await whole(b, s, other)).toEqual(await whole(a, s, other));
    expect((await b.get(s, shared)).parentOid).toBeNull();
    // Not held here: to bob's engine that is no role there, as for any objective he may not read.
    expect(await code(b.get(s, secret))).toBe("FORBIDDEN");
    expect(await code(b.get(s, doc))).toBe("FORBIDDEN");
    expect((await b.documents(s)).map((d) => d.oid).sort()).toEqual([shared, other].sort());

    // Bob edits on his device, his role checked there (he only views `other`).
    const mark = (await b.logSince(s, { limit: 10_000 })).length;
    await randomEdits(b, s, [shared], lcg(4), 30);
    const made = await b.create(s, { parentOid: shared, index: 0, content: "from bob's device" });
    expect(await code(b.update(s, other, { content: "no" }))).toBe("FORBIDDEN");
    const his = (await b.logSince(s, { limit: 10_000 })).slice(mark);
    expect(his.length).toBeGreaterThan(20);
    // The replica applies them (as bob: the sync server stamps the actor) in clock order.
    await a.applyOps(s, his);
    expect((await a.get(s, made.oid)).content).toBe("from bob's device");
    expect(await whole(b, s, shared)).toEqual(await whole(a, s, shared));

    // The replica moves on (edits, a row moved out of the shared subtree, one moved in, a grant
    // withdrawn): a fresh load replaces what the device held, its own log kept.
    const kids = await a.children(s, shared, { limit: 3 });
    await a.move(s, kids[0]!.oid, { parentOid: secret });
    const salaries = (await a.children(s, secret, { limit: 1 }))[0]!.oid;
    await a.move(s, salaries, { parentOid: shared, index: 0 });
    await randomEdits(a, s, [shared], lcg(5), 20);
    await a.share(s, other, "bob", null);
    expect(await code(b.loadPartial(s, await collect(a.exportPartial(s, "bob")), ""))).toBe("CONFLICT"); // own ops not marked pushed
    const pushed = (await b.logSince(s, { limit: 10_000 })).at(-1)!.hlc;
    await b.loadPartial(s, await collect(a.exportPartial(s, "bob")), pushed);
    expect(await whole(b, s, shared)).toEqual(await whole(a, s, shared));
    expect(await code(b.get(s, kids[0]!.oid))).toBe("FORBIDDEN");
    expect(await code(b.get(s, other))).toBe("FORBIDDEN");
    expect((await b.get(s, salaries)).content).toBe("salaries");
    expect((await b.logSince(s, { limit: 10_000 })).length).toBe(mark + his.length);
    // Its history names only its own ops, each once: records that came with the rows carry the
    // replica's seqs, which its own op log numbers otherwise.
    const told = (await b.history(s, shared, { limit: 1000 })).ops.map((o) => o.opId);
    expect(new Set(told).size).toBe(told.length);
    for (const opId of told) expect(his.map((o) => o.opId)).toContain(opId);
    // And on: one more edit each side, applied across, equal again.
    const mine = await b.update(s, salaries, { content: "salaries, bob" });
    await a.applyOps(s, (await b.logSince(s, { limit: 10_000 })).slice(-1));
    expect((await a.get(s, salaries)).vid).toBe(mine.vid);
    expect((await a.get(s, shared)).vid).toBe((await b.get(s, shared)).vid);
  });

  it("sends only the tops whose vid the device does not hold: equal vids are equal subtrees", async () => {
    const a = (await fresh()).engine;
    const { spaceId: s } = await a.createSpace();
    const doc = (await a.createDocument(s, { content: "plan" })).oid;
    const [x, y] = [(await a.create(s, { parentOid: doc, content: "x" })).oid, (await a.create(s, { parentOid: doc, content: "y" })).oid];
    for (const top of [x, y]) await a.importTree(s, { parentOid: top, nodes: Array.from({ length: 200 }, (_, i) => ({ content: `row ${i}` })) });
    for (const top of [x, y]) await a.share(s, top, "bob", "viewer");
    const b = (await fresh()).engine;
    await b.createSpace({ spaceId: s });
    let loaded = await b.loadPartial(s, await collect(a.exportPartial(s, "bob")), "");
    expect([...loaded.sent].sort()).toEqual([x, y].sort());
    // What the device says it holds: each top's vid here and its entries mark as of the last load.
    const held = async () => {
      const marks = new Map(loaded.tops.map((t) => [t.oid, t.entries]));
      return Promise.all([x, y].map(async (o) => ({ oid: o, vid: (await b.get(s, o)).vid, entries: marks.get(o)! })));
    };
    // Only y changes (an edit inside it).
    await a.update(s, (await a.children(s, y, { limit: 1 }))[0]!.oid, { content: "y's first row, edited" });
    const frames = await collect(a.exportPartial(s, "bob", await held()));
    expect(frames[0]).toMatchObject({ t: "head", sent: [y] });
    const rows = frames.reduce((n, f) => n + (f.t === "version" ? f.rows.length : 0), 0);
    expect(rows).toBeLessThan(210); // y's 201 objectives' rows, none of x's
    loaded = await b.loadPartial(s, frames, "");
    expect(loaded.sent).toEqual([y]);
    for (const top of [x, y]) expect(await whole(b, s, top)).toEqual(await whole(a, s, top));
    // Entries make no vid, but an entry inside x moves x's mark alone: x travels, with it.
    const inX = (await a.children(s, x, { limit: 2 }))[1]!.oid;
    await a.share(s, inX, "carol", "viewer");
    loaded = await b.loadPartial(s, await collect(a.exportPartial(s, "bob", await held())), "");
    expect(loaded.sent).toEqual([x]);
    expect(await b.collaborators(s, inX)).toEqual(await a.collaborators(s, inX));
    // A row moved from x to y changes both: both travel, and x's copy loses it.
    const moved = (await a.children(s, x, { limit: 1 }))[0]!.oid;
    await a.move(s, moved, { parentOid: y, index: 0 });
    loaded = await b.loadPartial(s, await collect(a.exportPartial(s, "bob", await held())), "");
    expect([...loaded.sent].sort()).toEqual([x, y].sort());
    for (const top of [x, y]) expect(await whole(b, s, top)).toEqual(await whole(a, s, top));
    // A grant taken away: that top goes from the device at the next load.
    await a.share(s, x, "bob", null);
    expect((await b.loadPartial(s, await collect(a.exportPartial(s, "bob", await held())), "")).sent).toEqual([]);
    expect((await b.documents(s)).map((d) => d.oid)).toEqual([y]);
    expect(await code(b.get(s, x))).toBe("NOT_FOUND");
    // Nothing of x stays in the device's tables.
    const xRows = (await a.subtree(s, x, { depth: 5 }).catch(() => [])).map((r) => r.oid);
    const left = await Promise.all(xRows.map((o) => b.history(s, o).then(() => o, () => undefined)));
    expect(left.filter((o) => o !== undefined)).toEqual([]);
    expect(await code(b.get(s, moved))).toBe("ok");
  });

  it("serves the children of a top with something hidden inside, not the top, nor the hidden part; the owner's engine alone exports", async () => {
    const a = (await fresh()).engine;
    const { spaceId: s } = await a.createSpace();
    const doc = (await a.createDocument(s, { content: "plan" })).oid;
    const x = (await a.create(s, { parentOid: doc, content: "x" })).oid;
    const y = (await a.create(s, { parentOid: x, content: "y (hidden)" })).oid;
    await a.create(s, { parentOid: y, content: "below y" });
    const z = (await a.create(s, { parentOid: x, content: "z" })).oid;
    const deep = (await a.create(s, { parentOid: z, content: "below z" })).oid;
    await a.share(s, x, "carol", "viewer");
    await a.share(s, y, "carol", "none");
    const tops = await a.partialTops(s, "carol");
    expect(tops).toMatchObject({ tops: [{ oid: z, vid: (await a.get(s, z)).vid }], withheld: [x] });
    expect(tops.entries).toBeGreaterThan(0);
    const c = (await fresh({ actor: "carol" })).engine;
    await c.createSpace({ spaceId: s });
    const frames = await collect(a.exportPartial(s, "carol"));
    // Nothing of x's own row or y's subtree travels.
    const sentOids = new Set(frames.flatMap((f) => (f.t === "version" ? f.rows.map((r) => String(r[0])) : [])));
    expect([...sentOids].sort()).toEqual([z, deep].sort());
    await c.loadPartial(s, frames, "");
    expect(await c.holdsPartial(s)).toBe(true);
    expect((await c.documents(s)).map((d) => d.oid)).toEqual([z]);
    expect(await whole(c, s, z)).toEqual(await whole(a, s, z));
    expect(await code(c.get(s, y))).toBe("FORBIDDEN");
    expect(await code(c.get(s, x))).toBe("FORBIDDEN");
    expect(await a.partialTops(s, "dave")).toMatchObject({ tops: [], withheld: [] });
    expect(await a.holdsPartial(s)).toBe(false);
    expect(await code(a.as("carol").partialTops(s, "carol"))).toBe("FORBIDDEN");
  });
});
