/**
 * An in-memory reference model of the engine's versioned outline (DESIGN.md §2-§5, §7), for the
 * property test. It knows nothing of storage: it keeps the active tree, predicts the outcome of
 * every op (error code, no-op or change), and remembers, for every (oid, vid) the engine has shown,
 * a deep snapshot of that version's subtree. Vids are never predicted: they are read from the
 * engine after each step and attached to the snapshots.
 *
 * Positions: every objective carries its position key, made as the engine specifies it: when the
 * objective is created or moved, `generateKeyBetween` of its new neighbours' keys (the list without
 * itself); restored with a snapshot on checkout. A diff reports "reordered" when the key differs
 * under the same parent, so moving away and back into the same slot (same neighbours, same key) is
 * no change: diff compares states, not histories.
 */
import { generateKeyBetween } from "fractional-indexing";
import type { Change, Json, Props, Stats } from "../../index.js";

/** The error codes the model predicts. */
export type ModelErrorCode = "NOT_FOUND" | "INVALID_ARGUMENT" | "CYCLE";

/** An op on resolved oids. */
export type ModelOp =
  | { readonly kind: "create"; readonly parent: string; readonly index?: number; readonly content: string; readonly props: Props }
  | { readonly kind: "update"; readonly oid: string; readonly patch: { readonly content?: string; readonly props?: { readonly [key: string]: Json } } }
  | { readonly kind: "move"; readonly oid: string; readonly parent: string; readonly index?: number }
  | { readonly kind: "remove"; readonly oid: string }
  | { readonly kind: "checkout"; readonly oid: string; readonly vid: string }
  | { readonly kind: "restore"; readonly oid: string; readonly parent?: string; readonly index?: number };

/** What the model expects an op to do. */
export type Outcome = { readonly error: ModelErrorCode } | { readonly noop: true } | { readonly ok: true };

/**
 * Which objectives an applied op gives a new version: `mustChange` get a fresh vid, `free` may get
 * any vid (checkout re-links old versions), every other active objective keeps its vid.
 */
export interface Effect {
  readonly mustChange: ReadonlySet<string>;
  readonly free: ReadonlySet<string>;
  /** For a checkout (and a restore): objectives cut out (live elsewhere), brought back (were removed), sent away (not in the target). */
  readonly checkout?: { readonly cut: number; readonly revived: number; readonly evicted: number };
}

export const NO_EFFECT: Effect = { mustChange: new Set(), free: new Set() };

/** One remembered version: the objective and its whole subtree as it was. */
export interface Snap {
  readonly oid: string;
  readonly vid: string;
  /** The parent the version records (null for a document root). */
  readonly parent: string | null;
  readonly token: string;
  readonly content: string;
  readonly props: Props;
  readonly children: readonly Snap[];
}

/** The engine-observable shape of an active subtree, with statistics. */
export interface ExpectedNode {
  readonly oid: string;
  readonly parentOid: string | null;
  readonly content: string;
  readonly props: Props;
  readonly childCount: number;
  readonly stats: Stats;
  readonly children: readonly ExpectedNode[];
}

interface Node {
  readonly oid: string;
  content: string;
  props: Props;
  token: string;
  parent: string | null;
  children: string[];
}

/** Props as a canonical string: key order does not matter in a JSON object. */
export function canonProps(props: Props): string {
  const canon = (v: Json): string => {
    if (v === null || typeof v !== "object") return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon(v[k]!)}`)
      .join(",")}}`;
  };
  return canon(props);
}

/** Merges a props patch: a key set to null is deleted. */
export function mergeProps(base: Props, patch: { readonly [key: string]: Json }): Props {
  const out: Props = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Statistics of a subtree given the props of every descendant (excluding the objective itself). */
export function statsOf(descendantProps: readonly Props[]): Stats {
  let total = 0;
  let done = 0;
  for (const p of descendantProps) {
    if (typeof p["done"] === "boolean") {
      total++;
      if (p["done"] === true) done++;
    }
  }
  return { descendants: descendantProps.length, total, done, percent: total === 0 ? 0 : Math.round((done * 10000) / total) / 100 };
}

function descendantsOfSnap(s: Snap): Props[] {
  const out: Props[] = [];
  const rec = (n: Snap) => {
    for (const c of n.children) {
      out.push(c.props);
      rec(c);
    }
  };
  rec(s);
  return out;
}

/** Stats of a remembered version. */
export function snapStats(s: Snap): Stats {
  return statsOf(descendantsOfSnap(s));
}

/** Same version content: everything but the objective's own position token. */
export function sameSnap(a: Snap, b: Snap, top = true): boolean {
  if (a.oid !== b.oid || a.vid !== b.vid || a.parent !== b.parent || a.content !== b.content) return false;
  if (!top && a.token !== b.token) return false;
  if (canonProps(a.props) !== canonProps(b.props)) return false;
  if (a.children.length !== b.children.length) return false;
  return a.children.every((c, i) => sameSnap(c, b.children[i]!, false));
}

const KIND_ORDER = { deleted: 0, created: 1, moved: 2, reordered: 3, updated: 4 } as const;

/** Sorts changes as the engine does: by oid, then deleted, created, moved, reordered, updated. */
export function sortChanges(changes: readonly Change[]): Change[] {
  return [...changes].sort((p, q) => (p.oid < q.oid ? -1 : p.oid > q.oid ? 1 : KIND_ORDER[p.kind] - KIND_ORDER[q.kind]));
}

/** The expected `diff` between two remembered versions of one objective. */
export function modelDiff(a: Snap, b: Snap): Change[] {
  interface Place {
    readonly snap: Snap;
    readonly parent: string;
    readonly index: number;
  }
  const flat = (s: Snap) => {
    const m = new Map<string, Place>();
    const rec = (n: Snap) =>
      n.children.forEach((c, index) => {
        m.set(c.oid, { snap: c, parent: n.oid, index });
        rec(c);
      });
    rec(s);
    return m;
  };
  const same = (x: Snap, y: Snap) => x.content === y.content && canonProps(x.props) === canonProps(y.props);
  const before = flat(a);
  const after = flat(b);
  const changes: Change[] = [];
  if (!same(a, b)) changes.push({ kind: "updated", oid: a.oid, vidBefore: a.vid, vidAfter: b.vid });
  for (const [oid, x] of before) {
    const y = after.get(oid);
    if (!y) {
      changes.push({ kind: "deleted", oid, vidBefore: x.snap.vid, parentBefore: x.parent, indexBefore: x.index });
      continue;
    }
    const place = {
      oid,
      vidBefore: x.snap.vid,
      vidAfter: y.snap.vid,
      parentBefore: x.parent,
      parentAfter: y.parent,
      indexBefore: x.index,
      indexAfter: y.index,
    };
    if (x.parent !== y.parent) changes.push({ kind: "moved", ...place });
    else if (x.snap.token !== y.snap.token) changes.push({ kind: "reordered", ...place });
    if (!same(x.snap, y.snap)) changes.push({ kind: "updated", oid, vidBefore: x.snap.vid, vidAfter: y.snap.vid });
  }
  for (const [oid, y] of after) {
    if (!before.has(oid)) changes.push({ kind: "created", oid, vidAfter: y.snap.vid, parentAfter: y.parent, indexAfter: y.index });
  }
  return sortChanges(changes);
}

/** The reference model of one space. */
export class OutlineModel {
  private readonly nodes = new Map<string, Node>();
  /** Every oid ever created, in creation order (active or not). */
  readonly known: string[] = [];
  /** Document roots, in creation order. */
  readonly roots: string[] = [];
  private readonly memo = new Map<string, Snap>();
  private readonly vidList = new Map<string, string[]>();
  private current = new Map<string, string>();
  /**
   * Removed objectives whose removal is still their last record, with the vid they had then (what
   * `restore` brings back). A new version of one (it came back and changed) ends its entry.
   */
  private readonly removedAt = new Map<string, string>();

  isActive(oid: string): boolean {
    return this.nodes.has(oid);
  }

  isRoot(oid: string): boolean {
    return this.roots.includes(oid);
  }

  /** Active objectives in creation order. */
  active(): string[] {
    return this.known.filter((o) => this.nodes.has(o));
  }

  /** Known objectives no longer in the active tree, in creation order. */
  inactive(): string[] {
    return this.known.filter((o) => !this.nodes.has(o));
  }

  /** Objectives `restore` accepts (removed, nothing written to them since), in creation order. */
  restorable(): string[] {
    return this.known.filter((o) => this.removedAt.has(o) && !this.nodes.has(o));
  }

  /** Where a restored objective goes without a destination: its parent when it was removed. */
  lastParent(oid: string): string | null | undefined {
    const vid = this.removedAt.get(oid);
    return vid === undefined ? undefined : this.snap(oid, vid)?.parent;
  }

  /** Active non-root objectives. */
  movable(): string[] {
    return this.active().filter((o) => !this.isRoot(o));
  }

  /** The active vid last observed. */
  vid(oid: string): string | undefined {
    return this.current.get(oid);
  }

  /** Remembered vids of an objective, in the order first seen. */
  vidsOf(oid: string): readonly string[] {
    return this.vidList.get(oid) ?? [];
  }

  /** Oids with remembered versions, in creation order. */
  remembered(): string[] {
    return this.known.filter((o) => this.vidList.has(o));
  }

  snap(oid: string, vid: string): Snap | undefined {
    return this.memo.get(`${oid}|${vid}`);
  }

  snaps(): IterableIterator<Snap> {
    return this.memo.values();
  }

  private node(oid: string): Node {
    const n = this.nodes.get(oid);
    if (!n) throw new Error(`model: ${oid} is not active`);
    return n;
  }

  /** Parent up to the document root. */
  ascendants(oid: string): string[] {
    const out: string[] = [];
    for (let p = this.node(oid).parent; p !== null; p = this.node(p).parent) out.push(p);
    return out;
  }

  /** The oid and every active objective below it. */
  subtree(oid: string): Set<string> {
    const out = new Set<string>();
    const rec = (o: string) => {
      out.add(o);
      for (const c of this.node(o).children) rec(c);
    };
    rec(oid);
    return out;
  }

  childrenOf(oid: string): readonly string[] {
    return this.node(oid).children;
  }

  parentOf(oid: string): string | null {
    return this.node(oid).parent;
  }

  createDocument(oid: string, content: string, props: Props): void {
    this.nodes.set(oid, { oid, content, props: { ...props }, token: "", parent: null, children: [] });
    this.known.push(oid);
    this.roots.push(oid);
  }

  /** The position key for a new link at `index` of `siblings` (which exclude the placed objective). */
  private keyAt(siblings: readonly string[], index: number): string {
    const before = index > 0 ? this.node(siblings[index - 1]!).token : null;
    const after = index < siblings.length ? this.node(siblings[index]!).token : null;
    return generateKeyBetween(before, after);
  }

  /** What the engine should answer to `op` in the current state. */
  outcome(op: ModelOp): Outcome {
    const badIndex = (index: number | undefined, max: number) =>
      index !== undefined && (!Number.isInteger(index) || index < 0 || index > max);
    switch (op.kind) {
      case "create": {
        if (!this.isActive(op.parent)) return { error: "NOT_FOUND" };
        if (badIndex(op.index, this.node(op.parent).children.length)) return { error: "INVALID_ARGUMENT" };
        return { ok: true };
      }
      case "update": {
        if (!this.isActive(op.oid)) return { error: "NOT_FOUND" };
        const n = this.node(op.oid);
        const sameContent = op.patch.content === undefined || op.patch.content === n.content;
        const sameProps = op.patch.props === undefined || canonProps(mergeProps(n.props, op.patch.props)) === canonProps(n.props);
        return sameContent && sameProps ? { noop: true } : { ok: true };
      }
      case "move": {
        if (!this.isActive(op.oid)) return { error: "NOT_FOUND" };
        if (this.isRoot(op.oid)) return { error: "INVALID_ARGUMENT" };
        if (!this.isActive(op.parent)) return { error: "NOT_FOUND" };
        if (this.subtree(op.oid).has(op.parent)) return { error: "CYCLE" };
        const self = this.node(op.oid);
        const siblings = this.node(op.parent).children.filter((c) => c !== op.oid);
        if (badIndex(op.index, siblings.length)) return { error: "INVALID_ARGUMENT" };
        const index = op.index ?? siblings.length;
        if (self.parent === op.parent && this.node(op.parent).children.indexOf(op.oid) === index) return { noop: true };
        return { ok: true };
      }
      case "remove":
        return this.isActive(op.oid) ? { ok: true } : { error: "NOT_FOUND" };
      case "checkout": {
        if (!this.isActive(op.oid)) return { error: "NOT_FOUND" };
        if (!this.snap(op.oid, op.vid)) return { error: "NOT_FOUND" };
        return op.vid === this.current.get(op.oid) ? { noop: true } : { ok: true };
      }
      case "restore": {
        if (this.isActive(op.oid)) return { error: "INVALID_ARGUMENT" };
        if (!this.known.includes(op.oid)) return { error: "NOT_FOUND" };
        const last = this.lastParent(op.oid);
        if (last === undefined) return { error: "INVALID_ARGUMENT" };
        if (last === null) return op.parent === undefined ? { ok: true } : { error: "INVALID_ARGUMENT" };
        const parent = op.parent ?? last;
        if (!this.isActive(parent)) return { error: "NOT_FOUND" };
        if (op.parent !== undefined && badIndex(op.index, this.node(parent).children.length)) return { error: "INVALID_ARGUMENT" };
        return { ok: true };
      }
    }
  }

  /**
   * A subtree of a remembered version as the engine links it back (checkout, restore): what lives
   * in the active tree now (outside `leaving`, which is about to leave it) stays where it is and
   * is cut out, with its subtree. Returns the top's children and every node it brings.
   */
  private relink(target: Snap, leaving: ReadonlySet<string>): { children: string[]; restored: Node[]; cut: number } {
    const restored: Node[] = [];
    let cut = 0;
    const keep = (s: Snap): string[] =>
      s.children
        .filter((c) => {
          const elsewhere = this.nodes.has(c.oid) && !leaving.has(c.oid);
          if (elsewhere) cut++;
          return !elsewhere;
        })
        .map((c) => {
          restored.push({ oid: c.oid, content: c.content, props: { ...c.props }, token: c.token, parent: s.oid, children: keep(c) });
          return c.oid;
        });
    const children = keep(target);
    return { children, restored, cut };
  }

  /** The engine's `freePosition`: `token` unless a sibling holds it, else the first free key after it. */
  private freeToken(siblings: readonly string[], token: string): string {
    for (let key = token; ; ) {
      const i = siblings.findIndex((c) => this.node(c).token === key);
      if (i < 0) return key;
      const next = siblings[i + 1];
      key = generateKeyBetween(key, next === undefined ? null : this.node(next).token);
    }
  }

  /** Applies an op whose outcome is `{ ok: true }`; `created` is the oid the engine gave a create. */
  apply(op: ModelOp, created?: string): Effect {
    switch (op.kind) {
      case "create": {
        if (!created) throw new Error("model: create needs the new oid");
        const parent = this.node(op.parent);
        const token = this.keyAt(parent.children, op.index ?? parent.children.length);
        this.nodes.set(created, { oid: created, content: op.content, props: { ...op.props }, token, parent: op.parent, children: [] });
        this.known.push(created);
        parent.children.splice(op.index ?? parent.children.length, 0, created);
        return { mustChange: new Set([created, op.parent, ...this.ascendants(op.parent)]), free: new Set() };
      }
      case "update": {
        const n = this.node(op.oid);
        if (op.patch.content !== undefined) n.content = op.patch.content;
        if (op.patch.props !== undefined) n.props = mergeProps(n.props, op.patch.props);
        return { mustChange: new Set([op.oid, ...this.ascendants(op.oid)]), free: new Set() };
      }
      case "move": {
        const n = this.node(op.oid);
        const before = this.ascendants(op.oid);
        const from = this.node(n.parent!);
        from.children.splice(from.children.indexOf(op.oid), 1);
        const to = this.node(op.parent);
        n.token = this.keyAt(to.children, op.index ?? to.children.length);
        to.children.splice(op.index ?? to.children.length, 0, op.oid);
        n.parent = op.parent;
        return { mustChange: new Set([op.oid, ...before, ...this.ascendants(op.oid)]), free: new Set() };
      }
      case "remove": {
        const n = this.node(op.oid);
        const before = this.ascendants(op.oid);
        this.removedAt.set(op.oid, this.current.get(op.oid)!);
        for (const o of this.subtree(op.oid)) this.nodes.delete(o);
        if (n.parent !== null) {
          const p = this.node(n.parent);
          p.children.splice(p.children.indexOf(op.oid), 1);
        } else {
          this.roots.splice(this.roots.indexOf(op.oid), 1);
        }
        return { mustChange: new Set(before), free: new Set() };
      }
      case "checkout": {
        const target = this.snap(op.oid, op.vid);
        if (!target) throw new Error(`model: no remembered version ${op.oid}@${op.vid}`);
        const self = this.node(op.oid);
        const chain = this.ascendants(op.oid);
        const currentSubtree = this.subtree(op.oid);
        // (1) what lives outside the subtree now stays there: cut it (and its snapshot subtree) out.
        const { children: rootChildren, restored, cut } = this.relink(target, currentSubtree);
        const revived = restored.filter((n) => !this.nodes.has(n.oid)).length;
        // What comes back gets a mark of the place it comes back to: its removal is no longer its last record.
        for (const n of restored) if (!this.nodes.has(n.oid)) this.removedAt.delete(n.oid);
        const evicted = [...currentSubtree].filter((o) => o !== op.oid && !restored.some((n) => n.oid === o)).length;
        // (2) the current subtree leaves the active tree; (3) the objective keeps its place.
        for (const o of currentSubtree) this.nodes.delete(o);
        this.nodes.set(op.oid, {
          oid: op.oid,
          content: target.content,
          props: { ...target.props },
          token: self.token,
          parent: self.parent,
          children: rootChildren,
        });
        for (const n of restored) this.nodes.set(n.oid, n);
        return { mustChange: new Set([op.oid, ...chain]), free: new Set(restored.map((n) => n.oid)), checkout: { cut, revived, evicted } };
      }
      case "restore": {
        const target = this.snap(op.oid, this.removedAt.get(op.oid)!)!;
        const { children, restored, cut } = this.relink(target, new Set());
        for (const n of restored) this.removedAt.delete(n.oid);
        const parentOid = op.parent ?? target.parent;
        let token = "";
        if (parentOid !== null) {
          const parent = this.node(parentOid);
          if (op.parent !== undefined) {
            const index = op.index ?? parent.children.length;
            token = this.keyAt(parent.children, index);
            parent.children.splice(index, 0, op.oid);
          } else {
            token = this.freeToken(parent.children, target.token);
            const at = parent.children.findIndex((c) => this.node(c).token > token);
            parent.children.splice(at < 0 ? parent.children.length : at, 0, op.oid);
          }
        } else this.roots.push(op.oid);
        this.nodes.set(op.oid, { oid: op.oid, content: target.content, props: { ...target.props }, token, parent: parentOid, children });
        for (const n of restored) this.nodes.set(n.oid, n);
        const chain = parentOid === null ? [] : [parentOid, ...this.ascendants(parentOid)];
        return { mustChange: new Set([op.oid, ...chain]), free: new Set(restored.map((n) => n.oid)), checkout: { cut, revived: restored.length, evicted: 0 } };
      }
    }
  }

  /** The active tree under `oid` as the engine should show it. */
  expectedTree(oid: string): ExpectedNode {
    const n = this.node(oid);
    const children = n.children.map((c) => this.expectedTree(c));
    const below: Props[] = [];
    const rec = (o: string) => {
      for (const c of this.node(o).children) {
        below.push(this.node(c).props);
        rec(c);
      }
    };
    rec(oid);
    return { oid, parentOid: n.parent, content: n.content, props: n.props, childCount: n.children.length, stats: statsOf(below), children };
  }

  /**
   * Records the vids observed for every active objective: builds the snapshot of each (oid, vid)
   * and checks it against the one remembered under the same (oid, vid), if any. Returns the
   * problems found (an equal (oid, vid) must be an equal subtree).
   */
  remember(vids: ReadonlyMap<string, string>): string[] {
    const problems: string[] = [];
    const build = (oid: string): Snap => {
      const n = this.node(oid);
      const vid = vids.get(oid);
      if (vid === undefined) throw new Error(`model: no vid observed for active ${oid}`);
      const s: Snap = { oid, vid, parent: n.parent, token: n.token, content: n.content, props: { ...n.props }, children: n.children.map(build) };
      const key = `${oid}|${vid}`;
      const old = this.memo.get(key);
      if (old) {
        if (!sameSnap(old, s)) problems.push(`version ${key} was seen before with a different subtree`);
      } else {
        // A new version is a new record: a removed objective that has one is no longer restorable.
        this.removedAt.delete(oid);
        this.memo.set(key, s);
        const list = this.vidList.get(oid) ?? [];
        list.push(vid);
        this.vidList.set(oid, list);
      }
      return s;
    };
    for (const r of this.roots) build(r);
    this.current = new Map(vids);
    return problems;
  }
}
