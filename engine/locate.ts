/**
 * Finding an objective in the active tree, or in the tree of one version (DESIGN.md §3).
 *
 * An objective is active with version `v` exactly when its parent's active version links it at
 * its position: the tree is what the links say, top down. The newest stored row of each
 * objective names a parent and position (engine/chains.ts), and almost always that is where it
 * is: one walk up the newest rows, then one check of each link top-down. A checkout above it may
 * have restored an older version in which it sits elsewhere (or not at all): then its other
 * places are the candidates (every row that moved it, and its first), each checked the same way
 * (the parent found recursively). Sound and complete, since every version it can have records the
 * place every tree that links that version gives it; usually the first candidate wins.
 */
import { findChild, findInLeaf, type ChunkLoader } from "./children-tree.js";
import { walkUp, type Hint, type Placement } from "./chains.js";
import { replay } from "./format/rows.js";
import type { VersionRow } from "./types.js";

/** A place an objective had. */
export interface Candidate {
  readonly parentOid: string | null;
  readonly pos: string | null;
}

/** The places an objective had, newest first, and the version current after its newest record. */
export interface Candidates {
  readonly newest: number | undefined;
  /** The key of its newest row. */
  readonly newestRow?: number | undefined;
  readonly list: readonly Candidate[];
}

/** What locating reads, from storage or from a page of unwritten ops. */
export interface LocateEnv {
  readonly loader: ChunkLoader;
  versions(keys: readonly (readonly [string, number])[]): Promise<Map<string, VersionRow>>;
  /** Newest-row chains (see `loadHints`), as of `maxSeq` when given. */
  hints(oids: readonly string[], maxSeq: number | undefined): Promise<Map<string, Hint[]>>;
  /** Every place the objective had (newest first), as of `maxSeq` when given. */
  candidates(oid: string, maxSeq: number | undefined): Promise<Candidates>;
  /** Each objective's exact newest-row hint as of `maxSeq`, and maybe its ancestors' below `stop` (see `loadExactHints`). */
  exactHints?(oids: readonly string[], maxSeq: number, stop: string | null): Promise<Map<string, Hint>>;
  /** Whether any checkout or restore op was applied after `after` (and at or before `upTo`, when given). */
  checkoutsSince?(after: number, upTo?: number): Promise<boolean>;
  /** `candidates` of many objectives at once (a prefetch before resolving them). */
  candidatesMany?(oids: readonly string[], maxSeq: number | undefined): Promise<Map<string, Candidates>>;
}

/** Where to look: the active tree, or the tree of one version (of any objective). */
export type Scope = { readonly kind: "active" } | { readonly kind: "in"; readonly root: VersionRow };

async function version(env: LocateEnv, oid: string, seq: number): Promise<VersionRow> {
  const v = (await env.versions([[oid, seq]])).get(`${oid}|${seq}`);
  if (!v) throw new Error(`version ${oid}@${seq} is missing`);
  return v;
}

/** The candidate places of an objective from its stored rows (columns and, for moved rows, records). */
export function candidatesOf(rows: readonly { seq: number; vseq: number; parent_oid: string | null; pos: string | null; flags: number; body: Uint8Array | null }[], maxSeq: number | undefined): Candidates {
  const out: Candidate[] = [];
  const seen = new Set<string>();
  const add = (parentOid: string | null, pos: string | null) => {
    const key = `${parentOid}|${pos}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ parentOid, pos });
  };
  for (const row of rows) {
    if (maxSeq === undefined || row.seq <= maxSeq) add(row.parent_oid, row.pos);
    if (row.body) {
      const places = replay(row.body, maxSeq).filter((step) => step.placed);
      for (const c of places.reverse()) add(c.parentOid, c.pos);
    }
  }
  const top = rows[0] && (maxSeq === undefined || rows[0].seq <= maxSeq) ? rows[0] : undefined;
  return { newest: top?.vseq ?? undefined, newestRow: top?.seq, list: out };
}

/**
 * A locator for one scope: `chain(oid)` is the objective's chain `[self, parent, ..., top]` with
 * the versions the links give, or undefined when it is not in the scope's tree. Results are
 * memoized for the locator's life (one read or one write).
 */
export function locator(env: LocateEnv, scope: Scope) {
  const maxSeq = scope.kind === "in" ? scope.root.seq : undefined;
  const memo = new Map<string, Placement[] | undefined>();
  const busy = new Set<string>();
  const prefetched = new Map<string, Candidates>();
  let cycles = 0;

  const top = (oid: string): Placement[] | undefined =>
    scope.kind === "in" && oid === scope.root.oid ? [{ oid, seq: scope.root.seq, parentOid: scope.root.parentOid, pos: scope.root.pos, latest: undefined }] : undefined;

  /**
   * Checks hinted chains top-down, all of them a level at a time (one read of versions per level
   * for every chain, not one per link); each is undefined at its first link that does not hold.
   */
  async function verifyMany(all: readonly (readonly Hint[])[]): Promise<(Placement[] | undefined)[]> {
    const out: (Placement[] | undefined)[] = all.map(() => undefined);
    interface Walk {
      readonly n: number;
      readonly hints: readonly Hint[];
      /** The hint to check next (its parent's version is `key`). */
      i: number;
      chain: Placement[];
      key: readonly [string, number];
    }
    let walks: Walk[] = [];
    const first: (readonly [string, number])[] = [];
    all.forEach((hints, n) => {
      // In a version's tree the walk must reach the scope's root; in the active tree a document root.
      const stop = scope.kind === "in" ? hints.findIndex((h) => h.oid === scope.root.oid) : hints.length - 1;
      if (stop < 0) return;
      const head = hints[stop]!;
      let chain: Placement[];
      if (scope.kind === "in") chain = top(head.oid)!;
      else {
        if (head.parentOid !== null || head.removed) return;
        chain = [{ oid: head.oid, seq: head.vseq, parentOid: null, pos: null, latest: head.vseq, latestRow: head.key }];
      }
      memo.set(head.oid, chain);
      if (stop === 0) {
        out[n] = chain;
        return;
      }
      // The hinted versions are usually the linked ones: read them with the tops.
      first.push([chain[0]!.oid, chain[0]!.seq], ...hints.slice(0, stop).map((h) => [h.oid, h.vseq] as const));
      walks.push({ n, hints, i: stop - 1, chain, key: [chain[0]!.oid, chain[0]!.seq] });
    });
    const rows = new Map<string, VersionRow>();
    const read = async (keys: readonly (readonly [string, number])[]) => {
      const want = new Map(keys.map((k) => [`${k[0]}|${k[1]}`, k]));
      for (const k of rows.keys()) want.delete(k);
      if (want.size > 0) for (const [k, v] of await env.versions([...want.values()])) rows.set(k, v);
    };
    await read(first);
    while (walks.length > 0) {
      await read(walks.map((w) => w.key));
      const next: Walk[] = [];
      for (const w of walks) {
        const parent = rows.get(`${w.key[0]}|${w.key[1]}`);
        if (!parent) throw new Error(`version ${w.key[0]}@${w.key[1]} is missing`);
        const h = w.hints[w.i]!;
        if (h.pos === null) continue;
        const hit = "l" in parent.kids ? findInLeaf(parent.kids, h.pos) : await findChild(parent.kids, h.pos, env.loader);
        if (!hit || hit.entry[0] !== h.oid) continue;
        w.chain = [{ oid: h.oid, seq: hit.entry[1], parentOid: parent.oid, pos: h.pos, latest: h.vseq, latestRow: h.key, rows: hit.entry[3] }, ...w.chain];
        memo.set(h.oid, w.chain);
        if (w.i === 0) out[w.n] = w.chain;
        else {
          w.key = [h.oid, hit.entry[1]];
          w.i--;
          next.push(w);
        }
      }
      walks = next;
    }
    return out;
  }

  /** Exact hint chains as of maxSeq, up to the scope's root (or a top): a statement per level the readers' walk up missed. */
  async function exactChains(oids: readonly string[], at: number): Promise<Map<string, Hint[]>> {
    const byOid = new Map<string, Hint | null>();
    let frontier = [...new Set(oids)];
    while (frontier.length > 0) {
      const got = await env.exactHints!(frontier, at, scope.kind === "in" ? scope.root.oid : null);
      for (const o of frontier) byOid.set(o, got.get(o) ?? null);
      // A reader may send ancestors' exact places with them (the walk up in the same statement).
      for (const [o, h] of got) if (!byOid.has(o)) byOid.set(o, h);
      const next = new Set<string>();
      for (const [o, h] of byOid) {
        const stop = scope.kind === "in" && o === scope.root.oid;
        if (h && h.parentOid !== null && !stop && !byOid.has(h.parentOid)) next.add(h.parentOid);
      }
      frontier = [...next];
    }
    const out = new Map<string, Hint[]>();
    const stop = (h: Hint) => scope.kind === "in" && h.oid === scope.root.oid;
    for (const oid of oids) out.set(oid, walkUp(oid, (o) => byOid.get(o) ?? undefined, stop).chain);
    return out;
  }

  /** Resolves an objective through its candidate places (the slow path, after a checkout). */
  async function resolve(oid: string): Promise<Placement[] | undefined> {
    if (memo.has(oid)) return memo.get(oid);
    const fixed = top(oid);
    if (fixed) return fixed;
    if (busy.has(oid)) {
      cycles++;
      return undefined;
    }
    busy.add(oid);
    const before = cycles;
    let found: Placement[] | undefined;
    try {
      const { newest: latest, newestRow: latestRow, list } = prefetched.get(oid) ?? (await env.candidates(oid, maxSeq));
      for (const c of list) {
        if (c.parentOid === null) {
          if (scope.kind === "in") continue;
          const h = (await env.hints([oid], undefined)).get(oid)?.[0];
          if (h && h.parentOid === null && !h.removed) {
            found = [{ oid, seq: h.vseq, parentOid: null, pos: null, latest: h.vseq, latestRow: h.key }];
            break;
          }
          continue;
        }
        const up = await resolve(c.parentOid);
        if (!up || c.pos === null) continue;
        const parent = await version(env, up[0]!.oid, up[0]!.seq);
        const hit = await findChild(parent.kids, c.pos, env.loader);
        if (hit && hit.entry[0] === oid) {
          found = [{ oid, seq: hit.entry[1], parentOid: c.parentOid, pos: c.pos, latest, latestRow, rows: hit.entry[3] }, ...up];
          break;
        }
      }
    } finally {
      busy.delete(oid);
    }
    if (found || cycles === before) memo.set(oid, found);
    return found;
  }

  return {
    /**
     * Takes newest rows the caller read already: in the active tree, one whose newest record
     * removes it is not active (the same rule `chains` applies after its walk), so `chains` walks
     * nothing for it.
     */
    knowNewest(rows: Iterable<Hint>): void {
      if (scope.kind !== "active") return;
      for (const h of rows) if (h.removed && !memo.has(h.oid)) memo.set(h.oid, undefined);
    },
    /** Chains of many objectives: one hint walk for all, then the slow path only where needed. */
    async chains(oids: readonly string[]): Promise<Map<string, Placement[] | undefined>> {
      const out = new Map<string, Placement[] | undefined>();
      const want = [...new Set(oids)].filter((o) => {
        if (memo.has(o)) out.set(o, memo.get(o));
        return !memo.has(o);
      });
      if (want.length === 0) return out;
      const hints = await env.hints(want, maxSeq);
      const failed: string[] = [];
      const hinted: string[] = [];
      for (const oid of want) {
        const h = hints.get(oid);
        if (h && h.length > 0) hinted.push(oid);
        else {
          // No row (as of maxSeq): a row's key is its first record's seq, so the objective did not
          // exist then (or at all), and no tree of that time links it.
          const fixed = top(oid);
          memo.set(oid, fixed);
          out.set(oid, fixed);
        }
      }
      const verified = await verifyMany(hinted.map((o) => hints.get(o)!));
      hinted.forEach((oid, i) => {
        if (verified[i]) out.set(oid, verified[i]);
        else failed.push(oid);
      });
      // One whose newest record removes it is not active: whatever brings an objective back (a
      // restore, a checkout above it) writes a record of it first. No slow path for those.
      if (scope.kind === "active") {
        for (let i = failed.length - 1; i >= 0; i--) {
          const oid = failed[i]!;
          if (!hints.get(oid)![0]!.removed) continue;
          memo.set(oid, undefined);
          out.set(oid, undefined);
          failed.splice(i, 1);
        }
        if (failed.length === 0) return out;
      }
      // Only a checkout above an objective makes its newest row stale: with none since the oldest
      // row of the failed chains, they are not in the active tree (removed, or under a removal).
      if (scope.kind === "active" && failed.length > 0 && env.checkoutsSince) {
        const since = Math.min(...failed.flatMap((o) => hints.get(o)!.map((h) => h.key)));
        if (!(await env.checkoutsSince(since))) {
          for (const oid of failed) {
            memo.set(oid, undefined);
            out.set(oid, undefined);
          }
          return out;
        }
      }
      // In a past tree the hints come from segments' ends, which may be later than maxSeq: walk
      // those that failed again with exact places (all at once; again only past a moved row).
      const exact = maxSeq !== undefined && failed.length > 0 && env.exactHints ? await exactChains(failed, maxSeq) : undefined;
      // An empty chain verifies to nothing.
      const reverified = exact ? await verifyMany(failed.map((o) => exact.get(o) ?? [])) : [];
      const left = failed.filter((oid, i) => {
        const found = reverified[i];
        if (found) out.set(oid, found);
        return !found;
      });
      // The same rule in a past tree: with no checkout between the oldest of their exact rows and
      // the tree's time, the records said where each one was, and it was not in the tree.
      if (maxSeq !== undefined && exact && left.length > 0 && env.checkoutsSince && left.every((o) => exact.get(o)?.length)) {
        const since = Math.min(...left.flatMap((o) => exact.get(o)!.map((h) => h.key)));
        if (!(await env.checkoutsSince(since, maxSeq))) {
          for (const oid of left) {
            memo.set(oid, undefined);
            out.set(oid, undefined);
          }
          return out;
        }
      }
      const slow = left.filter((oid) => !prefetched.has(oid));
      if (slow.length > 1 && env.candidatesMany) for (const [oid, c] of await env.candidatesMany(slow, maxSeq)) prefetched.set(oid, c);
      for (const oid of left) out.set(oid, await resolve(oid));
      return out;
    },
  };
}

/** A locator's type. */
export type Locator = ReturnType<typeof locator>;
