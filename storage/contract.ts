/**
 * The storage contract: the whole surface the engine needs from a database. Backends
 * (`storage/pglite`, `storage/postgres`) implement it; driver types never pass it.
 *
 * SQL is Postgres dialect with `$1` placeholders. int8 columns come back as JS `number`
 * (ids and counters stay far below 2^53), jsonb as parsed values.
 */

import type { CopyColumn } from "./copy-binary.js";

export type { CopyColumn, CopyType } from "./copy-binary.js";

/** One result row: column name to value. */
export type Row = Record<string, unknown>;

/** Something that runs SQL: the storage itself or an open transaction. */
export interface Queryable {
  /** Runs one statement and returns its rows. Errors are `StorageError`s. */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /**
   * Bulk-inserts plain rows into one table in PostgreSQL's binary COPY format (storage/copy-binary.ts),
   * where the backend does it faster than an INSERT; absent otherwise (then callers insert).
   */
  copyRows?(table: string, columns: readonly CopyColumn[], rows: readonly (readonly unknown[])[]): Promise<void>;
}

/** An open database, owned by one engine. */
export interface Storage extends Queryable {
  /** Which backend this is, for messages and benchmarks. */
  readonly kind: "pglite" | "postgres";
  /**
   * Runs `fn` in one transaction (READ COMMITTED): committed if it resolves, rolled back if it
   * throws. Statements inside must go through the `tx` it is given.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * A read of one moment that writers do not wait for (Postgres: a pooled connection in a
   * `REPEATABLE READ READ ONLY` transaction: every statement sees the state of its first one).
   * The caller must `release()` it. Absent where the backend has one connection (PGlite): a long
   * read there keeps writers away instead.
   */
  readSnapshot?(): Promise<PinnedRead>;
  /** Releases connections, files and workers. Idempotent. */
  close(): Promise<void>;
}

/** A read pinned to one moment (`Storage.readSnapshot`); `release` ends it and frees its connection. */
export interface PinnedRead extends Queryable {
  release(): Promise<void>;
}

/** A backend as passed to `openEngine`: plain data plus how to open it. */
export interface StorageConfig {
  readonly kind: "pglite" | "postgres";
  /** Opens the database (no schema work; the engine migrates after opening). */
  open(): Promise<Storage>;
}
