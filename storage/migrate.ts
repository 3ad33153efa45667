import { EngineError } from "../engine/errors.js";
import type { Storage } from "./contract.js";
import { latestVersion, migrations } from "./migrations.js";

// Any constant works; it only has to be the same for every engine on one database.
const MIGRATION_LOCK = 7_420_113;

/**
 * Brings the schema to `latestVersion`, one transaction per migration, under an advisory lock so
 * engines opening the same database at once do not race. A database newer than the code is
 * refused with `SCHEMA_TOO_NEW` before anything is touched.
 */
export async function migrate(storage: Storage): Promise<{ from: number; to: number }> {
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
      if (migration.version <= from) continue;
      for (const statement of migration.statements()) await tx.query(statement);
    }
    if (from < latestVersion) {
      await tx.query(
        "insert into meta (key, value) values ('schema_version', $1) on conflict (key) do update set value = excluded.value",
        [String(latestVersion)],
      );
    }
    return { from, to: Math.max(from, latestVersion) };
  });
}
