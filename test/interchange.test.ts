/**
 * The interchange formats on the fixtures (the OPML 2.0 spec's examples and hand-written exports
 * of Workflowy, Dynalist, OmniOutliner, Logseq, Obsidian) and on the Markdown dialect's corners.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TreeInput } from "../index.js";
import { collect, InterchangeError, parseText, readOutline, rowsOf, usesComplete, writeMarkdown, writeOpml, type Outline, type OutlineFormat } from "../interchange/index.js";

const FIXTURES = join(import.meta.dirname, "fixtures");

/** Nested [content, ...children] for compact expectations. */
function contents(nodes: readonly TreeInput[]): unknown[] {
  return nodes.flatMap((n) => (n.children?.length ? [n.content, contents(n.children)] : [n.content]));
}

async function text(format: OutlineFormat, outline: Outline): Promise<string> {
  let out = "";
  for await (const chunk of (format === "opml" ? writeOpml : writeMarkdown)(outline, rowsOf(outline.children))) out += chunk;
  return out;
}

describe("fixtures", () => {
  it.each([
    ["opml-spec-states.opml", "states.opml", 24],
    ["opml-spec-category.opml", "Illustrating the category attribute", 3],
    ["workflowy.opml", "Untitled", 8],
    ["dynalist.opml", "Reading list", 5],
    ["omnioutliner.opml", "Trip plan", 4],
    ["logseq.md", "Weekly review", 6],
    ["obsidian.md", "Garden", 11],
    ["dynalist.md", "Reading list", 5],
  ])("%s reads, and round-trips through both formats", async (file, title, rows) => {
    const outline = await collect(readOutline(join(FIXTURES, file), file.endsWith(".md") ? "md" : "opml"));
    expect(outline.content).toBe(title);
    expect([...rowsOf(outline.children)]).toHaveLength(rows);
    const format: OutlineFormat = file.endsWith(".md") ? "md" : "opml";
    expect(await collect(parseText(format, await text(format, outline)))).toEqual(outline);
    // Across formats: OPML keeps props as strings, so compare the tree's text only.
    const other: OutlineFormat = format === "md" ? "opml" : "md";
    expect(contents((await collect(parseText(other, await text(other, outline)))).children)).toEqual(contents(outline.children));
  });

  it("maps OPML attributes: text, _note, _complete, the rest as props; head elements as title props", async () => {
    const wf = await collect(readOutline(join(FIXTURES, "workflowy.opml"), "opml"));
    expect(wf.props).toEqual({ ownerEmail: "ana@example.com" });
    const relaunch = wf.children[0]!.children![0]!;
    // The file uses _complete, so every row is a task: unmarked rows are unfinished ones.
    expect(relaunch.props).toEqual({ note: "Launch before the conference.\nBudget: 4k", done: false });
    expect(relaunch.children!.map((c) => [c.content, c.props])).toEqual([["Draft <b>copy</b>", { done: true }], ["Pick a theme", { done: false }], [" ", { done: false }]]);
    const cat = await collect(readOutline(join(FIXTURES, "opml-spec-category.opml"), "opml"));
    expect(cat.children[1]).toMatchObject({ content: "Scripting News", props: { type: "link", url: "http://scripting.com/" } });
    expect(cat.children[2]!.content).toBe(`Entities & <escapes> "quoted" 'single'`);
    const omni = await collect(readOutline(join(FIXTURES, "omnioutliner.opml"), "opml"));
    expect(omni.children[0]!.children![0]!.props).toEqual({ _status: "checked", Due: "2024-05-01" });
  });

  it("reads Logseq properties, tabs and notes; Markdown headings as levels", async () => {
    const logseq = await collect(readOutline(join(FIXTURES, "logseq.md"), "md"));
    expect(logseq.props).toMatchObject({ title: "Weekly review", tags: "review, [[habits]]" });
    expect(contents(logseq.children)).toEqual(["Inbox", ["TODO Reply to [[Ana]]", "DONE File taxes", ["receipts in the blue folder"]], "Notes", ["nested **bold** and `code`"]]);
    expect(logseq.children[0]!.children![1]!.props).toEqual({ collapsed: true });
    expect(logseq.children[1]!.props).toEqual({ note: "A block with a second line\nthat continues here." });
    const garden = await collect(readOutline(join(FIXTURES, "obsidian.md"), "md"));
    expect(contents(garden.children)).toEqual(["Spring", ["Sow tomatoes", ["Buy seeds", "Prepare pots"], "Prune roses"], "Summer", ["Water daily", "Harvest", ["beans", "courgettes"], "Notes"]]);
    expect(garden.children[0]!.children![0]!.children![1]!.props).toEqual({ done: false, note: "Use the big ones" });
  });
});

describe("OPML tasks (_complete)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "logbook-opml-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const done = (outline: Outline) => [...rowsOf(outline.children)].map((r) => r.props["done"]);

  it("makes every row a task when the file uses _complete anywhere, even rows read before the first one", async () => {
    // Far more than one 64 KiB read before the first _complete: the parser could not wait for it.
    const rows = Array.from({ length: 3000 }, (_, i) => `<outline text="row ${i} ${"x".repeat(40)}"/>`);
    const path = join(dir, "late.opml");
    await writeFile(path, `<opml version="2.0"><head/><body>${rows.join("\n")}\n<outline text="last" _complete="true"/></body></opml>`);
    const outline = await collect(readOutline(path, "opml"));
    expect(done(outline)).toEqual([...rows.map(() => false), true]);
    expect(done(await collect(parseText("opml", await readFile(path, "utf8"))))).toEqual(done(outline));
  });

  it("leaves rows alone in a file without _complete", async () => {
    const outline = await collect(readOutline(join(FIXTURES, "dynalist.opml"), "opml"));
    expect(done(outline)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it("finds an attribute split between two reads", async () => {
    const chunks = async function* () {
      yield '<opml><body><outline text="a" _comp';
      yield 'lete = "true"/></body></opml>';
    };
    expect(await usesComplete(chunks())).toBe(true);
    expect(await usesComplete((async function* () { yield '<outline text="_complete=&quot;true&quot;"/>'; })())).toBe(false);
  });

  it("exports tasks so that they read back the same: unfinished, finished and no task at all", async () => {
    const outline: Outline = { content: "Mixed", props: {}, children: [
      { content: "open", props: { done: false }, children: [{ content: "plain", props: {}, children: [] }] },
      { content: "finished", props: { done: true }, children: [] },
      { content: "no task", props: { note: "n" }, children: [] },
    ] };
    const written = await text("opml", outline);
    expect(written).toMatch(/<_tasks>marked<\/_tasks>/);
    expect(written).toMatch(/text="open" _complete="false"/);
    expect(await collect(parseText("opml", written))).toEqual(outline);
    // A Workflowy file (every row a task) comes back as it was read.
    const wf = await collect(readOutline(join(FIXTURES, "workflowy.opml"), "opml"));
    expect(await collect(parseText("opml", await text("opml", wf)))).toEqual(wf);
  });
});

describe("markdown export", () => {
  it("sets sections apart with blank lines, as people write outlines, and reads back the same", async () => {
    const leaf = (content: string, props = {}): TreeInput => ({ content, props, children: [] });
    const outline: Outline = {
      content: "Garden",
      props: { tags: "a, b", note: "A note on the page." },
      children: [
        leaf("loose one"),
        leaf("loose two", { done: false }),
        { content: "Spring", props: {}, children: [{ content: "Sow", props: { done: true, note: "in pots" }, children: [leaf("seeds")] }, leaf("Prune")] },
        { content: "Summer", props: {}, children: [leaf("Water")] },
        leaf("after"),
      ],
    };
    const written = await text("md", outline);
    expect(written).toBe(
      [
        "# Garden",
        "tags:: a, b",
        "",
        "A note on the page.",
        "",
        "- loose one",
        "- [ ] loose two",
        "",
        "- Spring",
        "  - [x] Sow",
        "    in pots",
        "    - seeds",
        "  - Prune",
        "",
        "- Summer",
        "  - Water",
        "",
        "- after",
        "",
      ].join("\n"),
    );
    expect(await collect(parseText("md", written))).toEqual(outline);
  });
});

describe("markdown dialect", () => {
  const md = async (source: string) => collect(parseText("md", source), "T");

  it("accepts any consistent indentation", async () => {
    for (const unit of ["  ", "   ", "    ", "\t"]) {
      const outline = await md(["- a", `${unit}- b`, `${unit}${unit}- c`, `${unit}- d`, "- e"].join("\n"));
      expect(contents(outline.children)).toEqual(["a", ["b", ["c"], "d"], "e"]);
    }
  });

  it("reads tasks, ordered lists, escapes, <br> and fenced notes", async () => {
    const outline = await md("1. [x] done\n2) [ ] open\n* \\[x] literal\n+ one<br>two\n- code\n  ```\n  - not an item\n  ```\n");
    expect(outline.children.map((c) => [c.content, c.props])).toEqual([
      ["done", { done: true }],
      ["open", { done: false }],
      ["[x] literal", {}],
      ["one\ntwo", {}],
      ["code", { note: "```\n- not an item\n```" }],
    ]);
  });

  it("names the line of inconsistent indentation", async () => {
    const error = await md("- a\n    - b\n  - c\n").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterchangeError);
    expect((error as InterchangeError).line).toBe(3);
  });
});
