/**
 * The `logbook` CLI as a process (spawned; stdout, stderr and exit code asserted) on PGlite and on
 * a throwaway Postgres database (skipped with the printed reason when no server answers). Also:
 * 50 MB single lines refused; diff and history explained, fold/unfold, JSON usage errors and the
 * import summary on one backend.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, logbook, type Run } from "./helpers/cli-process.js";
import { postgresUnavailable, throwawayDatabase } from "./helpers/backends.js";
import { cliSuite } from "./helpers/cli-suite.js";

const FIXTURES = join(import.meta.dirname, "fixtures");

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

/**
 * What diff and history say about each change, fold and unfold, JSON usage errors and the import
 * summary: on Postgres when it answers (a process starts fast there), else on PGlite.
 */
describe(`logbook CLI: changes explained, folds, usage errors, import summary (${noPostgres ? "pglite" : "postgres"})`, () => {
  let dir: string;
  let args: string[];
  let drop = async () => {};
  let env: Record<string, string>;
  const run = (...rest: string[]): Promise<Run> => logbook([...args, ...rest], env, dir);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "logbook-explain-"));
    env = { XDG_CONFIG_HOME: join(dir, "config") };
    if (noPostgres) args = ["--data", join(dir, "data")];
    else {
      const db = await throwawayDatabase();
      args = ["--pg", db.url];
      drop = db.drop;
    }
  });
  afterAll(async () => {
    await drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers usage errors as JSON on stderr with --json, with the same exit code", async () => {
    const unknown = await logbook(["--json", "frobnicate"], env, dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("");
    expect(JSON.parse(unknown.stderr)).toEqual({ error: { code: "UNKNOWN_COMMAND", message: "unknown command 'frobnicate'" } });
    const bad = await logbook(["--json", "view", "x", "--limit", "many"], env, dir);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: "INVALID_ARGUMENT", message: expect.stringMatching(/--limit must be a positive integer, got "many"/) } });
    const none = await logbook(["--json"], env, dir);
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stderr)).toMatchObject({ error: { code: "MISSING_COMMAND" } });
    const text = await logbook(["frobnicate"], env, dir);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^logbook: unknown command 'frobnicate'\n\(run with --help for usage\)\n$/);
  });

  let doc: string;
  it("prints the import's wall time with its parts, and hints with npx", async () => {
    const text = await run("import", join(FIXTURES, "opml-spec-states.opml"));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/: 24 rows in \d+\.\d\d s\n  start \d+\.\d\d s · open \d+\.\d\d s · read and write \d+\.\d\d s \([\d,]+ rows\/s\) · close \d+\.\d\d s\n/);
    expect(text.stdout).toMatch(/next: npx logbook tree \S+ --depth 2 {3}· {3}npx logbook view /);
    const imported = json<{ oid: string; seconds: number; wallSeconds: number; timings: Record<string, number> }>(await run("--json", "import", join(FIXTURES, "opml-spec-states.opml")));
    doc = imported.oid;
    const { startSeconds, openSeconds, importSeconds, closeSeconds } = imported.timings as { startSeconds: number; openSeconds: number; importSeconds: number; closeSeconds: number };
    expect(importSeconds).toBe(imported.seconds);
    for (const part of [startSeconds, openSeconds, importSeconds, closeSeconds]) expect(part).toBeGreaterThan(0);
    // The user waited for all of it: process start, opening, the import and closing.
    expect(imported.wallSeconds).toBeGreaterThanOrEqual(startSeconds + openSeconds + importSeconds + closeSeconds);
  });

  it("folds and unfolds a row for a user; view --user applies it; an unknown oid is exit 1", async () => {
    const farWest = json<{ rows: { oid: string; content: string }[] }>(await run("--json", "view", doc, "--offset", "1", "--limit", "1")).rows[0]!;
    expect(farWest.content).toBe("Far West");
    const folded = await run("fold", farWest.oid, "--user", "ana");
    expect(folded.code, folded.stderr).toBe(0);
    expect(folded.stdout).toBe(`folded "Far West" for ana: its 6 children are hidden in \`view --user ana\`\n`);
    const view = json<{ total: number; rows: { content: string; folded: boolean }[] }>(await run("--json", "view", doc, "--user", "ana", "--limit", "3"));
    expect(view.total).toBe(24 - 10);
    expect(view.rows.map((r) => [r.content, r.folded])).toEqual([["United States", false], ["Far West", true], ["Great Plains", false]]);
    expect(json<{ total: number }>(await run("--json", "view", doc, "--user", "bo")).total).toBe(24);
    expect(json(await run("--json", "unfold", farWest.oid, "--user", "ana"))).toMatchObject({ oid: farWest.oid, user: "ana", folded: false });
    expect(json<{ total: number }>(await run("--json", "view", doc, "--user", "ana")).total).toBe(24);
    const unknown = await run("--json", "fold", "00000000-0000-7000-8000-000000000000", "--user", "ana");
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ error: { code: "NOT_FOUND" } });
    const malformed = await run("fold", "nope", "--user", "ana");
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^logbook: oid must be a UUID/);
  });

  it("shares a row's subtree: the role in force, inherited below, and the entries' history; a bad role is exit 1", async () => {
    const plan = json<{ oid: string }>(await run("--json", "create", "Shared plan")).oid;
    const step = json<{ oid: string }>(await run("--json", "create", "Step", "--parent", plan)).oid;
    const shared = await run("share", plan, "bo", "collaborator");
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stdout).toBe(`bo on "Shared plan": collaborator\n`);
    expect(json(await run("--json", "collaborators", step))).toEqual([{ user: "bo", role: "collaborator", oid: plan }]);
    expect((await run("collaborators", step)).stdout).toBe(`bo  collaborator  (from ${plan})\n`);
    await run("share", step, "bo", "viewer");
    await run("share", step, "bo", "remove");
    const changes = json<{ user: string; role: string | null }[]>(await run("--json", "collaborators", step, "--history"));
    expect(changes.map((c) => [c.user, c.role])).toEqual([["bo", null], ["bo", "viewer"]]);
    const bad = await run("--json", "share", plan, "bo", "owner");
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: "INVALID_ARGUMENT" } });
  });

  it("shows each change's text and which fields changed, in diff and history", async () => {
    const vidOf = async (oid: string) => json<{ versions: { vid: string }[] }>(await run("--json", "versions", oid)).versions[0]!.vid;
    const plan = json<{ oid: string }>(await run("--json", "create", "Plan")).oid;
    const a = json<{ oid: string }>(await run("--json", "create", "Buy milk", "--parent", plan, "--undone", "--prop", "priority=2", "--note", "n")).oid;
    const b = json<{ oid: string }>(await run("--json", "create", "Call Bo", "--parent", plan)).oid;
    const before = await vidOf(plan);
    await run("update", a, "--content", "Buy oat milk", "--done", "--prop", "shop=corner");
    await run("move", b, "--parent", plan, "--index", "0");
    const c = json<{ oid: string }>(await run("--json", "create", "Sub", "--parent", a)).oid;
    await run("move", c, "--parent", b);
    const after = await vidOf(plan);

    const diff = json<Record<string, unknown>[]>(await run("--json", "diff", plan, "--", before, after));
    expect(diff).toContainEqual(expect.objectContaining({ kind: "updated", oid: a, textBefore: "Buy milk", textAfter: "Buy oat milk", changed: ["content", "props.done", "props.shop"], propKeys: { added: ["shop"], changed: ["done"], removed: [] } }));
    expect(diff).toContainEqual(expect.objectContaining({ kind: "reordered", oid: b, textAfter: "Call Bo", changed: ["index"], indexBefore: 1, indexAfter: 0, parentTextAfter: "Plan" }));
    expect(diff).toContainEqual(expect.objectContaining({ kind: "created", oid: c, textAfter: "Sub", changed: [], parentAfter: b, parentTextAfter: "Call Bo" }));
    const text = (await run("diff", plan, "--", before, after)).stdout;
    expect(text).toContain(`updated    ${a}  "Buy oat milk"  content (was "Buy milk"), props.shop added, props.done changed\n`);
    expect(text).toContain(`reordered  ${b}  "Call Bo" under "Plan" #1 → #0\n`);
    expect(text).toContain(`created    ${c}  "Sub" under "Call Bo" #0\n`);

    const history = json<{ ops: Record<string, unknown>[] }>(await run("--json", "history", plan)).ops;
    expect(history.map((op) => op.kind)).toEqual(["move", "create", "move", "update", "create", "create", "createDocument"]);
    expect(history[0]).toMatchObject({ oid: c, textBefore: "Sub", textAfter: "Sub", changed: ["parent"], parentBefore: a, parentAfter: b, parentTextBefore: "Buy oat milk", parentTextAfter: "Call Bo", indexAfter: 0 });
    expect(history[2]).toMatchObject({ oid: b, changed: ["index"], indexAfter: 0 });
    expect(history[3]).toMatchObject({ oid: a, textBefore: "Buy milk", textAfter: "Buy oat milk", changed: ["content", "props.done", "props.shop"] });
    const lines = (await run("history", plan)).stdout.split("\n");
    expect(lines[0]).toMatch(new RegExp(`move +${c}  "Sub" from "Buy oat milk" → "Call Bo" #0  `));
    expect(lines[3]).toMatch(new RegExp(`update +${a}  "Buy oat milk"  content \\(was "Buy milk"\\), props\\.shop added, props\\.done changed  `));
    expect(lines[6]).toMatch(new RegExp(`createDocument ${plan}  "Plan"  `));
  });
});
