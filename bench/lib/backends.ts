import pg from "pg";
import { openEngine, pglite, postgres, type Engine } from "../../index.js";
import type { Storage } from "../../storage/contract.js";

/** Server for the Postgres runs; `PG_URL` overrides. */
export const PG_URL = process.env["PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** An engine on a fresh database plus raw access to the same storage, for floors and row counts. */
export interface BenchBackend {
  readonly name: "pglite" | "postgres";
  readonly engine: Engine;
  readonly storage: Storage;
  readonly release: () => Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A database of its own on the `PG_URL` server, and how to drop it; the reason when there is no server. */
export async function throwawayDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> } | string> {
  const name = `${prefix}_${Date.now().toString(36)}`;
  try {
    await admin(`create database ${name}`);
  } catch (error) {
    return `no Postgres at ${PG_URL}: ${(error as Error).message} (set PG_URL)`;
  }
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/** Opens a fresh engine on `name`; undefined (with a printed reason) when Postgres is not there. */
export async function openBench(name: "pglite" | "postgres"): Promise<BenchBackend | undefined> {
  if (name === "pglite") {
    const storage = await pglite().open();
    const engine = await openEngine({ storage: { kind: "pglite", open: async () => storage } });
    return { name, engine, storage, release: () => engine.close() };
  }
  const db = await throwawayDatabase("logbook_bench");
  if (typeof db === "string") {
    console.warn(`[bench] skipping postgres: ${db}`);
    return undefined;
  }
  const storage = await postgres({ connectionString: db.url }).open();
  const engine = await openEngine({ storage: { kind: "postgres", open: async () => storage } });
  return {
    name,
    engine,
    storage,
    release: async () => {
      await engine.close();
      await db.drop();
    },
  };
}
