/** Anything that runs SQL and returns rows (the engine's Storage, or a pg client wrapper). */
export interface Sql {
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** Row count and logical bytes (sum of `pg_column_size` of every row) per table. */
export async function tableStats(sql: Sql, tables: readonly string[]): Promise<Map<string, { rows: number; bytes: number }>> {
  const out = new Map<string, { rows: number; bytes: number }>();
  for (const t of tables) {
    const [r] = await sql.query<{ n: string | number; b: string | number | null }>(
      `select count(*)::int8 as n, sum(pg_column_size(t.*))::int8 as b from ${t} t`,
    );
    out.set(t, { rows: Number(r!.n), bytes: Number(r!.b ?? 0) });
  }
  return out;
}

/** Bytes on disk of tables with their indexes and TOAST (`pg_total_relation_size`). */
export async function diskBytes(sql: Sql, tables: readonly string[]): Promise<number> {
  let total = 0;
  for (const t of tables) {
    const [r] = await sql.query<{ b: string | number }>(`select pg_total_relation_size('${t}')::int8 as b`);
    total += Number(r!.b);
  }
  return total;
}

/** Rows and bytes inserted into `tables` by `fn` (append-only tables). */
export async function inserted(sql: Sql, tables: readonly string[], fn: () => Promise<void>): Promise<{ rows: number; bytes: number; perTable: Record<string, number> }> {
  const before = await tableStats(sql, tables);
  await fn();
  const after = await tableStats(sql, tables);
  let rows = 0;
  let bytes = 0;
  const perTable: Record<string, number> = {};
  for (const t of tables) {
    const d = { rows: after.get(t)!.rows - before.get(t)!.rows, bytes: after.get(t)!.bytes - before.get(t)!.bytes };
    rows += d.rows;
    bytes += d.bytes;
    perTable[t] = d.rows;
  }
  return { rows, bytes, perTable };
}
