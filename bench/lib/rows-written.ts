import type { Storage } from "../../index.js";

const TABLES = ["version", "chunk", "op", "document"];

/** A transaction id: rows written after it (inserted, or segments appended to) have a greater xmin. */
export async function mark(raw: Storage): Promise<number> {
  return Number((await raw.query<{ x: string }>("select txid_current()::text as x"))[0]!.x);
}

/** Rows written (inserted or updated) since `after` (a `mark`), in the engine's tables. */
export async function written(raw: Storage, after: number): Promise<number> {
  let n = 0;
  for (const t of TABLES) n += Number((await raw.query<{ n: number }>(`select count(*)::int8 as n from ${t} where xmin::text::int8 > $1`, [after]))[0]!.n);
  return n;
}
