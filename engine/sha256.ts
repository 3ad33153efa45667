import { sha256 as jsSha256 } from "@noble/hashes/sha2.js";

/**
 * SHA-256 for vids and chunk ids, synchronous on every platform: Node's one-shot `crypto.hash`
 * where it exists (~4× faster than a hash object per id, and faster than any JavaScript), else a
 * well-kept pure-JavaScript SHA-256 (@noble/hashes), so that engine/ and viewbuilder/ bundle and
 * run in a browser. Node's module is reached through `process.getBuiltinModule`, not an import:
 * a bundler for the browser never sees `node:crypto`.
 *
 * @example
 * sha256("v1\u0000...").subarray(0, 12)
 */
export function sha256(data: string | Uint8Array): Uint8Array {
  if (nodeHash) return nodeHash("sha256", data, "buffer") as unknown as Uint8Array;
  return jsSha256(typeof data === "string" ? encoder.encode(data) : data);
}

const encoder = new TextEncoder();
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:crypto") as
  | { hash?: (algorithm: string, data: string | Uint8Array, encoding: "buffer") => unknown }
  | undefined;
const nodeHash = nodeCrypto?.hash;
