import type { Props } from "../index.js";
import { jsonEqual } from "../engine/json-equal.js";

/** The keys of props that differ between two versions of a row. */
export interface PropKeys {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
}

/** Which of a row's own fields differ between two of its versions. */
export interface FieldChanges {
  /** `"content"`, then `"props.KEY"` for every prop added, changed or removed (keys sorted). */
  readonly changed: string[];
  /** Present when a prop differs. */
  readonly propKeys?: PropKeys;
}

type Fields = { readonly content: string; readonly props: Props };

/** Compares content and props; props by value (JSON equality), whatever their keys' order. */
export function fieldChanges(before: Fields, after: Fields): FieldChanges {
  const keys = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
  for (const key of new Set([...Object.keys(before.props), ...Object.keys(after.props)])) {
    const had = Object.hasOwn(before.props, key);
    const has = Object.hasOwn(after.props, key);
    if (!had) keys.added.push(key);
    else if (!has) keys.removed.push(key);
    else if (!jsonEqual(before.props[key], after.props[key])) keys.changed.push(key);
  }
  const props = [...keys.added, ...keys.changed, ...keys.removed].sort();
  const changed = [...(before.content === after.content ? [] : ["content"]), ...props.map((k) => `props.${k}`)];
  if (props.length === 0) return { changed };
  return { changed, propKeys: { added: keys.added.sort(), changed: keys.changed.sort(), removed: keys.removed.sort() } };
}
