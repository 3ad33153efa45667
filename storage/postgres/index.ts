import type pg from "pg";
import type { PinnedRead, Queryable, Row, Storage, StorageConfig } from "../contract.js";
import { inTransaction } from "../in-transaction.js";
import { wrapError } from "../wrap-error.js";

/** Options of the server backend. */
export interface PostgresOptions {
  /** A libpq connection string, e.g. `postgres://postgres@127.0.0.1:5432/logbook`. */
  readonly connectionString: string;
  /** Pool size; writers to one space serialize anyway, readers run in parallel. Default 10. */
  readonly max?: number;
}

// int8 comes back as number on both backends (PGlite gets the same parser).
function typesOf(driver: typeof pg) {
  return {
    getTypeParser(oid: number, format?: string) {
      if (oid === 20) return (value: string) => Number(value);
      return driver.types.getTypeParser(oid, format as "text");
    },
  };
}

/**
 * PostgreSQL through `pg`: the server backend, with a connection pool. Its connections run with
 * `jit = off` (the engine's statements are index probes that JIT compilation only slows down: a
 * 10,000-op catch-up ran 25% faster without it).
 *
 * @example
 * const engine = await openEngine({ storage: postgres({ connectionString: process.env.PG_URL! }) });
 */
export function postgres(options: PostgresOptions): StorageConfig {
  return {
    kind: "postgres",
    async open() {
      // Loaded on open: an app on the embedded backend never pays for the driver (~90 ms).
      const { default: driver } = await import("pg");
      const pool = new driver.Pool({
        connectionString: options.connectionString,
        max: options.max ?? 10,
        types: typesOf(driver) as pg.CustomTypesConfig,
        allowExitOnIdle: true,
      });
      // An idle client's error (server restart) must not crash the host process.
      pool.on("error", () => {});
      try {
        await pool.query("select 1");
      } catch (error) {
        await pool.end();
        throw wrapError(error, `connect ${redact(options.connectionString)}`);
      }
      return postgresStorage(pool);
    },
  };
}

function redact(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@");
}

function queryable(client: pg.PoolClient): Queryable {
  return {
    async query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      try {
        return (await client.query<R>(sql, params as unknown[])).rows;
      } catch (error) {
        throw wrapError(error, sql);
      }
    },
  };
}

/**
 * A transaction's one connection, taking its statements one after the other. The engine sends
 * independent statements of a write together (`Promise.all`); `pg` used to queue them itself, but
 * that is deprecated (removed in pg 9), and it sent them one at a time anyway, so queueing here costs
 * nothing.
 */
function inTurns(client: pg.PoolClient): Queryable {
  const plain = queryable(client);
  let last: Promise<unknown> = Promise.resolve();
  return {
    query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      const run = () => plain.query<R>(sql, params);
      const next = last.then(run, run);
      last = next.catch(() => undefined);
      return next;
    },
  };
}

function postgresStorage(pool: pg.Pool): Storage {
  let closed = false;
  const ready = new WeakSet<pg.PoolClient>();
  const connect = async (): Promise<pg.PoolClient> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw wrapError(error, "connect");
    }
    // JIT pays off for long analytic scans; the engine's statements are index probes whose
    // estimates (recursive walks, unnest of a batch) can pass jit_above_cost all the same, and
    // then compiling costs ~100 ms where running takes ~5. Set once per connection, not as a
    // startup option (which poolers such as PgBouncer refuse); a server without JIT (before
    // Postgres 11) refuses the SET, which changes nothing.
    if (!ready.has(client)) {
      await client.query("set jit = off").catch(() => undefined);
      ready.add(client);
    }
    return client;
  };
  return {
    kind: "postgres",
    async query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      const client = await connect();
      let broken: Error | undefined;
      try {
        return await queryable(client).query<R>(sql, params);
      } catch (error) {
        // An error the server reported (the driver's error has a severity) leaves the connection
        // usable; any other (a broken socket) does not, and the pool must not hand it out again.
        if (((error as Error).cause as { severity?: unknown } | undefined)?.severity === undefined) broken = error as Error;
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async transaction(fn) {
      const client = await connect();
      try {
        return await inTransaction(inTurns(client), fn);
      } finally {
        client.release();
      }
    },
    async readSnapshot(): Promise<PinnedRead> {
      const client = await connect();
      const q = inTurns(client);
      try {
        await q.query("begin isolation level repeatable read read only");
      } catch (error) {
        client.release();
        throw error;
      }
      let done = false;
      return {
        query: (sql, params) => q.query(sql, params),
        async release() {
          if (done) return;
          done = true;
          try {
            await q.query("commit");
            client.release();
          } catch (error) {
            // A connection in an unknown state is not handed out again.
            client.release(error as Error);
          }
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
