import type { Core } from "./core.js";
import { invalid } from "./errors.js";
import { checkParts, partCount, partEvents } from "./import-parts.js";
import { buildRows, DEFAULT_FLUSH_ROWS, DOCUMENTS, topsUnder, type ImportResultOids } from "./import-stream.js";
import type { Props } from "./types.js";
import { runWrite, type Origin } from "./write.js";

/**
 * Replays an `import` op made on another device: its rows come back from its parts in the log
 * (engine/import-parts.ts) as the same event stream, with the oids the importing device chose, and
 * are written exactly as the import wrote them there (same keys, same vids, same statistics).
 */
export async function replayImport(core: Core, spaceId: string, opId: string, data: Props, origin: Origin): Promise<ImportResultOids> {
  const parts = partCount(opId, data);
  const parent = data["parentOid"] ?? null;
  if (parent !== null && typeof parent !== "string") throw invalid(`import ${opId} data.parentOid must be a string or null, got ${JSON.stringify(parent)}`);
  const int = (key: string) => {
    const v = data[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 0)) throw invalid(`import ${opId} data.${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v as number | undefined;
  };
  const count = int("count");
  if (count === undefined) throw invalid(`import ${opId} data.count must be a non-negative integer, got undefined`);
  const tops = int("tops");
  const index = int("index");
  const hlc = origin.hlc;
  if (hlc === undefined) throw invalid(`import ${opId} is replayed without its clock`);
  return runWrite(core, spaceId, parent === null ? [] : [parent], async (ctx, chains) => {
    // Everything the parts must be is checked before a row is made: keys are generated for the
    // top-level rows that are really there, and a bad import writes nothing.
    await checkParts(ctx.tx, spaceId, opId, hlc, parts, { count, tops });
    // The index the import had where it was made; fewer children here (a concurrent removal) put it last.
    const keyed = parent === null ? DOCUMENTS : await topsUnder(ctx, chains, parent, tops, index, { clamp: true });
    const made = await buildRows(ctx, parent, keyed, partEvents(ctx.tx, spaceId, opId, hlc, parts), { flushRows: DEFAULT_FLUSH_ROWS });
    // The op row keeps the data it travelled with.
    ctx.op = { ...ctx.op!, data };
    return made;
  }, origin, { once: true });
}
