/**
 * The storage contract on each backend, below the engine: bulk copies into tables that grow,
 * shrink and grow again (an in-memory PGlite keeps its files in Emscripten's memory file system,
 * whose growth storage/pglite tunes).
 */
import { describe, expect, it } from "vitest";
import type { CopyColumn, Storage } from "../storage/contract.js";
import { serverStorage, usableBackends } from "./helpers/backends.js";

const columns: CopyColumn[] = [
  { name: "n", type: "int8" },
  { name: "pad", type: "bytea" },
];

/** Rows `from` .. `to` - 1, each with 300 bytes that spell its number. */
function rows(from: number, to: number): unknown[][] {
  const out: unknown[][] = [];
  for (let n = from; n < to; n++) out.push([n, Buffer.from(String(n).padStart(8, "0").repeat(38).slice(0, 300))]);
  return out;
}

/** Bulk-inserts rows: by binary COPY where the backend has it (PGlite), else one INSERT over arrays. */
async function bulk(storage: Storage, batch: unknown[][]): Promise<void> {
  if (storage.copyRows) return storage.copyRows("grow_probe", columns, batch);
  await storage.query("insert into grow_probe select * from unnest($1::int8[], $2::bytea[])", [batch.map((r) => r[0]), batch.map((r) => r[1])]);
}

describe.each(await usableBackends())("storage on $name", (backend) => {
  it("keeps every row of bulk copies while a table grows, shrinks and grows again", async () => {
    const { storage, release } = await serverStorage(backend.name);
    try {
      await storage.query("create table grow_probe (n int8 primary key, pad bytea not null)");
      // Each copy extends the table by many pages at once (Postgres's bulk extension).
      for (let i = 0; i < 4; i++) await bulk(storage, rows(i * 10_000, (i + 1) * 10_000));
      const size = async () => (await storage.query<{ n: number }>("select pg_relation_size('grow_probe') as n"))[0]!.n;
      const grown = await size();
      // Vacuum cuts the emptied tail off the file; the next copies grow it again.
      await storage.query("delete from grow_probe where n >= 5000");
      await storage.query("vacuum grow_probe");
      expect(await size()).toBeLessThan(grown / 4);
      for (let i = 0; i < 3; i++) await bulk(storage, rows(50_000 + i * 10_000, 50_000 + (i + 1) * 10_000));
      const [summary] = await storage.query<{ count: number; sum: number; wrong: number }>(
        `select count(*)::int8 as count, sum(n)::int8 as sum,
                count(*) filter (where pad <> substring(repeat(lpad(n::text, 8, '0'), 38) from 1 for 300)::bytea)::int8 as wrong
           from grow_probe`,
      );
      const expected = [...rows(0, 5_000), ...rows(50_000, 80_000)].map((r) => r[0] as number);
      expect(summary).toEqual({ count: expected.length, sum: expected.reduce((a, b) => a + b, 0), wrong: 0 });
      expect(await size()).toBeGreaterThan(grown / 2);
    } finally {
      await release();
    }
  });
});
