/**
 * Collaboration through a real sync server (server/sync-access.ts): the replica's entries decide
 * who may push, pull and listen; every pushed op is checked against its user's role where it acts,
 * a refused batch is a typed 403 that stores nothing, and taking a role away closes the user's
 * sockets at once. Server storage on both backends; devices on PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Engine, Props } from "../index.js";
import { createSyncClient, httpTransport, type SyncClient, type WireOp } from "../sync/index.js";
import { backends, postgresUnavailable, serverStorage, type Fresh } from "./helpers/backends.js";
import { startSyncServer, type TestDevice, type TestSyncServer } from "./helpers/sync-fixtures.js";
import { lcg, randomEdits } from "./helpers/random-edits.js";
import { inviteLimiter } from "../server/sync-invitations.js";

const noPostgres = await postgresUnavailable();
const serverStores = [
  { name: "postgres", skip: noPostgres },
  { name: "pglite", skip: undefined },
] as const;

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(serverStores)("collaboration through the sync server, server storage on $name", (store) => {
  let server: TestSyncServer;
  let releaseStorage: (() => Promise<void>) | undefined;
  const opened: Fresh[] = [];
  let alice: TestDevice;
  let bob: TestDevice;
  let carol: TestDevice;

  beforeAll(async () => {
    if (store.skip) {
      console.warn(`[logbook tests] skipping collaboration through the sync server on ${store.name}: ${store.skip}`);
      return;
    }
    const made = await serverStorage(store.name);
    releaseStorage = made.release;
    server = await startSyncServer({ storage: made.storage, revalidateMs: 60_000 });
    alice = await server.signIn("alice-laptop");
    bob = await server.signIn("bob-laptop");
    carol = await server.signIn("carol-laptop");
  });
  afterAll(async () => {
    for (const f of opened) await f.release();
    await server?.close();
    await releaseStorage?.();
  });

  /** A device of `user` (its engine acts for them), with a client for `spaceId` (a new space, created on the server, when omitted). */
  async function device(user: TestDevice, spaceId?: string): Promise<{ engine: Engine; client: SyncClient; spaceId: string }> {
    const f = await backends[0]!.fresh({ actor: user.userId });
    opened.push(f);
    const space = spaceId === undefined ? await f.engine.createSpace() : await f.engine.createSpace({ spaceId });
    const transport = httpTransport({ baseUrl: server.url, token: user.token });
    const client = createSyncClient({ engine: f.engine, spaceId: space.spaceId, transport, pollMs: 60_000, create: spaceId === undefined });
    return { engine: f.engine, client, spaceId: space.spaceId };
  }

  const call = (method: string, path: string, user: TestDevice, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const errorOf = async (r: Response) => ({ status: r.status, ...((await r.json()) as { error: { code: string; message: string } }).error });
  /** Every op the server stores for the space (as its owner pulls them). */
  const stored = async (spaceId: string) => ((await (await call("GET", `/sync/${spaceId}/pull?after=0&limit=1000`, alice)).json()) as { ops: WireOp[] }).ops;
  const replicaVid = async (spaceId: string, oid: string) => {
    await server.app.syncReplica!.caughtUp(spaceId);
    return (await server.app.syncReplica!.engine.get(spaceId, oid)).vid;
  };

  /** alice's space: plan / (a / a1, b / b1), synced. */
  async function aliceSpace() {
    const d = await device(alice);
    const s = d.spaceId;
    const plan = await d.engine.createDocument(s, { content: "plan" });
    const a = await d.engine.create(s, { parentOid: plan.oid, content: "a" });
    const a1 = await d.engine.create(s, { parentOid: a.oid, content: "a1" });
    const b = await d.engine.create(s, { parentOid: plan.oid, content: "b" });
    const b1 = await d.engine.create(s, { parentOid: b.oid, content: "b1" });
    await d.client.sync();
    return { d, s, plan: plan.oid, a: a.oid, a1: a1.oid, b: b.oid, b1: b1.oid };
  }

  it("a collaborator's device joins, edits where its role allows and converges; refused batches are 403 and store nothing", async () => {
    if (store.skip) return;
    const { d, s, plan, a, a1, b, b1 } = await aliceSpace();
    const bobs = await device(bob, s);
    // No role yet: nothing of the space reaches bob.
    await expect(bobs.client.sync()).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(await errorOf(await call("GET", `/sync/${s}/pull?after=0`, bob))).toMatchObject({ status: 403, code: "FORBIDDEN" });

    await d.engine.share(s, plan, bob.userId, "viewer");
    await d.engine.share(s, a, bob.userId, "collaborator");
    await d.client.sync();
    // bob reads the whole space: his device bootstraps from the replica and holds alice's versions.
    await bobs.client.sync();
    expect((await bobs.engine.get(s, plan)).vid).toBe((await d.engine.get(s, plan)).vid);

    await bobs.engine.update(s, a1, { content: "a1 by bob" });
    expect((await bobs.client.sync()).pushed).toBe(1);
    await d.client.sync();
    expect((await d.engine.get(s, a1)).content).toBe("a1 by bob");
    const [ops] = [await bobs.engine.logSince(s)];
    const mine = ops.filter((o) => o.device === bobs.engine.deviceId).map(({ serverSeq: _s, ...o }) => o);
    expect(mine).toHaveLength(1);
    const edit = mine[0]!;

    // A hostile client: bob's own device, ops his role does not allow (hand-made from his edit).
    const counter = (n: number) => `${bobs.engine.deviceId}.${1_000 + n}`;
    const forge = (n: number, kind: string, oid: string, data: Props): WireOp => ({
      ...edit,
      opId: counter(n),
      hlc: edit.hlc.replace(/:(\d{6}):/, (_m, c: string) => `:${String(Number(c) + n).padStart(6, "0")}:`),
      kind,
      oid,
      data,
    });
    const before = (await stored(s)).length;
    const refusals: [string, WireOp[]][] = [
      ["an update outside his subtree", [forge(1, "update", b1, { content: "defaced" })]],
      ["a good op, then a refused one: the whole batch", [forge(1, "update", a1, { content: "fine" }), forge(2, "update", b1, { content: "defaced" })]],
      ["a create under what he may only view", [forge(1, "create", "0f0e0d0c-0b0a-4908-8706-050403020100", { parentOid: b, pos: "a0", content: "x", props: {} })]],
      ["a move of his row into what he may only view", [forge(1, "move", a1, { toParent: b, toPos: "a0" })]],
      ["a removal of the document he may only view", [forge(1, "remove", plan, {})]],
      ["a share (he is no manager)", [forge(1, "share", a, { user: bob.userId, role: "manager" })]],
      ["a kind the server cannot check", [forge(1, "grantEverything", a, {})]],
      // Allowed where it acts, but older than an op this device pushed: a backdated clock.
      ["an op older than the device's last push", [{ ...forge(1, "update", a1, { content: "backdated" }), hlc: edit.hlc.replace(/^(\d{15})/, (ms) => String(Number(ms) - 1).padStart(15, "0")) }]],
    ];
    for (const [what, batch] of refusals) {
      const answer = await errorOf(await call("POST", `/sync/${s}/push`, bob, { device: bobs.engine.deviceId, ops: batch }));
      expect(answer, what).toMatchObject({ status: 403, code: "FORBIDDEN" });
      expect(answer.message, what).toMatch(new RegExp(`${bob.userId}|${bobs.engine.deviceId}`));
    }
    expect((await stored(s)).length).toBe(before);
    // The replica, alice and bob agree, and b1 was never touched anywhere.
    await bobs.client.sync();
    await d.client.sync();
    const vid = await replicaVid(s, plan);
    expect((await d.engine.get(s, plan)).vid).toBe(vid);
    expect((await bobs.engine.get(s, plan)).vid).toBe(vid);
    expect((await server.app.syncReplica!.engine.get(s, b1)).content).toBe("b1");
  });

  it("a third user sees nothing; a member who may read only part of the space is refused its log", async () => {
    if (store.skip) return;
    const { d, s, b } = await aliceSpace();
    const socket = (user: TestDevice) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${server.url.replace("http", "ws")}/sync/ws?spaces=${s}`, { headers: { authorization: `Bearer ${user.token}` } });
        ws.on("unexpected-response", (_q, r) => resolve(r.statusCode ?? 0));
        ws.on("open", () => {
          ws.close();
          resolve(101);
        });
      });
    for (const path of [`/sync/${s}/pull?after=0`, `/sync/${s}/snapshot`]) {
      expect(await errorOf(await call("GET", path, carol))).toMatchObject({ status: 403, code: "FORBIDDEN" });
    }
    expect(await socket(carol)).toBe(403);
    expect(await errorOf(await call("GET", `/sync/${s}/tops`, carol))).toMatchObject({ status: 403, code: "FORBIDDEN" });
    expect(await errorOf(await call("POST", `/sync/${s}/partial`, carol, { have: [] }))).toMatchObject({ status: 403, code: "FORBIDDEN" });
    // carol may view b only: a member, whose device holds a partial replica, not the log.
    await d.engine.share(s, b, carol.userId, "viewer");
    await d.client.sync();
    const partial = await errorOf(await call("GET", `/sync/${s}/pull?after=0`, carol));
    expect(partial).toMatchObject({ status: 403, code: "FORBIDDEN", partial: true });
    expect(partial.message).toContain("only part");
    expect(await (await call("GET", `/sync/${s}/tops`, carol)).json()).toMatchObject({ tops: [{ oid: b, vid: (await d.engine.get(s, b)).vid }], withheld: [] });
    // Pokes tell her device when to look again.
    expect(await socket(carol)).toBe(101);
    // A member works inside what is shared with them: documents are the owner's to make.
    const carols = await device(carol, s);
    await carols.engine.createDocument(s, { content: "carol's own" });
    const own = (await carols.engine.logSince(s)).map(({ serverSeq: _q, ...o }) => o);
    await call("POST", `/sync/devices/${carols.engine.deviceId}/bind`, carol);
    const refused = await errorOf(await call("POST", `/sync/${s}/push`, carol, { device: carols.engine.deviceId, ops: own }));
    expect(refused).toMatchObject({ status: 403, code: "FORBIDDEN" });
    expect(refused.message).toContain("only its owner");
    await d.client.sync();
    expect((await d.engine.documents(s)).map((x) => x.content)).toEqual(["plan"]);
  });

  it("a member who may read part of the space holds a partial replica: edits both ways, equal vids at the top, rows moved in and out", async () => {
    if (store.skip) return;
    const { d, s, a, a1, b, b1 } = await aliceSpace();
    await d.engine.share(s, a, bob.userId, "collaborator");
    await d.client.sync();
    const replica = server.app.syncReplica!.engine;
    const rows = async (e: Engine) => (await e.view(s, a, { limit: 1_000 })).rows.map((r) => [r.oid, r.vid, r.depth, r.content]);
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: { code?: string }) => e.code);
    const bobs = await device(bob, s);
    expect(await bobs.client.sync()).toEqual({ pushed: 0, pulled: 1 });
    // bob holds a's subtree as a root of its own; nothing else of the space is there.
    expect((await bobs.engine.documents(s)).map((x) => x.oid)).toEqual([a]);
    expect(await rows(bobs.engine)).toEqual(await rows(replica));
    expect(await code(bobs.engine.get(s, b))).toBe("FORBIDDEN");
    expect(await bobs.engine.logSince(s)).toEqual([]);

    // Both edit, inside a and (alice) elsewhere; after a round each, every copy of a is equal.
    const mine = await bobs.engine.create(s, { parentOid: a, content: "bob's row" });
    await bobs.engine.update(s, a1, { content: "a1, by bob" });
    const hers = await d.engine.create(s, { parentOid: a, index: 0, content: "alice's row" });
    await d.engine.update(s, b1, { content: "b1, by alice" });
    await d.client.sync();
    expect(await bobs.client.sync()).toMatchObject({ pushed: 2 });
    await d.client.sync();
    await server.app.syncReplica!.caughtUp(s);
    const vid = (await replica.get(s, a)).vid;
    expect((await bobs.engine.get(s, a)).vid).toBe(vid);
    expect((await d.engine.get(s, a)).vid).toBe(vid);
    expect(await rows(bobs.engine)).toEqual(await rows(replica));
    expect((await d.engine.get(s, mine.oid)).content).toBe("bob's row");
    expect((await bobs.engine.get(s, hers.oid)).content).toBe("alice's row");

    // alice moves b1 into a and a1 out of it: bob's copy gains one, loses the other.
    await d.engine.move(s, b1, { parentOid: a });
    await d.engine.move(s, a1, { parentOid: b });
    await d.client.sync();
    await bobs.client.sync();
    expect((await bobs.engine.get(s, b1)).content).toBe("b1, by alice");
    expect(await code(bobs.engine.get(s, a1))).toBe("FORBIDDEN");
    expect(await rows(bobs.engine)).toEqual(await rows(replica));
    // Nothing changed since: a round moves nothing.
    expect(await bobs.client.sync()).toEqual({ pushed: 0, pulled: 0 });
    // Entries make no vid, yet a lowered role reaches his device: it then refuses his edits itself.
    await d.engine.share(s, a, bob.userId, "viewer");
    await d.client.sync();
    await bobs.client.sync();
    expect(await code(bobs.engine.update(s, b1, { content: "no longer" }))).toBe("FORBIDDEN");
    expect(await rows(bobs.engine)).toEqual(await rows(replica));
    // His role taken away: the flow stops (his device keeps what it had, as any replica does).
    await d.engine.share(s, a, bob.userId, null);
    await d.client.sync();
    await expect(bobs.client.sync()).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("a subtree version travels with its history: the owner copies any, a member only what their role reads, never what is hidden", async () => {
    if (store.skip) return;
    const { d, s, plan, a, a1, b, b1 } = await aliceSpace();
    await d.engine.update(s, a1, { content: "a1 v2" });
    const aThen = (await d.engine.get(s, a)).vid;
    await d.engine.update(s, a1, { content: "a1 v3" });
    await d.engine.move(s, b1, { parentOid: a, index: 0 });
    await d.engine.share(s, a, bob.userId, "viewer");
    await d.client.sync();
    const viewOf = async (e: Engine, space: string, oid: string, vid?: string) =>
      (await e.view(space, oid, vid === undefined ? {} : { vid })).rows.map((r) => [r.oid, r.vid, r.depth, r.content]);

    // The owner's copy of a as it was: the same vid and rows, its older versions, editable offline.
    const mine = await device(alice, s);
    const copy = crypto.randomUUID();
    expect((await mine.client.copySubtree(a, aThen, copy)).rows).toBeGreaterThan(0);
    expect((await mine.engine.get(copy, a)).vid).toBe(aThen);
    expect(await viewOf(mine.engine, copy, a)).toEqual(await viewOf(d.engine, s, a, aThen));
    expect((await mine.engine.get(copy, a1)).content).toBe("a1 v2");
    const first = (await d.engine.versions(s, a)).versions.at(-1)!.vid;
    expect(await viewOf(mine.engine, copy, a, first)).toEqual(await viewOf(d.engine, s, a, first));
    await mine.engine.update(copy, a1, { content: "edited in the copy" });
    expect((await d.engine.get(s, a1)).content).toBe("a1 v3");

    // bob reads a (with b1 moved in): he copies a at its vid now, not plan, not b.
    const bobs = await device(bob, s);
    const now = (await d.engine.get(s, a)).vid;
    const his = crypto.randomUUID();
    await bobs.client.copySubtree(a, now, his);
    expect(await viewOf(bobs.engine, his, a)).toEqual(await viewOf(d.engine, s, a));
    const planVid = (await d.engine.get(s, plan)).vid;
    expect(await errorOf(await call("GET", `/sync/${s}/subtree/${plan}/${planVid}`, bob))).toMatchObject({ status: 403, code: "FORBIDDEN", message: expect.stringContaining(plan) });
    expect(await errorOf(await call("GET", `/sync/${s}/subtree/${b}/${(await d.engine.get(s, b)).vid}`, bob))).toMatchObject({ status: 403, code: "FORBIDDEN" });
    // Hidden inside: a `none` entry on b1 under a refuses the copy of a.
    await d.engine.share(s, b1, bob.userId, "none");
    await d.client.sync();
    const hiddenIn = (await d.engine.get(s, a)).vid;
    expect(await errorOf(await call("GET", `/sync/${s}/subtree/${a}/${hiddenIn}`, bob))).toMatchObject({ status: 403, code: "FORBIDDEN", message: expect.stringContaining(b1) });
    // Bad input is named; an unknown version is 404; a third user has no role.
    expect(await errorOf(await call("GET", `/sync/${s}/subtree/${a}/not-a-vid`, alice))).toMatchObject({ status: 400, code: "BAD_BATCH", message: expect.stringContaining("not-a-vid") });
    expect(await errorOf(await call("GET", `/sync/${s}/subtree/${a}/${(await d.engine.get(s, a1)).vid}`, alice))).toMatchObject({ status: 404, code: "NOT_FOUND" });
    expect(await errorOf(await call("GET", `/sync/${s}/subtree/${a}/${now}`, carol))).toMatchObject({ status: 403, code: "FORBIDDEN" });
  });

  it("taking a role away closes the member's socket at once and stops their client", async () => {
    if (store.skip) return;
    const { d, s, plan } = await aliceSpace();
    await d.engine.share(s, plan, bob.userId, "collaborator");
    await d.client.sync();
    const bobs = await device(bob, s);
    await bobs.client.sync();
    bobs.client.start();
    await until(() => bobs.client.status === "online");
    // alice's edit reaches bob through a poke (he is no owner).
    const row = await d.engine.create(s, { parentOid: plan, content: "for bob" });
    await d.client.sync();
    await until(async () => (await bobs.engine.get(s, row.oid).catch(() => undefined))?.content === "for bob");

    // A socket of bob's that only listens (no client behind it to pull and be refused).
    const listening = new WebSocket(`${server.url.replace("http", "ws")}/sync/ws?spaces=${s}`, { headers: { authorization: `Bearer ${bob.token}` } });
    const closed = new Promise<number>((resolve) => listening.on("close", (code) => resolve(code)));
    await new Promise((resolve) => listening.on("message", resolve));
    await d.engine.share(s, plan, bob.userId, null);
    await d.client.sync();
    expect(await closed).toBe(4403);
    await until(() => bobs.client.status === "refused");
    await bobs.engine.update(s, row.oid, { content: "too late" }).catch(() => undefined);
    // His device (acting for him) refuses it itself now that the revoke reached it, or the server does.
    const after = await errorOf(await call("GET", `/sync/${s}/pull?after=0`, bob));
    expect(after).toMatchObject({ status: 403, code: "FORBIDDEN" });
    await bobs.client.stop();
    expect((await server.app.syncReplica!.engine.get(s, row.oid)).content).toBe("for bob");
  });
  it("two users on three devices editing a shared subtree offline converge with the replica; a third user sees nothing", async () => {
    if (store.skip) return;
    const { d: laptop, s, plan, a } = await aliceSpace();
    await laptop.engine.share(s, plan, bob.userId, "viewer");
    await laptop.engine.share(s, a, bob.userId, "collaborator");
    await laptop.client.sync();
    const phone = await device(await server.signIn("alice-phone", alice.email), s);
    const bobs = await device(bob, s);
    await phone.client.sync();
    await bobs.client.sync();
    const rand = lcg(19);
    for (let round = 0; round < 3; round++) {
      // Offline: alice edits anywhere on both devices, bob inside what he may edit.
      await randomEdits(laptop.engine, s, [plan], rand, 8);
      await randomEdits(phone.engine, s, [plan], rand, 8);
      const editable = (await bobs.engine.subtree(s, a, { depth: 20 }).catch(() => [])).map((r) => r.oid);
      for (let i = 0; i < 5; i++) {
        const at = [a, ...editable][Math.floor(rand() * (editable.length + 1))]!;
        // alice may have removed it or moved it out of a meanwhile: his engine refuses, as it should.
        await (i % 2 === 0 ? bobs.engine.create(s, { parentOid: at, content: `bob ${round}.${i}` }) : bobs.engine.update(s, at, { content: `bob ${round}.${i}` })).catch((error: unknown) => {
          if (!(error instanceof Error && "code" in error && ["NOT_FOUND", "FORBIDDEN"].includes(String(error.code)))) throw error;
        });
      }
      for (const dev of [laptop, phone, bobs, laptop, phone]) await dev.client.sync();
      const vid = await replicaVid(s, plan);
      for (const dev of [laptop, phone, bobs]) expect((await dev.engine.get(s, plan)).vid, `round ${round}`).toBe(vid);
    }
    // Some of bob's edits landed; those racing alice's moves and removals were skipped alike
    // everywhere, or, when the server refused them, withdrawn on his device and never stored.
    const replica = server.app.syncReplica!.engine;
    const skipped = new Set((await replica.conflicts(s, { limit: 1000 })).map((c) => c.opId));
    const his = await replica.logSince(s, { device: bobs.engine.deviceId, limit: 1000 });
    expect(his.filter((o) => !skipped.has(o.opId)).length).toBeGreaterThan(0);
    const withdrawn = (await bobs.engine.conflicts(s, { limit: 1000 })).filter((c) => c.outcome === "refused:FORBIDDEN").map((c) => c.opId);
    expect(his.filter((o) => withdrawn.includes(o.opId))).toEqual([]);
    expect(await errorOf(await call("GET", `/sync/${s}/pull?after=0`, carol))).toMatchObject({ status: 403, code: "FORBIDDEN" });
    // A device whose engine acts for another user than its session's is stopped before it pushes.
    const mismatched = await backends[0]!.fresh({ actor: alice.userId });
    opened.push(mismatched);
    await mismatched.engine.createSpace({ spaceId: s });
    const client = createSyncClient({ engine: mismatched.engine, spaceId: s, transport: httpTransport({ baseUrl: server.url, token: bob.token }), pollMs: 60_000 });
    await expect(client.sync()).rejects.toMatchObject({ code: "FORGED", message: expect.stringContaining(`acts for user ${alice.userId}`) });
  });
  it("an offline edit that a move took out of the editor's reach: replay decides by clock, a refused one is withdrawn and syncing goes on", async () => {
    if (store.skip) return;
    const { d, s, plan, a, a1, b } = await aliceSpace();
    await d.engine.share(s, plan, bob.userId, "viewer");
    await d.engine.share(s, a, bob.userId, "collaborator");
    await d.client.sync();
    const bobs = await device(bob, s);
    await bobs.client.sync();
    const a2 = await d.engine.create(s, { parentOid: a, content: "a2" });
    await d.client.sync();
    await bobs.client.sync();

    // Made before alice's move (an older clock): it applied before the move, so it lands everywhere.
    await bobs.engine.update(s, a1, { content: "a1, bob offline" });
    await d.engine.move(s, a1, { parentOid: b });
    // Made after alice's move, which bob has not seen: in clock order it comes after the move,
    // where bob may only view a2's new place. The server refuses it; bob's device withdraws it.
    await d.engine.move(s, a2.oid, { parentOid: b });
    await d.client.sync();
    await bobs.engine.update(s, a2.oid, { content: "a2, bob offline" });
    const errors: unknown[] = [];
    const client = createSyncClient({ engine: bobs.engine, spaceId: s, transport: httpTransport({ baseUrl: server.url, token: bob.token }), pollMs: 60_000, onError: (e) => errors.push(e) });
    await client.sync();
    expect(errors).toMatchObject([{ code: "FORBIDDEN", opId: expect.any(String) }]);
    const [withdrawn] = (await bobs.engine.conflicts(s)).filter((c) => c.outcome === "refused:FORBIDDEN");
    expect(withdrawn).toMatchObject({ kind: "update", oid: a2.oid, detail: expect.stringContaining("role viewer") });
    await d.client.sync();
    for (const e of [d.engine, bobs.engine, server.app.syncReplica!.engine]) {
      expect((await e.get(s, a1)).content).toBe("a1, bob offline");
      expect((await e.get(s, a2.oid)).content).toBe("a2");
      expect((await e.get(s, plan)).vid).toBe(await replicaVid(s, plan));
    }
    // Withdrawn for good: later rounds push nothing more, and an undo for a late op keeps it out.
    expect(await client.sync()).toEqual({ pushed: 0, pulled: 0 });
    expect((await bobs.engine.get(s, a2.oid)).content).toBe("a2");
  });
  it("a role taken away while the member edited offline: the server lists every refused op and the device withdraws them in one go", async () => {
    if (store.skip) return;
    const { d, s, plan, a, a1 } = await aliceSpace();
    await d.engine.share(s, plan, bob.userId, "viewer");
    await d.engine.share(s, a, bob.userId, "collaborator");
    await d.client.sync();
    const bobs = await device(bob, s);
    await bobs.client.sync();
    await d.engine.share(s, a, bob.userId, "viewer");
    await d.client.sync();
    // Bob has not heard: a day of edits where he could edit, every one refused now.
    for (let i = 0; i < 12; i++) {
      await bobs.engine.update(s, i % 2 === 0 ? a : a1, { content: `bob offline ${i}` });
      if (i % 4 === 0) await bobs.engine.create(s, { parentOid: a, content: `bob's row ${i}` });
    }
    const errors: unknown[] = [];
    let pushes = 0;
    const transport = httpTransport({ baseUrl: server.url, token: bob.token });
    const counted = { ...transport, push: (...args: Parameters<typeof transport.push>) => (pushes++, transport.push(...args)) };
    const client = createSyncClient({ engine: bobs.engine, spaceId: s, transport: counted, pollMs: 60_000, onError: (e) => errors.push(e) });
    await client.sync();
    // One refusal naming all 15 ops, one withdrawal: not a push and a redo per op.
    expect(errors).toHaveLength(1);
    expect((errors[0] as { refused: unknown[] }).refused).toHaveLength(15);
    expect(pushes).toBe(1);
    const withdrawn = (await bobs.engine.conflicts(s, { limit: 100 })).filter((c) => c.outcome === "refused:FORBIDDEN");
    expect(withdrawn).toHaveLength(15);
    expect(withdrawn.every((c) => /role viewer/.test(c.detail ?? ""))).toBe(true);
    for (const e of [bobs.engine, server.app.syncReplica!.engine]) {
      expect((await e.get(s, a)).content).toBe("a");
      expect((await e.get(s, plan)).vid).toBe(await replicaVid(s, plan));
    }
    expect(await client.sync()).toEqual({ pushed: 0, pulled: 0 });
  });
  it("invitations by e-mail: an account gets the role at once, a new address when it is verified; only managers invite, list and withdraw", async () => {
    if (store.skip) return;
    const { d, s, plan, a } = await aliceSpace();
    const invite = (user: TestDevice, body: unknown) => call("POST", `/sync/${s}/invitations`, user, body);
    // bob has an account: the role is his at once, made by the server's replica for alice.
    const made = await invite(alice, { oid: a, email: bob.email.toUpperCase(), role: "collaborator" });
    expect(made.status).toBe(201);
    expect(await made.json()).toMatchObject({ email: bob.email, oid: a, role: "collaborator", invitedBy: alice.userId, outcome: "applied" });
    await server.accounts.drainMail();
    expect(server.mail.textsTo(bob.email).at(-1)).toContain("shared part of an outline");
    await d.client.sync();
    expect(await d.engine.collaborators(s, a)).toContainEqual({ user: bob.userId, role: "collaborator", oid: a });
    expect((await d.engine.shareHistory(s, a))[0]).toMatchObject({ user: bob.userId, role: "collaborator", by: alice.userId });

    // A new address: nothing yet, a mail that says to sign up; the role comes with the verification.
    const email = `invited-${Date.now()}@example.com`;
    const waiting = await invite(alice, { oid: plan, email, role: "viewer" });
    expect(await waiting.json()).toMatchObject({ email, outcome: null, appliedAt: null });
    await server.accounts.drainMail();
    expect(server.mail.textsTo(email).at(-1)).toContain("Sign up");
    const newbie = await server.signIn("newbie-laptop", email);
    await until(async () => (await server.app.syncReplica!.engine.accessOf(s, newbie.userId)).readsAll);
    const theirs = await device(newbie, s);
    await theirs.client.sync();
    await d.client.sync();
    expect((await theirs.engine.get(s, plan)).vid).toBe((await d.engine.get(s, plan)).vid);
    expect(await errorOf(await invite(newbie, { oid: plan, email: "x@example.com", role: "viewer" }))).toMatchObject({ status: 403, code: "FORBIDDEN" });

    // Refusals name the bad value.
    expect(await errorOf(await invite(alice, { oid: plan, email: "not an address", role: "viewer" }))).toMatchObject({ status: 400, message: expect.stringContaining("not an address") });
    expect(await errorOf(await invite(alice, { oid: plan, email, role: "none" }))).toMatchObject({ status: 400, code: "BAD_BATCH", message: expect.stringContaining('"none"') });
    expect(await errorOf(await invite(alice, { oid: "0f0e0d0c-0b0a-4908-8706-050403020100", email, role: "viewer" }))).toMatchObject({ status: 404, code: "NOT_FOUND" });

    // Listing and withdrawing: managers only; an applied invitation is a role (taken away by a share).
    const ghost = (await (await invite(alice, { oid: a, email: "ghost@example.com", role: "viewer" })).json()) as { id: string };
    // Asked again while it waits: the same invitation, no second mail.
    const twice = await invite(alice, { oid: a, email: "ghost@example.com", role: "viewer" });
    expect([twice.status, ((await twice.json()) as { id: string }).id]).toEqual([200, ghost.id]);
    await server.accounts.drainMail();
    expect(server.mail.textsTo("ghost@example.com")).toHaveLength(1);
    const listed = (await (await call("GET", `/sync/${s}/invitations`, alice)).json()) as { invitations: { email: string }[] };
    expect(listed.invitations.map((i) => i.email).sort()).toEqual([bob.email, email, "ghost@example.com"].sort());
    expect(((await (await call("GET", `/sync/${s}/invitations`, bob)).json()) as { invitations: unknown[] }).invitations).toEqual([]);
    expect(await errorOf(await call("DELETE", `/sync/${s}/invitations/${ghost.id}`, bob))).toMatchObject({ status: 403 });
    expect((await call("DELETE", `/sync/${s}/invitations/${ghost.id}`, alice)).status).toBe(204);
    const applied = (listed.invitations as unknown as { id: string; email: string }[]).find((i) => i.email === bob.email)!;
    expect(await errorOf(await call("DELETE", `/sync/${s}/invitations/${applied.id}`, alice))).toMatchObject({ status: 409, code: "CONFLICT" });
    // The transport speaks it too.
    const transport = httpTransport({ baseUrl: server.url, token: alice.token });
    expect((await transport.invitations!(s)).map((i) => i.email)).not.toContain("ghost@example.com");
  });
});

describe("the invitation limiter", () => {
  it("lets a user send 50 invitations an hour, then RATE_LIMITED until the hour has passed", () => {
    let now = 1_000_000;
    const limit = inviteLimiter(() => now);
    for (let i = 0; i < 50; i++) limit("alice");
    expect(() => limit("alice")).toThrow(expect.objectContaining({ code: "RATE_LIMITED" }));
    limit("bob");
    now += 60 * 60_000 + 1;
    expect(() => limit("alice")).not.toThrow();
  });
});
