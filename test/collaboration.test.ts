/**
 * Collaboration (engine/roles.ts, engine/share.ts): entries per objective inherited by the subtree,
 * versioned apart from content, checked on every write and read of an engine acting for a user, and
 * replayed in clock order like every op, so a late revoke never makes replicas diverge.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineError, newOid, type CheckedOp, type Engine, type SnapshotFrame } from "../index.js";
import { outcomeOf as code } from "./helpers/error-code.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";

describe.each(await usableBackends())("collaboration on $name", (backend) => {
  const opened: Fresh[] = [];
  const fresh = async () => {
    const f = await backend.fresh();
    opened.push(f);
    return f;
  };
  let engine: Engine;
  beforeAll(async () => {
    engine = (await fresh()).engine;
  });
  afterAll(async () => {
    for (const f of opened) await f.release();
  });

  /** alice's document: plan / (a / a1, b / b1), made by alice acting through the engine. */
  async function aliceDoc() {
    const alice = engine.as("alice");
    const { spaceId: s } = await engine.createSpace();
    const doc = await alice.createDocument(s, { content: "plan" });
    const a = await alice.create(s, { parentOid: doc.oid, content: "a" });
    const a1 = await alice.create(s, { parentOid: a.oid, content: "a1" });
    const b = await alice.create(s, { parentOid: doc.oid, content: "b" });
    const b1 = await alice.create(s, { parentOid: b.oid, content: "b1" });
    return { s, alice, doc: doc.oid, a: a.oid, a1: a1.oid, b: b.oid, b1: b1.oid };
  }

  it("the creator manages a document; others have no role until shared, then the nearest entry rules", async () => {
    const { s, alice, doc, a, a1, b, b1 } = await aliceDoc();
    const bob = engine.as("bob");
    expect(await alice.collaborators(s, a1)).toEqual([{ user: "alice", role: "manager", oid: doc }]);
    expect(await code(bob.get(s, doc))).toBe("FORBIDDEN");
    expect(await code(bob.update(s, a1, { content: "x" }))).toBe("FORBIDDEN");

    await alice.share(s, doc, "bob", "viewer");
    await alice.share(s, a, "bob", "collaborator");
    expect((await bob.get(s, b1)).content).toBe("b1");
    expect(await code(bob.update(s, b1, { content: "no" }))).toBe("FORBIDDEN");
    expect((await bob.update(s, a1, { content: "a1 by bob" })).content).toBe("a1 by bob");
    expect(await alice.collaborators(s, a1)).toEqual([
      { user: "alice", role: "manager", oid: doc },
      { user: "bob", role: "collaborator", oid: a },
    ]);
    // A collaborator may not share; a move out of what the actor may edit is refused.
    expect(await code(bob.share(s, a, "carol", "viewer"))).toBe("FORBIDDEN");
    expect(await code(bob.move(s, a1, { parentOid: b }))).toBe("FORBIDDEN");
    expect(await code(bob.move(s, b1, { parentOid: a }))).toBe("FORBIDDEN");
    // Taking the entry on `a` away: the viewer entry above applies again.
    await alice.share(s, a, "bob", null);
    expect(await code(bob.update(s, a1, { content: "again" }))).toBe("FORBIDDEN");
    expect((await bob.get(s, a1)).content).toBe("a1 by bob");
  });

  it("a refused write writes nothing: no version, no op", async () => {
    const { s, doc, a1 } = await aliceDoc();
    const bob = engine.as("bob");
    const before = await engine.get(s, doc);
    const ops = (await engine.opsSince(s)).ops.length;
    const attempts = [
      () => bob.update(s, a1, { content: "x" }),
      () => bob.create(s, { parentOid: a1, content: "x" }),
      () => bob.remove(s, a1),
      () => bob.checkout(s, doc, before.vid),
      () => bob.importTree(s, { parentOid: a1, nodes: [{ content: "x" }] }),
      () => bob.share(s, doc, "bob", "manager"),
    ];
    for (const attempt of attempts) {
      const error = await attempt().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("FORBIDDEN");
      expect((error as EngineError).message).toContain("bob");
    }
    expect((await engine.get(s, doc)).vid).toBe(before.vid);
    expect((await engine.opsSince(s)).ops.length).toBe(ops);
  });

  it("entries are versioned apart from content: sharing makes no content version, a checkout keeps them", async () => {
    const { s, alice, doc, a, a1 } = await aliceDoc();
    const v0 = (await engine.get(s, doc)).vid;
    const versions0 = (await engine.versions(s, a)).versions.length;
    await alice.share(s, a, "bob", "collaborator");
    expect((await engine.get(s, doc)).vid).toBe(v0);
    expect((await engine.versions(s, a)).versions.length).toBe(versions0);
    await alice.update(s, a1, { content: "later" });
    await alice.checkout(s, doc, v0);
    expect((await engine.collaborators(s, a)).find((e) => e.user === "bob")).toEqual({ user: "bob", role: "collaborator", oid: a });
    await alice.share(s, a, "bob", "viewer");
    await alice.share(s, a, "bob", "viewer"); // already so: nothing written
    const changes = await engine.shareHistory(s, a);
    expect(changes.map((c) => [c.user, c.role, c.by])).toEqual([
      ["bob", "viewer", "alice"],
      ["bob", "collaborator", "alice"],
    ]);
    expect((await engine.opsSince(s)).ops.filter((o) => o.kind === "share").length).toBe(2);
  });

  it("a reader does not see subtrees hidden from them: not in children, subtrees, views or statistics", async () => {
    const { s, alice, doc, a, a1, b, b1 } = await aliceDoc();
    await alice.update(s, a1, { props: { done: true } });
    await alice.update(s, b1, { props: { done: false } });
    await alice.share(s, doc, "bob", "viewer");
    await alice.share(s, b, "bob", "none");
    const bob = engine.as("bob");
    expect((await bob.children(s, doc)).map((o) => o.content)).toEqual(["a"]);
    expect((await bob.subtree(s, doc, { depth: 5 })).map((o) => o.content)).toEqual(["a", "a1"]);
    expect(await code(bob.get(s, b))).toBe("FORBIDDEN");
    // The stored statistics count b and b1; bob's leave them out, in every read.
    expect((await engine.get(s, doc)).stats).toMatchObject({ descendants: 4, total: 2, done: 1, percent: 50 });
    expect((await bob.get(s, doc)).stats).toMatchObject({ descendants: 2, total: 1, done: 1, percent: 100 });
    const seen = await bob.view(s, doc);
    expect(seen.total).toBe(2);
    expect(seen.rows.map((r) => [r.content, r.depth, r.stats.descendants])).toEqual([["a", 0, 1], ["a1", 1, 0]]);
    expect(await bob.rowIndex(s, doc, a1)).toBe(1);
    expect(await bob.rowIndex(s, doc, b1)).toBe(-1);
    expect((await bob.view(s, a)).rows.map((r) => r.content)).toEqual(["a1"]);
    // Under a hidden subtree's fold as well: the row above still leaves it out of its statistics.
    const folded = await bob.view(s, doc, { folded: [a] });
    expect(folded.rows.map((r) => [r.content, r.folded])).toEqual([["a", true]]);
    expect((await bob.documents(s)).map((d) => d.oid)).toEqual([doc]);
    expect(await engine.as("carol").documents(s)).toEqual([]);
    expect((await alice.children(s, doc)).length).toBe(2);

    // Past versions too: their statistics leave out what is hidden, as that version's tree held it.
    const past = (await engine.get(s, doc)).vid;
    await alice.create(s, { parentOid: b, content: "b2" });
    await alice.create(s, { parentOid: a, content: "a2" });
    expect((await engine.get(s, doc, { vid: past })).stats.descendants).toBe(4);
    expect((await bob.get(s, doc, { vid: past })).stats).toMatchObject({ descendants: 2, total: 1, done: 1 });
    expect((await bob.get(s, doc)).stats.descendants).toBe(3);
    expect((await bob.children(s, doc, { vid: past })).map((o) => [o.content, o.stats.descendants])).toEqual([["a", 1]]);
    expect((await bob.subtree(s, doc, { depth: 5, vid: past })).map((o) => o.content)).toEqual(["a", "a1"]);
    // A past version of a row whose hidden part moved in later keeps its own count.
    const aPast = (await engine.get(s, a)).vid;
    await alice.move(s, b1, { parentOid: a });
    await alice.share(s, b1, "bob", "none");
    expect((await bob.get(s, a, { vid: aPast })).stats.descendants).toBe(2);
    expect((await bob.get(s, a)).stats.descendants).toBe(2);
    expect((await engine.get(s, a)).stats.descendants).toBe(3);
  });

  it("an acting engine may not use the owner's calls, another user's folds, or act for someone else", async () => {
    const { s, alice, doc } = await aliceDoc();
    await alice.share(s, doc, "bob", "manager");
    const bob = engine.as("bob");
    for (const attempt of [
      () => bob.opsSince(s),
      () => bob.applyOps(s, []),
      () => bob.logSince(s),
      () => bob.conflicts(s),
      () => bob.settle(s),
      () => bob.setPushMark(s, "x"),
      () => bob.folds(s, "alice"),
      () => bob.setFolded(s, "alice", doc, true),
      () => bob.view(s, doc, { user: "alice" }),
    ]) {
      expect(await code(attempt())).toBe("FORBIDDEN");
    }
    expect(() => bob.exportSnapshot(s)).toThrow(/may not call exportSnapshot/);
    expect(() => bob.as("alice")).toThrow(/may not act for user alice/);
    await bob.setFolded(s, "bob", doc, true);
    expect(await bob.folds(s, "bob")).toEqual([doc]);
  });

  it("documents imported by a user are theirs; a subtree holding a part the actor may only view is not removed, moved or rewound whole", async () => {
    const { s, alice, doc, a, a1, b } = await aliceDoc();
    const bob = engine.as("bob");
    const made = await bob.importTree(s, { nodes: [{ content: "bob's import", children: [{ content: "inside" }] }] });
    expect(await engine.collaborators(s, made.oids[0]!)).toEqual([{ user: "bob", role: "manager", oid: made.oids[0]! }]);
    expect(await code(alice.get(s, made.oids[0]!))).toBe("FORBIDDEN");

    await alice.share(s, a, "bob", "collaborator");
    await alice.share(s, a1, "bob", "viewer");
    const before = (await engine.get(s, doc)).vid;
    expect(await code(bob.remove(s, a))).toBe("FORBIDDEN");
    expect(await code(bob.checkout(s, a, (await engine.versions(s, a)).versions.at(-1)!.vid))).toBe("FORBIDDEN");
    await alice.share(s, b, "bob", "collaborator");
    expect(await code(bob.move(s, a, { parentOid: b }))).toBe("FORBIDDEN");
    expect((await engine.get(s, doc)).vid).toBe(before);
    expect((await bob.update(s, a, { content: "a by bob" })).content).toBe("a by bob");
    expect(await code(bob.update(s, a1, { content: "no" }))).toBe("FORBIDDEN");
    // Nor restored whole: alice removed a; bring it back she may, bob may not (a1 is view-only to him).
    await alice.share(s, doc, "bob", "collaborator");
    await alice.remove(s, a);
    expect(await code(bob.restore(s, a))).toBe("FORBIDDEN");
    // The server's check of a pushed restore agrees.
    const restoreOp = (oid: string) => [{ opId: `${newOid()}.1`, kind: "restore", oid, actor: "bob", data: { toParent: null } }];
    expect(await engine.checkOps(s, restoreOp(a))).toMatchObject({ message: expect.stringContaining(`their role on ${a1}`) });
    expect((await alice.restore(s, a)).oid).toBe(a);
    expect((await engine.get(s, a1)).content).toBe("a1");
    // Without a lower entry inside, a collaborator there brings a removed subtree back.
    await alice.remove(s, b);
    expect(await engine.checkOps(s, restoreOp(b))).toBeUndefined();
    expect((await bob.restore(s, b)).oid).toBe(b);
  });

  it("a reader's history and diffs leave out what changed in subtrees hidden from them", async () => {
    const { s, alice, doc, a1, b1, b } = await aliceDoc();
    const v0 = (await engine.get(s, doc)).vid;
    await alice.update(s, a1, { content: "a1 again" });
    await alice.update(s, b1, { content: "secret" });
    await alice.share(s, doc, "bob", "viewer");
    await alice.share(s, b, "bob", "none");
    const bob = engine.as("bob");
    const v1 = (await engine.get(s, doc)).vid;
    const mine = (await bob.history(s, doc)).ops.map((o) => o.oid);
    expect(mine).toContain(a1);
    expect(mine).not.toContain(b1);
    expect((await engine.history(s, doc)).ops.map((o) => o.oid)).toContain(b1);
    const changes = (await bob.diff(s, doc, v0, v1)).map((c) => c.oid);
    expect(changes).toContain(a1);
    expect(changes).not.toContain(b1);
    // Granted again below the hidden part: its own history is bob's to read.
    await alice.share(s, b1, "bob", "viewer");
    expect((await bob.history(s, b1)).ops.map((o) => o.oid)).toContain(b1);
    expect((await bob.history(s, doc)).ops.map((o) => o.oid)).not.toContain(b1);
  });

  it("an acting edit checks its role from memory only while nobody else wrote: grants and revokes elsewhere count at once", async (ctx) => {
    const f = await fresh();
    if (!f.another) return ctx.skip(); // PGlite: one engine per database
    const laptop = f.engine;
    const server = await f.another();
    try {
      const { spaceId: s } = await laptop.createSpace();
      const alice = laptop.as("alice");
      const doc = (await alice.createDocument(s, { content: "plan" })).oid;
      const mine = (await alice.create(s, { parentOid: doc, content: "bob's" })).oid;
      const row = (await alice.create(s, { parentOid: doc, content: "row" })).oid;
      await alice.share(s, mine, "bob", "collaborator");
      const bob = laptop.as("bob");
      await bob.update(s, mine, { content: "bob 0" }); // bob's entries now known: collaborator on `mine` only
      await server.as("alice").share(s, doc, "bob", "collaborator"); // another engine grants the whole document
      expect((await bob.update(s, row, { content: "bob 1" })).content).toBe("bob 1");
      expect((await bob.update(s, row, { content: "bob 2" })).content).toBe("bob 2"); // from memory
      await server.as("alice").share(s, doc, "bob", null); // another engine revokes it
      expect(await code(bob.update(s, row, { content: "bob 3" }))).toBe("FORBIDDEN");
      expect((await laptop.get(s, row)).content).toBe("bob 2");
    } finally {
      await server.close();
    }
  });

  it("bad input is a typed error naming the value", async () => {
    const { s, alice, a } = await aliceDoc();
    const bad = await alice.share(s, a, "bob", "owner" as never).then(() => undefined, (e: unknown) => e as EngineError);
    expect(bad?.code).toBe("INVALID_ARGUMENT");
    expect(bad?.message).toContain('"owner"');
    expect(() => engine.as("")).toThrow(/user must be/);
    expect(await code(alice.share(s, "00000000-0000-4000-8000-000000000000", "bob", "viewer"))).toBe("NOT_FOUND");
  });

  it("replicas apply entries in clock order: a late revoke skips the edit it forbids, everywhere, and a snapshot carries them", async () => {
    const { s, alice, doc, a1 } = await aliceDoc();
    await alice.share(s, doc, "bob", "collaborator");
    const phone = (await fresh()).engine;
    await phone.createSpace({ spaceId: s });
    await phone.applyOps(s, (await engine.opsSince(s)).ops);
    const seen = (await engine.opsSince(s)).ops.length;
    // bob edits on the phone; alice revoked bob on the laptop earlier by the clock, offline.
    await alice.share(s, doc, "bob", null);
    const revoke = (await engine.opsSince(s, { after: 0 })).ops.slice(seen);
    const edit = await phone.as("bob").update(s, a1, { content: "bob, offline" });
    expect(edit.content).toBe("bob, offline");
    const bobOps = (await phone.opsSince(s)).ops.slice(seen);
    // Each replica takes the other's op: the revoke sorts first, so bob's edit is skipped on both.
    await phone.applyOps(s, revoke);
    await engine.applyOps(s, bobOps);
    expect((await phone.get(s, a1)).content).toBe("a1");
    expect((await engine.get(s, a1)).content).toBe("a1");
    expect((await phone.get(s, doc)).vid).toBe((await engine.get(s, doc)).vid);
    expect((await phone.conflicts(s)).map((c) => c.outcome)).toContain("skipped:FORBIDDEN");
    expect(await phone.collaborators(s, a1)).toEqual(await engine.collaborators(s, a1));

    const frames: SnapshotFrame[] = [];
    for await (const f of engine.exportSnapshot(s)) frames.push(f);
    const joined = (await fresh()).engine;
    await joined.loadSnapshot(s, frames);
    expect(await joined.shareHistory(s, doc)).toEqual(await engine.shareHistory(s, doc));
    expect(await code(joined.as("bob").get(s, doc))).toBe("FORBIDDEN");
  });

  it("withdraw takes back an own op a server refused: undone, kept as a conflict, never re-applied by a later undo", async () => {
    const { s, alice, doc, a1, b1 } = await aliceDoc();
    const phone = (await fresh()).engine;
    await phone.createSpace({ spaceId: s });
    await phone.applyOps(s, (await engine.opsSince(s)).ops);
    const seen = (await engine.opsSince(s)).ops.length;
    // Two edits on the laptop, older by the clock than the phone's: the phone gets the second now,
    // the first late (after the withdrawal), so the undo for it reaches below the withdrawn op.
    await alice.update(s, b1, { content: "b1, laptop" });
    await alice.update(s, doc, { content: "plan, laptop" });
    const [late, early] = [(await engine.opsSince(s)).ops.slice(seen, seen + 1), (await engine.opsSince(s)).ops.slice(seen + 1)];
    await phone.applyOps(s, early);
    await phone.update(s, a1, { content: "a1, refused" });
    await phone.update(s, a1, { props: { done: true } });
    const [refused] = await phone.logSince(s, { device: phone.deviceId });
    await phone.withdraw(s, refused!.opId, "the server says no");
    expect(await phone.get(s, a1)).toMatchObject({ content: "a1", props: { done: true } });
    expect((await phone.conflicts(s))[0]).toMatchObject({ opId: refused!.opId, outcome: "refused:FORBIDDEN", detail: "the server says no" });
    expect((await phone.logSince(s, { device: phone.deviceId, pushable: true })).map((o) => o.opId)).not.toContain(refused!.opId);
    // The late op undoes and re-applies what follows it: the withdrawn op stays out.
    await phone.applyOps(s, late);
    expect(await phone.get(s, a1)).toMatchObject({ content: "a1", props: { done: true } });
    expect((await phone.get(s, b1)).content).toBe("b1, laptop");
    // Only the device's own ops, not yet on a server.
    expect(await code(phone.withdraw(s, late[0]!.opId, "no"))).toBe("INVALID_ARGUMENT");
    expect(await code(phone.withdraw(s, `${phone.deviceId}.999999`, "no"))).toBe("NOT_FOUND");
    expect(await code(phone.withdraw(s, "nope", "no"))).toBe("INVALID_ARGUMENT");
    expect(await code(engine.as("bob").withdraw(s, refused!.opId, "no"))).toBe("FORBIDDEN");
  });

  it("checkOps judges a pushed batch as replay would: objectives and entries made earlier in the batch count, the first refusal is named", async () => {
    const { s, alice, doc, a, a1, b } = await aliceDoc();
    await alice.share(s, doc, "bob", "viewer");
    await alice.share(s, a, "bob", "collaborator");
    await alice.share(s, a, "carol", "manager");
    const op = (kind: string, oid: string, data: CheckedOp["data"] = {}, actor: string | null = "bob"): CheckedOp => ({ opId: `${newOid()}.1`, kind, oid, actor, data });
    const x = newOid();
    const y = newOid();
    // bob makes x under a, then y under x, then edits both: allowed (x's place is a's).
    expect(
      await engine.checkOps(s, [op("create", x, { parentOid: a, pos: "a0", content: "x" }), op("create", y, { parentOid: x, pos: "a0", content: "y" }), op("update", y, { content: "z" })]),
    ).toBeUndefined();
    // The first refused op is named by index, id and reason.
    const refusedBatch = [op("update", a1, { content: "fine" }), op("create", x, { parentOid: b, pos: "a0", content: "x" })];
    expect(await engine.checkOps(s, refusedBatch)).toEqual({ index: 1, opId: refusedBatch[1]!.opId, message: expect.stringContaining("user bob may not edit objective " + b) });
    // Every refusal of a batch, each judged without the refused ones before it: a refused create
    // makes nothing (the update of its row is left to replay, which skips it as NOT_FOUND).
    const z = newOid();
    const mixed = [
      op("update", b, { content: "no" }),
      op("create", z, { parentOid: b, pos: "a0", content: "z" }),
      op("update", z, { content: "left to replay" }),
      op("update", a1, { content: "fine" }),
      op("teleport", a1),
    ];
    const all = await engine.refusedOps(s, mixed);
    expect(all.map((r) => r.index)).toEqual([0, 1, 4]);
    expect(all[0]).toEqual(await engine.checkOps(s, mixed));
    expect(await engine.refusedOps(s, mixed.slice(2, 4))).toEqual([]);
    // carol steps down to viewer on a within the batch: her edit after that is refused.
    expect(await engine.checkOps(s, [op("update", a1, {}, "carol"), op("share", a, { user: "carol", role: "viewer" }, "carol"), op("update", a1, {}, "carol")])).toMatchObject({ index: 2 });
    // A document made in the batch is its creator's to fill.
    const d = newOid();
    expect(await engine.checkOps(s, [op("createDocument", d, { content: "mine" }, "dave"), op("create", x, { parentOid: d, pos: "a0", content: "x" }, "dave")])).toBeUndefined();
    // The owner (no actor) is never refused; kinds this engine cannot replay are, unless let pass.
    expect(await engine.checkOps(s, [op("remove", doc, {}, null)])).toBeUndefined();
    expect(await engine.checkOps(s, [op("teleport", a1)])).toMatchObject({ index: 0, message: expect.stringContaining("teleport") });
    expect(await engine.checkOps(s, [op("teleport", a1)], { passUnknownKinds: true })).toBeUndefined();
    // Only the owner's engine answers it.
    expect(await code(engine.as("bob").checkOps(s, []))).toBe("FORBIDDEN");

    // Clocks: an op older than its actor's first role is refused; one the present refuses but that
    // is older than a later move is left to replay (it was made while a1 was in bob's reach).
    const log = await engine.logSince(s);
    const hlcOf = (kind: string, pred: (o: (typeof log)[number]) => boolean) => log.filter((o) => o.kind === kind && pred(o)).at(-1)!.hlc;
    const before = (hlc: string) => hlc.replace(/^(\d{15})/, (ms) => String(Number(ms) - 1).padStart(15, "0"));
    const lastGrant = hlcOf("share", (o) => o.data["user"] === "bob");
    const early = (await engine.logSince(s)).find((o) => o.data["user"] === "bob")!.hlc;
    expect(await engine.checkOps(s, [{ ...op("update", a1, {}), hlc: before(early) }])).toMatchObject({ message: expect.stringContaining("no role") });
    expect(await engine.checkOps(s, [{ ...op("update", a1, {}), hlc: lastGrant }])).toBeUndefined();
    // Between his first role and the last change of his entries: judged under a role he may no
    // longer have, so refused (a backdated clock must not bring a lowered role back).
    expect(await engine.checkOps(s, [{ ...op("update", a1, {}), hlc: early }])).toMatchObject({ message: expect.stringContaining("last change") });
    const offline = (await engine.logSince(s)).at(-1)!.hlc;
    await alice.move(s, a1, { parentOid: b });
    expect(await engine.checkOps(s, [op("update", a1, {})])).toMatchObject({ index: 0 });
    expect(await engine.checkOps(s, [{ ...op("update", a1, {}), hlc: offline }])).toBeUndefined();
    const now = (await engine.logSince(s)).at(-1)!.hlc;
    expect(await engine.checkOps(s, [{ ...op("update", a1, {}), hlc: now.replace(/^(\d{15})/, (ms) => String(Number(ms) + 1).padStart(15, "0")) }])).toMatchObject({ index: 0 });
  });

  it("accessOf tells a user's reach in a space: member, reads all of it, their entries", async () => {
    const { s, alice, doc, b, b1 } = await aliceDoc();
    expect(await engine.accessOf(s, "alice")).toEqual({ member: true, readsAll: true, entries: [{ oid: doc, role: "manager" }] });
    expect(await engine.accessOf(s, "bob")).toMatchObject({ member: false, readsAll: false, entries: [] });
    await alice.share(s, doc, "bob", "viewer");
    expect(await engine.accessOf(s, "bob")).toMatchObject({ member: true, readsAll: true });
    // Something hidden from him below: no longer all of it.
    await alice.share(s, b1, "bob", "none");
    expect(await engine.accessOf(s, "bob")).toMatchObject({ member: true, readsAll: false });
    // Part of a document only.
    await alice.share(s, b, "carol", "collaborator");
    expect(await engine.accessOf(s, "carol")).toEqual({ member: true, readsAll: false, entries: [{ oid: b, role: "collaborator" }] });
    // A second document, not shared with bob: he reads part of the space.
    await alice.share(s, b1, "bob", null);
    expect((await engine.accessOf(s, "bob")).readsAll).toBe(true);
    await alice.createDocument(s, { content: "alice's own" });
    expect((await engine.accessOf(s, "bob")).readsAll).toBe(false);
    expect(await code(engine.as("bob").accessOf(s, "carol"))).toBe("FORBIDDEN");
    expect((await engine.as("bob").accessOf(s, "bob")).member).toBe(true);
  });
});
