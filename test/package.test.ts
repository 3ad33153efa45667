/**
 * The package as a user gets it: `npm pack` (which compiles dist/ on prepack), installed into a
 * scratch project with nothing else of ours, then used with plain `node` (no tsx), through the
 * `logbook` bin, and type-checked by a strict consumer. Both backends where the engine is opened.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresUnavailable, throwawayDatabase } from "./helpers/backends.js";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

let scratch: string;
let tarball: string;

/** Runs a command in the scratch project; a failure shows what it printed. */
async function inScratch(file: string, args: readonly string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(file, [...args], { cwd: scratch, env: { ...process.env, NO_COLOR: "1", ...env }, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "logbook-package-"));
  const { stdout } = await run(npm, ["pack", "--json", "--pack-destination", scratch], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  const packed = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(scratch, packed[0]!.filename);
  const shipped = packed[0]!.files.map((f) => f.path);
  expect(shipped).toContain("dist/index.js");
  expect(shipped).toContain("dist/index.d.ts");
  expect(shipped).toContain("dist/cli/main.js");
  expect(shipped).toContain("dist/storage/pglite/worker.mjs");
  expect(shipped).toContain("dist/web/app.js");
  expect(shipped).toContain("dist/web/index.html");
  // Sources, tests, benches and data stay home.
  expect(shipped.filter((p) => /^(test|bench|\.logbook|data)\//.test(p) || (p.endsWith(".ts") && !p.endsWith(".d.ts")))).toEqual([]);
  await writeFile(join(scratch, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // The package and what a TypeScript user adds themselves; our devDependencies are not there.
  await inScratch(npm, ["install", tarball, "@types/node@20", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"]);
}, 300_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("installs without the server-side packages", async () => {
    const installed = await readdir(join(scratch, "node_modules"));
    for (const name of ["logbook-engine", "@electric-sql", "knex", "msgpackr"]) expect(installed).toContain(name);
    // Optional peers: only an app that runs the server installs them.
    for (const name of ["argon2", "nodemailer", "mysql2", "smtp-server", "tsx", "vitest", "esbuild"]) expect(installed).not.toContain(name);
  });

  const script = `
import { openEngine, pglite, postgres } from "logbook-engine";
import { importOutline, parseText } from "logbook-engine/interchange";
const url = process.argv[2];
const engine = await openEngine({ storage: url ? postgres({ connectionString: url }) : pglite() });
try {
  const { spaceId } = await engine.createSpace();
  const doc = await engine.createDocument(spaceId, { content: "Trip" });
  const a = await engine.create(spaceId, { parentOid: doc.oid, content: "pack" });
  await engine.create(spaceId, { parentOid: a.oid, content: "socks", props: { done: true } });
  const before = await engine.get(spaceId, doc.oid);
  await engine.update(spaceId, a.oid, { content: "pack bags" });
  const view = await engine.view(spaceId, doc.oid, { offset: 0, limit: 10 });
  const old = await engine.subtree(spaceId, doc.oid, { depth: 5, vid: before.vid });
  const imported = await importOutline(engine, spaceId, parseText("md", "- one\\n  - two\\n"), { title: "Notes" });
  const rows = await engine.view(spaceId, imported.oid, { offset: 0, limit: 10 });
  console.log(JSON.stringify({ view: view.rows.map((r) => r.content), old: old.map((r) => r.content), stats: view.rows[0].stats, imported: rows.rows.map((r) => r.content) }));
} finally {
  await engine.close();
}
`;

  it.each(["pglite", "postgres"] as const)("runs under plain node on %s", async (backend) => {
    let url: string | undefined;
    let drop = async () => {};
    if (backend === "postgres") {
      const why = await postgresUnavailable();
      if (why) {
        console.warn(`[package] Postgres half skipped: ${why}`);
        return;
      }
      ({ url, drop } = await throwawayDatabase());
    }
    try {
      await writeFile(join(scratch, "use.mjs"), script);
      const { stdout } = await inScratch(process.execPath, ["use.mjs", ...(url ? [url] : [])]);
      expect(JSON.parse(stdout)).toEqual({
        view: ["pack bags", "socks"],
        old: ["pack", "socks"],
        stats: { descendants: 1, total: 1, done: 1, percent: 100 },
        imported: ["one", "two"],
      });
    } finally {
      await drop();
    }
  }, 120_000);

  it("runs the logbook bin without tsx", async () => {
    const bin = join(scratch, "node_modules", ".bin", "logbook");
    const data = join(scratch, "cli-data");
    await writeFile(join(scratch, "notes.md"), "- groceries\n  - milk\n- chores\n");
    const imported = JSON.parse((await inScratch(bin, ["--data", data, "--json", "import", "notes.md"])).stdout) as { oid: string; nodes: number };
    expect(imported.nodes).toBe(3);
    const tree = (await inScratch(bin, ["--data", data, "tree", imported.oid, "--depth", "1"])).stdout;
    expect(tree.split("\n").filter(Boolean)).toEqual(["notes  3 below", "  • groceries  1 below …", "  • chores"]);
    const help = (await inScratch(bin, ["--help"])).stdout;
    expect(help).toContain("Usage: logbook");
    // serve: the page ships built (dist/web), and answers with the token it printed.
    const child = spawn(bin, ["--data", data, "serve", "--port", "0"], { cwd: scratch, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /open (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const token = new URL(url).searchParams.get("token")!;
      const docs = (await (await fetch(new URL("/api/docs", url), { headers: { "x-logbook-token": token } })).json()) as { oid: string }[];
      expect(docs.map((d) => d.oid)).toContain(imported.oid);
      const page = await (await fetch(new URL("/app.js", url), { headers: { "x-logbook-token": token } })).text();
      expect(page.length).toBeGreaterThan(1000);
    } finally {
      child.kill("SIGTERM");
    }
  }, 120_000);

  it("type-checks a strict consumer", async () => {
    await writeFile(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2023", "esnext.disposable"], types: ["node"], noEmit: true, skipLibCheck: false },
        files: ["consumer.ts"],
      }),
    );
    await writeFile(
      join(scratch, "consumer.ts"),
      `import { openEngine, pglite, EngineError, type Objective, type View } from "logbook-engine";
import { exportOutline } from "logbook-engine/interchange";
await using engine = await openEngine({ storage: pglite() });
const { spaceId } = await engine.createSpace();
const doc: Objective = await engine.createDocument(spaceId, { content: "Plan" });
const view: View = await engine.view(spaceId, doc.oid, { offset: 0, limit: 50 });
const first: string | undefined = view.rows[0]?.content;
for await (const chunk of exportOutline(engine, spaceId, doc.oid, "md")) process.stdout.write(chunk);
try { await engine.get(spaceId, "nope"); } catch (e) { if (e instanceof EngineError && e.code === "INVALID_ARGUMENT") console.log(first); }
`,
    );
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    await inScratch(process.execPath, [tsc, "-p", "tsconfig.json"]);
  }, 120_000);
});
