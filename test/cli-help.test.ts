/** Every `logbook` command has --help with at least one example (in process: no database opened). */
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
    for (const name of ["init", "import", "export", "tree", "view", "history", "versions", "checkout", "diff", "create", "update", "move", "remove", "stats", "fold", "unfold"]) {
      expect(names).toContain(name);
    }
  });

  it.each(names)("%s --help shows an example", async (name) => {
    const { io, out } = captureIo();
    expect(await runCli([name, "--help"], io)).toBe(0);
    expect(out()).toMatch(new RegExp(`Examples?:\\n\\s+\\$ logbook ${name}`));
  });
});
