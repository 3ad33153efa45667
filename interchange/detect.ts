import { open } from "node:fs/promises";
import { extname } from "node:path";
import type { OutlineFormat } from "./outline.js";

const EXTENSIONS: Record<string, OutlineFormat> = {
  ".opml": "opml",
  ".xml": "opml",
  ".md": "md",
  ".markdown": "md",
  ".txt": "md",
};

/**
 * The format of a file: by extension, else by its first bytes (`<` after a BOM and whitespace
 * means XML, so OPML; anything else is read as Markdown).
 */
export async function detectFormat(path: string): Promise<OutlineFormat> {
  const byName = EXTENSIONS[extname(path).toLowerCase()];
  if (byName) return byName;
  const handle = await open(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(512), 0, 512, 0);
    const head = buffer.subarray(0, bytesRead).toString("utf8").replace(/^\uFEFF/, "").trimStart();
    return head.startsWith("<") ? "opml" : "md";
  } finally {
    await handle.close();
  }
}
