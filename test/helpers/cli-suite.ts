/**
 * The suite test/cli.test.ts runs on each backend: the `logbook` CLI as a process (spawned; stdout, stderr and exit code asserted) on PGlite (a
 * data directory) and on Postgres (a throwaway database): import, browse, edit, version, export,
 * round trips through the engine, bad input (exit 1, nothing written), storage errors (exit 2).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEngine, pglite, postgres } from "../../index.js";
import { json, logbook, type Run } from "./cli-process.js";
import { throwawayDatabase } from "./backends.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

interface Target {
  readonly name: "pglite" | "postgres";
  /** Global options selecting the database. */
  args: string[];
  /** Objective rows stored, to prove that nothing was written. */
  rows: () => Promise<number>;
  release: () => Promise<void>;
}

async function pgliteTarget(dir: string): Promise<Target> {
  const data = join(dir, "data");
  return {
    name: "pglite",
    args: ["--data", data],
    async rows() {
      const engine = await openEngine({ storage: pglite({ dataDir: join(data, "pglite") }) });
      await engine.close();
      const { PGlite } = await import("@electric-sql/pglite");
      const db = await PGlite.create({ dataDir: join(data, "pglite") });
      const n = (await db.query<{ n: number }>("select count(*)::int as n from version")).rows[0]!.n;
      await db.close();
      return n;
    },
    release: async () => {},
  };
}

async function postgresTarget(): Promise<Target> {
  const db = await throwawayDatabase();
  return {
    name: "postgres",
    args: ["--pg", db.url],
    async rows() {
      const storage = await postgres({ connectionString: db.url, max: 1 }).open();
      try {
        return Number((await storage.query<{ n: number }>("select count(*) as n from version"))[0]!.n);
      } finally {
        await storage.close();
      }
    },
    release: db.drop,
  };
}


interface TreeJson {
  content: string;
  props: Record<string, unknown>;
  children: TreeJson[];
}

/** Content, props and order only (no ids), to compare two imports. */
function shape(node: TreeJson): unknown {
  return { content: node.content, props: node.props, children: node.children.map(shape) };
}

/** Registers the CLI suite for one backend. */
export function cliSuite(name: "pglite" | "postgres"): void {
  describe(`logbook CLI on ${name}`, () => {
    let dir: string;
    let t: Target;
    let env: Record<string, string>;
    const run = (...args: string[]): Promise<Run> => logbook([...t.args, ...args], env, dir);

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "logbook-cli-"));
      env = { XDG_CONFIG_HOME: join(dir, "config") };
      t = name === "pglite" ? await pgliteTarget(dir) : await postgresTarget();
    });
    afterAll(async () => {
      await t?.release();
      await rm(dir, { recursive: true, force: true });
    });

    it("shows help with examples, and exits 1 naming a bad option value", async () => {
      const help = await logbook(["--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/import \[options\] <file>/);
      expect(help.stdout).toMatch(/Examples:/);
      const sub = await logbook(["view", "--help"]);
      expect(sub.code).toBe(0);
      expect(sub.stdout).toMatch(/Examples:\n\s+\$ logbook view/);
      const bad = await run("view", "x", "--limit", "many");
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/--limit must be a positive integer, got "many"/);
    });

    it("says to init first, then inits once", async () => {
      const none = await run("docs");
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/logbook init/);
      const first = json<{ spaceId: string }>(await run("--json", "init"));
      expect(first.spaceId).toMatch(/^[0-9a-f-]{36}$/);
    });

    let doc: string;
    it("imports OPML and draws it as a tree and a window", async () => {
      const imported = await run("--json", "import", join(FIXTURES, "opml-spec-states.opml"));
      expect(imported.code, imported.stderr).toBe(0);
      const result = json<{ oid: string; nodes: number; title: string; format: string }>(imported);
      expect(result).toMatchObject({ nodes: 24, title: "states.opml", format: "opml" });
      doc = result.oid;

      const tree = await run("tree", doc, "--depth", "2");
      expect(tree.code).toBe(0);
      expect(tree.stdout.split("\n").slice(0, 3)).toEqual(["states.opml  24 below", "  • United States  23 below", "    • Far West  10 below …"]);
      expect(tree.stdout).not.toMatch(/Alaska/);
      expect(tree.stdout).not.toMatch(/\x1b\[/); // no colours off a terminal

      const view = await run("view", doc, "--offset", "2", "--limit", "3");
      expect(view.stdout).toBe("rows 2–4 of 24\n2      • Alaska\n3      • California\n4      • Hawaii\n");
      const window = json<{ total: number; rows: { content: string; depth: number }[] }>(await run("--json", "view", doc, "--offset", "5", "--limit", "2"));
      expect(window.total).toBe(24);
      expect(window.rows.map((r) => [r.content, r.depth])).toEqual([["Nevada", 2], ["Reno", 3]]);

      const docs = json<{ oid: string }[]>(await run("--json", "docs"));
      expect(docs.map((d) => d.oid)).toContain(doc);
    });

    it.each(["opml", "md"] as const)("round-trips import -> export -> import as %s", async (format) => {
      const source = await run("--json", "import", join(FIXTURES, format === "opml" ? "workflowy.opml" : "logseq.md"));
      const first = json<{ oid: string }>(source).oid;
      const file = join(dir, `out.${format}`);
      const exported = await run("export", first, "--format", format, "-o", file);
      expect(exported.code, exported.stderr).toBe(0);
      const second = json<{ oid: string }>(await run("--json", "import", file)).oid;
      const a = json<TreeJson>(await run("--json", "tree", first));
      const b = json<TreeJson>(await run("--json", "tree", second));
      expect(shape(b)).toEqual(shape(a));
    });

    it("edits and exports a past version", async () => {
      const made = json<{ oid: string; vid: string }>(await run("--json", "create", "Plan"));
      const a = json<{ oid: string }>(await run("--json", "create", "A", "--parent", made.oid, "--undone"));
      const before = json<{ versions: { vid: string }[] }>(await run("--json", "versions", made.oid)).versions[0]!.vid;
      expect((await run("update", a.oid, "--content", "A2", "--done")).code).toBe(0);
      const old = await run("export", made.oid, "--format", "md", "--vid", before);
      expect(old.stdout).toBe("# Plan\n\n- [ ] A\n");
    });

    // Every command, on the backend where a process starts fast (PGlite boots in each process).
    if (name === "postgres") it("edits, lists history and versions, diffs, checks out and exports a past version", async () => {
      const made = json<{ oid: string }>(await run("--json", "create", "Plan"));
      const a = json<{ oid: string }>(await run("--json", "create", "A", "--parent", made.oid, "--undone", "--prop", "priority=2"));
      const b = json<{ oid: string }>(await run("--json", "create", "B", "--parent", made.oid));
      const before = json<{ versions: { vid: string }[] }>(await run("--json", "versions", made.oid)).versions[0]!.vid;

      expect((await run("update", a.oid, "--content", "A2", "--done")).stdout).toMatch(/^updated /);
      expect((await run("move", b.oid, "--parent", made.oid, "--index", "0")).code).toBe(0);
      const stats = json<{ vid: string; stats: { descendants: number; done: number; total: number } }>(await run("--json", "stats", made.oid));
      expect(stats.stats).toMatchObject({ descendants: 2, done: 1, total: 1 });
      const after = stats.vid;
      const history = json<{ ops: { kind: string }[] }>(await run("--json", "history", made.oid));
      expect(history.ops.map((o) => o.kind)).toEqual(["move", "update", "create", "create", "createDocument"]);
      const diff = json<{ kind: string; oid: string }[]>(await run("--json", "diff", made.oid, "--", before, after));
      expect(diff).toContainEqual(expect.objectContaining({ kind: "updated", oid: a.oid }));

      const old = await run("export", made.oid, "--format", "md", "--vid", before);
      expect(old.stdout).toBe("# Plan\n\n- [ ] A\n  priority:: 2\n- B\n");
      const now = await run("export", made.oid, "--format", "md");
      expect(now.stdout).toBe("# Plan\n\n- B\n- [x] A2\n  priority:: 2\n");

      expect((await run("checkout", "--", made.oid, before)).code).toBe(0);
      expect((await run("export", made.oid, "--format", "md")).stdout).toBe(old.stdout);
      expect((await run("remove", b.oid)).stdout).toBe(`removed ${b.oid}\n`);
      expect((await run("restore", b.oid)).stdout).toBe(`restored ${b.oid} under ${made.oid}\n`);
      expect((await run("export", made.oid, "--format", "md")).stdout).toBe(old.stdout);
      const again = await run("--json", "restore", b.oid);
      expect(again.code).toBe(1);
      expect(JSON.parse(again.stderr)).toMatchObject({ error: { code: "INVALID_ARGUMENT", message: expect.stringContaining(b.oid) } });
      expect((await run("remove", b.oid)).stdout).toBe(`removed ${b.oid}\n`);
      const cycle = await run("move", made.oid, "--parent", a.oid);
      expect(cycle.code).toBe(1);
      const unknown = await run("--json", "stats", "00000000-0000-7000-8000-000000000000");
      expect(unknown.code).toBe(1);
      expect(JSON.parse(unknown.stderr)).toMatchObject({ error: { code: "NOT_FOUND" } });
    });

    // Bad input is found while the one import transaction streams: it rolls back on both backends.
    describe("bad input: exit 1, file and line named, nothing written", () => {
      let before: number;
      beforeAll(async () => {
        before = await t.rows();
      });
      afterAll(async () => {
        expect(await t.rows()).toBe(before);
      });
      const cases: [string, string | Uint8Array, RegExp][] = [
        ["malformed.opml", '<?xml version="1.0"?>\n<opml version="2.0"><head/><body>\n<outline text="a">\n</body></opml>', /malformed\.opml:4: malformed XML/],
        ["laughs.opml", '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n<opml version="2.0"><body><outline text="&lol2;"/></body></opml>', /laughs\.opml:5: a DOCTYPE .* is not allowed/],
        ["xxe.opml", '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<opml version="2.0"><body><outline text="&xxe;"/></body></opml>', /xxe\.opml:2: a DOCTYPE/],
        ["html.opml", "<html><body/></html>", /html\.opml:1: not an OPML file: the root element is <html>/],
        ["empty.md", "", /empty\.md: the file is empty/],
        ["blank.opml", "  \n\n", /blank\.opml: the file is empty/],
        ["latin1.md", Buffer.concat([Buffer.from("- ok\n- caf"), Buffer.from([0xe9]), Buffer.from("\n")]), /latin1\.md:2: the file is not valid UTF-8/],
        ["fence.md", "- a\n  ```\n  code\n- b\n", /fence\.md:2: the code block opened here \(```\) is never closed/],
        ["indent.md", "- a\n    - b\n  - c\n", /indent\.md:3: the list item is indented 2 columns, which matches no open list level/],
        ["nul.md", "- a\u0000b\n", /nul\.md:1: the text contains a NUL character/],
      ];
      it.each(cases)("%s", async (file, content, message) => {
        const path = join(dir, file);
        await writeFile(path, content);
        const result = await run("import", path);
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toMatch(message);
        expect(result.stdout).toBe("");
      });
    });

    it("exits 2 when storage fails", async () => {
      const result = await logbook(["--pg", "postgres://nobody@127.0.0.1:1/none", "tree", "00000000-0000-7000-8000-000000000000"], env, dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^logbook: /);
    });
  });
}
