/**
 * How children-tree nodes are stored: inline in a version record (the root of a children list) or
 * as a content-addressed `link` row (every other node of a list wider than 64). A leaf is
 * `[0, [[oid, seq, pos, rows], ...]]` and an inner node `[1, [[chunkId, lo, count, rows], ...]]`,
 * ids as 16-byte binaries. A link names its child version by the child's oid and the local seq of
 * the op that made that version, which is the version's storage key.
 */
import { sha256 } from "../sha256.js";
import type { ChunkRef, Entry, KidsNode } from "../children-tree.js";
import { b64, fromB64, pack, uuidBytes, uuidText } from "./codec.js";

/** A node as the encoder takes it. */
export type EncodedNode = [0, [Buffer, number, string, number][]] | [1, [Buffer, string, number, number][]];

/** A node in its encoded (packable) form. */
export function encodeNode(node: KidsNode): EncodedNode {
  if ("l" in node) return [0, node.l.map((e) => [uuidBytes(e[0]), e[1], e[2], e[3]])];
  return [1, node.i.map((r) => [fromB64(r[0]), r[1], r[2], r[3]])];
}

/** A node from its decoded form. */
export function decodeNode(value: unknown): KidsNode {
  const [kind, items] = value as [number, unknown[][]];
  if (kind === 0) return { l: items.map((e): Entry => [uuidText(e[0] as Uint8Array), e[1] as number, e[2] as string, e[3] as number]) };
  return { i: items.map((r): ChunkRef => [b64(r[0] as Uint8Array), r[1] as string, r[2] as number, r[3] as number]) };
}

/** The stored bytes of a chunk row. */
export function chunkBytes(node: KidsNode): Buffer {
  return Buffer.from(pack(encodeNode(node)));
}

/** Content id of a chunk (128 bits of sha256 over its bytes, base64url): equal chunks share one row. */
export function chunkIdOf(bytes: Uint8Array): string {
  return b64(sha256(bytes).subarray(0, 16));
}
