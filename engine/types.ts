import type { KidsNode } from "./children-tree.js";

/** JSON-compatible values, as stored in `props`. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** An objective's free-form properties; `done: boolean` feeds the completion statistics. */
export type Props = { [key: string]: Json };

/**
 * `computed_to_bottom` statistics of one version's subtree (DESIGN.md §5), fixed when the
 * version is written and therefore exact for every past version.
 */
export interface Stats {
  /** Objectives below, excluding itself; also the rows its subtree shows unfolded. */
  readonly descendants: number;
  /** Descendants whose props carry `done` as a boolean. */
  readonly total: number;
  /** Descendants with `done: true`. */
  readonly done: number;
  /** `done / total` as a percentage with two decimals; 0 when total is 0. */
  readonly percent: number;
}

/** One version of an objective, as the API returns it. */
export interface Objective {
  readonly spaceId: string;
  readonly oid: string;
  readonly vid: string;
  readonly content: string;
  readonly props: Props;
  /** The parent in this version's tree; null for a document root. */
  readonly parentOid: string | null;
  /** When this version was written (ms since the epoch). */
  readonly createdAt: number;
  readonly stats: Stats;
  /** Number of direct children in this version. */
  readonly childCount: number;
  /** `computed_to_top`, for the active version only: distance from the document root. */
  readonly depth?: number;
  /** `computed_to_top`, for the active version only: ancestor oids from the document root down. */
  readonly path?: readonly string[];
}

/**
 * How a stored version reaches its full image (engine/format/): the delta records since the last
 * image, which decide whether the next version is stored as a delta or as an image.
 */
export interface Chain {
  /** Deltas since the image (0: the version is an image). */
  readonly depth: number;
  /** Bytes of those deltas. */
  readonly bytes: number;
  /** Bytes of the image record. */
  readonly imageBytes: number;
  /** Key (seq) of the row (segment) holding the image and every delta after it. */
  readonly imageRow: number;
}

/** Everything a version holds besides its identity (what an image record stores). */
export interface State {
  readonly parentOid: string | null;
  /** Position key under `parentOid` (null for a document root). */
  readonly pos: string | null;
  readonly content: string;
  readonly props: Props;
  readonly kids: KidsNode;
  readonly stats: Stats;
}

/** One version of an objective, resolved from its records (internal). */
export interface VersionRow extends State {
  readonly oid: string;
  readonly vid: string;
  readonly createdAt: number;
  /** Local seq of the op that made it: with the oid, the version's storage key. */
  readonly seq: number;
  readonly chain: Chain;
}

/** The kinds of change an op records. */
export type OpKind = "createDocument" | "create" | "update" | "move" | "remove" | "restore" | "checkout" | "import" | "share";

/** One recorded change (DESIGN.md §2), newest first in `history`. */
export interface Op {
  /** `deviceId.counter`: unique without coordination. */
  readonly opId: string;
  /** Order of the op within its space on this database. */
  readonly seq: number;
  readonly kind: OpKind;
  /** The objective the op changed. */
  readonly oid: string;
  readonly vidBefore: string | null;
  readonly vidAfter: string | null;
  /** Wall-clock ms when it was made. */
  readonly at: number;
  readonly actor?: string;
  readonly device: string;
  /** Kind-specific details (the patch, old and new place, target vid). */
  readonly data: Props;
}

/** One version of an objective, listed by `versions`. */
export interface VersionRef {
  readonly vid: string;
  readonly vidBefore: string | null;
  readonly seq: number;
  readonly at: number;
  /** The op that made it and the objective that op changed (itself or a descendant). */
  readonly opId: string;
  readonly kind: OpKind;
  readonly causeOid: string;
}

/** One difference between two versions of a subtree. */
export interface Change {
  readonly kind: "created" | "deleted" | "updated" | "moved" | "reordered";
  readonly oid: string;
  readonly vidBefore?: string;
  readonly vidAfter?: string;
  readonly parentBefore?: string;
  readonly parentAfter?: string;
  readonly indexBefore?: number;
  readonly indexAfter?: number;
}

/** A page of a paged listing. */
export interface Page {
  readonly limit?: number;
  readonly cursor?: string;
}
