/** Every `logbook` command has --help with at least one example (in process: no database opened). */
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgram } from "../cli/program.js";
import { runCli } from "../cli/run.js";
import type { Io } from "../cli/io.js";

function captureIo(): { io: Io; out: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let text = "";
  stdout.setEncoding("utf8").on("data", (d: string) => (text += d));
  stderr.resume();
  return { io: { stdout, stderr, env: {} }, out: () => text };
}

const names = createProgram(captureIo().io).commands.map((c) => c.name());

describe("logbook --help", () => {
  it("lists every command the issue asks for", () => {
    for (const name of ["init", "import", "export", "tree", "view", "history", "versions", "checkout", "diff", "create", "update", "move", "remove", "restore", "stats", "fold", "unfold", "login", "sync"]) {
      expect(names).toContain(name);
    }
  });

  it.each(names)("%s --help shows an example", async (name) => {
    const { io, out } = captureIo();
    expect(await runCli([name, "--help"], io)).toBe(0);
    expect(out()).toMatch(new RegExp(`Examples?:\\n\\s+\\$ logbook ${name}`));
  });
});

describe("the WebAssembly tier a command runs on", () => {
  it("keeps V8's optimizing tier only for commands that run long", async () => {
    const { wasmTierFor } = await import("../cli/wasm-tier.js");
    const big = join(tmpdir(), `logbook-tier-${process.pid}.opml`);
    const small = join(tmpdir(), `logbook-tier-${process.pid}-small.md`);
    await writeFile(big, Buffer.alloc(2 ** 20 + 1, 32));
    await writeFile(small, "- a\n");
    try {
      expect(wasmTierFor(["view", "X", "--limit", "20"], {})).toBe("baseline");
      expect(wasmTierFor(["--data", "export", "tree", "X", "--depth", "2"], {})).toBe("baseline"); // "export" is --data's value
      expect(wasmTierFor(["tree", "X"], {})).toBe("optimize");
      expect(wasmTierFor(["--json", "export", "X"], {})).toBe("optimize");
      expect(wasmTierFor(["import", small], {})).toBe("baseline");
      expect(wasmTierFor(["import", big, "--title", "T"], {})).toBe("optimize");
      expect(wasmTierFor(["view", "X"], { LOGBOOK_WASM: "optimize" })).toBe("optimize");
      expect(wasmTierFor(["export", "X"], { LOGBOOK_WASM: "baseline" })).toBe("baseline");
      expect(wasmTierFor([], {})).toBe("baseline");
    } finally {
      await rm(big, { force: true });
      await rm(small, { force: true });
    }
  });
});
