/**
 * A version by its public vid. A vid names the op that made it (engine/ids.ts): the op's local seq
 * is the version's storage key, so finding one is the op table's index, then the version's row.
 * Vids made before schema 6 carry no op; the upgrade listed them in `version_alias`.
 */
import type { Queryable } from "../storage/contract.js";
import { fromB64, uuidText } from "./format/codec.js";
import { VID } from "./ids.js";

/** How to look a vid up: storage, or a page of unwritten ops first. */
export interface VidLookup {
  /** The local seq an op was applied at (undefined: unknown here or not applied). */
  opSeq(opId: string): Promise<number | undefined>;
  /** The storage key of a vid made before schema 6. */
  alias(vid: string): Promise<{ oid: string; seq: number } | undefined>;
}

/** The op id a vid names, or undefined for a vid made before schema 6. */
export function opIdOfVid(vid: string): string | undefined {
  const m = VID.exec(vid);
  return m ? `${uuidText(fromB64(m[2]!))}.${m[3]}` : undefined;
}

/** The seq a version of `oid` is stored at, by its vid (undefined when there is none). */
export async function seqOfVid(lookup: VidLookup, oid: string, vid: string): Promise<number | undefined> {
  const opId = opIdOfVid(vid);
  if (opId !== undefined) return lookup.opSeq(opId);
  const hit = await lookup.alias(vid);
  return hit && hit.oid === oid ? hit.seq : undefined;
}

/** Vid lookups in storage. */
export function storedVidLookup(q: Queryable, spaceId: string): VidLookup {
  return {
    async opSeq(opId) {
      const [row] = await q.query<{ seq: number | null }>("select seq from op where space_id = $1 and op_id = $2", [spaceId, opId]);
      return row?.seq ?? undefined;
    },
    async alias(vid) {
      const [row] = await q.query<{ oid: string; seq: number }>("select oid, seq from version_alias where space_id = $1 and vid = $2", [spaceId, vid]);
      return row;
    },
  };
}
