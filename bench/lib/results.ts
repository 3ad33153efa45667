import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Where results go: bench/results/. */
export const resultsDir = join(here, "..", "results");

/** The machine a result was measured on. */
export function machine() {
  return { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? "?", memGiB: Math.round(totalmem() / 2 ** 30) };
}

/** Prints rows as an aligned table (also returned as Markdown). */
export function table(rows: readonly Record<string, string | number>[]): string {
  if (rows.length === 0) return "";
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : (v ?? ""));
  const lines = [
    `| ${cols.join(" | ")} |`,
    `| ${cols.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(" | ")} |`),
  ];
  const text = lines.join("\n");
  console.log(text);
  return text;
}

/** Writes `bench/results/<name>.json` (and `<name>.md` with the table). */
export async function save(name: string, data: unknown, markdown: string): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  const stamp = new Date().toISOString();
  await writeFile(join(resultsDir, `${name}.json`), JSON.stringify({ name, at: stamp, machine: machine(), data }, null, 2) + "\n");
  await writeFile(join(resultsDir, `${name}.md`), `# ${name}\n\nMeasured ${stamp} on ${JSON.stringify(machine())}.\n\n${markdown}\n`);
}
