import { Worker } from "node:worker_threads";
import type { Queryable, Row, Storage } from "../contract.js";
import { inTransaction } from "../in-transaction.js";
import { encodeCopyBinary } from "../copy-binary.js";
import { wrapError } from "../wrap-error.js";

interface Reply {
  readonly id: number;
  readonly rows?: Row[];
  readonly error?: { readonly message: string; readonly code?: string };
}

/**
 * PGlite in a worker thread (`pglite({ worker: true })`): Postgres runs on its own core while the
 * caller's JavaScript goes on. Queries travel as messages and run in the order sent, so a caller
 * may send a write without waiting for the one before it (a streamed import builds its next rows
 * while the last ones are written: ~25% faster on two cores). Each query pays a message hop.
 */
export async function workerStorage(dataDir: string | undefined): Promise<Storage> {
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), { workerData: { dataDir } });
  const waiting = new Map<number, { resolve: (rows: Row[]) => void; reject: (error: unknown) => void }>();
  let failed: Error | undefined;
  const failAll = (error: Error) => {
    failed = error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  const opening = {
    ready: () => {},
    error: (_error: Error) => {},
    exit: (_code: number) => {},
  };
  try {
    await new Promise<void>((resolve, reject) => {
      opening.ready = () => resolve();
      opening.error = reject;
      opening.exit = (code) => reject(new Error(`the PGlite worker exited with code ${code} while opening`));
      worker.once("message", opening.ready);
      worker.once("error", opening.error);
      worker.once("exit", opening.exit);
    });
  } catch (error) {
    await worker.terminate();
    throw wrapError(error, `open pglite worker ${dataDir ?? "(in memory)"}`);
  } finally {
    // Only this function's own listeners: Node's Worker keeps internal ones of its own.
    worker.off("message", opening.ready);
    worker.off("error", opening.error);
    worker.off("exit", opening.exit);
  }
  const exited = (code: number) => failAll(new Error(`the PGlite worker exited (code ${code})`));
  worker.on("error", failAll);
  worker.on("exit", exited);
  worker.on("message", (m: Reply) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else w.resolve(m.rows ?? []);
  });
  let next = 0;
  const call = (op: "query" | "close", sql?: string, params?: readonly unknown[], blob?: Uint8Array) =>
    new Promise<Row[]>((resolve, reject) => {
      if (failed) return reject(failed);
      const id = ++next;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, op, sql, params, blob });
    });
  const q: Queryable = {
    async query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      try {
        return (await call("query", sql, params)) as R[];
      } catch (error) {
        throw wrapError(error, sql);
      }
    },
    async copyRows(table, columns, rows) {
      if (rows.length === 0) return;
      const sql = `copy ${table} (${columns.map((c) => c.name).join(", ")}) from '/dev/blob' with (format binary)`;
      try {
        await call("query", sql, [], encodeCopyBinary(columns, rows));
      } catch (error) {
        throw wrapError(error, sql);
      }
    },
  };
  // One connection: transactions take turns; statements outside one run between them.
  let turn: Promise<unknown> = Promise.resolve();
  let closed = false;
  return {
    kind: "pglite",
    ...q,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const run = turn.then(() => inTransaction(q, fn));
      turn = run.catch(() => {});
      return run;
    },
    async close() {
      if (closed) return;
      closed = true;
      await turn;
      await call("close").catch(() => {});
      worker.off("exit", exited);
      await worker.terminate();
    },
  };
}
