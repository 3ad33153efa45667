import { EngineError } from "./errors.js";
import type { Queryable, Storage } from "./contract.js";
import { StorageError } from "./errors.js";
import { SCHEMA_VERSION } from "./schema-version.js";

// Any constant works; it only has to be the same for every engine on one database.
const MIGRATION_LOCK = 7_420_113;

/** A data conversion of a migration (see `Migration.data`), given the migration's transaction. */
export type DataStep = (tx: Queryable, progress: (message: string) => void) => Promise<void>;

/** Options of `migrate`. */
export interface MigrateOptions {
  /** The data conversions migrations name, by name (the engine passes its own). */
  readonly data?: Readonly<Record<string, DataStep>>;
  /** Stop at this version instead of the newest (tests of an upgrade). */
  readonly to?: number;
  /** Told what a long migration is doing. */
  readonly onProgress?: (message: string) => void;
}

/**
 * Brings the schema to `latestVersion`, one transaction per migration, under an advisory lock so
 * engines opening the same database at once do not race. A database newer than the code is
 * refused with `SCHEMA_TOO_NEW` before anything is touched.
 */
export async function migrate(storage: Storage, options: MigrateOptions = {}): Promise<{ from: number; to: number }> {
  const latestVersion = SCHEMA_VERSION;
  const target = options.to ?? latestVersion;
  // Every open of an up-to-date database takes this path: one read, no lock, no DDL. A database
  // being migrated by another engine reads as older and takes the locked path below.
  const current = await schemaVersionOf(storage);
  if (current !== undefined && current >= target && current <= latestVersion) return { from: current, to: current };
  const { migrations } = await import("./migrations.js");
  const progress = options.onProgress ?? (() => {});
  return storage.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query("create table if not exists meta (key text primary key, value text not null)");
    const rows = await tx.query<{ value: string }>("select value from meta where key = 'schema_version'");
    const from = rows[0] ? Number(rows[0].value) : 0;
    if (from > latestVersion) {
      throw new EngineError(
        "SCHEMA_TOO_NEW",
        `database schema version ${from} is newer than this code's ${latestVersion}; upgrade logbook-engine`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= from || migration.version > target) continue;
      if (from > 0) progress(`migrating the schema to version ${migration.version}: ${migration.name}`);
      for (const statement of migration.statements()) await tx.query(statement);
      if (migration.data !== undefined) {
        const step = options.data?.[migration.data];
        if (!step) throw new Error(`migration ${migration.version} needs the data step ${migration.data}, which the caller did not pass`);
        await step(tx, progress);
      }
      for (const statement of migration.finally?.() ?? []) await tx.query(statement);
    }
    if (from < target) {
      await tx.query(
        "insert into meta (key, value) values ('schema_version', $1) on conflict (key) do update set value = excluded.value",
        [String(target)],
      );
    }
    return { from, to: Math.max(from, target) };
  });
}

/** The schema version a database is at; undefined before the first migration made `meta`. */
async function schemaVersionOf(storage: Storage): Promise<number | undefined> {
  try {
    const rows = await storage.query<{ value: string }>("select value from meta where key = 'schema_version'");
    return rows[0] ? Number(rows[0].value) : undefined;
  } catch (error) {
    if (error instanceof StorageError && error.sqlstate === "42P01") return undefined; // undefined_table
    throw error;
  }
}
