/**
 * Round trip on random trees: tree -> write -> parse gives the same tree (content, order, props),
 * for OPML and Markdown. Unicode, emoji, `&<>"'`, very long lines, depth 200.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Json, Props, TreeInput } from "../index.js";
import { collect, parseText, rowsOf, storedContent, writeMarkdown, writeOpml, type Outline, type OutlineFormat } from "../interchange/index.js";

const RUNS = Number(process.env["LOGBOOK_PROPERTY_RUNS"] ?? 200);

// XML 1.0 cannot carry these at all (see interchange/xml-escape.ts); the engine refuses NUL.
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

const special = fc.constantFrom("&<>\"'", "a & b < c > d \" e ' f", "😀👩‍👩‍👧‍👦🇫🇷", "Gödel 漢字 עברית", "", " ", "  ", "\t", "[x] not a task", "\\* escaped", "- dash", "# hash", "key:: value", "```", "x".repeat(20_000));
const text = fc.oneof({ weight: 4, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }) }, { weight: 1, arbitrary: special }).filter((s) => !XML_INVALID.test(s) && !s.includes("<br"));

/** Props each format carries faithfully. */
function propsArb(format: OutlineFormat): fc.Arbitrary<Props> {
  const key = format === "opml" ? fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((k) => k !== "text" && !k.startsWith("xml")) : fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,8}$/), fc.string({ maxLength: 8 }));
  const value: fc.Arbitrary<Json> = format === "opml" ? text : fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as Json);
  return fc.record({
    extra: fc.dictionary(key.filter((k) => k !== "done" && k !== "note" && !XML_INVALID.test(k)), value, { maxKeys: 3 }),
    done: fc.option(fc.boolean(), { nil: undefined }),
    note: fc.option(format === "md" ? fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !s.includes("\u0000")) : text, { nil: undefined }),
  }).map(({ extra, done, note }) => {
    const props: Props = { ...extra };
    if (done !== undefined) props["done"] = done;
    if (note !== undefined) props["note"] = note;
    return props;
  });
}

/** A random forest from a flat list of (depth step, node): depth only ever grows by one. */
function forestArb(format: OutlineFormat): fc.Arbitrary<TreeInput[]> {
  const node = fc.record({ step: fc.integer({ min: -3, max: 1 }), content: text, props: propsArb(format) });
  return fc.array(node, { maxLength: 25 }).map((flat) => {
    const roots: TreeInput[] = [];
    const stack: TreeInput[][] = [roots];
    for (const n of flat) {
      const depth = Math.max(0, Math.min(stack.length - 1, stack.length - 1 + n.step));
      stack.length = depth + 1;
      const children: TreeInput[] = [];
      stack[depth]!.push({ content: storedContent(n.content), props: n.props, children });
      stack.push(children);
    }
    return roots;
  });
}

const titleArb = (format: OutlineFormat) =>
  format === "opml" ? text : fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).filter((s) => s === s.trim() && s !== "" && !/[#\r\n]|<br|\u0000/.test(s));

async function roundTrip(format: OutlineFormat, outline: Outline): Promise<Outline> {
  const write = format === "opml" ? writeOpml : writeMarkdown;
  let out = "";
  for await (const chunk of write(outline, rowsOf(outline.children))) out += chunk;
  return collect(parseText(format, out));
}

describe.each(["opml", "md"] as const)("%s round trip", (format) => {
  it("gives back random trees: content, order, props", async () => {
    await fc.assert(
      fc.asyncProperty(titleArb(format), forestArb(format), async (title, children) => {
        const headProps: Props = format === "opml" ? { ownerName: "Ana & Bo" } : { tags: "a, b", n: 3 };
        const outline: Outline = { content: storedContent(title), props: headProps, children };
        expect(await roundTrip(format, outline)).toEqual(outline);
      }),
      { numRuns: RUNS },
    );
  });

  it("keeps depth 200 and a 100,000-character line", async () => {
    let deep: TreeInput = { content: "leaf", props: { done: true }, children: [] };
    for (let i = 199; i > 0; i--) deep = { content: `level ${i}`, props: {}, children: [deep] };
    const outline: Outline = { content: "deep", props: {}, children: [deep, { content: "y".repeat(100_000), props: {}, children: [] }] };
    expect(await roundTrip(format, outline)).toEqual(outline);
  });
});
