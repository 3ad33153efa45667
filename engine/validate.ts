import { invalid } from "./errors.js";
import { isUuid, isVid } from "./ids.js";
import type { Json, Props } from "./types.js";

/** Size limits of stored values; `openEngine({ limits })` may lower or raise them. */
export interface Limits {
  /** Longest content, in characters. Default 100,000. */
  readonly maxContent: number;
  /** Largest props, in bytes of JSON. Default 64 KiB. */
  readonly maxProps: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: Limits = { maxContent: 100_000, maxProps: 64 * 1024 };

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text.length > 60 ? `${text.slice(0, 60)}…` : text;
  } catch {
    // fall through: cyclic or otherwise unprintable
  }
  return String(value);
}

/** Checks an oid or space id argument. */
export function checkId(name: string, value: unknown): string {
  if (!isUuid(value)) throw invalid(`${name} must be a UUID, got ${show(value)}`);
  return value.toLowerCase();
}

/** Checks a vid argument. */
export function checkVid(name: string, value: unknown): string {
  if (!isVid(value)) throw invalid(`${name} must be a version id (22 base64url characters), got ${show(value)}`);
  return value;
}

/** Checks content: a non-empty string within the limit. */
export function checkContent(value: unknown, limits: Limits): string {
  if (typeof value !== "string") throw invalid(`content must be a string, got ${show(value)}`);
  if (value.length === 0) throw invalid(`content must not be empty, got ""`);
  if (value.includes("\u0000")) throw invalid(`content must not contain the NUL character, got ${show(value)}`);
  if (value.length > limits.maxContent) {
    throw invalid(`content is ${value.length} characters, more than the limit of ${limits.maxContent}`);
  }
  return value;
}

function checkJson(value: unknown, path: string, seen: Set<object>): asserts value is Json {
  if (typeof value === "string") {
    if (value.includes("\u0000")) throw invalid(`props${path} must not contain the NUL character`);
    return;
  }
  if (value === null || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalid(`props${path} must be JSON, got the number ${value}`);
    return;
  }
  if (typeof value !== "object") throw invalid(`props${path} must be JSON, got ${typeof value} ${show(value)}`);
  if (seen.has(value)) throw invalid(`props${path} is a cycle, which JSON cannot hold`);
  seen.add(value);
  if (Array.isArray(value)) value.forEach((v, i) => checkJson(v, `${path}[${i}]`, seen));
  else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw invalid(`props${path} must be a plain JSON object, got ${proto?.constructor?.name ?? "object"} ${show(value)}`);
    }
    for (const [k, v] of Object.entries(value)) {
      if (k.includes("\u0000")) throw invalid(`props${path} has a key with the NUL character`);
      checkJson(v, `${path}.${k}`, seen);
    }
  }
  seen.delete(value);
}

/** Checks props: a plain JSON object within the size limit. */
export function checkProps(value: unknown, limits: Limits): Props {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(`props must be a JSON object, got ${show(value)}`);
  }
  checkJson(value, "", new Set());
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > limits.maxProps) throw invalid(`props are ${bytes} bytes of JSON, more than the limit of ${limits.maxProps}`);
  return value as Props;
}

/** Checks a child index: an integer in [0, max]. */
export function checkIndex(value: unknown, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(`index must be an integer from 0 to ${max}, got ${show(value)}`);
  }
  return value;
}

/** Checks a page size. */
export function checkLimit(value: unknown, fallback: number, max = 10_000): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`limit must be an integer from 1 to ${max}, got ${show(value)}`);
  }
  return value;
}

/** Checks an offset. */
export function checkOffset(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw invalid(`offset must be a non-negative integer, got ${show(value)}`);
  }
  return value;
}
