/**
 * Hybrid logical clocks (DESIGN.md §8): wall-clock milliseconds, a counter for events within one
 * millisecond (or while the wall clock lags behind a clock seen from elsewhere), and the device id
 * that breaks the last tie. Encoded as a fixed-width string whose byte order is the clock order,
 * so databases sort and compare them as plain text.
 */

/** One clock reading. */
export interface Hlc {
  /** Wall-clock milliseconds since the epoch. */
  readonly wall: number;
  /** Events within the same `wall`. */
  readonly counter: number;
  /** The device that made the reading: the last tie-break, so two devices never share a reading. */
  readonly device: string;
}

/** Clocks further ahead of the local wall clock than this are refused (5 minutes). */
export const MAX_DRIFT_MS = 5 * 60 * 1000;

const WALL_DIGITS = 15;
const COUNTER_DIGITS = 6;
const MAX_COUNTER = 10 ** COUNTER_DIGITS - 1;
const ENCODED = /^(\d{15}):(\d{6}):([A-Za-z0-9_-]{1,64})$/;

/** Why a clock was refused: `CLOCK_SKEW` (too far ahead) or `INVALID_HLC` (not a clock). */
export type HlcErrorCode = "CLOCK_SKEW" | "INVALID_HLC";

/** A refused clock reading; `code` says why, `message` names the value. */
export class HlcError extends Error {
  override readonly name = "HlcError";
  constructor(
    readonly code: HlcErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The sortable text form: `<15-digit wall ms>:<6-digit counter>:<device>`.
 *
 * @example
 * encodeHlc({ wall: 1700000000000, counter: 3, device: "d1" }) // "001700000000000:000003:d1"
 */
export function encodeHlc(h: Hlc): string {
  return `${String(h.wall).padStart(WALL_DIGITS, "0")}:${String(h.counter).padStart(COUNTER_DIGITS, "0")}:${h.device}`;
}

/** Parses `encodeHlc`'s text; `INVALID_HLC` names anything else. */
export function decodeHlc(text: unknown): Hlc {
  const m = typeof text === "string" ? ENCODED.exec(text) : null;
  if (!m) throw new HlcError("INVALID_HLC", `not a hybrid logical clock: ${JSON.stringify(text)}`);
  return { wall: Number(m[1]), counter: Number(m[2]), device: m[3]! };
}

/** Whether `text` is an encoded clock. */
export function isHlc(text: unknown): text is string {
  return typeof text === "string" && ENCODED.test(text);
}

/**
 * Refuses a reading more than `maxDriftMs` ahead of `nowMs` (`CLOCK_SKEW`): a device whose clock
 * runs far ahead would otherwise make every later edit elsewhere lose to it.
 */
export function checkDrift(text: string, nowMs: number, maxDriftMs = MAX_DRIFT_MS): Hlc {
  const h = decodeHlc(text);
  if (h.wall - nowMs > maxDriftMs) {
    throw new HlcError("CLOCK_SKEW", `clock ${text} is ${h.wall - nowMs} ms ahead of ${nowMs}; at most ${maxDriftMs} ms is accepted`);
  }
  return h;
}

/** A device's clock: every reading is greater than every reading it made or received before. */
export interface HlcClock {
  /** A new reading for a local event. */
  now(): string;
  /** Takes a reading from elsewhere into account; `CLOCK_SKEW` if it is too far ahead (see `maxDriftMs`). */
  receive(remote: string): void;
  /** The latest reading made or received. */
  last(): string | undefined;
}

/** Options of {@link createHlcClock}. */
export interface HlcClockOptions {
  /** The device id written into every reading. */
  readonly device: string;
  /** Wall clock in ms (injectable for tests). Default `Date.now`. */
  readonly wallClock?: () => number;
  /** Start after this reading (the newest one stored, so a restart never goes back). */
  readonly after?: string;
  /** Remote readings further ahead are refused; `Infinity` accepts any (replicas that must converge). */
  readonly maxDriftMs?: number;
}

/**
 * A hybrid logical clock (Kulkarni et al.): it follows the wall clock when it can, and the counter
 * keeps readings strictly increasing when the wall clock stalls, goes back, or lags a remote clock.
 */
export function createHlcClock(options: HlcClockOptions): HlcClock {
  const wallClock = options.wallClock ?? Date.now;
  const maxDrift = options.maxDriftMs ?? MAX_DRIFT_MS;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.device)) throw new HlcError("INVALID_HLC", `not a device id for a clock: ${JSON.stringify(options.device)}`);
  let wall = 0;
  let counter = 0;
  let latest: string | undefined;
  const bump = () => {
    if (counter >= MAX_COUNTER) {
      // Counter exhausted within one millisecond: borrow the next millisecond (still monotonic).
      wall += 1;
      counter = 0;
    } else counter += 1;
  };
  if (options.after !== undefined) {
    const h = decodeHlc(options.after);
    wall = h.wall;
    counter = h.counter;
    latest = options.after;
  }
  return {
    now() {
      const pt = wallClock();
      if (pt > wall) {
        wall = pt;
        counter = 0;
      } else bump();
      latest = encodeHlc({ wall, counter, device: options.device });
      return latest;
    },
    receive(remote) {
      const h = maxDrift === Infinity ? decodeHlc(remote) : checkDrift(remote, wallClock(), maxDrift);
      if (h.wall > wall || (h.wall === wall && h.counter > counter)) {
        wall = h.wall;
        counter = h.counter;
      }
      if (latest === undefined || remote > latest) latest = remote;
    },
    last: () => latest,
  };
}
