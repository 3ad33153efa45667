/**
 * One measurement cell: one system on one generated workload, in its own process (so its peak RSS
 * is its own). Run by bench/run.ts:
 *
 *   npx tsx bench/cell.ts '<CellSpec JSON>' <result.json>
 */
import { writeFile } from "node:fs/promises";
import type { CellResult, CellSpec, EditResult, Timed, ViewResult } from "./lib/cell-spec.js";
import { medianOf, progress, time } from "./lib/measure.js";
import { below, lcg } from "./lib/rng.js";
import { adjacencySystem } from "./systems/adjacency.js";
import { automergeSystem } from "./systems/automerge.js";
import { engineSystem } from "./systems/engine.js";
import { eventLogSystem } from "./systems/event-log.js";
import { loroSystem } from "./systems/loro.js";
import { snapshotSystem } from "./systems/snapshot.js";
import { Unsupported, type Mark, type System } from "./systems/system.js";
import { generateHistory } from "./workload/history.js";
import { generateOutline } from "./workload/outline.js";

/** Exit code of a cell whose system cannot run here (no Postgres server). */
const UNAVAILABLE = 3;
const EDIT_DEPTHS = [5, 10, 20];
const LIMIT = 50;

async function open(spec: CellSpec): Promise<System | undefined> {
  switch (spec.system) {
    case "engine-pglite": return engineSystem("pglite");
    case "engine-postgres": return engineSystem("postgres");
    case "event-log": return eventLogSystem();
    case "snapshot": return snapshotSystem(spec.edits);
    case "adjacency": return adjacencySystem();
    case "loro": return loroSystem();
    case "automerge": return automergeSystem();
  }
}

const errors: string[] = [];

/** Runs a measure; Unsupported gives null, any other failure is recorded and gives null. */
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof Unsupported)) errors.push(`${what}: ${(error as Error).stack ?? String(error)}`.slice(0, 2000));
    return null;
  }
}

async function ms(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** `reps` timed runs of `fn`, each followed by an untimed `after`; the median. */
async function repeat(what: string, reps: number, fn: () => Promise<unknown>, after: () => Promise<unknown>): Promise<Timed> {
  const xs: number[] = [];
  const ok = await attempt(what, async () => {
    for (let r = 0; r < reps; r++) {
      xs.push(await ms(fn));
      await after();
    }
  });
  return { ms: ok === null ? null : medianOf(xs), samples: xs.length };
}

async function main(spec: CellSpec, out: string): Promise<void> {
  const started = performance.now();
  const label = `${spec.system} ${spec.shape} ${spec.size}`;
  const outline = generateOutline(spec.shape, spec.size, spec.seed);
  const history = generateHistory(outline, spec.edits, spec.seed);
  const system = await open(spec);
  if (!system) {
    progress(`${spec.system} is not available (no Postgres at PG_URL?)`);
    process.exit(UNAVAILABLE);
  }
  try {
    progress(`${label}: import of ${outline.rows.length} objectives`);
    const importMs = await ms(() => system.load(outline));
    const storageAfterImport = await system.storageBytes();
    const mark0 = await system.mark();

    progress(`${label}: history of ${history.length} edits (budget ${spec.historyBudgetSec} s)`);
    const shortAt = Math.max(1, Math.floor(history.length / 10));
    let markShort: Mark = mark0;
    let applied = 0;
    const budgetEnd = performance.now() + spec.historyBudgetSec * 1000;
    const applyStart = performance.now();
    for (const edit of history) {
      if (performance.now() > budgetEnd) break;
      await system.apply(edit);
      applied++;
      if (applied === shortAt) markShort = await system.mark();
      if (applied % Math.max(1, Math.floor(history.length / 5)) === 0) progress(`${label}:   ${applied} / ${history.length} edits`);
    }
    const applyUsPerEdit = ((performance.now() - applyStart) * 1000) / Math.max(1, applied);
    if (applied < history.length) errors.push(`history budget: applied ${applied} of ${history.length} edits`);
    const markEnd = await system.mark();
    const storageAfterHistory = await system.storageBytes();

    progress(`${label}: diff`);
    const diffOf = async (to: Mark, edits: number) => {
      let changes: number | null = null;
      const t = await repeat(`diff ${edits}`, spec.reps, async () => (changes = await system.diff(mark0, to)), async () => {});
      return { ...t, edits, changes };
    };
    const diffShort = await diffOf(markShort, Math.min(shortAt, applied));
    const diffLong = await diffOf(markEnd, applied);

    progress(`${label}: views`);
    const created = history.slice(0, applied).reduce((n, e) => n + (e.kind === "create" ? 1 : e.kind === "remove" ? -1 : 0), 0);
    const rows = Math.min(outline.rows.length - 1, outline.rows.length - 1 + created);
    const rand = lcg(spec.seed + 17);
    const views: ViewResult[] = [];
    for (const [version, at] of [["active", null], ["old", mark0]] as const) {
      const cold: number[] = [];
      const warm: number[] = [];
      let returned = Infinity;
      await attempt(`view ${version}`, async () => {
        for (let w = 0; w < spec.windows; w++) {
          const offset = below(rand, Math.max(1, rows - LIMIT));
          let got = 0;
          cold.push(await ms(async () => (got = await system.view(offset, LIMIT, at, true))));
          warm.push((await ms(async () => { for (let k = 0; k < 5; k++) await system.view(offset, LIMIT, at, false); })) / 5);
          returned = Math.min(returned, got);
        }
      });
      views.push({ version, coldMs: cold.length ? medianOf(cold) : null, warmMs: warm.length ? medianOf(warm) : null, rowsReturned: Number.isFinite(returned) ? returned : 0 });
    }

    progress(`${label}: single edits at depth ${EDIT_DEPTHS.join("/")}`);
    const edit: EditResult[] = [];
    for (const depth of EDIT_DEPTHS) {
      const id = outline.probe[depth]!;
      let i = 0;
      const run = () => system.edit(id, `probe edit ${i++}`);
      const r = await attempt(`edit d${depth}`, async () => {
        const cost = await system.writeCost(run);
        const t = await time(`${label} edit d${depth}`, run);
        return { depth, medianUs: t.medianUs, meanUs: t.meanUs, rmePercent: t.rmePercent, rows: cost.rows, bytes: cost.bytes };
      });
      if (r) edit.push(r);
    }

    progress(`${label}: checkout of a ${outline.checkoutTargetSize}-objective subtree to the version before the history`);
    const target = outline.checkoutTarget;
    const endNow = await system.mark();
    const checkout = await repeat("checkout", spec.reps, () => system.checkout(target, mark0), () => system.leaveCheckout(target, endNow));
    const restore = await repeat("restore", spec.reps, () => system.restore(target, mark0), () => system.restore(target, endNow));

    const result: CellResult = {
      spec,
      system: system.name,
      nodes: outline.rows.length,
      checkoutTargetSize: outline.checkoutTargetSize,
      notes: system.notes,
      errors,
      importMs,
      storageAfterImport,
      editsApplied: applied,
      applyUsPerEdit,
      storageAfterHistory,
      storageBytesPerEdit: (storageAfterHistory - storageAfterImport) / Math.max(1, applied),
      checkout,
      restore,
      diffShort,
      diffLong,
      views,
      edit,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      wallSec: (performance.now() - started) / 1000,
    };
    await writeFile(out, JSON.stringify(result, null, 1) + "\n");
    progress(`${label}: done in ${result.wallSec.toFixed(1)} s${errors.length ? ` (${errors.length} errors)` : ""}`);
  } finally {
    await system.close();
  }
}

const [specJson, out] = process.argv.slice(2).filter((a) => a !== "--quick");
if (!specJson || !out) throw new Error("usage: tsx bench/cell.ts '<CellSpec JSON>' <result.json> [--quick]");
await main(JSON.parse(specJson) as CellSpec, out);
