/**
 * The outliner page in a real browser: Debian's chromium driven headless by playwright-core
 * (.ci/run installs chromium when it is missing), against `createWebApp` over an engine on each
 * backend, with a 100,000-row document imported in the test.
 */
import { existsSync } from "node:fs";
import { request } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../index.js";
import { importOutline, parseOutline } from "../interchange/index.js";
import { syntheticOpml } from "../interchange/synthetic.js";
import { createWebApp } from "../server/web-app.js";
import { buildPage } from "../web/build-page.js";
import { usableBackends, type Fresh } from "./helpers/backends.js";

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const ROWS = Number(process.env["LOGBOOK_WEB_ROWS"] ?? 100_000);
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`[web] skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

/** Waits for what the page's requests do (a busy CI machine answers slower than vitest's 1 s default). */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 10_000, interval: 50 });

let browser: Browser;
let pageDir: string;

beforeAll(async () => {
  if (!haveChromium) return;
  pageDir = await mkdtemp(join(tmpdir(), "logbook-page-"));
  await buildPage(pageDir);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (pageDir) await rm(pageDir, { recursive: true, force: true });
});

describe.skipIf(!haveChromium).each(await usableBackends())("the page on $name", (backend) => {
  let fresh: Fresh;
  let engine: Engine;
  let spaceId: string;
  let doc: string;
  let base: string;
  let token: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    fresh = await backend.fresh();
    engine = fresh.engine;
    ({ spaceId } = await engine.createSpace());
    const imported = await importOutline(engine, spaceId, parseOutline("opml", Readable.from(syntheticOpml(ROWS)), "big.opml"), { title: "Big" });
    doc = imported.oid;
    let hosts: string[] = [];
    const web = await createWebApp({ engine, spaceId, pageDir, hosts: () => hosts });
    await web.app.listen({ host: "127.0.0.1", port: 0 });
    const address = web.app.server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
    base = `http://127.0.0.1:${port}`;
    token = web.token;
    close = () => web.app.close();
  }, 300_000);
  afterAll(async () => {
    await close?.();
    await fresh?.release();
  });

  async function open(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    await page.goto(`${base}/?token=${token}&doc=${doc}`);
    await page.waitForSelector(".row .text");
    return page;
  }
  const texts = (page: Page) => page.$$eval(".row .text", (els) => els.map((e) => e.textContent ?? ""));
  const rowText = (page: Page, oid: string) => page.locator(`.row[data-oid="${oid}"] .text`);

  it("refuses requests without the token or with a foreign Host", async () => {
    expect((await fetch(`${base}/api/docs`)).status).toBe(401);
    expect((await fetch(`${base}/api/view?doc=${doc}`)).status).toBe(401);
    expect((await fetch(`${base}/api/export?doc=${doc}`)).status).toBe(401);
    expect((await fetch(`${base}/`)).status).toBe(200); // the page's code, no data
    expect((await fetch(`${base}/api/docs`, { headers: { "x-logbook-token": "wrong" } })).status).toBe(401);
    // fetch may not set Host; a DNS-rebinding page's request carries its own name there.
    const foreign = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/api/docs`, { headers: { "x-logbook-token": token, host: "attacker.example:80" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(foreign).toBe(403);
    expect((await fetch(`${base}/api/docs`, { headers: { "x-logbook-token": token } })).status).toBe(200);
  });

  it("shows only the rows in the viewport, and scrolls to the middle (row 50,000) at once", async () => {
    const page = await open();
    const first = await texts(page);
    expect(first[0]).toMatch(/^Row 0:/);
    expect(first.length).toBeLessThan(60);
    const height = await page.$eval("#spacer", (e) => e.getBoundingClientRect().height);
    expect(height).toBe(ROWS * 28);
    const half = Math.floor(ROWS / 2); // row 50,000 of the 100,000 the issue names
    await page.$eval("#scroller", (e, top) => (e.scrollTop = top), half * 28);
    await poll(async () => (await texts(page)).some((t) => t.startsWith(`Row ${half}:`))).toBe(true);
    const rows = await texts(page);
    expect(rows.length).toBeLessThan(60);
    const at = rows.findIndex((t) => t.startsWith(`Row ${half}:`));
    expect(rows[at + 1]).toMatch(new RegExp(`^Row ${half + 1}:`));
    expect(await page.$eval(".row", (e) => e.getAttribute("role"))).toBe("treeitem");
    await page.context().close();
  });

  it("edits by keyboard: type, Enter, indent, outdent, reorder, remove, undo; a <script> row stays text", async () => {
    const page = await open();
    const top = (await engine.children(spaceId, doc, { limit: 2 }))[0]!;
    const text = rowText(page, top.oid);
    await text.click();
    await page.keyboard.press("End");
    await page.keyboard.type(" edited");
    await page.keyboard.press("Enter"); // flushes the edit, makes an empty sibling below
    await poll(async () => (await engine.get(spaceId, top.oid)).content).toMatch(/ edited$/);
    await poll(async () => (await engine.children(spaceId, doc, { limit: 2 }))[1]!.content).toBe(" "); // an empty row, stored
    const made = (await engine.children(spaceId, doc, { limit: 2 }))[1]!;
    await poll(() => page.locator(".row:focus-within").getAttribute("data-oid")).toBe(made.oid); // the caret moved to it
    await page.keyboard.type("<script>window.pwned = 1</script>");
    await page.keyboard.press("Tab"); // indent under the row above
    await poll(async () => (await engine.get(spaceId, made.oid)).parentOid).toBe(top.oid);
    expect((await engine.get(spaceId, made.oid)).content).toBe("<script>window.pwned = 1</script>");
    expect(await page.evaluate("window.pwned")).toBeUndefined();
    expect(await rowText(page, made.oid).textContent()).toBe("<script>window.pwned = 1</script>");
    expect(await page.locator("script").count()).toBe(1); // the page's own
    await page.keyboard.press("Shift+Tab"); // back out
    await poll(async () => (await engine.get(spaceId, made.oid)).parentOid).toBe(doc);
    await page.keyboard.press("Alt+ArrowUp"); // above the first row
    await poll(async () => (await engine.children(spaceId, doc, { limit: 1 }))[0]!.oid).toBe(made.oid);
    await page.keyboard.press("Control+z"); // the reorder back
    await poll(async () => (await engine.children(spaceId, doc, { limit: 1 }))[0]!.oid).toBe(top.oid);
    await page.keyboard.press("Control+Shift+z"); // and again
    await poll(async () => (await engine.children(spaceId, doc, { limit: 1 }))[0]!.oid).toBe(made.oid);
    // Keys as fast as a user presses them: each undo waits for the edit it undoes to be recorded.
    await page.keyboard.press("Alt+ArrowDown");
    await page.keyboard.press("Control+z"); // the move down
    await page.keyboard.press("Control+z"); // the reorder above it
    await page.keyboard.press("Control+Shift+z"); // the reorder again
    const order = async () => (await engine.children(spaceId, doc, { limit: 2 })).map((r) => r.oid).join();
    await poll(() => page.locator("#rows[aria-busy]").count()).toBe(0); // the tree says when its turns are done
    expect(await order()).toBe([made.oid, top.oid].join());
    await page.keyboard.press("Control+Shift+z"); // and the move down again, redone last
    await page.keyboard.press("Control+z");
    await poll(() => page.locator("#rows[aria-busy]").count()).toBe(0);
    expect(await order()).toBe([made.oid, top.oid].join());
    await page.keyboard.press("Control+Shift+z");
    await poll(order).toBe([top.oid, made.oid].join());
    await page.keyboard.press("Control+z");
    await poll(() => page.locator("#rows[aria-busy]").count()).toBe(0);
    expect(await order()).toBe([made.oid, top.oid].join());
    // Emptied, then Backspace on the empty row removes it; undo restores the same row, then its text.
    await poll(() => page.locator(".row:focus-within").getAttribute("data-oid")).toBe(made.oid);
    await page.keyboard.press("Control+a");
    await page.keyboard.press("Backspace");
    await poll(() => rowText(page, made.oid).textContent()).toBe("");
    await page.keyboard.press("Backspace");
    await poll(() => engine.get(spaceId, made.oid).then(() => "there", (e: Error) => e.message)).toMatch(/removed/);
    await poll(() => rowText(page, made.oid).count()).toBe(0);
    await page.keyboard.press("Control+z");
    await poll(async () => (await engine.children(spaceId, doc, { limit: 1 }))[0]!.oid).toBe(made.oid);
    expect((await engine.get(spaceId, made.oid)).content).toBe(" ");
    await poll(() => rowText(page, made.oid).count()).toBe(1);
    await page.keyboard.press("Control+z");
    await poll(async () => (await engine.get(spaceId, made.oid)).content).toBe("<script>window.pwned = 1</script>");
    await page.keyboard.press("Control+Shift+z");
    await page.keyboard.press("Control+Shift+z"); // removed again
    await poll(() => engine.get(spaceId, made.oid).then(() => "there", (e: Error) => e.message)).toMatch(/removed/);
    await page.keyboard.press("Control+z");
    await poll(async () => (await engine.children(spaceId, doc, { limit: 1 }))[0]!.oid).toBe(made.oid);
    expect((await engine.history(spaceId, made.oid, { limit: 1 })).ops[0]!.kind).toBe("restore");
    await page.keyboard.press("Control+z"); // its text again, for the tests after this one
    await poll(async () => (await engine.get(spaceId, made.oid)).content).toBe("<script>window.pwned = 1</script>");
    await page.context().close();
  }, 90_000);

  it("folds and unfolds a row, kept across reloads", async () => {
    const page = await open();
    const top = (await engine.children(spaceId, doc, { limit: 3 })).find((o) => o.childCount > 0)!;
    const row = page.locator(`.row[data-oid="${top.oid}"]`);
    expect(await row.getAttribute("aria-expanded")).toBe("true");
    await row.locator(".toggle").click();
    await poll(() => row.getAttribute("aria-expanded")).toBe("false");
    await page.reload();
    await page.waitForSelector(".row .text");
    expect(await page.locator(`.row[data-oid="${top.oid}"]`).getAttribute("aria-expanded")).toBe("false");
    await page.locator(`.row[data-oid="${top.oid}"] .toggle`).click();
    await poll(() => page.locator(`.row[data-oid="${top.oid}"]`).getAttribute("aria-expanded")).toBe("true");
    await page.context().close();
  });

  it("two pages see each other's edits within a second", async () => {
    const a = await open();
    const b = await open();
    const top = (await engine.children(spaceId, doc, { limit: 1 }))[0]!;
    await rowText(a, top.oid).click();
    await a.keyboard.press("End");
    await a.keyboard.type("!");
    const started = Date.now();
    await expect.poll(async () => rowText(b, top.oid).textContent(), { timeout: 3000, interval: 50 }).toMatch(/!$/);
    expect(Date.now() - started).toBeLessThan(2000); // 400 ms typing pause + the poke
    await a.context().close();
    await b.context().close();
  });

  it("imports a file through the picker and downloads the document as Markdown", async () => {
    const page = await open();
    await page.setInputFiles("#import", { name: "trip.md", mimeType: "text/markdown", buffer: Buffer.from("# Trip\n\n- pack\n  - socks\n- book <b>hotel</b>\n") });
    await poll(() => page.textContent("#title")).toBe("Trip");
    await poll(() => texts(page)).toEqual(["pack", "socks", "book <b>hotel</b>"]);
    const trip = (await engine.documents(spaceId)).find((d) => d.content === "Trip")!;
    expect((await engine.subtree(spaceId, trip.oid, { depth: 3 })).map((r) => r.content)).toEqual(["pack", "socks", "book <b>hotel</b>"]);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-md")]);
    const file = join(pageDir, "export.md");
    await download.saveAs(file);
    expect(await readFile(file, "utf8")).toContain("- book <b>hotel</b>");
    await page.context().close();
  }, 60_000);

  it("diffs any two versions of a row from its history", async () => {
    const shown = (await engine.view(spaceId, doc, { offset: 0, limit: 20, user: "web" })).rows; // on screen at the top
    const branch = shown.find((r) => r.childCount > 1 && !r.folded)!;
    const [k1, k2] = await engine.children(spaceId, branch.oid, { limit: 2 });
    await engine.update(spaceId, k1!.oid, { content: "first change" });
    const middle = (await engine.get(spaceId, branch.oid)).vid;
    await engine.update(spaceId, k2!.oid, { content: "second change" });
    const newest = (await engine.get(spaceId, branch.oid)).vid;
    const page = await open();
    await rowText(page, branch.oid).click();
    await page.click("#history-button");
    await page.locator(`#history-list li[data-vid="${newest}"] .pick`).check();
    await page.locator(`#history-list li[data-vid="${middle}"] .pick`).check();
    await page.click("#history-detail button");
    await poll(() => page.textContent("#history-detail h3")).toBe("1 changes between the two versions");
    expect(await page.textContent("#history-detail li")).toContain("second change");
    expect(await page.locator("#history-detail li.change-updated").count()).toBe(1);
    await page.context().close();
  }, 60_000);

  it("checks one branch out to an old version from its history; the rest of the page stays", async () => {
    const [first, second] = await engine.children(spaceId, doc, { limit: 2 });
    const branch = (await engine.children(spaceId, doc, { offset: 2, limit: 20 })).find((o) => o.childCount > 0)!;
    const old = await engine.get(spaceId, branch.oid);
    const kid = (await engine.children(spaceId, branch.oid, { limit: 1 }))[0]!;
    await engine.update(spaceId, kid.oid, { content: "changed later" });
    await engine.update(spaceId, branch.oid, { content: "branch renamed" });
    await engine.update(spaceId, first!.oid, { content: "elsewhere, kept" });
    const page = await open();
    await rowText(page, branch.oid).click();
    await page.click("#history-button");
    await page.waitForSelector("#history-list li");
    await page.locator(`#history-list li[data-vid="${old.vid}"] button`, { hasText: "Check out" }).click();
    await poll(async () => (await engine.get(spaceId, branch.oid)).content).toBe(old.content);
    expect((await engine.get(spaceId, kid.oid)).content).toBe(kid.content);
    expect((await engine.get(spaceId, first!.oid)).content).toBe("elsewhere, kept");
    expect((await engine.get(spaceId, second!.oid)).content).toBe(second!.content);
    await poll(async () => rowText(page, branch.oid).textContent()).toBe(old.content);
    const shots = process.env["LOGBOOK_WEB_SCREENSHOTS"]; // a directory: `docs` refreshes the README's picture
    if (shots) await page.screenshot({ path: join(shots, `web-${backend.name}.png`) });
    await page.context().close();
  }, 60_000);
  it("shares a row's subtree from the sharing panel: entries in force, inherited ones, their changes, and taking one away", async () => {
    const shown = (await engine.view(spaceId, doc, { offset: 0, limit: 20, user: "web" })).rows;
    const branch = shown.find((r) => r.childCount > 0 && r.depth === 0)!;
    const kid = (await engine.children(spaceId, branch.oid, { limit: 1 }))[0]!;
    await engine.share(spaceId, doc, "carol", "viewer");
    const page = await open();
    await rowText(page, branch.oid).click();
    await page.click("#share-button");
    await poll(() => page.textContent("#sharing-list")).toContain("carol: viewer (from a row above)");
    await page.fill("#sharing-user", "bo");
    await page.selectOption("#sharing-role", "collaborator");
    await page.click("#sharing-form button[type=submit]");
    await poll(async () => (await engine.collaborators(spaceId, kid.oid)).find((e) => e.user === "bo")).toEqual({ user: "bo", role: "collaborator", oid: branch.oid });
    await poll(() => page.textContent(`#sharing-list li[data-user="bo"]`)).toContain("bo: collaborator");
    expect(await page.textContent("#sharing-history")).toContain("bo → collaborator");
    // An inherited entry has no Remove; one set here has.
    expect(await page.locator(`#sharing-list li[data-user="carol"] button`).count()).toBe(0);
    await page.locator(`#sharing-list li[data-user="bo"] button`, { hasText: "Remove" }).click();
    await poll(async () => (await engine.collaborators(spaceId, branch.oid)).map((e) => e.user)).toEqual(["carol"]);
    await poll(() => page.textContent("#sharing-history")).toContain("bo → removed");
    // Sharing makes no content version: the row's vid is the one it had.
    expect((await engine.get(spaceId, branch.oid)).vid).toBe(branch.vid);
    await page.context().close();
  }, 60_000);
});
