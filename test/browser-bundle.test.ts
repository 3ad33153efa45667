/**
 * engine/ and viewbuilder/ bundle for the browser (esbuild, platform "browser": no `node:` import
 * may reach them), and the bundle makes the same vids and chunk ids in headless chromium as Node
 * does (the browser takes the pure-JavaScript SHA-256; Node its own). Buffer comes from the
 * `buffer` package, as an app bundling the engine for a tab would provide it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { chunkIdOf } from "../engine/format/chunk.js";
import { newOid, vidMaker } from "../engine/ids.js";
import { sha256 } from "../engine/sha256.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

async function modules(dir: string): Promise<string[]> {
  return (await readdir(join(root, dir))).filter((f) => f.endsWith(".ts")).map((f) => join(root, dir, f));
}

async function bundle(): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), "logbook-bundle-"));
  try {
    const files = [...(await modules("engine")), ...(await modules("engine/format")), ...(await modules("viewbuilder"))];
    const entry = join(tmp, "entry.ts");
    await writeFile(entry, files.map((f, i) => `export * as m${i} from ${JSON.stringify(f)};`).join("\n") + `\nexport { vidMaker } from ${JSON.stringify(join(root, "engine/ids.ts"))};\nexport { chunkIdOf } from ${JSON.stringify(join(root, "engine/format/chunk.ts"))};\n`);
    const shim = join(tmp, "buffer-shim.ts");
    await writeFile(shim, `export { Buffer } from ${JSON.stringify(join(root, "node_modules/buffer/index.js"))};\n`);
    const out = await build({ entryPoints: [entry], bundle: true, platform: "browser", format: "iife", globalName: "logbook", inject: [shim], write: false, logLevel: "silent" });
    return out.outputFiles[0]!.text;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

describe("engine/ and viewbuilder/ in a browser", () => {
  it("bundle for the browser platform, with no Node built-in inside", async () => {
    const code = await bundle();
    expect(code.length).toBeGreaterThan(50_000);
    expect(code).not.toMatch(/require\(["']node:|from ["']node:/);
  }, 60_000);

  it("the pure-JavaScript SHA-256 agrees with Node's", async () => {
    const { sha256: jsSha256 } = await import("@noble/hashes/sha2.js");
    for (const input of ["", "v1\u0000abc", "ü".repeat(1000), new Uint8Array([0, 1, 2, 255])]) {
      const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
      expect(Buffer.from(jsSha256(bytes)).toString("hex")).toBe(Buffer.from(sha256(input)).toString("hex"));
    }
  });

  it.skipIf(!existsSync(CHROMIUM))("make the same vids and chunk ids in chromium as in Node", async () => {
    const code = await bundle();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
    try {
      const page = await browser.newPage();
      await page.setContent("<!doctype html><title>bundle</title>");
      await page.addScriptTag({ content: code });
      const opId = `${newOid()}.42`;
      const oid = newOid();
      const bytes = [3, 1, 4, 1, 5, 9, 2, 6];
      const inBrowser = await page.evaluate(
        ({ opId, oid, bytes }) => {
          const lib = (globalThis as unknown as { logbook: { vidMaker: typeof vidMaker; chunkIdOf: typeof chunkIdOf } }).logbook;
          const make = lib.vidMaker(opId);
          const first = make(oid, null).vid;
          return { first, second: make(oid, first).vid, chunk: lib.chunkIdOf(new Uint8Array(bytes)), node: typeof (globalThis as { process?: unknown }).process };
        },
        { opId, oid, bytes },
      );
      const make = vidMaker(opId);
      const first = make(oid, null).vid;
      expect(inBrowser).toEqual({ first, second: make(oid, first).vid, chunk: chunkIdOf(new Uint8Array(bytes)), node: "undefined" });
    } finally {
      await browser.close();
    }
  }, 60_000);
});
if (!existsSync(CHROMIUM)) console.warn(`[browser-bundle] the chromium half is skipped: no chromium at ${CHROMIUM}`);
