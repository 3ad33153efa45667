/*
 * XML 1.0 cannot carry most C0 controls, lone surrogates or U+FFFE/U+FFFF, not even as character
 * references; they are written as U+FFFD. Whitespace inside attributes is written as references
 * so that attribute-value normalization does not turn newlines and tabs into spaces.
 */

// eslint-disable-next-line no-control-regex
const INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ATTRIBUTE = /[&<>"'\t\n\r]/g;
const TEXT = /[&<>\r]/g;
const REFERENCES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/** A string as a double-quoted XML attribute value (without the quotes). */
export function escapeAttribute(value: string): string {
  return value.replace(INVALID, "\uFFFD").replace(ATTRIBUTE, (c) => REFERENCES[c]!);
}

/** A string as XML character data. */
export function escapeText(value: string): string {
  return value.replace(INVALID, "\uFFFD").replace(TEXT, (c) => REFERENCES[c]!);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Whether `name` can be written as an XML element or attribute name (no namespaces). */
export function isXmlName(name: string): boolean {
  return NAME.test(name) && !/^xml/i.test(name);
}
