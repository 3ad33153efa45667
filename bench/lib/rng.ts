/** A deterministic pseudo-random source in [0, 1) (LCG); the same seed gives the same workload. */
export type Rand = () => number;

/** Seeds a generator. */
export function lcg(seed: number): Rand {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A random integer in [0, n). */
export function below(rand: Rand, n: number): number {
  return Math.floor(rand() * n);
}
