import Benchmark from "benchmark";

/** One timing: mean and spread over benchmark.js' samples. */
export interface Timing {
  readonly name: string;
  readonly meanUs: number;
  readonly medianUs: number;
  readonly rmePercent: number;
  readonly samples: number;
  readonly opsPerSec: number;
}

/** The median of a list of numbers (NaN when empty). */
export function medianOf(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Options shared by the benchmark scripts (`--quick` shortens every timing). */
export const quick = process.argv.includes("--quick");

/**
 * Times an async operation with benchmark.js (deferred mode), sequentially, and returns
 * microseconds per op. `setup` runs once before timing.
 */
export function time(name: string, fn: () => Promise<unknown>): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const bench = new Benchmark(name, {
      defer: true,
      minSamples: quick ? 5 : 20,
      maxTime: quick ? 1 : 4,
      initCount: 1,
      fn: (deferred: { resolve(): void }) => {
        fn().then(
          () => deferred.resolve(),
          (error: unknown) => {
            bench.abort();
            reject(error);
          },
        );
      },
      onComplete() {
        resolve({
          name,
          meanUs: bench.stats.mean * 1e6,
          medianUs: medianOf(bench.stats.sample) * 1e6,
          rmePercent: bench.stats.rme,
          samples: bench.stats.sample.length,
          opsPerSec: bench.hz,
        });
      },
      onError(event: { target: { error: unknown } }) {
        reject(event.target.error);
      },
    } as Benchmark.Options);
    bench.run({ async: true });
  });
}

/** Progress on stderr so long runs show they are alive. */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
