import type { Change, Objective, Op } from "../index.js";
import { sourceText } from "./empty-text.js";
import { fieldChanges, type PropKeys } from "./field-changes.js";
import type { VersionReader } from "./version-reader.js";

/**
 * What `diff` and `history` add to the engine's listing: the row's text before and after, which
 * of its fields changed, and its parents' texts.
 */
export interface Explained {
  /** The row's text in the version before (absent for a created row). */
  readonly textBefore?: string;
  /** The row's text in the version after (absent for a deleted row). */
  readonly textAfter?: string;
  /** `"content"`, `"props.KEY"`, `"parent"` (moved), `"index"` (reordered); empty for created and deleted rows. */
  readonly changed: string[];
  readonly propKeys?: PropKeys;
  readonly parentTextBefore?: string;
  readonly parentTextAfter?: string;
}

/** A change of `engine.diff`, explained. */
export type ExplainedChange = Change & Explained;

/** An op of `engine.history`, explained; parents and index for the ops that place a row. */
export type ExplainedOp = Op &
  Explained & {
    readonly parentBefore?: string;
    readonly parentAfter?: string;
    readonly indexAfter?: number;
  };

/** Versions read at once: Postgres answers them in parallel, PGlite in turn. */
const BATCH = 64;

async function inBatches<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(...(await Promise.all(items.slice(i, i + BATCH).map(fn))));
  return out;
}

const textOf = (o: Objective | undefined): string | undefined => (o === undefined ? undefined : sourceText(o.content));

function texts(before: Objective | undefined, after: Objective | undefined) {
  return { ...(before ? { textBefore: textOf(before)! } : {}), ...(after ? { textAfter: textOf(after)! } : {}) };
}

function parentTexts(before: string | undefined, after: string | undefined) {
  return { ...(before === undefined ? {} : { parentTextBefore: before }), ...(after === undefined ? {} : { parentTextAfter: after }) };
}

/**
 * Reads created (or deleted) subtrees from the top down, each parent's children in one call: every
 * child of a created row is itself created or moved in, so the whole list is needed, and the
 * children's own versions say whether to go further down (leaves cost nothing more).
 */
async function readSubtrees(reader: VersionReader, changes: readonly Change[], kind: "created" | "deleted", vids: Map<string, string>): Promise<void> {
  const parentOf = (ch: Change) => (kind === "created" ? ch.parentAfter : ch.parentBefore);
  const rows = changes.filter((ch) => ch.kind === kind);
  const listed = new Set(rows.map((ch) => ch.oid));
  const below = new Map<string, Change[]>();
  for (const ch of rows) {
    const siblings = below.get(parentOf(ch)!);
    if (siblings) siblings.push(ch);
    else below.set(parentOf(ch)!, [ch]);
  }
  let level = rows.filter((ch) => !listed.has(parentOf(ch)!));
  while (level.length > 0) {
    const next: Change[] = [];
    for (const ch of level) {
      const vid = vids.get(ch.oid)!;
      if (((await reader.version(ch.oid, vid))?.childCount ?? 0) === 0) continue;
      await reader.readChildren(ch.oid, vid);
      next.push(...(below.get(ch.oid) ?? []));
    }
    level = next;
  }
}

/**
 * Explains the changes of `diff(root, from, to)`, reading only the versions the changes name (one
 * lookup each; children of a created or deleted parent in one call). A parent's text comes from a
 * version the diff names (the root's are `from` and `to`); a parent the diff does not name kept
 * its fields from `from` to `to`, and its active text is shown.
 */
export async function explainDiff(reader: VersionReader, root: { oid: string; from: string; to: string }, changes: readonly Change[]): Promise<ExplainedChange[]> {
  const vidBefore = new Map<string, string>([[root.oid, root.from]]);
  const vidAfter = new Map<string, string>([[root.oid, root.to]]);
  for (const ch of changes) {
    if (ch.vidBefore) vidBefore.set(ch.oid, ch.vidBefore);
    if (ch.vidAfter) vidAfter.set(ch.oid, ch.vidAfter);
  }
  await readSubtrees(reader, changes, "created", vidAfter);
  await readSubtrees(reader, changes, "deleted", vidBefore);
  const parentText = async (oid: string | undefined, vids: Map<string, string>) => {
    if (oid === undefined) return undefined;
    const vid = vids.get(oid);
    return textOf(vid === undefined ? await reader.active(oid) : await reader.version(oid, vid));
  };
  return inBatches(changes, async (ch): Promise<ExplainedChange> => {
    const before = ch.vidBefore === undefined ? undefined : await reader.version(ch.oid, ch.vidBefore);
    const after = ch.vidAfter === undefined ? undefined : await reader.version(ch.oid, ch.vidAfter);
    const fields = ch.kind === "updated" && before && after ? fieldChanges(before, after) : { changed: [] };
    const placed = ch.kind === "moved" ? ["parent"] : ch.kind === "reordered" ? ["index"] : [];
    const parents = ch.kind === "updated" ? {} : parentTexts(await parentText(ch.parentBefore, vidBefore), await parentText(ch.parentAfter, vidAfter));
    return { ...ch, ...texts(before, after), ...fields, changed: [...placed, ...fields.changed], ...parents };
  });
}

/** What an op did to its row, as a diff would name it. */
export function changeKindOf(op: { readonly kind: Op["kind"]; readonly parentBefore?: string | undefined; readonly parentAfter?: string | undefined }): Change["kind"] {
  // A restored row appears where it was not, as a created one does.
  if (op.kind === "create" || op.kind === "createDocument" || op.kind === "import" || op.kind === "restore") return "created";
  if (op.kind === "remove") return "deleted";
  if (op.kind === "move") return op.parentBefore === op.parentAfter ? "reordered" : "moved";
  return "updated";
}

/**
 * Explains a page of `history`: each op's row read at the op's `vidBefore` and `vidAfter` (two
 * lookups per op, a page at most) and compared. Parents' texts are their active ones (one lookup
 * per parent): the engine keeps no cheap link from an op to its parent's version of the time.
 */
export async function explainHistory(reader: VersionReader, ops: readonly Op[]): Promise<ExplainedOp[]> {
  return inBatches(ops, async (op): Promise<ExplainedOp> => {
    const before = op.vidBefore === null ? undefined : await reader.version(op.oid, op.vidBefore);
    const after = op.vidAfter === null ? undefined : await reader.version(op.oid, op.vidAfter);
    const fields = before && after ? fieldChanges(before, after) : { changed: [] };
    const index = op.data["index"];
    const placing = op.kind === "move" || op.kind === "create" || op.kind === "remove" || op.kind === "restore";
    const parentBefore = placing ? (before?.parentOid ?? undefined) : undefined;
    const parentAfter = placing ? (after?.parentOid ?? undefined) : undefined;
    const kind = changeKindOf({ kind: op.kind, parentBefore, parentAfter });
    const placed = kind === "moved" ? ["parent"] : kind === "reordered" ? ["index"] : [];
    const parentText = async (oid: string | undefined) => (oid === undefined ? undefined : textOf(await reader.active(oid)));
    return {
      ...op,
      ...texts(before, after),
      ...fields,
      changed: [...placed, ...fields.changed],
      ...(parentBefore === undefined ? {} : { parentBefore }),
      ...(parentAfter === undefined ? {} : { parentAfter }),
      ...(placing && typeof index === "number" ? { indexAfter: index } : {}),
      ...parentTexts(await parentText(parentBefore), await parentText(parentAfter)),
    };
  });
}
