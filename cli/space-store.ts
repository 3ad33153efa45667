import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** A document the CLI created or imported, remembered for `logbook docs`. */
export interface KnownDocument {
  readonly oid: string;
  readonly title: string;
  readonly at: string;
}

/** What the CLI remembers about one database: its space and the documents it made there. */
export interface SpaceRecord {
  spaceId?: string;
  documents: KnownDocument[];
}

/**
 * Where the CLI keeps its default space. The engine's public API has no "list spaces", so the
 * id is remembered outside the database: for PGlite in `DIR/logbook-cli.json` next to the data,
 * for a Postgres server in `$XDG_CONFIG_HOME/logbook/postgres.json` (default `~/.config`), keyed
 * by the connection URL without its password. `--space ID` overrides both.
 */
export interface SpaceStore {
  readonly where: string;
  load(): Promise<SpaceRecord>;
  save(record: SpaceRecord): Promise<void>;
}

/** A JSON file's value, or `fallback` when there is no file. */
export async function readJson<T>(path: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return fallback;
    throw error;
  }
}

/**
 * Writes a JSON file atomically (a crash never leaves half a file). `mode`: its permissions, set
 * on a temporary file that must not exist yet (a file or link planted there is an error, never
 * written through), e.g. 0o600 for a secret.
 */
export async function writeJson(path: string, value: unknown, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(value, null, 2) + "\n", mode === undefined ? {} : { mode, flag: "wx" });
  if (mode !== undefined) await chmod(temp, mode); // whatever the umask took away
  await rename(temp, path);
}

/** The store of a PGlite data directory. */
export function fileStore(dataDir: string): SpaceStore {
  const path = join(dataDir, "logbook-cli.json");
  return {
    where: path,
    load: () => readJson<SpaceRecord>(path, { documents: [] }),
    save: (record) => writeJson(path, record),
  };
}

/** The URL a server is remembered by: no password. */
export function serverKey(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
}

/** The store for a Postgres server, in the user's config directory. */
export function serverStore(url: string, env: NodeJS.ProcessEnv): SpaceStore {
  const path = join(env["XDG_CONFIG_HOME"] || join(homedir(), ".config"), "logbook", "postgres.json");
  const key = serverKey(url);
  return {
    where: `${path} (${key})`,
    async load() {
      const all = await readJson<Record<string, SpaceRecord>>(path, {});
      return all[key] ?? { documents: [] };
    },
    async save(record) {
      const all = await readJson<Record<string, SpaceRecord>>(path, {});
      all[key] = record;
      await writeJson(path, all);
    },
  };
}
