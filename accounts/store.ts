/**
 * Opening the knex connection the accounts tables live in: PostgreSQL (via `pg`), PGlite
 * (embedded Postgres, via `knex-pglite`) or MariaDB/MySQL (via `mysql2`).
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import knex from "knex";
import type { Knex } from "knex";
import ClientPgLite from "knex-pglite";
import { AccountsError } from "./errors.js";

/** Where the accounts tables live. */
export type StoreConfig =
  /** A PostgreSQL server, e.g. `postgres://postgres@127.0.0.1:5432/app`. */
  | { readonly kind: "postgres"; readonly url: string }
  /** Embedded PGlite; in memory unless `dataDir` is given (created, with its parents, when missing). */
  | { readonly kind: "pglite"; readonly dataDir?: string }
  /** A MariaDB/MySQL server, e.g. `mysql://root@127.0.0.1:3306/app`. */
  | { readonly kind: "mariadb"; readonly url: string };

/** The SQL family of a knex instance, which decides the few dialect differences. */
export type Dialect = "postgres" | "mysql";

/** Opens a knex instance for a {@link StoreConfig}. The caller owns it (`destroy()`). */
export function openStore(config: StoreConfig): Knex {
  switch (config.kind) {
    case "postgres":
      return knex({ client: "pg", connection: config.url, pool: { min: 0, max: 10 } });
    case "pglite":
      // PGlite creates its data directory but not the ones above it.
      if (config.dataDir !== undefined && !config.dataDir.includes("://")) mkdirSync(dirname(resolve(config.dataDir)), { recursive: true });
      return knex({
        client: ClientPgLite,
        dialect: "postgres",
        connection: config.dataDir === undefined ? {} : { filename: config.dataDir },
      });
    case "mariadb":
      return knex({
        client: "mysql2",
        connection: { uri: config.url, charset: "utf8mb4", timezone: "Z" } as Knex.MySql2ConnectionConfig,
        pool: { min: 0, max: 10 },
      });
  }
}

/** Parses a store description such as `pglite`, `pglite:./data`, `postgres://…` or `mysql://…`. */
export function parseStoreUrl(text: string): StoreConfig {
  if (text === "pglite" || text === "pglite:" || text === "pglite:memory") return { kind: "pglite" };
  if (text.startsWith("pglite:")) return { kind: "pglite", dataDir: text.slice("pglite:".length) };
  if (/^postgres(ql)?:\/\//.test(text)) return { kind: "postgres", url: text };
  if (/^(mysql|mariadb):\/\//.test(text)) return { kind: "mariadb", url: text.replace(/^mariadb:/, "mysql:") };
  throw new AccountsError("INVALID_ARGUMENT", `store ${JSON.stringify(text)} is not pglite[:dir], postgres://… or mysql://…`);
}

/** The SQL family knex speaks on this instance. */
export function dialectOf(db: Knex): Dialect {
  const client = db.client as { dialect?: string; config?: { client?: unknown; dialect?: string } };
  const name = String(client.dialect ?? client.config?.dialect ?? client.config?.client ?? "");
  return /mysql|maria/i.test(name) ? "mysql" : "postgres";
}

/** True if a driver error is a unique-constraint violation (Postgres 23505, MySQL 1062). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown } | null;
  return e !== null && typeof e === "object" && (e.code === "23505" || e.code === "ER_DUP_ENTRY" || e.errno === 1062);
}

/** Runs a database step, wrapping driver failures in `AccountsError("STORAGE")`. */
export async function guarded<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof AccountsError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new AccountsError("STORAGE", `accounts store failed while ${what}: ${detail}`, { cause: error });
  }
}
