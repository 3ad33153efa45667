import type { Engine } from "../../index.js";
import { importCalls } from "../lib/import-calls.js";
import { applyEdit } from "../lib/apply-edit.js";
import { openBench, type BenchBackend } from "../lib/backends.js";
import { progress } from "../lib/measure.js";
import { diskBytes, inserted } from "../lib/pg-tables.js";
import type { Edit } from "../workload/history.js";
import type { Outline } from "../workload/outline.js";
import type { System, WriteCost } from "./system.js";

const TABLES = ["version", "chunk", "op", "document"];
/** importTree batches: at most this many objectives per transaction. */
const BATCH = 50_000;

interface EngineMark {
  readonly root: string;
  readonly target: string;
}

/** This engine on PGlite or Postgres, through its public API; rows counted by raw SQL on its storage. */
export async function engineSystem(kind: "pglite" | "postgres"): Promise<System | undefined> {
  const backend: BenchBackend | undefined = await openBench(kind);
  if (!backend) return undefined;
  const engine: Engine = backend.engine;
  const storage = backend.storage;
  const { spaceId: s } = await engine.createSpace();
  let root = "";
  let checkoutTarget = "";
  const vidOf = async (oid: string) => (await engine.get(s, oid)).vid;

  return {
    name: `engine-${kind}`,
    notes: [],
    async load(outline) {
      root = outline.rootId;
      checkoutTarget = outline.checkoutTarget;
      const [first, ...rest] = outline.rows;
      await engine.createDocument(s, { oid: first![0], content: first![2], props: first![3] });
      for (let i = 0; i < rest.length; i += BATCH) {
        for (const call of importCalls(rest.slice(i, i + BATCH))) await engine.importTree(s, call);
        if (rest.length > BATCH) progress(`  ${kind}: imported ${Math.min(i + BATCH, rest.length)} / ${rest.length}`);
      }
    },
    async apply(edit: Edit) {
      await applyEdit(engine, s, edit);
    },
    async mark() {
      return { root: await vidOf(root), target: await vidOf(checkoutTarget) } satisfies EngineMark;
    },
    async checkout(target, to) {
      await engine.checkout(s, target, (to as EngineMark).target);
    },
    async leaveCheckout(target, latest) {
      await engine.checkout(s, target, (latest as EngineMark).target);
    },
    async restore(target, to) {
      await engine.checkout(s, target, (to as EngineMark).target);
      await engine.update(s, target, { content: "edited after checkout" });
    },
    async diff(from, to) {
      return (await engine.diff(s, root, (from as EngineMark).root, (to as EngineMark).root)).length;
    },
    async edit(id, content) {
      await engine.update(s, id, { content });
    },
    async writeCost(fn): Promise<WriteCost> {
      // Every write inserts rows only: no index of the tree is updated in place.
      const r = await inserted(storage, TABLES, fn);
      return { rows: r.rows, bytes: r.bytes };
    },
    async view(offset, limit, at, cold) {
      if (cold) engine.clearCache();
      const vid = at === null ? undefined : (at as EngineMark).root;
      return (await engine.view(s, root, { offset, limit, ...(vid ? { vid } : {}) })).rows.length;
    },
    storageBytes: () => diskBytes(storage, TABLES),
    close: () => backend.release(),
  };
}
