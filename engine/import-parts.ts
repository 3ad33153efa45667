/**
 * How an import travels (docs/sync.md, "Imports"): the rows of an `import` op ride in the op log
 * as `importPart` entries, each at most `PART_BYTES` of JSON, that sort just before the import in
 * clock order. Sync moves them like any op (pushed in clock order, paged by bytes, stored once),
 * and a device replays the import by reading them back as the event stream `importStream` takes,
 * with the oids the importing device chose: the same rows, the same vids everywhere.
 *
 * A part's rows are the outline in document order: `[oid, content, closes]` or
 * `[oid, content, closes, props]`, where `closes` counts the rows that end after this one opens
 * (a leaf closes itself: 1, plus every ancestor that ends with it).
 */
import type { Queryable } from "../storage/contract.js";
import { invalid, notFound } from "./errors.js";
import { decodeOpData, encodeOpData } from "./format/op-row.js";
import type { ImportEvent } from "./import-stream.js";
import type { Json, Props } from "./types.js";

/** The kind of the log entries that carry an import's rows. */
export const IMPORT_PART_KIND = "importPart";

/** The outcome a part gets when its place in the clock order is reached: kept, nothing to apply. */
export const PART_OUTCOME = "part";

/**
 * UTF-8 bytes of rows per part: about 20 parts fill a 1 MiB pull page. A part holds at least one
 * row, so a single very long row makes a part as large as an update of that row would be.
 */
export const PART_BYTES = 48 * 1024;

/** Parts read back per statement while an import is replayed (memory holds about this many). */
const READ_BATCH = 8;

type PartRow = [string, string, number] | [string, string, number, Props];

/** The op ids of an import's parts `from` to `to` (1-based, inclusive): the counters right after the import's own. */
export function partIds(importOpId: string, from: number, to: number): string[] {
  const dot = importOpId.lastIndexOf(".");
  const device = importOpId.slice(0, dot);
  const counter = Number(importOpId.slice(dot + 1));
  const out: string[] = [];
  for (let k = from; k <= to; k++) out.push(`${device}.${counter + k}`);
  return out;
}

/** One part ready to be stored as a log entry. */
export interface Part {
  readonly oid: string;
  readonly rows: PartRow[];
}

/**
 * Collects an import's events into parts as they stream by; `take()` hands over the parts that
 * are final (a part is final once the next one has begun or the import has ended).
 */
export function partRecorder() {
  let current: { oid: string; rows: PartRow[]; bytes: number } | undefined;
  const done: Part[] = [];
  return {
    open(oid: string, content: string, props: Props): void {
      const row: PartRow = Object.keys(props).length === 0 ? [oid, content, 0] : [oid, content, 0, props];
      const bytes = Buffer.byteLength(JSON.stringify(row)) + 1;
      if (current && current.bytes + bytes > PART_BYTES) {
        done.push({ oid: current.oid, rows: current.rows });
        current = undefined;
      }
      current ??= { oid, rows: [], bytes: 16 };
      current.rows.push(row);
      current.bytes += bytes;
    },
    close(): void {
      const last = current?.rows[current.rows.length - 1];
      if (last) last[2]++;
    },
    /** The parts finished so far (all of them once `end` is true), each handed over once. */
    take(end: boolean): Part[] {
      if (end && current) {
        done.push({ oid: current.oid, rows: current.rows });
        current = undefined;
      }
      return done.splice(0);
    },
  };
}

/** Stores parts as log entries of the import being written: seqs and counters after its own. */
export async function storeParts(
  tx: Queryable,
  spaceId: string,
  ids: { readonly device: string; readonly first: number; readonly at: number; readonly actor: string | null },
  parts: readonly Part[],
  clock: () => string,
): Promise<void> {
  if (parts.length === 0) return;
  const rows = parts.map((part, k) => {
    const seq = ids.first + k;
    return [`${ids.device}.${seq}`, clock(), IMPORT_PART_KIND, part.oid, ids.at, ids.actor, ids.device, encodeOpData({ rows: part.rows as Json }).toString("base64"), seq, PART_OUTCOME];
  });
  await tx.query(
    `insert into op (space_id, op_id, hlc, kind, oid, at, actor, device, data, seq, outcome)
       select $1, r->>0, r->>1, r->>2, r->>3, (r->>4)::int8, r->>5, r->>6, decode(r->>7, 'base64'), (r->>8)::int8, r->>9
         from jsonb_array_elements($2::jsonb) r`,
    [spaceId, JSON.stringify(rows)],
  );
}

/** The rows of one part from its data; a malformed part is INVALID_ARGUMENT (a merge rule skips the import). */
function rowsOf(opId: string, data: Props): PartRow[] {
  const rows = data["rows"];
  if (!Array.isArray(rows)) throw invalid(`import part ${opId} must carry rows, got ${JSON.stringify(rows)?.slice(0, 80)}`);
  rows.forEach((row, i) => {
    const ok =
      Array.isArray(row) &&
      (row.length === 3 || row.length === 4) &&
      typeof row[0] === "string" &&
      typeof row[1] === "string" &&
      Number.isSafeInteger(row[2]) &&
      (row[2] as number) >= 0 &&
      (row.length === 3 || (row[3] !== null && typeof row[3] === "object" && !Array.isArray(row[3])));
    if (!ok) throw invalid(`import part ${opId} row ${i} must be [oid, content, closes, props?], got ${JSON.stringify(row)?.slice(0, 80)}`);
  });
  return rows as unknown as PartRow[];
}

/** Reads an import's parts in order, `READ_BATCH` at a time, yielding each part's rows. */
async function* partRows(tx: Queryable, spaceId: string, importOpId: string, hlc: string, parts: number): AsyncGenerator<PartRow[]> {
  for (let from = 1; from <= parts; from += READ_BATCH) {
    const want = partIds(importOpId, from, Math.min(parts, from + READ_BATCH - 1));
    const found = await tx.query<{ op_id: string; data: Uint8Array }>(
      `select op_id, data from op where space_id = $1 and op_id = any($2::text[]) and kind = $3 and seq is not null and hlc < $4`,
      [spaceId, want, IMPORT_PART_KIND, hlc],
    );
    const byId = new Map(found.map((r) => [r.op_id, r.data]));
    for (const id of want) {
      const data = byId.get(id);
      if (!data) throw notFound(`import ${importOpId} lacks its part ${id} (of ${parts}) before it in clock order`);
      yield rowsOf(id, decodeOpData(data));
    }
  }
}

/**
 * Checks an import's parts before anything is written (a replayed import must fail whole or not at
 * all): every part there and well-formed, the outline balanced, and as many rows and top-level rows
 * as the op says. One read of the parts, holding one batch at a time.
 */
export async function checkParts(tx: Queryable, spaceId: string, importOpId: string, hlc: string, parts: number, expect: { readonly count: number; readonly tops?: number | undefined }): Promise<void> {
  let rows = 0;
  let tops = 0;
  let depth = 0;
  for await (const part of partRows(tx, spaceId, importOpId, hlc, parts)) {
    for (const [, , closes] of part) {
      if (depth === 0) tops++;
      rows++;
      depth += 1 - closes;
      if (depth < 0) throw invalid(`import ${importOpId} closes more rows than it opens (at row ${rows})`);
    }
  }
  if (depth !== 0) throw invalid(`import ${importOpId} leaves ${depth} row(s) open`);
  if (rows !== expect.count) throw invalid(`import ${importOpId} says ${expect.count} rows, its parts hold ${rows}`);
  if (expect.tops !== undefined && tops !== expect.tops) throw invalid(`import ${importOpId} says ${expect.tops} top-level rows, its parts hold ${tops}`);
}

/**
 * The event stream of an import made elsewhere, read back from its parts in the log. Only parts
 * that come before the import in clock order count (applied ones, with a smaller clock): every
 * device that holds the same ops sees the same parts, so an import whose parts are missing is
 * skipped alike everywhere, and re-applied when a late part arrives (it sorts before the import).
 */
export async function* partEvents(tx: Queryable, spaceId: string, importOpId: string, hlc: string, parts: number): AsyncGenerator<ImportEvent> {
  for await (const part of partRows(tx, spaceId, importOpId, hlc, parts)) {
    for (const [oid, content, closes, props] of part) {
      yield props === undefined ? { kind: "open", content, oid } : { kind: "open", content, props, oid };
      for (let c = 0; c < closes; c++) yield { kind: "close" };
    }
  }
}

/** The number of parts an import op says it has; an import made before imports replicated has none. */
export function partCount(opId: string, data: Props): number {
  const parts = data["parts"];
  if (parts === undefined) throw invalid(`import ${opId} carries no rows (it was made by an engine from before imports replicated)`);
  if (!Number.isSafeInteger(parts) || (parts as number) < 1) throw invalid(`import ${opId} data.parts must be a positive integer, got ${JSON.stringify(parts)}`);
  return parts as number;
}
