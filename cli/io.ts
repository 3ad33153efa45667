import { createColors } from "picocolors";

/** Where a command writes: stdout for results, stderr for progress and errors. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

/** The process' own streams; a closed pipe (`logbook tree X | head`) ends the process quietly. */
export function processIo(): Io {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Colours only on a terminal, and never with NO_COLOR set. */
export function colorsFor(io: Io): ReturnType<typeof createColors> {
  const on = io.stdout.isTTY === true && !io.env["NO_COLOR"] && io.env["TERM"] !== "dumb";
  return createColors(on || Boolean(io.env["FORCE_COLOR"]));
}

/** Writes text, waiting for the stream to drain when it is full (big exports stay bounded). */
export function write(stream: NodeJS.WritableStream, text: string): Promise<void> | void {
  if (stream.write(text)) return;
  return new Promise((resolve) => stream.once("drain", () => resolve()));
}

/**
 * Buffers many small writes into ~64 KB ones: a 100,000-row tree written line by line spent more
 * in stream calls than in reading the rows. `flush` before the command ends.
 */
export function bufferedWriter(stream: NodeJS.WritableStream): { add(text: string): Promise<void> | void; flush(): Promise<void> | void } {
  let parts: string[] = [];
  let size = 0;
  const flush = () => {
    if (size === 0) return;
    const text = parts.join("");
    parts = [];
    size = 0;
    return write(stream, text);
  };
  return {
    add(text) {
      parts.push(text);
      size += text.length;
      if (size >= 65_536) return flush();
    },
    flush,
  };
}
