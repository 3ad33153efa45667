/**
 * Seeded random edits for the replication, page-apply and sync property tests: creates, updates,
 * moves, removes, restores of removed ones (an app's undo), checkouts of random live objectives
 * and small imports under them, as an outliner's user makes them.
 * Edits the engine refuses by design (a move into its own subtree, a checkout to a vid the
 * objective cannot take) are skipped; any other error fails the test.
 */
import type { Engine, Patch, Props } from "../../index.js";

/** A small deterministic generator (numerical recipes LCG): the same seed, the same edits. */
export function lcg(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** How `randomEdits` draws; each test keeps the mix its property needs. */
export interface EditMix {
  /** Cumulative shares of create, update, move and remove; the rest are checkouts, restores and imports. */
  readonly shares?: readonly [create: number, update: number, move: number, remove: number];
  /** Child index and content of create `i`. */
  readonly create?: (i: number, rand: () => number) => { index: number; content: string; props?: Props };
  /** The patch of update `i`. */
  readonly update?: (i: number, rand: () => number) => Patch;
}

const defaults: Required<EditMix> = {
  shares: [0.35, 0.55, 0.72, 0.82],
  create: (i, rand) => ({ index: 0, content: `c${i}`, props: { done: rand() < 0.5 } }),
  update: (i) => ({ content: `u${i}`, props: { n: i } }),
};

/**
 * Objectives removed by earlier calls, per device and space: a device undoes its own removals
 * (another may not have received the objective at all).
 */
const removedBy = new WeakMap<Engine, Map<string, string[]>>();

/** Makes `n` random edits in the documents `docs` of space `s`. */
export async function randomEdits(e: Engine, s: string, docs: readonly string[], rand: () => number, n: number, mix: EditMix = {}): Promise<void> {
  const { shares, create, update } = { ...defaults, ...mix };
  const mine = removedBy.get(e) ?? new Map<string, string[]>();
  removedBy.set(e, mine);
  const removed = mine.get(s) ?? [];
  mine.set(s, removed);
  for (let i = 0; i < n; i++) {
    const doc = docs.length === 1 ? docs[0]! : docs[Math.floor(rand() * docs.length)]!;
    const live = [doc, ...(await e.view(s, doc, { limit: 10_000 })).rows.map((r) => r.oid)];
    const pick = () => live[Math.floor(rand() * live.length)]!;
    const r = rand();
    try {
      if (r < shares[0] || live.length < 3) await e.create(s, { parentOid: pick(), ...create(i, rand) });
      else if (r < shares[1]) await e.update(s, pick(), update(i, rand));
      else if (r < shares[2]) await e.move(s, pick(), { parentOid: pick(), index: 0 });
      else if (r < shares[3]) {
        const oid = live[1 + Math.floor(rand() * (live.length - 1))]!;
        await e.remove(s, oid);
        removed.push(oid);
      } else if (removed.length > 0 && rand() < 0.4) {
        // Undo of a removal: back where it was, or (if that is gone) under a live objective.
        const oid = removed.splice(Math.floor(rand() * removed.length), 1)[0]!;
        await e.restore(s, oid).catch((error: unknown) => {
          if ((error as { code?: string }).code === "NOT_FOUND") return e.restore(s, oid, { parentOid: pick(), index: 0 });
          throw error;
        });
      } else if (rand() < 0.25) {
        // A pasted outline: a few rows with children, at an index or at the end.
        const nodes = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, k) => ({
          content: `i${i}.${k}`,
          children: Array.from({ length: Math.floor(rand() * 3) }, (_, j) => ({ content: `i${i}.${k}.${j}`, props: { done: j % 2 === 0 } })),
        }));
        await e.importTree(s, { parentOid: pick(), nodes, ...(rand() < 0.5 ? { index: 0 } : {}) });
      } else {
        const target = pick();
        const vs = (await e.versions(s, target)).versions;
        // A partial replica lists only the versions its own ops made: there may be none.
        if (vs.length > 0) await e.checkout(s, target, vs[Math.floor(rand() * vs.length)]!.vid);
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "CYCLE" && code !== "INVALID_ARGUMENT") throw error;
    }
  }
}
