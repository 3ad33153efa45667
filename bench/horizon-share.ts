/**
 * What a horizon's first phase would send (docs/sync.md, "The horizon, designed"): on the join
 * workload of bench/sync.ts (a realistic outline of 100,000 objectives imported, then 20,000 edits
 * of the history generator), the newest segment of every objective and the op rows their records
 * name, against every version and op row a whole snapshot sends. Bytes are the stored columns'
 * sizes (bodies, op data) plus a fixed allowance per row for keys and columns.
 *
 *   npx tsx bench/horizon-share.ts [--quick]   (--quick: 10,000 objectives, 2,000 edits)
 */
import { openBench } from "./lib/backends.js";
import { importCalls } from "./lib/import-calls.js";
import { applyEdit } from "./lib/apply-edit.js";
import { progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";
import { generateHistory } from "./workload/history.js";
import { generateOutline } from "./workload/outline.js";
import { decodeBody } from "../engine/format/rows.js";

const NODES = quick ? 10_000 : 100_000;
const OPS = quick ? 2_000 : 20_000;
/** Key and column bytes per row beside its big column (uuids, seqs, flags, text ids). */
const VERSION_ROW = 60;
const OP_ROW = 120;

const outline = generateOutline("realistic", NODES, 8);
const b = (await openBench("postgres")) ?? (await openBench("pglite"))!;
try {
  const { spaceId: s } = await b.engine.createSpace();
  const [first, ...rest] = outline.rows;
  await b.engine.createDocument(s, { oid: first![0], content: first![2], props: first![3] });
  for (const call of importCalls(rest, { maxTops: 5_000 })) await b.engine.importTree(s, call);
  const history = generateHistory(outline, OPS, 8);
  progress(`${b.name}: ${outline.rows.length} objectives imported; making ${OPS} edits`);
  for (let i = 0; i < history.length; i++) {
    await applyEdit(b.engine, s, history[i]!);
    if ((i + 1) % 5_000 === 0) progress(`${i + 1} / ${OPS} edits`);
  }
  const q = b.storage;
  const [all] = await q.query<{ n: number; bytes: number }>(`select count(*)::int8 as n, sum(octet_length(body) + ${VERSION_ROW})::int8 as bytes from version where space_id = $1`, [s]);
  const newest = await q.query<{ body: Uint8Array }>("select distinct on (oid) body from version where space_id = $1 order by oid, seq desc", [s]);
  const seqs = new Set<number>();
  let newestBytes = 0;
  for (const r of newest) {
    newestBytes += r.body.length + VERSION_ROW;
    for (const rec of decodeBody(r.body)) seqs.add(rec.seq);
  }
  const opBytes = `sum(octet_length(data) + coalesce(octet_length(vids), 0) + coalesce(octet_length(touched), 0) + ${OP_ROW})::int8`;
  const [ops] = await q.query<{ n: number; bytes: number }>(`select count(*)::int8 as n, ${opBytes} as bytes from op where space_id = $1`, [s]);
  const [named] = await q.query<{ n: number; bytes: number }>(`select count(*)::int8 as n, ${opBytes} as bytes from op where space_id = $1 and seq = any($2::int8[])`, [s, [...seqs]]);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const rows = [
    { what: "version rows", "whole snapshot": all!.n, "first phase": newest.length, "whole MB": mb(all!.bytes), "first phase MB": mb(newestBytes), share: `${((newestBytes / all!.bytes) * 100).toFixed(0)}%` },
    { what: "op rows", "whole snapshot": ops!.n, "first phase": named!.n, "whole MB": mb(ops!.bytes), "first phase MB": mb(named!.bytes), share: `${((named!.bytes / ops!.bytes) * 100).toFixed(0)}%` },
    {
      what: "both (chunks apart)",
      "whole snapshot": all!.n + ops!.n,
      "first phase": newest.length + named!.n,
      "whole MB": mb(all!.bytes + ops!.bytes),
      "first phase MB": mb(newestBytes + named!.bytes),
      share: `${(((newestBytes + named!.bytes) / (all!.bytes + ops!.bytes)) * 100).toFixed(0)}%`,
    },
  ];
  const md = `What a horizon's first phase would send: ${NODES} objectives imported, then ${OPS} edits (history generator), on ${b.name}: the newest segment of every objective and the op rows its records name, against a whole snapshot.\n\n${table(rows)}\n`;
  await save("horizon-share", { nodes: NODES, ops: OPS, backend: b.name, rows }, md);
} finally {
  await b.release();
}
