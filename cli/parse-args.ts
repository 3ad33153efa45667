import { InvalidArgumentError } from "commander";
import type { Json, Props } from "../index.js";

/** Commander parser for a non-negative integer option, naming the bad value. */
export function nonNegative(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${value}"`);
    return Number(value);
  };
}

/** Commander parser for a positive integer option. */
export function positive(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return Number(value);
  };
}

/** Commander parser for one of a few words. */
export function oneOf<T extends string>(name: string, words: readonly T[]) {
  return (value: string): T => {
    if (!(words as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${words.join(", ")}, got "${value}"`);
    return value as T;
  };
}

/** Collects repeated `--prop key=value` options; the value is JSON when it parses, else text. */
export function collectProp(value: string, previous: Props = {}): Props {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`--prop must look like key=value, got "${value}"`);
  const key = value.slice(0, eq);
  const text = value.slice(eq + 1);
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    parsed = text;
  }
  return { ...previous, [key]: parsed };
}
