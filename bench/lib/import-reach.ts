/**
 * An import's way to a second device (issue 15): device A imports an outline as one document, its
 * sync client pushes the import and its parts to a real sync server, device B (a fresh engine)
 * pulls and replays them. Beside it, the same outline sent from one Loro document to another.
 */
import { LoroDoc, type TreeID } from "loro-crdt";
import type { TreeInput } from "../../index.js";
import { createSyncClient, httpTransport } from "../../sync/index.js";
import type { Outline } from "../workload/outline.js";
import { openBench } from "./backends.js";
import { progress } from "./measure.js";
import { withSyncServer } from "./sync-server-bench.js";

/** What an import cost on its way from one device to another. */
export interface ImportReach {
  readonly devices: "pglite";
  readonly server: "pglite" | "postgres";
  readonly nodes: number;
  /** `importTree` on device A (one transaction, parts included). */
  readonly importSeconds: number;
  /** Log entries that carry its rows. */
  readonly parts: number;
  /** Bytes of JSON that A pushed (the import and its parts). */
  readonly bytes: number;
  /** A's sync round: push of the import and its parts. */
  readonly pushSeconds: number;
  /** B's sync round: pull and replay. */
  readonly pullApplySeconds: number;
  /** From A's push to B showing the rows. */
  readonly reachSeconds: number;
  readonly sameRootVid: boolean;
}

/** The outline's rows as one tree (its root first). */
function treeOf(outline: Outline): TreeInput {
  const made = new Map<string, { oid: string; content: string; props: Record<string, never>; children: TreeInput[] }>();
  for (const [id, parent, content, props] of outline.rows) {
    const node = { oid: id, content, props: props as Record<string, never>, children: [] as TreeInput[] };
    made.set(id, node);
    if (parent !== null) made.get(parent)!.children.push(node);
  }
  return made.get(outline.rootId)!;
}

/** Measures one import reaching a second device through a server storing ops on `server`. */
export async function importReach(outline: Outline, server: "pglite" | "postgres"): Promise<ImportReach | undefined> {
  return withSyncServer(server, async (base, token) => {
    const a = (await openBench("pglite"))!;
    const b = (await openBench("pglite"))!;
    try {
      const { spaceId } = await a.engine.createSpace();
      await b.engine.createSpace({ spaceId });
      const transport = httpTransport({ baseUrl: base, token });
      progress(`import reach (${server} server): device A imports ${outline.rows.length} rows`);
      let t0 = performance.now();
      const [rootOid] = (await a.engine.importTree(spaceId, { nodes: [treeOf(outline)] })).oids;
      const importSeconds = (performance.now() - t0) / 1000;
      const log = await a.engine.logSince(spaceId, { limit: 10_000 });
      const parts = log.filter((op) => op.kind === "importPart").length;
      const bytes = log.reduce((n, op) => n + Buffer.byteLength(JSON.stringify(op)), 0);
      const clientA = createSyncClient({ engine: a.engine, spaceId, transport, pollMs: 60_000, create: true });
      const clientB = createSyncClient({ engine: b.engine, spaceId, transport, pollMs: 60_000 });
      t0 = performance.now();
      await clientA.sync();
      const pushSeconds = (performance.now() - t0) / 1000;
      progress(`import reach (${server} server): pushed ${parts} parts in ${pushSeconds.toFixed(2)} s; device B pulls`);
      const t1 = performance.now();
      await clientB.sync();
      const pullApplySeconds = (performance.now() - t1) / 1000;
      const reachSeconds = (performance.now() - t0) / 1000;
      const sameRootVid = (await a.engine.get(spaceId, rootOid!)).vid === (await b.engine.get(spaceId, rootOid!)).vid;
      progress(`import reach (${server} server): B replayed it in ${pullApplySeconds.toFixed(2)} s (same root vid: ${sameRootVid})`);
      return { devices: "pglite" as const, server, nodes: outline.rows.length, importSeconds, parts, bytes, pushSeconds, pullApplySeconds, reachSeconds, sameRootVid };
    } finally {
      await a.release();
      await b.release();
    }
  });
}

/** The same outline built in one Loro document and sent whole to another (export + import). */
export function loroImportReach(outline: Outline): { buildSeconds: number; exportMs: number; importMs: number; bytes: number } {
  const doc = new LoroDoc();
  doc.setPeerId("1");
  const tree = doc.getTree("outline");
  const tid = new Map<string, TreeID>();
  let t0 = performance.now();
  for (const [id, parent, content, props] of outline.rows) {
    const n = parent === null ? tree.createNode() : tree.createNode(tid.get(parent)!);
    tid.set(id, n.id);
    n.data.set("content", content);
    for (const [k, v] of Object.entries(props)) n.data.set(k, v as never);
  }
  doc.commit();
  const buildSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const update = doc.export({ mode: "update" });
  const exportMs = performance.now() - t0;
  const device = new LoroDoc();
  t0 = performance.now();
  device.import(update);
  const importMs = performance.now() - t0;
  doc.free();
  device.free();
  return { buildSeconds, exportMs, importMs, bytes: update.length };
}
