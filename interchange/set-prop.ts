import type { Json, Props } from "../index.js";

/**
 * Sets a prop as an own data property: a key from a file may be `__proto__`, which a plain
 * assignment would turn into a prototype change instead of a prop.
 */
export function setProp(props: Props, key: string, value: Json): void {
  Object.defineProperty(props, key, { value, enumerable: true, writable: true, configurable: true });
}
