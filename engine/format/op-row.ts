/**
 * The binary columns of the `op` table: the op's data (what replaying it needs), the vids it
 * made (what history shows), and the objectives it wrote records for (what undoing it deletes).
 */
import { fromB64, pack, unpack, uuidBytes, uuidText } from "./codec.js";
import { deviceNo, type Devices } from "./devices.js";
import { VID } from "../ids.js";
import type { Props } from "../types.js";
import { vidText } from "./row-cache.js";
import type { StoredVid } from "./record.js";
import type { ReplicaOp } from "../replicate.js";

/** An op's data as stored. */
export function encodeOpData(data: Props): Buffer {
  return Buffer.from(pack(data));
}

/** An op's data from its stored bytes. */
export function decodeOpData(bytes: Uint8Array): Props {
  return unpack(bytes) as Props;
}

function vidOut(vid: string | null, devices: Devices): unknown {
  if (vid === null) return null;
  const m = VID.exec(vid);
  if (!m) return vid;
  return [fromB64(m[1]!), deviceNo(devices, uuidText(fromB64(m[2]!))), Number(m[3])];
}

function vidIn(v: unknown, devices: Devices): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  const [h, dev, counter] = v as [Uint8Array, number, number];
  return vidText(devices, { h, dev, counter } satisfies StoredVid);
}

/** The vids an op shows in history (its objective's before and after), as stored. */
export function encodeOpVids(before: string | null, after: string | null, devices: Devices): Buffer {
  return Buffer.from(pack([vidOut(before, devices), vidOut(after, devices)]));
}

/** The vids of an op from its stored bytes (devices must be loaded). */
export function decodeOpVids(bytes: Uint8Array | null, devices: Devices): { before: string | null; after: string | null } {
  if (bytes === null) return { before: null, after: null };
  const [b, a] = unpack(bytes) as [unknown, unknown];
  return { before: vidIn(b, devices), after: vidIn(a, devices) };
}

/** Device numbers the stored vids use (to load before decoding). */
export function opVidDevices(bytes: Uint8Array | null): number[] {
  if (bytes === null) return [];
  return (unpack(bytes) as unknown[]).flatMap((v) => (Array.isArray(v) ? [v[1] as number] : []));
}

/** The objectives an op wrote records for, as 16-byte uuids end to end. */
export function encodeTouched(oids: Iterable<string>): Buffer {
  return Buffer.concat([...oids].map(uuidBytes));
}

/** The objectives of a stored touched list. */
export function decodeTouched(bytes: Uint8Array | null): string[] {
  const out: string[] = [];
  if (bytes === null) return out;
  for (let i = 0; i + 16 <= bytes.length; i += 16) out.push(uuidText(bytes.subarray(i, i + 16)));
  return out;
}

/** The columns of a stored op that travel with it. */
export interface StoredOp {
  op_id: string;
  kind: string;
  oid: string;
  hlc: string;
  at: number;
  actor: string | null;
  device: string;
  data: Uint8Array;
}

/** A stored op as it travels to other devices (its data decoded). */
export function replicaOpOf(r: StoredOp): ReplicaOp {
  return { opId: r.op_id, kind: r.kind, oid: r.oid, hlc: r.hlc, at: r.at, actor: r.actor, device: r.device, data: decodeOpData(r.data) };
}
