import { SingleBar } from "cli-progress";
import type { Io } from "./io.js";

/** An import's progress: a bar with rows/s and ETA on a terminal, nothing otherwise. */
export interface Progress {
  start(total: number): void;
  update(done: number): void;
  stop(): void;
}

/** A bar on stderr when it is a terminal (or `force`), else a no-op. */
export function progressBar(io: Io, force: boolean | undefined): Progress {
  const on = force ?? io.stderr.isTTY === true;
  if (!on) return { start() {}, update() {}, stop() {} };
  const started = Date.now();
  let bar: SingleBar | undefined;
  const speed = (done: number) => Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)).toLocaleString("en");
  return {
    start(total) {
      bar = new SingleBar({
        stream: io.stderr as NodeJS.WriteStream,
        format: "importing {bar} {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}",
        etaBuffer: 50,
        fps: 10,
        noTTYOutput: !(io.stderr.isTTY === true),
        notTTYSchedule: 1000,
        hideCursor: true,
      });
      bar.start(Math.max(1, total), 0, { speed: "0" });
    },
    update(done) {
      bar?.update(done, { speed: speed(done) });
    },
    stop() {
      bar?.stop();
    },
  };
}
