import type { Change } from "../index.js";
import type { Context } from "./context.js";
import { changeKindOf, type Explained, type ExplainedChange, type ExplainedOp } from "../interchange/index.js";
import { shortText, when } from "./render.js";

type Colors = Context["colors"];

/** What the line of one change needs, whether it came from `diff` or from `history`. */
interface Described extends Explained {
  readonly parentBefore?: string;
  readonly parentAfter?: string;
  readonly indexBefore?: number;
  readonly indexAfter?: number;
}

const quote = (text: string | undefined) => (text === undefined ? "" : `"${shortText(text)}"`);
const parent = (oid: string | undefined, text: string | undefined) => (text === undefined ? (oid ?? "?") : quote(text));
const at = (index: number | undefined) => (index === undefined ? "" : ` #${index}`);

/** The fields an update changed, for people: `content (was "A"), props.done changed, props.q added`. */
function fieldsText(ch: Described): string {
  const parts: string[] = [];
  if (ch.changed.includes("content")) parts.push(`content (was ${quote(ch.textBefore)})`);
  for (const key of ch.propKeys?.added ?? []) parts.push(`props.${key} added`);
  for (const key of ch.propKeys?.changed ?? []) parts.push(`props.${key} changed`);
  for (const key of ch.propKeys?.removed ?? []) parts.push(`props.${key} removed`);
  return parts.join(", ");
}

/** The row's text and what happened to it, after the kind and the oid. */
function details(kind: Change["kind"], ch: Described): string {
  switch (kind) {
    case "created":
      return `${quote(ch.textAfter)}${ch.parentAfter === undefined ? "" : ` under ${parent(ch.parentAfter, ch.parentTextAfter)}${at(ch.indexAfter)}`}`;
    case "deleted":
      return `${quote(ch.textBefore)}${ch.parentBefore === undefined ? "" : ` from ${parent(ch.parentBefore, ch.parentTextBefore)}${at(ch.indexBefore)}`}`;
    case "moved":
      return `${quote(ch.textAfter)} from ${parent(ch.parentBefore, ch.parentTextBefore)}${at(ch.indexBefore)} → ${parent(ch.parentAfter, ch.parentTextAfter)}${at(ch.indexAfter)}`;
    case "reordered":
      return `${quote(ch.textAfter)} under ${parent(ch.parentAfter, ch.parentTextAfter)}${ch.indexBefore === undefined ? " →" : ` #${ch.indexBefore} →`}${at(ch.indexAfter)}`;
    case "updated": {
      const fields = fieldsText(ch);
      return `${quote(ch.textAfter)}  ${fields || "(its own fields unchanged)"}`;
    }
  }
}

const COLOUR = { created: "green", deleted: "red", updated: "yellow", moved: "cyan", reordered: "cyan" } as const;

/** One change of `diff` for people: `updated    OID  "A2"  content (was "A"), props.done changed`. */
export function diffLine(c: Colors, ch: ExplainedChange): string {
  return `${c[COLOUR[ch.kind]](ch.kind.padEnd(10))} ${ch.oid}  ${details(ch.kind, ch)}`;
}

/** One op of `history` for people: time, kind, oid, the row's text and what changed; the vids dimmed. */
export function opLine(c: Colors, op: ExplainedOp): string {
  return `${c.dim(when(op.at))}  ${c.bold(op.kind.padEnd(14))} ${op.oid}  ${details(changeKindOf(op), op)}  ${c.dim(`${op.vidBefore ?? "-"} → ${op.vidAfter ?? "-"}`)}`;
}
