import type { Storage } from "../../index.js";

/** A storage that counts every row any query returns (rows read, the same way for any stored format). */
export interface Counting {
  readonly storage: Storage;
  /** Rows returned so far. */
  rows(): number;
}

/** Wraps a storage to count the rows its queries return, in and out of transactions. */
export function countingStorage(inner: Storage): Counting {
  let rows = 0;
  const wrap = <Q extends { query: Storage["query"] }>(q: Q): Q =>
    ({
      ...q,
      query: async (sql: string, params?: readonly unknown[]) => {
        const out = await q.query(sql, params);
        rows += out.length;
        return out;
      },
    }) as Q;
  const storage: Storage = {
    ...wrap(inner),
    kind: inner.kind,
    transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))),
    close: () => inner.close(),
  };
  return { storage, rows: () => rows };
}
