/**
 * Device numbers: every op id is `<device uuid>.<counter>`, and every version record names the op
 * that made it. Records store a small per-database number for the device instead of its 16 bytes;
 * the `device` table maps the two, and this cache holds it in memory (it only grows).
 */
import type { Queryable } from "../../storage/contract.js";
import { uuidB64 } from "./codec.js";

/** The device dictionary of one database, as loaded so far. */
export interface Devices {
  readonly byId: Map<string, number>;
  readonly byNo: Map<number, string>;
  /** The 22 base64url characters of each device's uuid, as vids spell it. */
  readonly b64: Map<number, string>;
}

/** An empty dictionary (filled by `ensureDevices`). */
export function createDevices(): Devices {
  return { byId: new Map(), byNo: new Map(), b64: new Map() };
}

/** Adds one device the database numbered to the dictionary. */
export function rememberDevice(d: Devices, no: number, id: string): void {
  d.byId.set(id, no);
  d.byNo.set(no, id);
  d.b64.set(no, uuidB64(id));
}

/**
 * Numbers the given devices, adding those the database lacks. Runs in its own statements outside
 * any write transaction: a number once handed out is committed, so a rolled-back write can never
 * leave the cache holding a number the database does not know.
 */
export async function ensureDevices(d: Devices, q: Queryable, ids: Iterable<string>): Promise<void> {
  const missing = [...new Set(ids)].filter((id) => !d.byId.has(id));
  if (missing.length === 0) return;
  await q.query("insert into device (id) select unnest($1::uuid[]) on conflict (id) do nothing", [missing]);
  const rows = await q.query<{ no: number; id: string }>("select no, id from device where id = any($1::uuid[])", [missing]);
  for (const r of rows) rememberDevice(d, r.no, r.id);
}

/** Loads device numbers the cache lacks (reading records made by other engines on one database). */
export async function loadDevices(d: Devices, q: Queryable, nos: Iterable<number>): Promise<void> {
  const missing = [...new Set(nos)].filter((no) => !d.byNo.has(no));
  if (missing.length === 0) return;
  const rows = await q.query<{ no: number; id: string }>("select no, id from device where no = any($1::int4[])", [missing]);
  for (const r of rows) rememberDevice(d, r.no, r.id);
}

/** The number of a device the dictionary holds (see `ensureDevices`). */
export function deviceNo(d: Devices, id: string): number {
  const no = d.byId.get(id);
  if (no === undefined) throw new Error(`device ${id} has no number yet`);
  return no;
}
