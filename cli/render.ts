import type { Json, Props, Stats } from "../index.js";
import { sourceText } from "../interchange/index.js";
import type { Context } from "./context.js";
import { write } from "./io.js";

type Colors = Context["colors"];

/** One line of an outline row for people: `[x] text  3 below · 50% done`, notes and props dimmed. */
export function rowLine(c: Colors, row: { content: string; props: Props; childCount: number; stats: Stats }): string {
  const done = row.props["done"];
  const mark = done === true ? c.green("[x] ") : done === false ? "[ ] " : "";
  const shown = shortText(row.content, 200);
  const extra: string[] = [];
  if (row.childCount > 0) extra.push(`${row.stats.descendants} below`);
  if (row.stats.total > 0) extra.push(`${row.stats.percent}% done`);
  const note = typeof row.props["note"] === "string" ? ` ${c.dim(`— ${firstLine(row.props["note"])}`)}` : "";
  return `${mark}${done === true ? c.dim(shown) : shown}${note}${extra.length ? `  ${c.cyan(extra.join(" · "))}` : ""}`;
}

/** A row's text for one line of output: newlines shown as ⏎, cut at `max` characters with …. */
export function shortText(content: string, max = 60): string {
  const text = sourceText(content).replace(/\r?\n/g, " ⏎ ");
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > 60 ? `${line.slice(0, 60)}…` : line;
}

/** Prints a result: JSON for scripts, or the human text. */
export async function print(ctx: Pick<Context, "io" | "json">, value: unknown, human: () => string): Promise<void> {
  await write(ctx.io.stdout, ctx.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** A timestamp for people. */
export function when(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

/** Props as `key=value` for people. */
export function propsText(props: Props): string {
  return Object.entries(props)
    .map(([k, v]: [string, Json]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}
