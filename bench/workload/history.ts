import type { Props } from "../../index.js";
import { below, lcg } from "../lib/rng.js";
import { idOf, type Outline } from "./outline.js";
import { TreeModel } from "./tree-model.js";

/** One edit of a generated history, in the workload's own ids. */
export type Edit =
  | { readonly kind: "update"; readonly id: string; readonly content: string }
  | { readonly kind: "create"; readonly id: string; readonly parent: string; readonly index: number; readonly content: string; readonly props: Props }
  | { readonly kind: "move"; readonly id: string; readonly parent: string; readonly index: number }
  | { readonly kind: "remove"; readonly id: string };

/**
 * A deterministic history of `count` edits on an outline: 50% update, 20% create, 20% move,
 * 10% remove (of a leaf). The probe chain, the root and the checkout target itself are never
 * moved or removed, and no move makes a cycle: every system can replay it verbatim.
 */
export function generateHistory(outline: Outline, count: number, seed: number): Edit[] {
  const model = TreeModel.fromRows(outline.rows);
  const rand = lcg(seed ^ 0x5bd1e995);
  const fixed = new Set([...outline.probe, outline.rootId, outline.checkoutTarget]);
  const alive = outline.rows.map((r) => r[0]).filter((id) => !fixed.has(id));
  const where = new Map(alive.map((id, i) => [id, i]));
  const drop = (id: string) => {
    const i = where.get(id)!;
    const last = alive.pop()!;
    if (last !== id) {
      alive[i] = last;
      where.set(last, i);
    }
    where.delete(id);
  };
  const pick = () => alive[below(rand, alive.length)]!;
  const parentPick = () => (rand() < 0.05 ? outline.rootId : pick());
  const out: Edit[] = [];
  let next = outline.rows.length + 1_000_000;
  while (out.length < count) {
    const r = rand();
    if (r < 0.5 || alive.length < 10) {
      const id = rand() < 0.1 ? outline.probe[1 + below(rand, outline.probe.length - 1)]! : pick();
      const content = `edit ${out.length}`;
      model.update(id, content);
      out.push({ kind: "update", id, content });
    } else if (r < 0.7) {
      const parent = parentPick();
      const id = idOf(seed, next++);
      const index = below(rand, model.get(parent).kids.length + 1);
      const props: Props = rand() < 0.5 ? { done: false } : {};
      model.add(id, parent, `new ${out.length}`, props, index);
      alive.push(id);
      where.set(id, alive.length - 1);
      out.push({ kind: "create", id, parent, index, content: `new ${out.length}`, props });
    } else if (r < 0.9) {
      const id = pick();
      const parent = parentPick();
      if (model.isUnder(parent, id)) continue;
      const kids = model.get(parent).kids.length - (model.get(id).parent === parent ? 1 : 0);
      const index = below(rand, kids + 1);
      model.move(id, parent, index);
      out.push({ kind: "move", id, parent, index });
    } else {
      const id = pick();
      if (model.get(id).kids.length > 0) continue;
      model.remove(id);
      drop(id);
      out.push({ kind: "remove", id });
    }
  }
  return out;
}
