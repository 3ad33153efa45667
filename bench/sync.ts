/**
 * Sync catch-up (issue 8): a device that was offline while others made 10,000 ops on a ~10,000-
 * objective outline (the realistic shape; 50% updates, 20% creates, 20% moves, 10% removals) takes
 * them all with one `applyOps`. Measured:
 *
 * - apply throughput on PGlite and Postgres: pages of ops in one transaction (several page sizes)
 *   and one transaction per op (`pageSize: 1`, the path before batching, on a prefix);
 * - rows and bytes per op at rest (table deltas), bytes per op on the wire (JSON, gzip'd JSON,
 *   msgpackr, in pages of 500 ReplicaOps);
 * - the same catch-up in Loro and Automerge, side by side, with ratios;
 * - push and pull throughput through the sync server (HTTP on 127.0.0.1, ops stored on Postgres
 *   and on PGlite);
 * - an import of 100,000 rows reaching a second device through the server (its rows travel as the
 *   import's parts), beside Loro sending the same outline from one document to another.
 *
 * Prints tables, writes bench/results/sync.json and bench/results/sync.md.
 *
 *   npx tsx bench/sync.ts [--quick]
 */
import { gzipSync } from "node:zlib";
import { pack } from "msgpackr";
import type { ReplicaOp } from "../index.js";
import { openBench, type BenchBackend } from "./lib/backends.js";
import { progress, quick } from "./lib/measure.js";
import { diskBytes, tableStats } from "./lib/pg-tables.js";
import { save, table } from "./lib/results.js";
import { dumpSpace, restoreSpace, SPACE_TABLES, type SpaceRows } from "./lib/space-copy.js";
import { automergeCatchUp, loroCatchUp, type PeerCatchUp } from "./lib/sync-peers.js";
import { serverThroughput, type ServerThroughput } from "./lib/sync-server-bench.js";
import { importReach, loroImportReach, type ImportReach } from "./lib/import-reach.js";
import { bootstrapBench } from "./lib/bootstrap-bench.js";
import { importCalls } from "./lib/import-calls.js";
import { applyEdit } from "./lib/apply-edit.js";
import { generateHistory, type Edit } from "./workload/history.js";
import { generateOutline } from "./workload/outline.js";
import type { StoredRow } from "../engine/format/rows.js";
import { insertRows } from "../engine/write.js";

const SIZE = 10_000;
const OPS = quick ? 2_000 : 10_000;
/** One transaction per op is slow: measured on a prefix of the ops. */
const ONE_BY_ONE = quick ? 300 : 1_000;
const PAGE_SIZES = quick ? [500] : [100, 500, 2_000];
/** The page size whose catch-up is compared with its row floor. */
const FLOOR_PAGE = 500;
const WIRE_PAGE = 500;
const SEED = 8;
const TABLES = [...SPACE_TABLES];

/** The device that makes the history: the outline, then OPS edits, each its own transaction. */
interface Hub {
  readonly kind: string;
  readonly spaceId: string;
  readonly rootId: string;
  readonly base: SpaceRows;
  readonly ops: ReplicaOp[];
  readonly rootVid: string;
  readonly editUs: number;
}

async function makeHub(history: readonly Edit[]): Promise<Hub> {
  const outline = generateOutline("realistic", SIZE, SEED);
  const b = (await openBench("postgres")) ?? (await openBench("pglite"))!;
  try {
    const { spaceId: s } = await b.engine.createSpace();
    const [first, ...rest] = outline.rows;
    await b.engine.createDocument(s, { oid: first![0], content: first![2], props: first![3] });
    for (const call of importCalls(rest)) await b.engine.importTree(s, call);
    const base = await dumpSpace(b.storage, s);
    const known = await b.engine.logSince(s, { limit: 10_000 });
    const mark = known[known.length - 1]!.hlc;
    progress(`hub (${b.name}): ${outline.rows.length} objectives imported; making ${history.length} edits`);
    const t0 = performance.now();
    for (let i = 0; i < history.length; i++) {
      await applyEdit(b.engine, s, history[i]!);
      if ((i + 1) % 1000 === 0) progress(`hub: ${i + 1} / ${history.length} edits (${(((i + 1) / (performance.now() - t0)) * 1000).toFixed(0)} edits/s)`);
    }
    const editUs = ((performance.now() - t0) * 1000) / history.length;
    const ops: ReplicaOp[] = [];
    for (let after = mark; ; ) {
      const page = await b.engine.logSince(s, { afterHlc: after, limit: 10_000 });
      if (page.length === 0) break;
      ops.push(...page);
      after = page[page.length - 1]!.hlc;
    }
    return { kind: b.name, spaceId: s, rootId: outline.rootId, base, ops, rootVid: (await b.engine.get(s, outline.rootId)).vid, editUs };
  } finally {
    await b.release();
  }
}

/** What a late op cost a device that had applied the ops after it. */
interface LateOp {
  readonly after: number;
  readonly seconds: number;
  readonly rebuilt: number;
  readonly msPerRebuilt: number;
}

/**
 * Late ops on a device that applied the whole history (a device back after a week pushes edits
 * older than everything applied since): an update whose clock sorts just before op `k` of the
 * history makes the device undo the ops from `k` on and apply them again after it. Measured for
 * the last 1,000 ops, then for all of them.
 */
async function lateOps(b: BenchBackend, hub: Hub, kind: string): Promise<LateOp[]> {
  const device = "0000ffff-0000-7000-8000-00000000000a";
  const out: LateOp[] = [];
  for (const [n, k] of [[1, hub.ops.length - 1_000], [2, 0]] as const) {
    const before = hub.ops[k]!;
    // Same wall time and counter as op k, a device id that sorts first: just before it.
    const hlc = before.hlc.replace(/:[^:]+$/, `:${device}`);
    const op: ReplicaOp = { opId: `${device}.${n}`, kind: "update", oid: hub.rootId, hlc, at: before.at, actor: null, device, data: { content: `late ${n}` } };
    progress(`${kind}: a late op before the last ${hub.ops.length - k} ops`);
    const t0 = performance.now();
    const r = await b.engine.applyOps(hub.spaceId, [op]);
    const seconds = (performance.now() - t0) / 1000;
    progress(`${kind}: late op placed in ${seconds.toFixed(2)} s, ${r.rebuilt} ops undone and applied again`);
    out.push({ after: hub.ops.length - k, seconds, rebuilt: r.rebuilt, msPerRebuilt: (seconds * 1000) / Math.max(1, r.rebuilt) });
  }
  return out;
}

/** One catch-up: a fresh device holding the hub's state before the history applies `ops`. */
async function catchUp(hub: Hub, kind: "pglite" | "postgres", ops: readonly ReplicaOp[], pageSize: number) {
  const b = await openBench(kind);
  if (!b) return undefined;
  try {
    await restoreSpace(b.storage, hub.base);
    const before = await tableStats(b.storage, TABLES);
    const diskBefore = await diskBytes(b.storage, TABLES);
    const mode = pageSize === 1 ? "one transaction per op" : `pages of ${pageSize}`;
    progress(`${kind}: catch-up of ${ops.length} ops, ${mode}`);
    const t0 = performance.now();
    const result = await b.engine.applyOps(hub.spaceId, ops, { pageSize });
    const seconds = (performance.now() - t0) / 1000;
    const after = await tableStats(b.storage, TABLES);
    const disk = (await diskBytes(b.storage, TABLES)) - diskBefore;
    const rows: Record<string, number> = {};
    let logical = 0;
    for (const t of TABLES) {
      rows[t] = after.get(t)!.rows - before.get(t)!.rows;
      logical += after.get(t)!.bytes - before.get(t)!.bytes;
    }
    const vid = (await b.engine.get(hub.spaceId, hub.rootId)).vid;
    const opsPerSec = ops.length / seconds;
    progress(`${kind} ${mode}: ${seconds.toFixed(2)} s, ${opsPerSec.toFixed(0)} ops/s`);
    const full = pageSize === FLOOR_PAGE && ops.length === hub.ops.length;
    const floor = full ? await rowFloor(kind, hub.base, await dumpSpace(b.storage, hub.spaceId)) : undefined;
    if (floor !== undefined) progress(`${kind} floor: the catch-up's rows bulk-loaded in ${floor.toFixed(2)} s (${(ops.length / floor).toFixed(0)} ops/s)`);
    const late = full ? await lateOps(b, hub, kind) : undefined;
    return {
      backend: kind,
      mode,
      ops: ops.length,
      applied: result.applied,
      seconds,
      opsPerSec,
      converged: ops.length === hub.ops.length ? vid === hub.rootVid : null,
      floorSeconds: floor,
      rowsPerOp: Object.fromEntries(Object.entries(rows).map(([t, n]) => [t, n / ops.length])),
      logicalBytesPerOp: logical / ops.length,
      diskBytesPerOp: disk / ops.length,
      late,
    };
  } finally {
    await b.release();
  }
}

/** The rows of `after` that `before` lacks (or holds otherwise), per table. */
function added(before: SpaceRows, after: SpaceRows): Record<string, Record<string, unknown>[]> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const t of SPACE_TABLES) {
    const old = new Set((JSON.parse(before[t]!) as unknown[]).map((r) => JSON.stringify(r)));
    out[t] = (JSON.parse(after[t]!) as Record<string, unknown>[]).filter((r) => !old.has(JSON.stringify(r)));
  }
  return out;
}

/**
 * The floor of a catch-up: the rows it added, written into a fresh copy of the space before the
 * ops with bulk statements of 2,000 rows (one transaction) and no engine work at all: version
 * rows as the engine writes them (engine/write.ts, bodies in one jsonb parameter), chunks, and op
 * rows inserted whole (a catch-up stores them pending first, then marks them applied). However
 * fast a replay runs, it cannot beat writing its rows.
 */
async function rowFloor(kind: "pglite" | "postgres", before: SpaceRows, after: SpaceRows): Promise<number> {
  const rows = added(before, after);
  const b = (await openBench(kind))!;
  try {
    await restoreSpace(b.storage, before);
    const hex = (v: unknown) => Buffer.from(String(v).slice(2), "hex");
    const versions: StoredRow[] = rows["version"]!.map((r) => ({
      oid: r["oid"] as string, seq: Number(r["seq"]), vseq: Number(r["vseq"]), parentOid: (r["parent_oid"] as string | null) ?? null,
      pos: (r["pos"] as string | null) ?? null, flags: Number(r["flags"]), body: hex(r["body"]),
    }));
    const t0 = performance.now();
    await b.storage.transaction(async (tx) => {
      const spaceId = (JSON.parse(before["space"]!) as { space_id: string }[])[0]!.space_id;
      for (let i = 0; i < versions.length; i += 2000) {
        const values: unknown[] = [];
        const p = (v: unknown) => `$${values.push(v)}`;
        // Segments the catch-up appended to exist already: they are rewritten whole (an upsert).
        await tx.query(
          `${insertRows(p, p(spaceId), versions.slice(i, i + 2000))}
             on conflict (space_id, oid, seq) do update set body = excluded.body, vseq = excluded.vseq, parent_oid = excluded.parent_oid, pos = excluded.pos, flags = excluded.flags`,
          values,
        );
      }
      for (const t of ["chunk", "op", "document"] as const) {
        const list = rows[t]!;
        for (let i = 0; i < list.length; i += 2000) {
          await tx.query(`insert into ${t} select * from jsonb_populate_recordset(null::${t}, $1::jsonb) on conflict do nothing`, [JSON.stringify(list.slice(i, i + 2000))]);
        }
      }
    });
    return (performance.now() - t0) / 1000;
  } finally {
    await b.release();
  }
}

type Apply = NonNullable<Awaited<ReturnType<typeof catchUp>>>;

/** Bytes per op of the ops in pages, as JSON, gzip'd JSON and msgpackr. */
function wire(ops: readonly ReplicaOp[]) {
  let json = 0;
  let gzip = 0;
  let msgpack = 0;
  let encodeJsonMs = 0;
  let encodeMsgpackMs = 0;
  for (let i = 0; i < ops.length; i += WIRE_PAGE) {
    const page = ops.slice(i, i + WIRE_PAGE);
    let t0 = performance.now();
    const text = Buffer.from(JSON.stringify(page));
    encodeJsonMs += performance.now() - t0;
    json += text.length;
    gzip += gzipSync(text).length;
    t0 = performance.now();
    msgpack += pack(page).length;
    encodeMsgpackMs += performance.now() - t0;
  }
  const n = ops.length;
  return { pageSize: WIRE_PAGE, jsonPerOp: json / n, gzipJsonPerOp: gzip / n, msgpackPerOp: msgpack / n, encodeJsonUsPerOp: (encodeJsonMs * 1000) / n, encodeMsgpackUsPerOp: (encodeMsgpackMs * 1000) / n };
}

const history = generateHistory(generateOutline("realistic", SIZE, SEED), OPS, SEED);
const hub = await makeHub(history);
progress(`hub made ${hub.ops.length} ops (${hub.editUs.toFixed(0)} µs per local edit)`);

const applies: Apply[] = [];
for (const kind of ["pglite", "postgres"] as const) {
  const one = await catchUp(hub, kind, hub.ops.slice(0, ONE_BY_ONE), 1);
  if (one) applies.push(one);
  for (const size of PAGE_SIZES) {
    const paged = await catchUp(hub, kind, hub.ops, size);
    if (paged) applies.push(paged);
  }
}

const servers: ServerThroughput[] = [];
for (const store of ["postgres", "pglite"] as const) {
  const r = await serverThroughput(store, hub.spaceId, hub.ops);
  if (r) servers.push(r);
}

const REACH_SIZE = quick ? 10_000 : 100_000;
const reachOutline = generateOutline("realistic", REACH_SIZE, SEED);
const reaches: ImportReach[] = [];
for (const store of ["postgres", "pglite"] as const) {
  const r = await importReach(reachOutline, store);
  if (r) reaches.push(r);
}
const BOOT_SIZE = quick ? 10_000 : 100_000;
const BOOT_OPS = quick ? 2_000 : 20_000;
const bootstrap = await bootstrapBench(generateOutline("realistic", BOOT_SIZE, SEED), BOOT_OPS, "postgres", SEED);
progress("loro: the same outline, exported from one document and imported into another");
const loroReach = loroImportReach(reachOutline);

const wireBytes = wire(hub.ops);
const outline = generateOutline("realistic", SIZE, SEED);
progress("loro: history and catch-up");
const loro = loroCatchUp(outline, history);
progress("automerge: history and catch-up");
const automerge = automergeCatchUp(outline, history);
const peers: PeerCatchUp[] = [loro, automerge];

const best = (kind: string) => applies.filter((a) => a.backend === kind && a.mode === "pages of 500")[0];
const engineRows = (["pglite", "postgres"] as const).flatMap((kind) => {
  const a = best(kind);
  return a ? [{ system: `logbook ${kind} (pages of 500)`, ms: a.seconds * 1000, bytes: wireBytes.jsonPerOp * a.ops, ops: a.ops }] : [];
});
const catchUpRows = [
  ...engineRows,
  ...peers.map((p) => ({ system: p.system, ms: p.importMs, bytes: p.bytes, ops: p.ops })),
];
const ratios = engineRows.map((e) => ({
  system: e.system,
  vsLoro: e.ms / loro.importMs,
  vsAutomerge: e.ms / automerge.importMs,
}));

const md: string[] = [];
md.push(
  `Workload: a realistic outline of ${SIZE.toLocaleString("en")} objectives; the hub (${hub.kind}) makes ${hub.ops.length.toLocaleString("en")} ops (history generator: 50% update, 20% create, 20% move, 10% remove), ${hub.editUs.toFixed(0)} µs per local edit. ` +
    `A device that had everything before the history (a copy of the hub's rows) catches up with one \`applyOps\` of all of them. Single run on a 2-core machine shared with other work: expect ±20% noise.`,
);
const oneByOne = (kind: string) => applies.find((a) => a.backend === kind && a.mode === "one transaction per op");
md.push("### Apply throughput", table(applies.map((a) => ({
  backend: a.backend,
  mode: a.mode,
  ops: a.ops,
  seconds: a.seconds,
  "ops/s": Math.round(a.opsPerSec),
  "× one per op": oneByOne(a.backend) ? `${(a.opsPerSec / oneByOne(a.backend)!.opsPerSec).toFixed(1)}×` : "–",
  "same root vid as the hub": a.converged === null ? "– (prefix)" : a.converged ? "yes" : "NO",
}))));
const floors = applies.filter((a) => a.floorSeconds !== undefined);
if (floors.length) {
  md.push(
    "The floor: the rows a catch-up added, written into a fresh copy of the device's space before the ops with the engine's own bulk statements (engine/row-writes.ts, 2,000 rows per statement, one transaction, triggers off) and no engine work. No replay can be faster than writing its rows.",
    table(floors.map((a) => ({
      backend: a.backend,
      "floor seconds": a.floorSeconds!,
      "floor ops/s": Math.round(a.ops / a.floorSeconds!),
      "catch-up ops/s (pages of 500)": Math.round(a.opsPerSec),
      "catch-up ÷ floor": `${(a.seconds / a.floorSeconds!).toFixed(1)}×`,
    }))),
  );
}
const rest = applies.find((a) => a.mode === "pages of 500" && a.backend === "pglite") ?? applies[0];
if (rest) {
  md.push(
    "### At rest (per op, pages of 500 on " + rest.backend + ")",
    table([
      { what: "rows inserted per op", ...Object.fromEntries(Object.entries(rest.rowsPerOp).map(([t, n]) => [t, Number(n.toFixed(2))])) },
    ]),
    table([{ "logical bytes per op (sum of pg_column_size)": Math.round(rest.logicalBytesPerOp), "disk bytes per op (tables + indexes + TOAST)": Math.round(rest.diskBytesPerOp) }]),
  );
}
const lates = applies.flatMap((a) => (a.late ?? []).map((l) => ({ backend: a.backend, ...l })));
if (lates.length) {
  md.push(
    "### A late op",
    "A device that applied the whole history gets an update whose clock sorts before the last N of those ops (a device back from a week offline pushes edits older than everything applied since): it undoes those N ops and applies them again after it. The cost is linear in N, independent of the document's size and of the history before the late op.",
    table(lates.map((l) => ({ backend: l.backend, "ops after the late one": l.after, "undone and applied again": l.rebuilt, seconds: l.seconds, "ms per op redone": l.msPerRebuilt }))),
  );
}
md.push("### On the wire (ReplicaOp pages of 500)", table([{
  "JSON B/op": Math.round(wireBytes.jsonPerOp),
  "gzip JSON B/op": Math.round(wireBytes.gzipJsonPerOp),
  "msgpackr B/op": Math.round(wireBytes.msgpackPerOp),
  "JSON encode µs/op": wireBytes.encodeJsonUsPerOp,
  "msgpackr encode µs/op": wireBytes.encodeMsgpackUsPerOp,
}]));
md.push("### Catch-up of the offline device, side by side", table(catchUpRows.map((r) => ({
  system: r.system,
  ops: r.ops,
  "catch-up ms": r.ms,
  "ops/s": Math.round((r.ops / r.ms) * 1000),
  "bytes received": r.bytes,
  "B/op": Math.round(r.bytes / r.ops),
}))));
md.push(table(peers.map((p) => ({ system: p.system, how: p.how, "µs per edit on the sender": p.editUs, "export ms": p.exportMs, "import ms": p.importMs, converged: p.converged ? "yes" : "NO" }))));
md.push("Ratios (logbook catch-up time ÷ peer's import time; above 1×: the peer is faster):", table(ratios.map((r) => ({ system: r.system, "÷ loro": `${r.vsLoro.toFixed(1)}×`, "÷ automerge": `${r.vsAutomerge.toFixed(1)}×` }))));
md.push(
  "### Through the sync server (HTTP on 127.0.0.1, one device)",
  servers.length
    ? table(servers.map((r) => ({ "server store": r.store, ops: r.ops, "push batch": r.pushBatch, "push ops/s": Math.round(r.pushOpsPerSec), "pull page": r.pullPage, "pull ops/s": Math.round(r.pullOpsPerSec) })))
    : "not measured (no server store available)",
);
md.push(
  `### An import reaching a second device (${reachOutline.rows.length.toLocaleString("en")} rows, realistic shape)`,
  "Device A (PGlite) imports the outline as one document with `importTree`; its sync client pushes the import and its parts to the server; device B (a fresh PGlite engine) pulls and replays them. Reach = A's push round + B's pull-and-replay round. Loro: the same tree built in one document, `export({ mode: 'update' })`, `import` into an empty one.",
  reaches.length
    ? table([
        ...reaches.map((r) => ({
          system: `logbook (server on ${r.server})`,
          "import s": r.importSeconds,
          "log entries": 1 + r.parts,
          MiB: r.bytes / 2 ** 20,
          "push s": r.pushSeconds,
          "pull + replay s": r.pullApplySeconds,
          "reach s": r.reachSeconds,
          "reach ÷ loro export + import": `${((r.reachSeconds * 1000) / (loroReach.exportMs + loroReach.importMs)).toFixed(1)}×`,
          "same root vid": r.sameRootVid ? "yes" : "NO",
        })),
        { system: "loro", "import s": loroReach.buildSeconds, "log entries": 1, MiB: loroReach.bytes / 2 ** 20, "push s": loroReach.exportMs / 1000, "pull + replay s": loroReach.importMs / 1000, "reach s": (loroReach.exportMs + loroReach.importMs) / 1000, "reach ÷ loro export + import": "1.0×", "same root vid": "–" },
      ])
    : "not measured (no server store available)",
);
if (bootstrap) {
  md.push(
    `### A device joining a space of ${bootstrap.nodes.toLocaleString("en")} objectives with ${bootstrap.ops.toLocaleString("en")} ops of history`,
    `Device A (PGlite) imports the realistic outline and makes ${bootstrap.ops.toLocaleString("en")} edits (history generator), then syncs; the server's replica (${bootstrap.server}) follows in ${bootstrap.replicaSeconds.toFixed(1)} s. A new PGlite device (in a data directory) joins with one sync round: by snapshot (the replica's rows copied as they are, then the ops after them) or by replaying every op (\`bootstrap: false\`). PGlite's own open is reported apart.`,
    table(bootstrap.joins.map((j) => ({
      join: j.how,
      "join s": j.joinSeconds,
      "PGlite open s": j.openSeconds,
      "ops pulled": j.pulledOps,
      "× snapshot": `${(j.joinSeconds / bootstrap.joins[0]!.joinSeconds).toFixed(1)}×`,
      "same root vid": j.sameRootVid ? "yes" : "NO",
    }))),
  );
}
const text = md.join("\n\n");
await save("sync", { quick, size: SIZE, hub: { kind: hub.kind, ops: hub.ops.length, editUs: hub.editUs }, applies, wire: wireBytes, peers, ratios, servers, importReach: { reaches, loro: loroReach }, bootstrap }, text);
