import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { openEngine, pglite, postgres, type Engine } from "../index.js";
import { CliError } from "./errors.js";
import { colorsFor, type Io } from "./io.js";
import { fileStore, serverStore, type KnownDocument, type SpaceStore } from "./space-store.js";

/** The options every command takes. */
export interface GlobalOptions {
  readonly data?: string;
  readonly pg?: string;
  readonly space?: string;
  readonly json?: boolean;
}

/** What a command works with. */
export interface Context {
  readonly engine: Engine;
  readonly spaceId: string;
  readonly io: Io;
  readonly json: boolean;
  readonly colors: ReturnType<typeof colorsFor>;
  readonly store: SpaceStore;
  /** Remembers a document for `logbook docs`. */
  remember(doc: KnownDocument): Promise<void>;
  /** When opening the database began (`performance.now()`, ms since the process started) and how long it took with the space. */
  readonly opened: { readonly at: number; readonly ms: number };
}

/** The default data directory: `$LOGBOOK_DATA`, else `.logbook` in the working directory. */
export function dataDirOf(options: GlobalOptions, env: NodeJS.ProcessEnv): string {
  return resolve(options.data ?? env["LOGBOOK_DATA"] ?? ".logbook");
}

function backendOf(options: GlobalOptions, env: NodeJS.ProcessEnv): { url: string } | { dir: string } {
  if (options.pg !== undefined && options.data !== undefined) throw new CliError("INVALID_ARGUMENT", "--data and --pg name two databases: give one");
  const url = options.pg ?? env["LOGBOOK_PG"];
  if (url !== undefined && options.data === undefined) return { url };
  return { dir: dataDirOf(options, env) };
}

/**
 * Opens the engine the options name (PGlite data dir by default, `--pg URL` for Postgres).
 * `bulk`: PGlite runs in a worker thread, so a long import's parsing and writing overlap.
 */
export async function openStore(options: GlobalOptions, env: NodeJS.ProcessEnv, bulk = false): Promise<{ engine: Engine; store: SpaceStore }> {
  const backend = backendOf(options, env);
  if ("url" in backend) {
    return { engine: await openEngine({ storage: postgres({ connectionString: backend.url }) }), store: serverStore(backend.url, env) };
  }
  await mkdir(backend.dir, { recursive: true });
  return { engine: await openEngine({ storage: pglite({ dataDir: join(backend.dir, "pglite"), worker: bulk }) }), store: fileStore(backend.dir) };
}

/**
 * Runs `fn` with an open engine and the default space, closing the engine after. `space`:
 * "existing" fails (exit 1) when there is none yet; "create" makes and remembers one. `bulk`: see
 * `openStore`.
 */
export async function withContext<T>(options: GlobalOptions, io: Io, space: "existing" | "create", fn: (ctx: Context) => Promise<T>, bulk = false): Promise<T> {
  const at = performance.now();
  const { engine, store } = await openStore(options, io.env, bulk);
  try {
    const record = await store.load();
    let spaceId = options.space ?? record.spaceId;
    if (spaceId === undefined) {
      if (space === "existing") throw new CliError("NO_SPACE", `no logbook space in ${store.where} yet: run \`logbook init\` or \`logbook import FILE\` first`);
      spaceId = (await engine.createSpace()).spaceId;
      record.spaceId = spaceId;
      await store.save(record);
    }
    const remember = async (doc: KnownDocument) => {
      const now = await store.load();
      if (now.spaceId === spaceId) await store.save({ ...now, documents: [...now.documents.filter((d) => d.oid !== doc.oid), doc] });
    };
    const opened = { at, ms: performance.now() - at };
    return await fn({ engine, spaceId, io, json: options.json === true, colors: colorsFor(io), store, remember, opened });
  } finally {
    await engine.close();
  }
}
