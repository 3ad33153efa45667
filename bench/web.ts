/**
 * The page's server over a big document, on PGlite (a data directory) and Postgres: a cold
 * `logbook serve` process (the compiled bin) until it answers its first window, and until the page
 * in headless chromium shows its first rows; viewport fetches while scrolling 10,000 rows per
 * second (one 50-row window per 16 ms frame, over HTTP); a subtree's history and its checkout.
 * Beside them, the view builder's own time for the same windows in-process, so the cost of the
 * page over the engine is visible.
 *
 *   npx tsx bench/web.ts [--quick]      (--quick: 100,000 rows; else 1,000,000)
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { openEngine, pglite, postgres, type Engine } from "../index.js";
import { syntheticOpml } from "../interchange/synthetic.js";
import { PG_URL } from "./lib/backends.js";
import { medianOf, progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROWS = quick ? 100_000 : 1_000_000;
const FRAMES = 180; // 3 s of scrolling at 60 frames per second
const STEP = Math.round(10_000 / 60); // rows per frame at 10,000 rows/s
const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const bin = join(root, "dist", "cli", "main.js");

const percentile = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

function logbook(target: string[], ...args: string[]): string {
  return execFileSync(process.execPath, [bin, ...target, ...args], { cwd: root, encoding: "utf8", maxBuffer: 64 * 2 ** 20, env: { ...process.env, NO_COLOR: "1" } });
}

/** Starts `logbook serve`; resolves with its URL and token when it prints them. */
function serve(target: string[]): Promise<{ child: ChildProcess; base: string; token: string; spaceId: string; readyMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, ...target, "--json", "serve", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) return;
      const { url, spaceId } = JSON.parse(line) as { url: string; spaceId: string };
      const u = new URL(url);
      resolve({ child, base: `${u.protocol}//${u.host}`, token: u.searchParams.get("token")!, spaceId, readyMs: performance.now() - started });
    });
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

const tmp = mkdtempSync(join(tmpdir(), "logbook-web-bench-"));
const rows: Record<string, string | number>[] = [];
const raw: Record<string, unknown> = {};
try {
  progress("compiling (npm run build:dist)");
  execFileSync("npm", ["run", "build:dist"], { cwd: root, stdio: "ignore" });
  const file = join(tmp, "big.opml");
  progress(`writing a ${ROWS.toLocaleString("en")}-row OPML file`);
  await pipeline(Readable.from(syntheticOpml(ROWS)), createWriteStream(file));
  const browser = existsSync(CHROMIUM) ? await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] }) : undefined;

  const pgName = `logbook_bench_web_${Date.now().toString(36)}`;
  const pgUrl = (() => {
    const u = new URL(PG_URL);
    u.pathname = `/${pgName}`;
    return u.toString();
  })();
  let pgReady = true;
  try {
    execFileSync("psql", [PG_URL, "-qc", `create database ${pgName}`], { stdio: "ignore" });
  } catch {
    pgReady = false;
    console.warn(`[bench] no Postgres at ${PG_URL}: the Postgres half is skipped`);
  }
  const backends: { name: string; target: string[]; open: () => Promise<Engine> }[] = [
    { name: "pglite", target: ["--data", join(tmp, "data")], open: () => openEngine({ storage: pglite({ dataDir: join(tmp, "data", "pglite") }) }) },
    ...(pgReady ? [{ name: "postgres", target: ["--pg", pgUrl], open: () => openEngine({ storage: postgres({ connectionString: pgUrl }) }) }] : []),
  ];
  for (const b of backends) {
    progress(`${b.name}: importing ${ROWS.toLocaleString("en")} rows`);
    const imported = JSON.parse(logbook(b.target, "--json", "import", file, "--no-progress")) as { oid: string };
    const doc = imported.oid;

    progress(`${b.name}: a cold serve process until its first window`);
    const cold = await serve(b.target);
    const headers = { "x-logbook-token": cold.token };
    const get = async (path: string) => {
      const r = await fetch(`${cold.base}${path}`, { headers });
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
      return r.json() as Promise<unknown>;
    };
    const first = await timed(() => get(`/api/view?doc=${doc}&offset=0&limit=50`));
    let pageFirstMs = Number.NaN;
    if (browser) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
      const page = await context.newPage();
      const t = performance.now();
      await page.goto(`${cold.base}/?token=${cold.token}&doc=${doc}`);
      await page.waitForSelector(".row .text");
      pageFirstMs = performance.now() - t;
      await context.close();
    }

    progress(`${b.name}: scrolling 10,000 rows/s for ${FRAMES} frames`);
    const fetches: number[] = [];
    const offsets: number[] = [];
    const start = Math.floor(ROWS / 4);
    for (let f = 0; f < FRAMES; f++) {
      const frame = performance.now();
      const offset = start + f * STEP;
      offsets.push(offset);
      fetches.push((await timed(() => get(`/api/view?doc=${doc}&offset=${offset}&limit=50`))).ms);
      const left = 1000 / 60 - (performance.now() - frame);
      if (left > 0) await new Promise((r) => setTimeout(r, left));
    }

    progress(`${b.name}: a subtree's history and its checkout`);
    const top = (await get(`/api/view?doc=${doc}&offset=0&limit=50`)) as { rows: { oid: string; depth: number; childCount: number }[] };
    const branch = top.rows.find((r) => r.depth === 0 && r.childCount > 0)!;
    const kid = top.rows[top.rows.indexOf(branch) + 1]!;
    const patch = await fetch(`${cold.base}/api/rows/${kid.oid}`, { method: "PATCH", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ content: "edited for the bench" }) });
    if (!patch.ok) throw new Error(`PATCH: ${patch.status}`);
    const history = await timed(() => get(`/api/rows/${branch.oid}/history?limit=30`));
    const versions = (history.value as { versions: { vid: string }[] }).versions;
    const target = versions[versions.length - 1]!.vid;
    const checkout = await timed(async () => {
      const r = await fetch(`${cold.base}/api/rows/${branch.oid}/checkout`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ vid: target }) });
      if (!r.ok) throw new Error(`checkout: ${r.status} ${await r.text()}`);
    });
    await stop(cold.child);

    progress(`${b.name}: the view builder in-process for the same windows`);
    const engine = await b.open();
    const space = cold.spaceId;
    const inProcess: number[] = [];
    for (const offset of offsets) inProcess.push((await timed(() => engine.view(space, doc, { offset, limit: 50, user: "web" }))).ms);
    await engine.close();

    rows.push({
      backend: b.name,
      rows: ROWS,
      "serve ready ms": cold.readyMs,
      "first window ms (HTTP)": first.ms,
      "first rows in the page ms": pageFirstMs,
      "scroll fetch p50 ms": percentile(fetches, 50),
      "scroll fetch p95 ms": percentile(fetches, 95),
      "view() p50 ms": percentile(inProcess, 50),
      "view() p95 ms": percentile(inProcess, 95),
      "history ms": history.ms,
      "checkout ms": checkout.ms,
    });
    raw[b.name] = { fetches, inProcess, medianFetch: medianOf(fetches) };
  }
  await browser?.close();
  if (pgReady) execFileSync("psql", [PG_URL, "-qc", `drop database if exists ${pgName}`], { stdio: "ignore" });
  const md = [
    `A ${ROWS.toLocaleString("en")}-row document imported with \`logbook import\`, served by a cold \`logbook serve\` process (the compiled bin). Scrolling: ${FRAMES} frames of 16 ms, each fetching the 50-row window ${STEP} rows further (10,000 rows/s), sequentially over HTTP; view(): the same windows in-process after the server stopped (the view builder's own cost). History: the first top-level branch's 30 newest versions, explained; checkout: that branch to its oldest listed version, after one edit below it.`,
    "",
    table(rows),
  ].join("\n");
  await save(quick ? "web-quick" : "web", { rows: ROWS, frames: FRAMES, step: STEP, results: rows, raw }, md);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

