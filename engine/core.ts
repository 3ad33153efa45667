import type { Placement } from "./chains.js";
import type { Storage } from "../storage/contract.js";
import type { HlcClock } from "./hlc.js";
import type { RowCache } from "./format/row-cache.js";
import type { Limits } from "./validate.js";
import type { Known } from "./known.js";

/** What every engine operation works with: plain data, shared by the operation modules. */
export interface Core {
  readonly storage: Storage;
  readonly cache: RowCache;
  /** This database's device id: the first half of every op id it makes. */
  readonly deviceId: string;
  readonly limits: Limits;
  /**
   * Who makes the changes (recorded on ops) and whose role every write and read is checked against
   * (engine/roles.ts); undefined: the engine's owner, never refused.
   */
  readonly actor: string | undefined;
  /** The clock; injectable for tests. */
  readonly now: () => number;
  /** This device's hybrid logical clock: stamps every local op, and follows every op received. */
  readonly clock: HlcClock;
  /** What this engine knows each space's newest rows to be, for one-round-trip writes. */
  readonly known: Known;
  /**
   * Active chains located earlier in the same call, by `spaceId|oid` (a reader's access check
   * locates the objective it then reads): the read takes the chain instead of locating it again.
   */
  readonly located?: Map<string, Placement[]>;
}
