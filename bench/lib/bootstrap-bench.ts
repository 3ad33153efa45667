/**
 * A device joining a space with a long history (issue 15): device A imports an outline and makes a
 * history of edits, syncs; the server's replica follows. Device B joins by copying the replica's rows
 * (a snapshot); device C joins by replaying every op (`bootstrap: false`). Both end at A's root vid.
 * The joining devices are PGlite in a data directory, as `logbook` makes them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEngine, pglite } from "../../index.js";
import { createSyncClient, httpTransport } from "../../sync/index.js";
import { generateHistory } from "../workload/history.js";
import type { Outline } from "../workload/outline.js";
import { importCalls } from "./import-calls.js";
import { applyEdit } from "./apply-edit.js";
import { openBench } from "./backends.js";
import { progress } from "./measure.js";
import { withSyncServer } from "./sync-server-bench.js";

/** One join, by snapshot or by replay. */
export interface Join {
  readonly how: "snapshot" | "replay";
  /** Opening a fresh PGlite engine (reported apart, as the issue asks). */
  readonly openSeconds: number;
  /** From the first sync round's start to the space equal to A's. */
  readonly joinSeconds: number;
  readonly pulledOps: number;
  readonly sameRootVid: boolean;
}

/** The whole measurement. */
export interface Bootstrap {
  readonly server: "postgres" | "pglite";
  readonly nodes: number;
  readonly ops: number;
  /** The replica catching up on everything A pushed. */
  readonly replicaSeconds: number;
  readonly joins: readonly Join[];
}

/** Measures joins of a space made of `outline` plus `ops` edits. */
export async function bootstrapBench(outline: Outline, ops: number, server: "postgres" | "pglite", seed: number): Promise<Bootstrap | undefined> {
  return withSyncServer(server, async (base, token, replicaCaughtUp) => {
    const a = (await openBench("pglite"))!;
    try {
      const { spaceId } = await a.engine.createSpace();
      const [first, ...rest] = outline.rows;
      await a.engine.createDocument(spaceId, { oid: first![0], content: first![2], props: first![3] });
      for (const call of importCalls(rest, { maxTops: 5_000 })) await a.engine.importTree(spaceId, call);
      const history = generateHistory(outline, ops, seed);
      progress(`bootstrap: device A imported ${outline.rows.length} rows; making ${ops} edits`);
      for (let i = 0; i < history.length; i++) {
        await applyEdit(a.engine, spaceId, history[i]!);
        if ((i + 1) % 5_000 === 0) progress(`bootstrap: ${i + 1} / ${ops} edits`);
      }
      const transport = httpTransport({ baseUrl: base, token });
      await createSyncClient({ engine: a.engine, spaceId, transport, create: true, pollMs: 60_000 }).sync();
      let t0 = performance.now();
      await replicaCaughtUp(spaceId);
      const replicaSeconds = (performance.now() - t0) / 1000;
      progress(`bootstrap: the replica (${server}) caught up in ${replicaSeconds.toFixed(1)} s`);
      const want = (await a.engine.get(spaceId, outline.rootId)).vid;
      const joins: Join[] = [];
      for (const how of ["snapshot", "replay"] as const) {
        // A device as the CLI makes one: PGlite in a data directory (in memory, PGlite's file
        // system copies its growing files, which is most of a large load).
        const dir = mkdtempSync(join(tmpdir(), "logbook-join-"));
        t0 = performance.now();
        const engine = await openEngine({ storage: pglite({ dataDir: dir }) });
        const d = { engine, release: async () => (await engine.close(), rmSync(dir, { recursive: true, force: true })) };
        const openSeconds = (performance.now() - t0) / 1000;
        try {
          await d.engine.createSpace({ spaceId });
          t0 = performance.now();
          const round = await createSyncClient({ engine: d.engine, spaceId, transport, bootstrap: how === "snapshot", pollMs: 60_000 }).sync();
          const joinSeconds = (performance.now() - t0) / 1000;
          const sameRootVid = (await d.engine.get(spaceId, outline.rootId)).vid === want;
          progress(`bootstrap: joined by ${how} in ${joinSeconds.toFixed(2)} s (PGlite open ${openSeconds.toFixed(2)} s), pulled ${round.pulled} ops, same root vid: ${sameRootVid}`);
          joins.push({ how, openSeconds, joinSeconds, pulledOps: round.pulled, sameRootVid });
        } finally {
          await d.release();
        }
      }
      return { server, nodes: outline.rows.length, ops, replicaSeconds, joins };
    } finally {
      await a.release();
    }
  });
}
