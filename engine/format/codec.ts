/**
 * The binary encoding of everything the database stores but never looks inside: version records,
 * children-tree chunks, op data. MessagePack (msgpackr) with ids as 16-byte binaries instead of
 * 36-character uuid text.
 */
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encodes one value. The buffer may share memory with later encodings: copy it to keep it apart. */
export function pack(value: unknown): Buffer {
  return packr.pack(value);
}

/** Decodes one value. */
export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Decodes a concatenation of values, with each one's byte range. */
export function unpackEach(bytes: Uint8Array, each: (value: unknown, start: number, end: number) => void): void {
  packr.unpackMultiple(bytes, (value, start, end) => {
    each(value, start!, end!);
  });
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Recently converted uuids: encoding a page of records converts the same few ascendants again and again. */
const recentBytes = new Map<string, Buffer>();

/** A canonical lower-case uuid as its 16 bytes (shared buffers: never write into them). */
export function uuidBytes(uuid: string): Buffer {
  let bytes = recentBytes.get(uuid);
  if (bytes) return bytes;
  bytes = Buffer.from(uuid.length === 36 ? uuid.replace(/-/g, "") : uuid, "hex");
  if (recentBytes.size >= 50_000) recentBytes.clear();
  recentBytes.set(uuid, bytes);
  return bytes;
}

/** 16 bytes as a canonical lower-case uuid. */
export function uuidText(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i]!]!;
    if (i === 3 || i === 5 || i === 7 || i === 9) s += "-";
  }
  return s;
}

// Node's Buffer spells base64url natively; the `buffer` package a browser bundle uses does not.
const NATIVE_B64URL = Buffer.isEncoding("base64url");

/** Bytes as base64url text (ids of chunks, the hash part of vids). */
export function b64(b: Uint8Array): string {
  const bytes = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (NATIVE_B64URL) return bytes.toString("base64url");
  return bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** base64url text as bytes. */
export function fromB64(text: string): Buffer {
  if (NATIVE_B64URL) return Buffer.from(text, "base64url");
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** A uuid's 16 bytes as base64url text (the device part of vids). */
export function uuidB64(uuid: string): string {
  return b64(Buffer.from(uuid.replace(/-/g, ""), "hex"));
}
