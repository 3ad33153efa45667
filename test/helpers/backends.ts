/**
 * The backends every engine suite runs on. PGlite boots from one migrated template per worker
 * (a data-dir dump: ~0.5 s instead of ~3 s); Postgres gets a throwaway database with a random
 * name, dropped afterwards. Without a Postgres server the Postgres half is skipped, loudly.
 */
import pg from "pg";
import { openEngine, pglite, postgres, type Engine, type EngineOptions } from "../../index.js";
import { DATA_STEPS } from "../../open-engine.js";
import { dumpPglite } from "../../storage/pglite/index.js";
import { migrate } from "../../storage/migrate.js";
import type { Row, Storage } from "../../storage/contract.js";

/** The server used for the Postgres half; `PG_URL` overrides. */
export const PG_URL = process.env["PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

let template: Promise<Blob> | undefined;

async function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const storage = await pglite().open();
    await migrate(storage, { data: DATA_STEPS });
    const dump = await dumpPglite(storage);
    await storage.close();
    return dump;
  })();
  return template;
}

let reachable: Promise<string | undefined> | undefined;

/** Undefined when Postgres answers, else why not. */
export function postgresUnavailable(): Promise<string | undefined> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("select 1");
      return undefined;
    } catch (error) {
      return `Postgres at ${PG_URL} did not answer (${(error as Error).message}); set PG_URL`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database for one suite: its URL and how to drop it. */
export async function throwawayDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `logbook_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((c) => c.query(`create database ${name}`));
  return {
    url: withDatabase(PG_URL, name),
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

/**
 * Storage for a sync server's ops on `kind`: a throwaway Postgres database (dropped by `release`)
 * or an in-memory PGlite.
 */
export async function serverStorage(kind: "postgres" | "pglite"): Promise<{ storage: Storage; release: () => Promise<void> }> {
  if (kind === "pglite") {
    const storage = await pglite().open();
    return { storage, release: () => storage.close() };
  }
  const db = await throwawayDatabase();
  const storage = await postgres({ connectionString: db.url, max: 4 }).open();
  return {
    storage,
    release: async () => {
      await storage.close();
      await db.drop();
    },
  };
}

/** One backend as the suites see it. */
export interface Backend {
  readonly name: "pglite" | "postgres";
  /** Why it is skipped, if it is. */
  readonly skip: () => Promise<string | undefined>;
  /** A new engine on fresh storage; `release` closes it and drops its database. */
  readonly fresh: (options?: Omit<EngineOptions, "storage">) => Promise<Fresh>;
}

/** An engine on fresh storage, raw SQL on the same database (for assertions on rows), and cleanup. */
export interface Fresh {
  readonly engine: Engine;
  readonly sql: <R extends Row = Row>(text: string, params?: readonly unknown[]) => Promise<R[]>;
  /** Opens another engine on the same database (Postgres only; PGlite is single-connection). */
  readonly another?: (options?: Omit<EngineOptions, "storage">) => Promise<Engine>;
  readonly release: () => Promise<void>;
}

export const backends: readonly Backend[] = [
  {
    name: "pglite",
    skip: async () => undefined,
    async fresh(options = {}) {
      const storage = await pglite({ loadDataDir: await pgliteTemplate() }).open();
      const engine = await openEngine({ ...options, storage: { kind: "pglite", open: async () => storage } });
      return { engine, sql: (text, params) => storage.query(text, params), release: () => engine.close() };
    },
  },
  {
    name: "postgres",
    skip: postgresUnavailable,
    async fresh(options = {}) {
      const db = await throwawayDatabase();
      const engine = await openEngine({ ...options, storage: postgres({ connectionString: db.url }) });
      const raw = await postgres({ connectionString: db.url, max: 2 }).open();
      const others: Engine[] = [];
      return {
        engine,
        sql: (text, params) => raw.query(text, params),
        another: async (more = {}) => {
          const other = await openEngine({ ...more, storage: postgres({ connectionString: db.url }) });
          others.push(other);
          return other;
        },
        release: async () => {
          for (const other of others) await other.close();
          await engine.close();
          await raw.close();
          await db.drop();
        },
      };
    },
  },
];

/**
 * The backends this run can use; a skipped one is announced on stderr with the reason.
 *
 * @example
 * describe.each(await usableBackends())("engine on $name", (backend) => { ... });
 */
export async function usableBackends(): Promise<Backend[]> {
  const out: Backend[] = [];
  for (const b of backends) {
    const reason = await b.skip();
    if (reason) console.warn(`[logbook tests] skipping the ${b.name} backend: ${reason}`);
    else out.push(b);
  }
  return out;
}
