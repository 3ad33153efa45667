import { SingleBar } from "cli-progress";
import type { ImportProgress } from "../interchange/index.js";
import type { Io } from "./io.js";

/** An import's progress: a bar over the file's bytes with rows, rows/s and ETA; nothing off a terminal. */
export interface Progress {
  update(progress: ImportProgress): void;
  stop(): void;
}

/** A bar on stderr when it is a terminal (or `force`), else a no-op. */
export function progressBar(io: Io, force: boolean | undefined): Progress {
  const on = force ?? io.stderr.isTTY === true;
  if (!on) return { update() {}, stop() {} };
  const started = Date.now();
  let bar: SingleBar | undefined;
  const speed = (rows: number) => Math.round(rows / Math.max(0.001, (Date.now() - started) / 1000)).toLocaleString("en");
  return {
    update({ rows, bytes, totalBytes }) {
      if (!bar) {
        // The bar runs over bytes read (the row count is unknown until the end of a one-pass import).
        bar = new SingleBar({
          stream: io.stderr as NodeJS.WriteStream,
          format: "importing {bar} {percentage}% | {rows} rows | {speed} rows/s | ETA {eta_formatted}",
          etaBuffer: 50,
          fps: 10,
          noTTYOutput: !(io.stderr.isTTY === true),
          notTTYSchedule: 1000,
          hideCursor: true,
        });
        bar.start(Math.max(1, totalBytes), 0, { rows: "0", speed: "0" });
      }
      bar.update(Math.min(bytes, totalBytes), { rows: rows.toLocaleString("en"), speed: speed(rows) });
    },
    stop() {
      bar?.stop();
    },
  };
}
