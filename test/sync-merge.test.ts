/**
 * The merge rules of docs/sync.md, one by one, on two devices that edit concurrently and then
 * exchange their ops (each device receives the other's ops late, so both rebuild): both end in the
 * same state, and that state is what the rule says.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../index.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";

const tick = () => new Promise((r) => setTimeout(r, 3)); // a later wall-clock ms: a later clock

describe.each(await usableBackends())("merge rules on $name", (backend) => {
  let a: Fresh;
  let b: Fresh;
  beforeAll(async () => {
    a = await backend.fresh();
    b = await backend.fresh();
  });
  afterAll(async () => {
    await a?.release();
    await b?.release();
  });

  /** A shared space with a document and `n` children, known to both devices. */
  async function shared(n: number): Promise<{ s: string; doc: string; kids: string[]; A: Engine; B: Engine }> {
    const A = a.engine;
    const B = b.engine;
    const { spaceId: s } = await A.createSpace();
    await B.createSpace({ spaceId: s });
    const doc = (await A.createDocument(s, { content: "doc" })).oid;
    const kids: string[] = [];
    for (let i = 0; i < n; i++) kids.push((await A.create(s, { parentOid: doc, content: `k${i}` })).oid);
    await B.applyOps(s, await A.logSince(s));
    await tick();
    return { s, doc, kids, A, B };
  }

  /** Each device gets the other's ops; both must then show the same tree. */
  async function exchange(s: string, doc: string, A: Engine, B: Engine) {
    const fromA = await A.logSince(s, { device: A.deviceId });
    const fromB = await B.logSince(s, { device: B.deviceId });
    await A.applyOps(s, fromB);
    await B.applyOps(s, fromA);
    const view = async (e: Engine) => ({
      vid: (await e.get(s, doc)).vid,
      rows: (await e.view(s, doc, { limit: 1000 })).rows.map((r) => ({ oid: r.oid, depth: r.depth, content: r.content, props: r.props })),
    });
    const [va, vb] = [await view(A), await view(B)];
    expect(vb).toEqual(va);
    expect(await B.conflicts(s)).toEqual(await A.conflicts(s));
    return { rows: va.rows, conflicts: await A.conflicts(s) };
  }

  it("concurrent updates merge per field, the later clock winning each field", async () => {
    const { s, doc, kids, A, B } = await shared(1);
    const [x] = kids as [string];
    await A.update(s, x, { content: "from A", props: { tag: "A", a: 1 } });
    await tick();
    await B.update(s, x, { props: { tag: "B", done: true } });
    const { rows } = await exchange(s, doc, A, B);
    expect(rows[0]).toMatchObject({ content: "from A", props: { tag: "B", a: 1, done: true } });
  });

  it("a move that would make a cycle is dropped and recorded as a conflict event", async () => {
    const { s, doc, kids, A, B } = await shared(2);
    const [x, y] = kids as [string, string];
    await A.move(s, x, { parentOid: y });
    await tick();
    await B.move(s, y, { parentOid: x }); // later clock: applied after A's move, it would loop
    const { rows, conflicts } = await exchange(s, doc, A, B);
    expect(rows.map((r) => [r.content, r.depth])).toEqual([["k1", 0], ["k0", 1]]);
    expect(conflicts).toMatchObject([{ kind: "move", oid: y, outcome: "skipped:CYCLE" }]);
  });

  it("an edit of an objective a concurrent op removed stays in the log and does not resurrect it", async () => {
    const { s, doc, kids, A, B } = await shared(2);
    const [x, y] = kids as [string, string];
    await B.update(s, y, { content: "edited before the removal" }); // earlier clock: applied, then removed with it
    await tick();
    await A.remove(s, x);
    await A.remove(s, y);
    await tick();
    await B.update(s, x, { content: "edited after the removal" });
    await B.create(s, { parentOid: x, content: "child of removed" });
    const { rows, conflicts } = await exchange(s, doc, A, B);
    expect(rows).toEqual([]);
    expect(conflicts.map((c) => [c.kind, c.outcome])).toEqual([
      ["create", "skipped:NOT_FOUND"],
      ["update", "skipped:NOT_FOUND"],
    ]);
    // Kept: every device still has the ops (and forwards them), and history keeps y's edit.
    expect((await A.logSince(s)).map((op) => op.kind)).toContain("update");
    const history = await A.history(s, y);
    expect(history.ops.map((op) => op.kind)).toEqual(["remove", "update", "create"]);
  });

  it("two creates at the same place under one parent both survive, in clock order", async () => {
    const { s, doc, A, B } = await shared(2);
    await A.create(s, { parentOid: doc, index: 1, content: "from A" });
    await tick();
    await B.create(s, { parentOid: doc, index: 1, content: "from B" });
    const { rows } = await exchange(s, doc, A, B);
    expect(rows.map((r) => r.content)).toEqual(["k0", "from A", "from B", "k1"]);
  });

  it("ops on objectives under a concurrently removed parent are skipped alike everywhere", async () => {
    const { s, doc, kids, A, B } = await shared(2);
    const [x, y] = kids as [string, string];
    await A.remove(s, x);
    await tick();
    const orphan = await B.create(s, { parentOid: x, content: "orphan" });
    await B.update(s, orphan.oid, { content: "orphan edited" });
    await B.move(s, y, { parentOid: orphan.oid });
    const { rows, conflicts } = await exchange(s, doc, A, B);
    expect(rows.map((r) => r.content)).toEqual(["k1"]);
    expect(conflicts.map((c) => c.outcome)).toEqual(["skipped:NOT_FOUND", "skipped:NOT_FOUND", "skipped:NOT_FOUND"]);
  });

  it("checkouts sync like any other op", async () => {
    const { s, doc, kids, A, B } = await shared(2);
    const [x] = kids as [string];
    const before = (await A.get(s, doc)).vid;
    await A.update(s, x, { content: "changed" });
    await A.create(s, { parentOid: x, content: "new child" });
    await A.checkout(s, doc, before); // undo both, as a checkout
    await tick();
    await B.update(s, kids[1]!, { content: "B's edit after the checkout" });
    const { rows } = await exchange(s, doc, A, B);
    expect(rows.map((r) => r.content)).toEqual(["k0", "B's edit after the checkout"]);
  });
});
