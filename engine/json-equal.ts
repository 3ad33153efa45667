import type { Json } from "./types.js";

/**
 * Whether two JSON values are equal: objects by their keys' values, whatever the keys' order or
 * the objects' prototypes (a row read back from jsonb holds its keys in jsonb's order, the same row
 * from the cache in the order written; an input object may have a null prototype), arrays element
 * by element.
 */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
}
