import type { Storage } from "../../storage/contract.js";

/** The tables that hold a space, in an order that satisfies every reference. */
export const SPACE_TABLES = ["space", "version", "chunk", "op", "document", "version_alias"] as const;

/** Every row of a space, per table, as JSON text (what `restoreSpace` loads). */
export type SpaceRows = Record<string, string>;

/** Reads every row of a space (one statement per table). */
export async function dumpSpace(storage: Storage, spaceId: string): Promise<SpaceRows> {
  // Records name devices by per-database numbers: the copy takes the numbering along.
  const [d] = await storage.query<{ rows: string }>("select coalesce(jsonb_agg(to_jsonb(t)), '[]')::text as rows from device t");
  const out: SpaceRows = { device: d!.rows };
  for (const t of SPACE_TABLES) {
    const [r] = await storage.query<{ rows: string }>(`select coalesce(jsonb_agg(to_jsonb(t)), '[]')::text as rows from ${t} t where space_id = $1`, [spaceId]);
    out[t] = r!.rows;
  }
  return out;
}

/**
 * Loads a dumped space into another database: the state of a device that had synced everything up
 * to the dump. Triggers are off while loading (the rows already hold what they would log).
 */
export async function restoreSpace(storage: Storage, rows: SpaceRows): Promise<void> {
  // Parsed up front, so a timed restore measures the database's work, in statements of the size
  // the engine's own bulk writes use (one giant jsonb document is much slower per row).
  const parsed = SPACE_TABLES.map((t) => [t, (JSON.parse(rows[t]!) as unknown[])] as const);
  await storage.transaction(async (tx) => {
    await tx.query("set local session_replication_role = replica");
    await tx.query("delete from device");
    await tx.query("insert into device (no, id) overriding system value select no, id from jsonb_populate_recordset(null::device, $1::jsonb)", [rows["device"]!]);
    await tx.query("select setval(pg_get_serial_sequence('device', 'no'), (select max(no) from device))");
    for (const [t, list] of parsed) {
      for (let i = 0; i < list.length; i += RESTORE_ROWS) {
        await tx.query(`insert into ${t} select * from jsonb_populate_recordset(null::${t}, $1::jsonb)`, [JSON.stringify(list.slice(i, i + RESTORE_ROWS))]);
      }
    }
  });
}

/** Rows per statement of `restoreSpace`. */
const RESTORE_ROWS = 2000;
