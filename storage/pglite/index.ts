import type { PGlite } from "@electric-sql/pglite";
import type { Queryable, Row, Storage, StorageConfig } from "../contract.js";
import { wrapError, wrapTransactionError } from "../wrap-error.js";
import { encodeCopyBinary } from "../copy-binary.js";
import { workerStorage } from "./worker-storage.js";

/** Options of the embedded backend. */
export interface PgliteOptions {
  /** Where the database lives on disk; omitted: in memory, gone on close. */
  readonly dataDir?: string;
  /**
   * A data directory dump (from `dumpPglite`) to start from instead of running initdb; tests use
   * it to clone one prepared template in a fraction of the boot time.
   */
  readonly loadDataDir?: Blob;
  /**
   * Runs Postgres in a worker thread (storage/pglite/worker-storage.ts): the caller's JavaScript
   * and the database's work overlap on two cores, which makes a streamed import ~25% faster;
   * every query pays a message hop (tens of µs), so single edits gain nothing. The CLI's
   * `import` uses it. Not with `loadDataDir`.
   */
  readonly worker?: boolean;
}

// Type oids (pg_type), as @electric-sql/pglite's `types` names them; constants here so that the
// driver loads only when a database opens.
const BYTEA = 17;
const INT8 = 20;
const JSONB = 3802;
/**
 * bytea comes back as hex text; PGlite's own parser turns it into bytes one `parseInt` per byte,
 * which was 60% of reading 100,000 versions (a document's export). Node decodes hex natively.
 */
const parsers = { [INT8]: (value: string) => Number(value), [BYTEA]: (value: string) => Buffer.from(value.slice(2), "hex") };

/**
 * jsonb parameters go in binary format (a version byte, then the JSON text as UTF-8): the text
 * format's path measures every string with a JavaScript loop, twice, which was ~0.5 s of a
 * 100,000-row import whose rows travel as one jsonb array per table and statement. PGlite sends
 * any parameter a serializer turns into bytes as binary.
 */
const JSONB_VERSION = Buffer.from([1]);
function jsonbBinary(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return Buffer.concat([JSONB_VERSION, Buffer.from(text, "utf8")]) as unknown as string;
}
const serializers = { [JSONB]: jsonbBinary };
const dumps = new WeakMap<Storage, PGlite>();

/**
 * The embedded default backend: Postgres compiled to WebAssembly, in a data directory or in
 * memory. Nothing to install.
 *
 * @example
 * const engine = await openEngine({ storage: pglite({ dataDir: "./data" }) });
 */
export function pglite(options: PgliteOptions = {}): StorageConfig {
  return {
    kind: "pglite",
    async open() {
      if (options.worker) {
        if (options.loadDataDir !== undefined) throw new Error("pglite({ worker: true }) cannot start from loadDataDir");
        return workerStorage(options.dataDir);
      }
      try {
        const { PGlite } = await import("@electric-sql/pglite");
        const db = await PGlite.create({
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
          ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
          parsers,
          serializers,
        });
        growFilesGeometrically(db);
        const storage = pgliteStorage(db);
        dumps.set(storage, db);
        return storage;
      } catch (error) {
        throw wrapError(error, `open pglite ${options.dataDir ?? "(in memory)"}`);
      }
    },
  };
}

/** The part of Emscripten's in-memory file system that sizes a file's bytes (not in its types). */
interface MemfsSizing {
  expandFileStorage(node: MemfsNode, size: number): void;
  resizeFileStorage(node: MemfsNode, size: number): void;
}
interface MemfsNode {
  contents: Uint8Array | null;
  usedBytes: number;
}

/** Spare capacity a file held in memory gets when it grows past 1 MB (Emscripten's own: 1/8), at most `MAX_SPARE`. */
const GROWTH = 0.5;
/** A 1 GB relation segment keeps at most this much unused memory. */
const MAX_SPARE = 64 * 1024 * 1024;

/**
 * Makes files held in memory (an in-memory database, and the browser's, which lives in memory
 * between syncs) grow like an array list. Postgres 16 extends a relation by up to 64 pages at once
 * with `posix_fallocate`, which Emscripten turns into a truncate that copies the whole file into
 * a buffer of exactly the new size, so a bulk write copied every table and index file it grew,
 * again and again; and a plain write past the end grows a file over 1 MB by 1/8 at a time.
 * Growing now keeps half again as much spare capacity (64 MB at most), so copies cost O(1) per
 * byte written: a 10,000-op catch-up ran 6–7% faster (docs/benchmarks.md, "Sync catch-up"). A
 * shrink keeps the exact copy; files on disk (`dataDir` under Node) are not Emscripten's and are
 * unaffected.
 */
function growFilesGeometrically(db: PGlite): void {
  const memfs = (db.Module as unknown as { MEMFS?: Partial<MemfsSizing> }).MEMFS;
  const exact = memfs?.resizeFileStorage;
  if (!memfs || !exact || !memfs.expandFileStorage) return;
  const expand = (node: MemfsNode, size: number) => {
    const capacity = node.contents?.length ?? 0;
    if (capacity >= size) return;
    const grown = capacity < 1 << 20 ? capacity * 2 : capacity + Math.min(Math.floor(capacity * GROWTH), MAX_SPARE);
    const next = new Uint8Array(Math.max(size, 256, grown));
    if (node.contents) next.set(node.contents.subarray(0, node.usedBytes));
    node.contents = next;
  };
  memfs.expandFileStorage = expand;
  memfs.resizeFileStorage = (node, size) => {
    const used = node.usedBytes;
    if (size <= used) return exact.call(memfs, node, size);
    expand(node, size);
    // Spare capacity holds zeros unless the file was once longer: a grown file reads zeros.
    node.contents!.fill(0, used, size);
    node.usedBytes = size;
  };
}

function queryable(db: Pick<PGlite, "query">): Queryable {
  return {
    async query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      try {
        return (await db.query<R>(sql, params as unknown[])).rows;
      } catch (error) {
        throw wrapError(error, sql);
      }
    },
    async copyRows(table, columns, rows) {
      if (rows.length === 0) return;
      const sql = `copy ${table} (${columns.map((c) => c.name).join(", ")}) from '/dev/blob' with (format binary)`;
      try {
        await db.query(sql, [], { blob: new Blob([encodeCopyBinary(columns, rows)]) });
      } catch (error) {
        throw wrapError(error, sql);
      }
    },
  };
}

function pgliteStorage(db: PGlite): Storage {
  let closed = false;
  return {
    kind: "pglite",
    ...queryable(db),
    async transaction(fn) {
      // What the callback throws passes through as it is (see the Postgres backend); only errors
      // of BEGIN, COMMIT and ROLLBACK themselves are the driver's to wrap.
      let thrown: { error: unknown } | undefined;
      try {
        return await db.transaction(async (tx) => {
          try {
            return await fn(queryable(tx));
          } catch (error) {
            thrown = { error };
            throw error;
          }
        });
      } catch (error) {
        if (thrown && thrown.error === error) throw error;
        throw wrapTransactionError(error);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}

/** Dumps the data directory of a storage opened by `pglite()`, to clone it (`loadDataDir`). */
export async function dumpPglite(storage: Storage): Promise<Blob> {
  const db = dumps.get(storage);
  if (!db) throw new Error("dumpPglite needs a storage opened by pglite()");
  return db.dumpDataDir("none");
}
