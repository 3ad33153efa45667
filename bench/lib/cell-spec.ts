import type { Shape } from "../workload/outline.js";

/** The systems compared (bench/systems/). */
export const SYSTEMS = ["engine-pglite", "engine-postgres", "event-log", "snapshot", "adjacency", "loro", "automerge"] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** One measurement cell: a system on one generated workload, run in its own process. */
export interface CellSpec {
  readonly system: SystemName;
  readonly shape: Shape;
  readonly size: number;
  readonly edits: number;
  readonly seed: number;
  /** Repetitions of checkout, restore and diff. */
  readonly reps: number;
  /** Random 50-row windows per version. */
  readonly windows: number;
  /** Seconds a system may spend applying the history; it stops early (and says so) past it. */
  readonly historyBudgetSec: number;
  readonly quick: boolean;
}

/** A timed measure: median ms over its repetitions, or null when the system cannot do it. */
export interface Timed {
  readonly ms: number | null;
  readonly samples: number;
}

/** Single edit at one depth. */
export interface EditResult {
  readonly depth: number;
  readonly medianUs: number;
  readonly meanUs: number;
  readonly rmePercent: number;
  readonly rows: number;
  readonly bytes: number;
}

/** One view measure: version × cache state. */
export interface ViewResult {
  readonly version: "active" | "old";
  readonly coldMs: number | null;
  readonly warmMs: number | null;
  readonly rowsReturned: number;
}

/** What a cell reports (plain JSON). */
export interface CellResult {
  readonly spec: CellSpec;
  readonly system: string;
  readonly nodes: number;
  readonly checkoutTargetSize: number;
  readonly notes: readonly string[];
  readonly errors: readonly string[];
  readonly importMs: number;
  readonly storageAfterImport: number;
  readonly editsApplied: number;
  readonly applyUsPerEdit: number;
  readonly storageAfterHistory: number;
  readonly storageBytesPerEdit: number;
  readonly checkout: Timed;
  readonly restore: Timed;
  readonly diffShort: Timed & { readonly edits: number; readonly changes: number | null };
  readonly diffLong: Timed & { readonly edits: number; readonly changes: number | null };
  readonly views: readonly ViewResult[];
  readonly edit: readonly EditResult[];
  readonly peakRssBytes: number;
  readonly wallSec: number;
}
