/**
 * The `logbook` CLI as a process (spawned; stdout, stderr and exit code asserted) on PGlite and on
 * a throwaway Postgres database (skipped with the printed reason when no server answers). Also:
 * 50 MB single lines refused.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logbook } from "./helpers/cli-process.js";
import { postgresUnavailable } from "./helpers/backends.js";
import { cliSuite } from "./helpers/cli-suite.js";

const noPostgres = await postgresUnavailable();
if (noPostgres) console.warn(`[logbook tests] skipping the CLI on postgres: ${noPostgres}`);
for (const name of noPostgres ? (["pglite"] as const) : (["pglite", "postgres"] as const)) cliSuite(name);

describe("a 50 MB single line", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "logbook-long-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ["long.md", (big: string) => `- ${big}\n`, /long\.md:1: the line is longer than 1,048,576 characters/],
    ["long.opml", (big: string) => `<opml version="2.0"><body><outline text="${big}"/></body></opml>`, /long\.opml:1: a tag longer than 4,194,304 characters/],
  ])("%s is refused without reading it whole", async (file, content, message) => {
    const path = join(dir, file);
    await writeFile(path, content("x".repeat(50 * 1024 * 1024)));
    const result = await logbook(["--data", join(dir, "data"), "import", path], {}, dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});
