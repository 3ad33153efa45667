/**
 * Synthetic OPML outlines of a given size for tests and benchmarks, written as a stream (so a
 * million-row file never sits in memory): sections of mixed fan-out, notes and tasks.
 */

/** Rows of a synthetic outline in document order: depth and attributes (deterministic). */
export function* syntheticRows(n: number, seed = 1): Generator<{ depth: number; text: string; note?: string; done?: boolean }> {
  let x = seed >>> 0 || 1;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (i > 0) depth = r < 0.45 && depth < 8 ? depth + 1 : r < 0.75 ? depth : Math.max(0, depth - 1 - Math.floor(rand() * 3));
    const row: { depth: number; text: string; note?: string; done?: boolean } = { depth, text: `Row ${i}: ${"lorem ipsum ".repeat(1 + (i % 4))}& <tag> "q"` };
    if (i % 7 === 0) row.note = `note of ${i}\nsecond line`;
    if (i % 3 === 0) row.done = i % 2 === 0;
    yield row;
  }
}

function attr(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/\n/g, "&#10;");
}

/** An OPML file of `n` rows as text chunks. */
export function* syntheticOpml(n: number, seed = 1): Generator<string> {
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n<head><title>Synthetic ${n}</title></head>\n<body>\n`;
  const open: number[] = [];
  let previous: string | undefined;
  let previousDepth = -1;
  const flushPrevious = (nextDepth: number) => {
    if (previous === undefined) return;
    if (nextDepth > previousDepth) {
      out += `${previous}>\n`;
      open.push(previousDepth);
    } else out += `${previous}/>\n`;
    while (open.length && open[open.length - 1]! >= nextDepth) out += `${" ".repeat(open.pop()!)}</outline>\n`;
  };
  for (const row of syntheticRows(n, seed)) {
    flushPrevious(row.depth);
    previous = `${" ".repeat(row.depth)}<outline text="${attr(row.text)}"${row.note ? ` _note="${attr(row.note)}"` : ""}${row.done === undefined ? "" : ` _complete="${row.done}"`}`;
    previousDepth = row.depth;
    if (out.length > 64 * 1024) {
      yield out;
      out = "";
    }
  }
  flushPrevious(-1);
  yield `${out}</body>\n</opml>\n`;
}
