/**
 * The streamed import (interchange/import-outline.ts over `engine.importStream`) writes exactly the
 * parsed tree however often it flushes rows inside its one transaction (every row up to the
 * default), and export reads it back; on both backends.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, TreeInput } from "../index.js";
import { collect, exportOutline, importOutline, parseText, rowsOf, writeOpml, type Outline } from "../interchange/index.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";

/** A random forest from (depth step, row) pairs: depth only ever grows by one. */
const forest: fc.Arbitrary<TreeInput[]> = fc
  .array(fc.record({ step: fc.integer({ min: -2, max: 1 }), content: fc.stringMatching(/^[a-z][a-z ]{0,6}$/), props: fc.constantFrom({}, { done: true }, { done: false }) }), { maxLength: 30 })
  .map((flat) => {
    const roots: TreeInput[] = [];
    const stack: TreeInput[][] = [roots];
    for (const n of flat) {
      const depth = Math.max(0, Math.min(stack.length - 1, stack.length - 1 + n.step));
      stack.length = depth + 1;
      const children: TreeInput[] = [];
      stack[depth]!.push({ content: n.content, props: n.props, children });
      stack.push(children);
    }
    return roots;
  });

async function opml(outline: Outline): Promise<string> {
  let out = "";
  for await (const chunk of writeOpml(outline, rowsOf(outline.children))) out += chunk;
  return out;
}

async function exported(engine: Engine, spaceId: string, oid: string): Promise<Outline> {
  let out = "";
  for await (const chunk of exportOutline(engine, spaceId, oid, "opml")) out += chunk;
  return collect(parseText("opml", out));
}

describe.each(await usableBackends())("streamed import on $name", (backend) => {
  let fresh: Fresh;
  let spaceId: string;
  beforeAll(async () => {
    fresh = await backend.fresh();
    spaceId = (await fresh.engine.createSpace()).spaceId;
  });
  afterAll(async () => fresh?.release());

  it("writes the same tree however often it flushes", async () => {
    await fc.assert(
      fc.asyncProperty(forest, fc.constantFrom(1, 2, 3, 7, undefined), async (children, flushRows) => {
        const outline: Outline = { content: "Doc", props: {}, children };
        const text = await opml(outline);
        const result = await importOutline(fresh.engine, spaceId, parseText("opml", text), { title: "x", ...(flushRows === undefined ? {} : { flushRows }) });
        expect(result.nodes).toBe([...rowsOf(children)].length);
        expect(await exported(fresh.engine, spaceId, result.oid)).toEqual(outline);
      }),
      { numRuns: backend.name === "pglite" ? 40 : 25 },
    );
  });
});
