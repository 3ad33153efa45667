/**
 * Partial replicas (docs/collaboration.md, "Partial replicas"): what a member who may read only part
 * of a space holds. Filtering the op log cannot give it to them (a move into a shared subtree brings
 * rows they never had, a move out or a checkout above takes rows away, a grant widens what they
 * read), so such a device syncs STATE: the subtrees it may read (its "tops", each held as a root of
 * its own), copied from the sync server's replica as they are, with the replica's vids.
 *
 * - `partialTops`: the user's tops and their active vids (what a device compares with its own).
 * - `exportPartial`: the stored rows of those subtrees' current state: every segment of every
 *   objective in them (its own history records ride along), the chunks their active versions
 *   link, and the entries on them. Older versions' links are not sent: a partial replica holds the
 *   present and what it makes from there (an old version's tree reads as NOT_FOUND there).
 * - `loadPartial`: replaces what a device holds of a space with such an export, in one
 *   transaction, keeping its own op log. A local edit then promotes up to its top and gives it the
 *   replica's next vid (a vid depends only on the objective's own ops), so after a push the tops
 *   are equal, or the device loads them again.
 *
 * A top with a subtree hidden from the user inside is withheld (listed, not sent): pruning it would
 * give the device links the replica does not have.
 */
import type { Core } from "./core.js";
import { chunkLoader, loadVersions } from "./format/row-cache.js";
import { walkSubtree } from "./walk-subtree.js";
import { unpackEach } from "./format/codec.js";
import { EngineError, invalid } from "./errors.js";
import { forget } from "./known.js";
import { placesOf } from "./access.js";
import { actorEntries, allows, checkUser, type Role } from "./roles.js";
import { activeChain } from "./objective.js";
import { allChildren, type KidsNode } from "./children-tree.js";
import { chunkFrames, insertRows, readFrames, type SnapshotFrame, type SnapshotTable } from "./snapshot.js";
import { checkId } from "./validate.js";

/** A top of a partial replica: the objective, its active vid, and its entries mark. */
export interface PartialTop {
  readonly oid: string;
  readonly vid: string;
  /**
   * The newest change of the entries that shape this top (any user's inside it, the user's own on
   * it and above it: its greatest share seq). Entries make no vid: a top whose mark moved travels
   * again, with them. Absent in what a device says it holds when it does not know (then it travels).
   */
  readonly entries?: number;
}

/** The tops a user may read of a space, and those withheld (something inside is hidden from them). */
export interface PartialTops {
  readonly tops: readonly PartialTop[];
  readonly withheld: readonly string[];
  /**
   * The space's newest entry change (its greatest share seq): entries make no vid, so a device
   * loads its tops again when this moved since its last load (a role raised or lowered inside).
   */
  readonly entries: number;
}

/**
 * The highest active objectives `user` may read in a space (an entry that reads, with none above
 * it reading), with their active vids. One that holds a subtree hidden from them (a `none` entry
 * below) is withheld and its children serve instead, down to the hidden one (every child that
 * holds nothing hidden is a top). O(entries · depth), plus the children of withheld objectives.
 */
export async function partialTops(core: Core, spaceId: string, user: string): Promise<PartialTops> {
  const { tops, withheld, entries } = await findTops(core, spaceId, user);
  return { tops, withheld, entries };
}

/** A served top: its active version, the user's role there, and whether an entry of theirs is on it. */
interface Served {
  readonly oid: string;
  readonly seq: number;
  readonly role: Role;
  readonly own: boolean;
  /** Its entries mark (`PartialTop.entries`). */
  mark?: number;
}

/** `partialTops`, with what an export needs besides: each top's active version and the user's role there. */
async function findTops(core: Core, spaceId: string, user: string): Promise<PartialTops & { served: Served[] }> {
  spaceId = checkId("spaceId", spaceId);
  user = checkUser(user);
  const entries = await actorEntries(core.storage, spaceId, user);
  const all = [...entries.keys()];
  const paths = await placesOf(core, spaceId, all);
  const roleAt = (path: readonly string[]): Role | undefined => path.map((o) => entries.get(o)).find((r) => r !== undefined && r !== null) ?? undefined;
  const highest: string[] = [];
  for (const oid of all.sort()) {
    const path = paths.get(oid);
    const role = entries.get(oid);
    if (!path || !role || !allows(role, "read")) continue;
    if (allows(roleAt(path.slice(1)), "read")) continue;
    highest.push(oid);
  }
  // Objectives with a hidden one below them: never sent whole.
  const tainted = new Set<string>();
  for (const h of all.filter((o) => entries.get(o) === "none")) for (const o of paths.get(h)?.slice(1) ?? []) tainted.add(o);
  const served: Served[] = [];
  const withheld: string[] = [];
  const loader = chunkLoader(core.cache, core.storage, spaceId);
  let open: { oid: string; seq: number; role: Role }[] = [];
  for (const [oid, seq] of await activeKeys(core, spaceId, highest)) {
    const role = entries.get(oid)!;
    if (tainted.has(oid)) open.push({ oid, seq, role });
    else served.push({ oid, seq, role, own: true });
  }
  while (open.length > 0) {
    const next: typeof open = [];
    const rows = await loadVersions(core.cache, core.storage, spaceId, open.map((o) => [o.oid, o.seq] as const));
    for (const { oid, seq, role: above } of open) {
      withheld.push(oid);
      for (const [child, childSeq] of await allChildren(rows.get(`${oid}|${seq}`)!.kids, loader)) {
        const own = entries.get(child);
        if (own === "none") continue;
        // Its role is its own entry's, or the one it inherits from the withheld objective above.
        const role = own ?? above;
        if (tainted.has(child)) next.push({ oid: child, seq: childSeq, role });
        else served.push({ oid: child, seq: childSeq, role, own: own !== undefined && own !== null });
      }
    }
    open = next;
  }
  // Each top's entries mark: the newest change of an entry inside it (anyone's), or of the user's
  // own on it or above it (what gives it its role). Entries are few: every one is located.
  const shares = await core.storage.query<{ oid: string; user_id: string; seq: number }>(
    "select oid::text as oid, user_id, max(seq)::int8 as seq from share where space_id = $1 group by oid, user_id",
    [spaceId],
  );
  await placesOf(core, spaceId, [...new Set([...shares.map((r) => r.oid.toLowerCase()), ...served.map((t) => t.oid)])].filter((o) => !paths.has(o)), paths);
  for (const t of served) {
    const above = new Set(paths.get(t.oid) ?? [t.oid]);
    t.mark = shares.reduce((m, r) => {
      const o = r.oid.toLowerCase();
      const counts = (paths.get(o) ?? []).includes(t.oid) || (r.user_id === user && above.has(o));
      return counts && r.seq > m ? r.seq : m;
    }, 0);
  }
  const newest = shares.reduce((m, r) => Math.max(m, r.seq), 0);
  const vids = await loadVersions(core.cache, core.storage, spaceId, served.map((t) => [t.oid, t.seq] as const));
  const tops = served.map((t) => ({ oid: t.oid, vid: vids.get(`${t.oid}|${t.seq}`)!.vid, entries: t.mark ?? 0 }));
  return { served, tops, withheld, entries: newest };
}

/** Whether this database holds a partial replica of the space (tops a partial load made: seq 0). */
export async function holdsPartial(core: Core, spaceId: string): Promise<boolean> {
  spaceId = checkId("spaceId", spaceId);
  return (await core.storage.query("select 1 from document where space_id = $1 and seq = 0 limit 1", [spaceId])).length > 0;
}

/** The tables a partial replica carries (no op rows: ops name what the member may not read). */
const PARTIAL_TABLES: ReadonlySet<SnapshotTable> = new Set(["version", "share", "chunk"]);

/** Rows per version frame (each objective's segments stay in one frame). */
const OIDS_PER_FRAME = 500;

/** Every objective under `roots` (versions the links name), and the chunks on the way. */
async function walk(core: Core, spaceId: string, roots: readonly (readonly [string, number])[]): Promise<{ oids: string[]; chunks: Map<string, KidsNode> }> {
  const { keys, chunks } = await walkSubtree(core.cache, core.storage, spaceId, roots);
  return { oids: keys.map(([oid]) => oid), chunks };
}

/** Active `[oid, seq]` of each objective (those out of the active tree left out). */
async function activeKeys(core: Core, spaceId: string, oids: readonly string[]): Promise<(readonly [string, number])[]> {
  const out: (readonly [string, number])[] = [];
  for (const oid of oids) {
    const chain = await activeChain(core, spaceId, oid).catch(() => undefined);
    if (chain) out.push([oid, chain[0]!.seq]);
  }
  return out;
}

/**
 * The current state of `user`'s tops in a space, frame by frame: a head (every top with its vid,
 * those withheld, those `sent`: every top but those `have` lists with the same vid, and the device
 * numbers the rows name), then `version`, `share` and `chunk` frames of the sent tops, then the
 * end. The caller keeps writers away meanwhile (the replica's round lock), so the frames are one
 * state.
 */
export async function* exportPartial(core: Core, spaceId: string, user: string, have: readonly PartialTop[] = []): AsyncGenerator<SnapshotFrame> {
  const { served, tops, withheld, entries } = await findTops(core, spaceId, user);
  // A top below a withheld objective inherits the user's role from it, which the device does not
  // hold: the role travels as an entry of its own on the top (the device checks roles itself).
  const inherited = new Map(served.filter((t) => !t.own).map((t) => [t.oid, t.role]));
  const q = core.storage;
  const [space] = await q.query<{ seq: number; pulled: number }>("select seq, pulled from space where space_id = $1", [spaceId]);
  if (!space) throw new EngineError("NOT_FOUND", `space ${spaceId} does not exist`);
  const held = new Set(have.map((t) => `${t.oid.toLowerCase()}|${t.vid}|${t.entries ?? "?"}`));
  const sent = tops.filter((t) => !held.has(`${t.oid}|${t.vid}|${t.entries}`)).map((t) => t.oid);
  const sentSet = new Set(sent);
  // The rows first (the caller holds them all anyway): the head lists only the devices they name.
  const { oids, chunks } = await walk(core, spaceId, served.filter((t) => sentSet.has(t.oid)).map((t) => [t.oid, t.seq] as const));
  const pages: { part: string[]; rows: (readonly unknown[])[] }[] = [];
  const named = new Set<number>();
  for (let i = 0; i < oids.length; i += OIDS_PER_FRAME) {
    const part = oids.slice(i, i + OIDS_PER_FRAME);
    const rows = await q.query<Record<string, unknown>>(
      `select oid::text as oid, seq, vseq, parent_oid::text as parent_oid, pos, flags, body from version
        where space_id = $1 and oid = any($2::uuid[]) order by oid, seq`,
      [spaceId, part],
    );
    for (const r of rows) unpackEach(r["body"] as Uint8Array, (value) => {
      const rec = value as unknown[];
      if ((rec[0] === 0 || rec[0] === 1) && Array.isArray(rec[2]) && typeof rec[2][1] === "number") named.add(rec[2][1]);
    });
    // A top's place above is not the device's to know (its records still name it: the device ignores them).
    pages.push({ part, rows: rows.map((r) => [r["oid"], r["seq"], r["vseq"], ...(sentSet.has(String(r["oid"])) ? [null, null] : [r["parent_oid"], r["pos"]]), r["flags"], r["body"]]) });
  }
  const devices = await q.query<{ no: number; id: string }>("select no, id::text as id from device where no = any($1::int4[]) order by no", [[...named]]);
  // The replica's newest clock: the device's own ops made after the load sort after what it holds.
  const [clock] = await q.query<{ hlc: string | null }>("select max(hlc) as hlc from op where space_id = $1 and seq is not null", [spaceId]);
  yield { t: "head", cursor: space.pulled, seq: space.seq, devices: devices.map((d) => [d.no, d.id] as const), tops, withheld, sent, entries, ...(clock?.hlc ? { hlc: clock.hlc } : {}) };
  let total = 0;
  for (const { part, rows } of pages) {
    total += rows.length;
    yield { t: "version", rows };
    const shares = (await q.query<Record<string, unknown>>("select oid::text as oid, user_id, seq, role from share where space_id = $1 and oid = any($2::uuid[]) order by oid, user_id, seq", [spaceId, part])).map(
      (r) => [r["oid"], r["user_id"], r["seq"], r["role"]] as unknown[],
    );
    for (const oid of part) if (inherited.has(oid)) shares.push([oid, user, entries, inherited.get(oid)!]);
    total += shares.length;
    if (shares.length > 0) yield { t: "share", rows: shares };
  }
  for await (const frame of chunkFrames(core.storage, spaceId, [...chunks.keys()])) {
    total += frame.rows.length;
    yield frame;
  }
  yield { t: "end", rows: total };
}

/**
 * Takes a partial export (`exportPartial` on the replica) into this database, in one transaction:
 * the tops it sends replace what is held of them (every objective of their subtrees here goes,
 * theirs come in, tops as roots: their rows name no parent here), held tops it no longer lists go,
 * those it lists unsent stay; the space's op counter moves past the export's; the device's own op
 * log stays. CONFLICT, changing nothing, while own ops after `pushedUpTo` (the push mark) wait to be
 * pushed: push them first.
 */
export async function loadPartial(
  core: Core,
  spaceId: string,
  source: AsyncIterable<SnapshotFrame> | Iterable<SnapshotFrame>,
  pushedUpTo: string,
): Promise<{ tops: readonly PartialTop[]; sent: readonly string[]; entries: number; rows: number }> {
  spaceId = checkId("spaceId", spaceId);
  const { head, tables, rows } = await readFrames(core, source, "partial replica", PARTIAL_TABLES);
  if (!head.tops) throw invalid("a partial replica's head lists its tops");
  const tops = head.tops.map((t) => ({ oid: t.oid.toLowerCase(), vid: t.vid, ...(t.entries === undefined ? {} : { entries: t.entries }) }));
  const sent = new Set((head.sent ?? tops.map((t) => t.oid)).map((o) => o.toLowerCase()));
  // What is held now: the tops that stay must be here as listed; the rest is replaced or goes.
  const held = (await core.storage.query<{ oid: string }>("select oid::text as oid from document where space_id = $1", [spaceId])).map((r) => r.oid.toLowerCase());
  const listed = new Set(tops.map((t) => t.oid));
  for (const t of tops) if (!sent.has(t.oid) && !held.includes(t.oid)) throw invalid(`the partial replica does not send top ${t.oid}, which this database does not hold`);
  const leaving = held.filter((o) => sent.has(o) || !listed.has(o));
  // What goes: the objectives of the tops that leave or are replaced. But a top taken away takes
  // everything of it, removed rows too: then all goes but what stays (the tops kept, the rows sent).
  const dropped = held.some((o) => !listed.has(o));
  const walked = async (oids: readonly string[]) => (await walk(core, spaceId, await activeKeys(core, spaceId, oids))).oids;
  const keep = dropped ? [...(await walked(held.filter((o) => listed.has(o) && !sent.has(o)))), ...tables.flatMap((f) => (f.t === "version" ? f.rows.map((r) => String(r[0])) : []))] : undefined;
  const old = keep ? [] : await walked(leaving);
  await core.storage.transaction(async (tx) => {
    const [waiting] = await tx.query<{ n: number }>(
      "select count(*)::int as n from op where space_id = $1 and device = $2 and hlc > $3 and (outcome is null or outcome <> 'refused:FORBIDDEN')",
      [spaceId, core.deviceId, pushedUpTo],
    );
    if (waiting!.n > 0) throw new EngineError("CONFLICT", `space ${spaceId} holds ${waiting!.n} own ops not pushed yet: push them before loading a partial replica`);
    const [space] = await tx.query<{ seq: number }>("select seq from space where space_id = $1 for update", [spaceId]);
    if (!space) throw new EngineError("NOT_FOUND", `space ${spaceId} does not exist here: create it first`);
    // Chunks stay (content-addressed: a kept top may share them); everything else of what leaves goes.
    for (const table of ["version", "share"]) {
      if (keep) await tx.query(`delete from ${table} where space_id = $1 and oid <> all($2::uuid[])`, [spaceId, keep]);
      else await tx.query(`delete from ${table} where space_id = $1 and oid = any($2::uuid[])`, [spaceId, old]);
    }
    await tx.query("delete from document where space_id = $1 and oid = any($2::uuid[])", [spaceId, leaving]);
    // The counter moves even when the replica's is not ahead: rows changed, and what an engine
    // knows of the space is exact only as of a counter (engine/known.ts).
    await tx.query("update space set seq = greatest(seq + 1, $2) where space_id = $1", [spaceId, head.seq]);
    for (const frame of tables) {
      let list = frame.rows;
      if (frame.t === "chunk") {
        // Those held already (shared with a kept top, or left by an earlier load) are not written twice.
        const ids = list.map((r) => Buffer.from(r[0] as Uint8Array).toString("hex"));
        const have = new Set((await tx.query<{ h: string }>("select encode(chunk_id, 'hex') as h from chunk where space_id = $1 and chunk_id in (select decode(h, 'hex') from unnest($2::text[]) h)", [spaceId, ids])).map((r) => r.h));
        list = list.filter((_, i) => !have.has(ids[i]!));
      } else {
        // Rows of these objectives left here by earlier loads or own edits (a removed row the
        // replica brought back) give way to the replica's.
        const oids = [...new Set(list.map((r) => String(r[0])))];
        await tx.query(`delete from ${frame.t} where space_id = $1 and oid = any($2::uuid[])`, [spaceId, oids]);
      }
      // A top is a root here: its place above is not held.
      if (frame.t === "version") list = list.map((r) => (listed.has(String(r[0]).toLowerCase()) ? [r[0], r[1], r[2], null, null, ...r.slice(5)] : r));
      if (list.length > 0) await insertRows(tx, spaceId, frame.t, list);
    }
    // Listed as documents (seq 0: no op here made them, and no undo takes them away).
    for (const oid of sent) await tx.query("insert into document (space_id, oid, seq) values ($1, $2, 0) on conflict do nothing", [spaceId, oid]);
  });
  if (head.hlc) core.clock.receive(head.hlc);
  forget(core.known, spaceId);
  core.cache.lru.clear();
  return { tops, sent: [...sent], entries: head.entries ?? 0, rows };
}
