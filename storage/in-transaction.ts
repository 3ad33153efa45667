import type { Queryable } from "./contract.js";

/**
 * BEGIN, `fn`, COMMIT on one connection; ROLLBACK if anything throws. What `fn` throws passes
 * through as it is (a caller's own error, such as a parse error of a streamed import, may carry a
 * `code` that looks like a SQLSTATE); BEGIN and COMMIT fail as `q` wraps them. For backends that
 * run transactions by hand (the Postgres pool client, PGlite in a worker thread).
 */
export async function inTransaction<T>(q: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  await q.query("begin");
  try {
    const result = await fn(q);
    await q.query("commit");
    return result;
  } catch (error) {
    await q.query("rollback").catch(() => {});
    throw error;
  }
}
