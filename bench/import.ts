/**
 * Import of 10k / 100k / 1M-row OPML files: rows/s and peak RSS of `logbook import` on PGlite (a
 * data directory) and on Postgres, next to Loro and Automerge building the same tree in memory
 * from the same streaming parse. Every run is its own process, so its peak RSS is its own.
 *
 *   npx tsx bench/import.ts [--quick] [--sizes 10000,100000,1000000] [--only pglite,postgres,loro,automerge] [--repeat 3] [--name import]
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { readOutline } from "../interchange/index.js";
import { syntheticOpml } from "../interchange/synthetic.js";
import { throwawayDatabase } from "./lib/backends.js";
import { progress, quick } from "./lib/measure.js";
import { save, table } from "./lib/results.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TIMEOUT_MS = 15 * 60_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

/** What one import run reports. */
interface Measured {
  readonly nodes: number;
  readonly seconds: number;
  readonly peakRssBytes: number;
}

/** Child mode: build the file's tree in memory with a CRDT library and report time and peak RSS. */
async function child(kind: string, file: string): Promise<void> {
  const started = performance.now();
  const nodes = kind === "loro" ? await buildLoro(file) : await buildAutomerge(file);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ nodes, seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

async function buildLoro(file: string): Promise<number> {
  const { LoroDoc } = await import("loro-crdt");
  const doc = new LoroDoc();
  const tree = doc.getTree("outline");
  type Node = ReturnType<typeof tree.createNode>;
  const stack: Node[] = [];
  let n = 0;
  for await (const event of readOutline(file, "opml")) {
    if (event.kind === "close") stack.pop();
    else {
      const node: Node = event.kind === "title" ? tree.createNode() : stack[stack.length - 1]!.createNode();
      node.data.set("text", event.content ?? "");
      for (const [k, v] of Object.entries(event.props)) node.data.set(k, v);
      if (event.kind === "title") stack.length = 0;
      else n++;
      stack.push(node);
    }
    if (n % 50_000 === 0) doc.commit();
  }
  doc.commit();
  return n;
}

async function buildAutomerge(file: string): Promise<number> {
  const A = await import("@automerge/automerge");
  type Item = { text: string; props: Record<string, unknown>; children: Item[] };
  let doc = A.from<{ root: Item }>({ root: { text: "", props: {}, children: [] } });
  const path: number[] = []; // child indexes from the root to the open row
  let pending: Parameters<typeof apply>[1] = [];
  let n = 0;
  function apply(d: { root: Item }, events: ({ open: Item } | "close")[]): void {
    const stack: Item[] = [d.root];
    for (const i of path) stack.push(stack[stack.length - 1]!.children[i]!);
    for (const e of events) {
      if (e === "close") {
        stack.pop();
        path.pop();
      } else {
        const parent = stack[stack.length - 1]!;
        parent.children.push(e.open);
        path.push(parent.children.length - 1);
        stack.push(parent.children[parent.children.length - 1]!);
      }
    }
  }
  const flush = () => {
    const events = pending;
    pending = [];
    doc = A.change(doc, (d) => apply(d, events));
  };
  for await (const event of readOutline(file, "opml")) {
    if (event.kind === "title") {
      const title = event.content ?? "";
      doc = A.change(doc, (d) => void (d.root.text = title));
    } else if (event.kind === "open") {
      pending.push({ open: { text: event.content, props: event.props, children: [] } });
      n++;
    } else pending.push("close");
    if (pending.length >= 20_000) flush();
  }
  flush();
  return n;
}

/** Runs a process that prints one JSON object; undefined (with the reason) if it fails. */
function runJson(args: string[], env: Record<string, string> = {}): Promise<Measured | string> {
  return new Promise((resolve) => {
    // `--import tsx` in this very process, not the tsx CLI (which forks a child the timeout would miss).
    const p = spawn(process.execPath, ["--max-old-space-size=12288", "--import", "tsx", ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), TIMEOUT_MS);
    p.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    p.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      try {
        if (code === 0) return resolve(JSON.parse(out) as Measured);
      } catch {
        // fall through
      }
      resolve(signal ? `killed (${signal}) after ${TIMEOUT_MS / 60_000} min` : `exit ${code}: ${err.trim().split("\n").slice(-2).join(" ")}`);
    });
  });
}

async function measure(kind: string, file: string, dir: string): Promise<Measured | string> {
  const cli = ["cli/main.ts", "--json"];
  if (kind === "pglite") return runJson([...cli, "--data", join(dir, `data-${Date.now()}`), "import", file]);
  if (kind === "postgres") {
    const db = await throwawayDatabase("logbook_bench_import");
    if (typeof db === "string") return db;
    try {
      return await runJson([...cli, "--pg", db.url, "import", file], { XDG_CONFIG_HOME: join(dir, "config") });
    } finally {
      await db.drop();
    }
  }
  return runJson(["bench/import.ts", "--child", kind, file]);
}

async function main(): Promise<void> {
  const sizes = (arg("sizes") ?? (quick ? "10000,100000" : "10000,100000,1000000")).split(",").map(Number);
  const kinds = (arg("only") ?? "pglite,postgres,loro,automerge").split(",");
  const repeat = Number(arg("repeat") ?? (quick ? 1 : 3));
  const dir = await mkdtemp(join(tmpdir(), "logbook-bench-import-"));
  const rows: Record<string, string | number>[] = [];
  const data: unknown[] = [];
  try {
    for (const size of sizes) {
      const file = join(dir, `${size}.opml`);
      await pipeline(Readable.from(syntheticOpml(size)), createWriteStream(file));
      const bytes = (await stat(file)).size;
      for (const kind of kinds) {
        // The machine is shared and a run can land in a slow minute: the median of a few runs is
        // reported, with the range (1M rows and Automerge, minutes each, run once).
        const runs = size >= 1_000_000 || kind === "automerge" ? 1 : repeat;
        progress(`${kind}: ${size} rows (${(bytes / 2 ** 20).toFixed(1)} MiB of OPML), ${runs} run(s)`);
        const all: Measured[] = [];
        let failure: string | undefined;
        for (let r = 0; r < runs && failure === undefined; r++) {
          const m = await measure(kind, file, dir);
          if (typeof m === "string") failure = m;
          else all.push(m);
        }
        const what = kind === "pglite" || kind === "postgres" ? `logbook import (${kind})` : `${kind} in memory`;
        if (failure !== undefined) {
          progress(`  ${failure}`);
          rows.push({ what, rows: size, "file MiB": bytes / 2 ** 20, "rows/s": "-", seconds: "-", "peak RSS MiB": "-", note: failure });
          data.push({ kind, size, bytes, result: failure });
        } else {
          all.sort((a, b) => a.seconds - b.seconds);
          const m = all[Math.floor(all.length / 2)]!;
          const note = all.length > 1 ? `median of ${all.length}: ${all.map((x) => x.seconds.toFixed(2)).join(" / ")} s` : "";
          rows.push({ what, rows: size, "file MiB": bytes / 2 ** 20, "rows/s": Math.round(m.nodes / m.seconds), seconds: m.seconds, "peak RSS MiB": Math.round(Math.max(...all.map((x) => x.peakRssBytes)) / 2 ** 20), note });
          data.push({ kind, size, bytes, result: m, runs: all });
        }
      }
      await rm(file);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const markdown = table(rows);
  await save(
    arg("name") ?? "import",
    data,
    `${markdown}\n\nlogbook: \`logbook import FILE --json\` (one streaming pass into \`importStream\`: one transaction, rows written 5,000 at a time); seconds exclude process start and database open. Loro and Automerge: the same streaming OPML parse building the same tree in memory (a LoroTree with text and props per node; Automerge nested maps, one change per 20,000 events). Peak RSS is each process' own maximum (\`process.resourceUsage().maxRSS\`); PGlite's WebAssembly heap is ~900 MiB of it from boot.`,
  );
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) await child(process.argv[childAt + 1]!, process.argv[childAt + 2]!);
else await main();
