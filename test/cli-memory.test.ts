/**
 * Peak memory of `logbook import` (the process' own max RSS, reported by `--json`): a
 * 100,000-row OPML file on PGlite stays under a fixed bound and within a fixed margin of a
 * 10,000-row import (flat in file size: streaming parse, batched writes); a 20,000-row import on
 * Postgres, which has no embedded database in the process, stays far lower.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticOpml } from "../interchange/synthetic.js";
import { postgresUnavailable, throwawayDatabase } from "./helpers/backends.js";
import { json, logbook } from "./helpers/cli-process.js";

const MB = 1024 * 1024;
/** PGlite alone is ~900 MB of RSS after boot (WebAssembly memory); the import may add little. */
const PGLITE_BOUND = 1536 * MB;
const GROWTH_BOUND = 400 * MB;
const POSTGRES_BOUND = 512 * MB;

interface Imported {
  nodes: number;
  peakRssBytes: number;
  seconds: number;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "logbook-memory-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function opml(rows: number): Promise<string> {
  const path = join(dir, `${rows}.opml`);
  await pipeline(Readable.from(syntheticOpml(rows)), createWriteStream(path));
  return path;
}

describe("import memory", () => {
  it("100,000 rows on PGlite: peak RSS bounded and flat against 10,000", async () => {
    const small = json<Imported>(await logbook(["--data", join(dir, "small"), "--json", "import", await opml(10_000)], {}, dir));
    const big = json<Imported>(await logbook(["--data", join(dir, "big"), "--json", "import", await opml(100_000)], {}, dir));
    console.info(`[import memory] pglite 10k: ${(small.peakRssBytes / MB).toFixed(0)} MB, 100k: ${(big.peakRssBytes / MB).toFixed(0)} MB in ${big.seconds.toFixed(1)} s`);
    expect(big.nodes).toBe(100_000);
    expect(big.peakRssBytes).toBeLessThan(PGLITE_BOUND);
    expect(big.peakRssBytes - small.peakRssBytes).toBeLessThan(GROWTH_BOUND);
  });

  it("20,000 rows on Postgres: peak RSS bounded", async (context) => {
    const skip = await postgresUnavailable();
    if (skip) return context.skip(skip);
    const db = await throwawayDatabase();
    try {
      const env = { XDG_CONFIG_HOME: join(dir, "config") };
      const run = json<Imported>(await logbook(["--pg", db.url, "--json", "import", await opml(20_000)], env, dir));
      console.info(`[import memory] postgres 20k: ${(run.peakRssBytes / MB).toFixed(0)} MB in ${run.seconds.toFixed(1)} s`);
      expect(run.nodes).toBe(20_000);
      expect(run.peakRssBytes).toBeLessThan(POSTGRES_BOUND);
    } finally {
      await db.drop();
    }
  });
});
