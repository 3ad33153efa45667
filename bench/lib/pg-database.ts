import pg from "pg";
import { PG_URL } from "./backends.js";
import type { Sql } from "./pg-tables.js";

/** A throwaway database on the benchmark Postgres server, for the baselines. */
export interface PgDatabase extends Sql {
  /** Runs `fn` in one transaction on the single connection. */
  transaction(fn: () => Promise<void>): Promise<void>;
  drop(): Promise<void>;
}

/** Creates a fresh database (dropped by `drop`) and one connection to it; undefined without a server. */
export async function throwawayDatabase(label: string): Promise<PgDatabase | undefined> {
  const name = `logbook_bench_${label}_${Date.now().toString(36)}_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (error) {
    console.warn(`[bench] no postgres for ${label}: ${(error as Error).message} (set PG_URL)`);
    await admin.end().catch(() => undefined);
    return undefined;
  }
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const query = async <T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => (await client.query(sql, params as unknown[])).rows as T[];
  return {
    query,
    async transaction(fn) {
      await client.query("begin");
      try {
        await fn();
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw error;
      }
    },
    async drop() {
      await client.end();
      const a = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
