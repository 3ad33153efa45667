import type { Props } from "../index.js";
import { InterchangeError } from "./errors.js";
import type { OutlineEvent } from "./outline.js";

/** The engine's default limits (engine/validate.ts), checked before anything is written. */
export interface ImportLimits {
  readonly maxContent: number;
  readonly maxProps: number;
}

/** The engine's defaults: 100,000 characters of content, 64 KiB of props JSON. */
export const DEFAULT_IMPORT_LIMITS: ImportLimits = { maxContent: 100_000, maxProps: 64 * 1024 };

function hasNul(props: Props): boolean {
  return JSON.stringify(props).includes("\\u0000");
}

/**
 * Throws for an event the engine would refuse (too long, NUL characters), naming the line; so a
 * file that passes a full check imports without an input error half-way.
 */
export function checkEvent(event: OutlineEvent, file: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): void {
  if (event.kind === "close") return;
  const fail = (reason: string): never => {
    throw new InterchangeError("LIMIT", file, event.line, reason);
  };
  const content = event.content ?? "";
  if (content.length > limits.maxContent) fail(`the text is ${content.length.toLocaleString("en")} characters, more than the limit of ${limits.maxContent.toLocaleString("en")}`);
  if (content.includes("\u0000")) fail("the text contains a NUL character");
  if (hasNul(event.props)) fail("a property contains a NUL character");
  const bytes = Buffer.byteLength(JSON.stringify(event.props));
  if (bytes > limits.maxProps) fail(`the properties (note included) are ${bytes.toLocaleString("en")} bytes, more than the limit of ${limits.maxProps.toLocaleString("en")}`);
}
