/**
 * `npm start`: a tour of the engine on embedded PGlite (in memory, nothing to install).
 * Builds an outline, edits it, checks one subtree out to an old version, and prints the tree,
 * its history and statistics at each step.
 */
import { openEngine, pglite, type Engine, type Objective } from "./index.js";

const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function line(o: Objective, depth: number): string {
  const box = typeof o.props["done"] === "boolean" ? (o.props["done"] ? "[x] " : "[ ] ") : "";
  const st = o.stats.total > 0 ? dim(` ${o.stats.done}/${o.stats.total} done (${o.stats.percent}%)`) : "";
  return `${"  ".repeat(depth)}- ${box}${o.content}${st} ${dim(o.vid.slice(0, 6))}`;
}

async function print(engine: Engine, spaceId: string, oid: string, depth = 0): Promise<void> {
  for (const child of await engine.children(spaceId, oid)) {
    console.log(line(child, depth));
    if (child.childCount > 0) await print(engine, spaceId, child.oid, depth + 1);
  }
}

async function show(engine: Engine, spaceId: string, title: string, docOid: string): Promise<void> {
  const doc = await engine.get(spaceId, docOid);
  console.log(`\n${bold(title)}`);
  console.log(`${bold(doc.content)} ${dim(`(${doc.stats.descendants} objectives, ${doc.stats.done}/${doc.stats.total} done, root vid ${doc.vid.slice(0, 6)})`)}`);
  await print(engine, spaceId, docOid);
}

const started = performance.now();
await using engine = await openEngine({ storage: pglite(), actor: "demo" });
console.log(dim(`PGlite booted and migrated in ${Math.round(performance.now() - started)} ms; device ${engine.deviceId}`));

const { spaceId } = await engine.createSpace();
const doc = await engine.createDocument(spaceId, { content: "Launch plan" });
const design = await engine.create(spaceId, { parentOid: doc.oid, content: "Design", props: { done: false } });
const build = await engine.create(spaceId, { parentOid: doc.oid, content: "Build", props: { done: false } });
const ship = await engine.create(spaceId, { parentOid: doc.oid, content: "Ship", props: { done: false } });
const sketch = await engine.create(spaceId, { parentOid: design.oid, content: "Sketch screens", props: { done: true } });
await engine.create(spaceId, { parentOid: design.oid, content: "Pick colours", props: { done: false } });
const api = await engine.create(spaceId, { parentOid: build.oid, content: "Write the API", props: { done: false } });
const tests = await engine.create(spaceId, { parentOid: build.oid, content: "Write the tests", props: { done: false } });
await engine.create(spaceId, { parentOid: ship.oid, content: "Announce", props: { done: false } });
await show(engine, spaceId, "1. A fresh outline", doc.oid);

const buildBefore = await engine.get(spaceId, build.oid);
await engine.update(spaceId, api.oid, { content: "Write the API (v2)", props: { done: true } });
await engine.create(spaceId, { parentOid: build.oid, index: 0, content: "Spike a prototype", props: { done: true } });
await engine.update(spaceId, sketch.oid, { content: "Sketch screens (round 2)", props: { done: false } });
await engine.move(spaceId, tests.oid, { parentOid: ship.oid, index: 0 });
await engine.update(spaceId, ship.oid, { content: "Ship it", props: { done: false } });
await show(engine, spaceId, "2. After edits: updates, a create in Build, Write the tests moved to Ship", doc.oid);

console.log(`\n${bold("History of the document")} ${dim("(its own ops and its descendants', newest first)")}`);
for (const op of (await engine.history(spaceId, doc.oid, { limit: 6 })).ops) {
  console.log(`  ${dim(`#${op.seq}`)} ${op.kind.padEnd(14)} ${dim(op.oid.slice(-8))} ${dim(JSON.stringify(op.data).slice(0, 70))}`);
}

const docBefore = await engine.get(spaceId, doc.oid);
const checkoutStart = performance.now();
await engine.checkout(spaceId, build.oid, buildBefore.vid);
const checkoutMs = performance.now() - checkoutStart;
await show(engine, spaceId, `3. Build checked out to its old version ${buildBefore.vid.slice(0, 6)} in ${checkoutMs.toFixed(1)} ms`, doc.oid);
console.log(dim("   Only Build's subtree changed: Design and Ship keep their edits, and 'Write the tests', moved out of"));
console.log(dim("   Build since that version, stays where it lives now (one objective is never in two places)."));

await engine.update(spaceId, api.oid, { content: "Write the API (v3, after checkout)" });
await show(engine, spaceId, "4. Still editable: an edit on top of the checked-out version", doc.oid);

console.log(`\n${bold("Diff of the document")} ${dim(`between ${docBefore.vid.slice(0, 6)} (before the checkout) and now`)}`);
const now = await engine.get(spaceId, doc.oid);
for (const c of await engine.diff(spaceId, doc.oid, docBefore.vid, now.vid)) {
  const name = (await engine.get(spaceId, c.oid, { vid: (c.vidAfter ?? c.vidBefore)! })).content;
  console.log(`  ${c.kind.padEnd(10)} ${name}`);
}

console.log(`\n${bold("Statistics are exact for every version")}`);
for (const v of (await engine.versions(spaceId, doc.oid, { limit: 4 })).versions) {
  const o = await engine.get(spaceId, doc.oid, { vid: v.vid });
  console.log(`  ${dim(v.vid.slice(0, 6))} after ${v.kind.padEnd(8)} ${o.stats.done}/${o.stats.total} done (${o.stats.percent}%)`);
}
// 5. The view builder: a window of a large outline, without reading the rest.
const big = await engine.createDocument(spaceId, { content: "A big outline" });
const importStart = performance.now();
const sections = Array.from({ length: 50 }, (_, i) => ({
  content: `Chapter ${i + 1}`,
  children: Array.from({ length: 20 }, (_, j) => ({
    content: `Section ${i + 1}.${j + 1}`,
    children: Array.from({ length: 20 }, (_, k) => ({ content: `Note ${i + 1}.${j + 1}.${k + 1}`, props: { done: (i + j + k) % 3 === 0 } })),
  })),
}));
const imported = await engine.importTree(spaceId, { parentOid: big.oid, nodes: sections });
const importMs = performance.now() - importStart;
const chapter2 = imported.oids[1]!;
await engine.setFolded(spaceId, "demo-user", chapter2, true);
engine.clearCache();
const readsBefore = engine.rowsRead();
const viewStart = performance.now();
const window = await engine.view(spaceId, big.oid, { offset: 414, limit: 12, user: "demo-user" });
const viewMs = performance.now() - viewStart;
console.log(`\n${bold(`5. A window of a ${imported.count}-objective outline`)} ${dim(`(imported in ${Math.round(importMs)} ms; Chapter 2 folded for demo-user)`)}`);
console.log(dim(`   rows 414–425 of ${window.total} visible, cold cache: ${viewMs.toFixed(1)} ms, ${engine.rowsRead() - readsBefore} rows read`));
for (const r of window.rows) console.log(`   ${"  ".repeat(r.depth)}${r.folded ? "▸" : "-"} ${r.content}${r.childCount ? dim(` (${r.stats.descendants} below)`) : ""}`);

console.log(dim(`\n${engine.rowsRead()} version rows read from storage (the rest came from the row cache); done in ${Math.round(performance.now() - started)} ms.`));
