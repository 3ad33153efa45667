import type { Props } from "../../index.js";

/** One objective of the in-memory model. */
export interface ModelNode {
  readonly id: string;
  parent: string | null;
  content: string;
  props: Props;
  readonly kids: string[];
}

/** A row of a flat outline: parents come before their children, siblings in order. */
export type FlatRow = readonly [id: string, parent: string | null, content: string, props: Props];

/**
 * A plain mutable outline (id → node with an ordered kids array). The history generator runs on
 * it, and the baselines use it as their materialized state (replay target, decoded snapshot).
 */
export class TreeModel {
  readonly nodes = new Map<string, ModelNode>();

  constructor(readonly rootId: string) {}

  /** Builds a model from flat rows (the first row is the root). */
  static fromRows(rows: readonly FlatRow[]): TreeModel {
    const m = new TreeModel(rows[0]![0]);
    for (const [id, parent, content, props] of rows) m.add(id, parent, content, props);
    return m;
  }

  get(id: string): ModelNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Adds a node under `parent` at `index` (the end when omitted). */
  add(id: string, parent: string | null, content: string, props: Props, index?: number): void {
    this.nodes.set(id, { id, parent, content, props, kids: [] });
    if (parent === null) return;
    const kids = this.get(parent).kids;
    if (index === undefined || index >= kids.length) kids.push(id);
    else kids.splice(index, 0, id);
  }

  update(id: string, content: string): void {
    this.get(id).content = content;
  }

  /** Moves `id` under `parent` at `index` (index counted after removal from the old place). */
  move(id: string, parent: string, index: number): void {
    const n = this.get(id);
    this.detach(n);
    n.parent = parent;
    const kids = this.get(parent).kids;
    kids.splice(Math.min(index, kids.length), 0, id);
  }

  /** Removes `id` and its subtree. */
  remove(id: string): void {
    const n = this.get(id);
    this.detach(n);
    for (const d of this.subtreeIds(id)) this.nodes.delete(d);
  }

  private detach(n: ModelNode): void {
    if (n.parent === null) return;
    const kids = this.get(n.parent).kids;
    kids.splice(kids.indexOf(n.id), 1);
  }

  /** Whether `id` lies in the subtree of `ancestor` (itself included). */
  isUnder(id: string, ancestor: string): boolean {
    for (let at: string | null = id; at !== null; at = this.get(at).parent) if (at === ancestor) return true;
    return false;
  }

  depthOf(id: string): number {
    let d = 0;
    for (let at = this.get(id).parent; at !== null; at = this.get(at).parent) d++;
    return d;
  }

  /** Ids of a subtree in depth-first order, `id` first. */
  subtreeIds(id: string): string[] {
    const out: string[] = [];
    const stack = [id];
    while (stack.length) {
      const at = stack.pop()!;
      out.push(at);
      const kids = this.get(at).kids;
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
    return out;
  }

  /** The flat rows of a subtree (its own row first, with its current parent). */
  subtreeRows(id: string): FlatRow[] {
    return this.subtreeIds(id).map((x) => {
      const n = this.get(x);
      return [n.id, n.parent, n.content, n.props] as const;
    });
  }

  /** Replaces the subtree of `rows[0]` (which must exist) with `rows`: a checkout by copying. */
  restore(rows: readonly FlatRow[]): void {
    const top = this.get(rows[0]![0]);
    for (const kid of [...top.kids]) this.remove(kid);
    top.content = rows[0]![2];
    top.props = rows[0]![3];
    for (const [id, parent, content, props] of rows.slice(1)) {
      // An objective that lives elsewhere now stays where it is (DESIGN.md §4).
      if (this.nodes.has(id)) continue;
      if (this.nodes.has(parent!)) this.add(id, parent, content, props);
    }
  }

  /** Rows `[offset, offset + limit)` of the depth-first view below the root, walking from the top. */
  window(offset: number, limit: number): { id: string; depth: number; content: string }[] {
    const out: { id: string; depth: number; content: string }[] = [];
    const stack: [string, number][] = [];
    const root = this.get(this.rootId).kids;
    for (let i = root.length - 1; i >= 0; i--) stack.push([root[i]!, 0]);
    let row = 0;
    while (stack.length && out.length < limit) {
      const [id, depth] = stack.pop()!;
      const n = this.get(id);
      if (row++ >= offset) out.push({ id, depth, content: n.content });
      for (let i = n.kids.length - 1; i >= 0; i--) stack.push([n.kids[i]!, depth + 1]);
    }
    return out;
  }

  /** All rows, root first, depth-first. */
  rows(): FlatRow[] {
    return this.subtreeRows(this.rootId);
  }
}
