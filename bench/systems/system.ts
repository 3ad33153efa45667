import type { Edit } from "../workload/history.js";
import type { Outline } from "../workload/outline.js";

/** A point in a system's history (a root vid, a log sequence, frontiers, heads…). Opaque. */
export type Mark = unknown;

/** What one write cost in storage: rows (or changes) and bytes written. */
export interface WriteCost {
  readonly rows: number;
  readonly bytes: number;
}

/**
 * One system under comparison, driven through the same workload by bench/cell.ts. Every method
 * does what that system really offers; where it cannot do the thing asked (no subtree checkout,
 * no history), `notes` says what is measured instead and the method throws `Unsupported`.
 */
export interface System {
  readonly name: string;
  /** What this system measures differently from the question (printed in the report). */
  readonly notes: readonly string[];
  /** Imports the whole outline (its bulk path). */
  load(outline: Outline): Promise<void>;
  /** Applies one history edit as its own change/commit/transaction. */
  apply(edit: Edit): Promise<void>;
  /** The current version, to come back to. */
  mark(): Promise<Mark>;
  /** Shows `target`'s subtree as of `to` (read side). */
  checkout(target: string, to: Mark): Promise<void>;
  /** Goes back to the latest state after `checkout` (not timed). */
  leaveCheckout(target: string, latest: Mark): Promise<void>;
  /** Makes `target`'s subtree as of `to` the editable current state, then edits it once. */
  restore(target: string, to: Mark): Promise<void>;
  /** The number of changed objectives (or change records) between two marks. */
  diff(from: Mark, to: Mark): Promise<number>;
  /** One content edit of `id`. */
  edit(id: string, content: string): Promise<void>;
  /** Rows and bytes that `fn` wrote. */
  writeCost(fn: () => Promise<void>): Promise<WriteCost>;
  /** A window of rows of the depth-first view, at the latest state or at a mark; cold drops caches first. */
  view(offset: number, limit: number, at: Mark | null, cold: boolean): Promise<number>;
  /** Bytes the system stores (tables with indexes, or the saved document). */
  storageBytes(): Promise<number>;
  close(): Promise<void>;
}

/** Thrown by a system for a measure it cannot take (e.g. history on a mutable table). */
export class Unsupported extends Error {
  constructor(what: string) {
    super(what);
    this.name = "Unsupported";
  }
}
