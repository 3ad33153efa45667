import { openEngine, pglite, postgres, type Engine, type Storage } from "../../index.js";
import { throwawayDatabase } from "./backends.js";

/** A storage that counts every row any query returns (rows read, the same way for any stored format). */
export interface Counting {
  readonly storage: Storage;
  /** Rows returned so far. */
  rows(): number;
  /**
   * The statements run since the last call (text, ms, rows), when `BENCH_TRACE` is set in the
   * environment: what a figure is made of. Empty otherwise.
   */
  statements(): { sql: string; ms: number; rows: number }[];
}

const TRACE = process.env["BENCH_TRACE"] !== undefined;

/** Wraps a storage to count the rows its queries return, in and out of transactions. */
export function countingStorage(inner: Storage): Counting {
  let rows = 0;
  let log: { sql: string; ms: number; rows: number }[] = [];
  const wrap = <Q extends { query: Storage["query"] }>(q: Q): Q =>
    ({
      ...q,
      query: async (sql: string, params?: readonly unknown[]) => {
        const t0 = performance.now();
        const out = await q.query(sql, params);
        rows += out.length;
        if (TRACE) log.push({ sql: sql.replace(/\s+/g, " ").slice(0, 120), ms: performance.now() - t0, rows: out.length });
        return out;
      },
    }) as Q;
  const storage: Storage = {
    ...wrap(inner),
    kind: inner.kind,
    transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))),
    // Pinned reads (Postgres snapshots) count too.
    ...(inner.readSnapshot ? { readSnapshot: async () => wrap(await inner.readSnapshot!()) } : {}),
    close: () => inner.close(),
  };
  const statements = () => {
    const out = log;
    log = [];
    return out;
  };
  return { storage, rows: () => rows, statements };
}

/** An engine on a storage whose rows read are counted, with the raw storage beside it (for xmin marks). */
export interface CountedEngine {
  readonly engine: Engine;
  readonly raw: Storage;
  readonly counter: Counting;
  /** Closes the engine and drops the throwaway database. */
  close(): Promise<void>;
}

/**
 * Opens the engine on PGlite in memory or on a throwaway Postgres database named after `prefix`;
 * undefined (with the reason printed) when no Postgres server answers.
 */
export async function openCountedEngine(kind: "pglite" | "postgres", prefix: string): Promise<CountedEngine | undefined> {
  let raw: Storage;
  let drop = async () => {};
  if (kind === "pglite") raw = await pglite().open();
  else {
    const db = await throwawayDatabase(prefix);
    if (typeof db === "string") {
      console.warn(`[bench] skipping postgres: ${db}`);
      return undefined;
    }
    raw = await postgres({ connectionString: db.url }).open();
    drop = db.drop;
  }
  const counter = countingStorage(raw);
  const engine = await openEngine({ storage: { kind, open: async () => counter.storage } });
  return {
    engine,
    raw,
    counter,
    async close() {
      await engine.close();
      await drop();
    },
  };
}
