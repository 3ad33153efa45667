/**
 * The three stores the accounts suite runs on. Each server-backed store gets a throwaway
 * database with a random name, dropped afterwards; an unreachable server is skipped with a
 * printed reason. PGlite runs in memory.
 */
import { randomBytes } from "node:crypto";
import knex from "knex";
import type { Knex } from "knex";
import type { StoreConfig } from "../../accounts/index.js";

/** A store under test. */
export interface TestStore {
  /** Label for describe.each. */
  readonly name: "postgres" | "pglite" | "mariadb";
  /** Why the store is skipped, or undefined if it is available. */
  readonly skipReason: string | undefined;
  /** Creates a fresh database; returns its config and a function that drops it. */
  readonly create: () => Promise<{ readonly config: StoreConfig; readonly drop: () => Promise<void> }>;
}

/** Postgres admin URL (database `postgres`). */
export const PG_URL = process.env["PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
/** MariaDB URL without a database. */
export const MARIADB_URL = process.env["MARIADB_URL"] ?? "mysql://root@127.0.0.1:3306";

function randomDbName(): string {
  return `accounts_test_${randomBytes(6).toString("hex")}`;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function probe(make: () => Knex): Promise<string | undefined> {
  const admin = make();
  try {
    await admin.raw("select 1");
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await admin.destroy();
  }
}

const pgAdmin = (): Knex => knex({ client: "pg", connection: { connectionString: PG_URL, connectionTimeoutMillis: 3000 }, pool: { min: 0, max: 1 } });
const mariaAdmin = (): Knex =>
  knex({ client: "mysql2", connection: { uri: MARIADB_URL, connectTimeout: 3000 } as Knex.MySql2ConnectionConfig, pool: { min: 0, max: 1 } });

function postgresStore(skipReason: string | undefined): TestStore {
  return {
    name: "postgres",
    skipReason,
    create: async () => {
      const name = randomDbName();
      const admin = pgAdmin();
      await admin.raw(`create database ${name}`);
      await admin.destroy();
      return {
        config: { kind: "postgres", url: withDatabase(PG_URL, name) },
        drop: async () => {
          const cleanup = pgAdmin();
          await cleanup.raw(`drop database if exists ${name} with (force)`);
          await cleanup.destroy();
        },
      };
    },
  };
}

function mariadbStore(skipReason: string | undefined): TestStore {
  return {
    name: "mariadb",
    skipReason,
    create: async () => {
      const name = randomDbName();
      const admin = mariaAdmin();
      await admin.raw(`create database ${name} character set utf8mb4 collate utf8mb4_bin`);
      await admin.destroy();
      return {
        config: { kind: "mariadb", url: withDatabase(MARIADB_URL, name) },
        drop: async () => {
          const cleanup = mariaAdmin();
          await cleanup.raw(`drop database if exists ${name}`);
          await cleanup.destroy();
        },
      };
    },
  };
}

const pgliteStore: TestStore = {
  name: "pglite",
  skipReason: undefined,
  create: async () => ({ config: { kind: "pglite" }, drop: async () => undefined }),
};

/** Probes the servers once and returns the three stores, warning about any that is skipped. */
export async function testStores(): Promise<readonly TestStore[]> {
  const [pg, maria] = await Promise.all([probe(pgAdmin), probe(mariaAdmin)]);
  if (pg !== undefined) console.warn(`accounts tests: skipping PostgreSQL, ${PG_URL} is not reachable: ${pg}`);
  if (maria !== undefined) console.warn(`accounts tests: skipping MariaDB, ${MARIADB_URL} is not reachable: ${maria}`);
  return [postgresStore(pg), pgliteStore, mariadbStore(maria)];
}
