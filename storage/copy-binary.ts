/**
 * PostgreSQL's binary COPY format (the `COPY ... FROM ... WITH (format binary)` input), built in one
 * buffer. A row's fields travel as they rest: no text to parse, no base64 to decode; on PGlite this
 * writes a version row in a third of the time a jsonb parameter takes.
 */

/** The column types the engine copies. */
export type CopyType = "uuid" | "int8" | "int2" | "text" | "bytea";

/** One column of a copied table. */
export interface CopyColumn {
  readonly name: string;
  readonly type: CopyType;
}

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/** Recently written uuids as bytes: a page copies the same objectives' ids many times. */
const recent = new Map<string, Buffer>();

function uuidInto(out: Buffer, at: number, uuid: string): void {
  let bytes = recent.get(uuid);
  if (!bytes) {
    const hex = uuid.replace(/-/g, "");
    if (hex.length !== 32) throw new Error(`not a uuid: ${uuid}`);
    bytes = Buffer.from(hex, "hex");
    if (recent.size >= 50_000) recent.clear();
    recent.set(uuid, bytes);
  }
  bytes.copy(out, at);
}

/** The COPY input of `rows` (arrays in column order; null for NULL). */
export function encodeCopyBinary(columns: readonly CopyColumn[], rows: readonly (readonly unknown[])[]): Buffer {
  // Sizes first, then one buffer.
  let size = SIGNATURE.length + 8 + 2;
  const texts: (Buffer | undefined)[][] = rows.map((row) =>
    columns.map((c, k) => (c.type === "text" && row[k] !== null && row[k] !== undefined ? Buffer.from(String(row[k]), "utf8") : undefined)),
  );
  rows.forEach((row, i) => {
    size += 2;
    columns.forEach((c, k) => {
      const v = row[k];
      size += 4;
      if (v === null || v === undefined) return;
      if (c.type === "uuid") size += 16;
      else if (c.type === "int8") size += 8;
      else if (c.type === "int2") size += 2;
      else if (c.type === "text") size += texts[i]![k]!.length;
      else size += (v as Uint8Array).length;
    });
  });
  const out = Buffer.allocUnsafe(size);
  let at = SIGNATURE.copy(out, 0);
  at = out.writeInt32BE(0, at);
  at = out.writeInt32BE(0, at);
  rows.forEach((row, i) => {
    at = out.writeInt16BE(columns.length, at);
    columns.forEach((c, k) => {
      const v = row[k];
      if (v === null || v === undefined) {
        at = out.writeInt32BE(-1, at);
        return;
      }
      if (c.type === "uuid") {
        at = out.writeInt32BE(16, at);
        uuidInto(out, at, v as string);
        at += 16;
      } else if (c.type === "int8") {
        at = out.writeInt32BE(8, at);
        at = out.writeBigInt64BE(BigInt(v as number), at);
      } else if (c.type === "int2") {
        at = out.writeInt32BE(2, at);
        at = out.writeInt16BE(v as number, at);
      } else {
        const bytes = c.type === "text" ? texts[i]![k]! : (v as Uint8Array);
        at = out.writeInt32BE(bytes.length, at);
        out.set(bytes, at);
        at += bytes.length;
      }
    });
  });
  out.writeInt16BE(-1, at);
  return out;
}
