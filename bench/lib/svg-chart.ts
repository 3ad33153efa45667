import type { CellResult } from "./cell-spec.js";
import { headline } from "./report.js";

const PANELS: readonly [string, string][] = [
  ["checkoutMs", "subtree checkout (ms)"],
  ["diffMs", "diff over the history (ms)"],
  ["editD10Us", "single edit at depth 10 (µs)"],
  ["viewColdOldMs", "50-row window, old version, cold (ms)"],
  ["viewWarmActiveMs", "50-row window, active, warm (ms)"],
  ["storageBytes", "storage after the history (bytes)"],
];

const COLORS: Record<string, string> = {
  "engine-pglite": "#1f77b4", "engine-postgres": "#0b3d91", "event-log": "#ff7f0e", snapshot: "#d62728",
  adjacency: "#7f7f7f", loro: "#2ca02c", automerge: "#9467bd",
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const short = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v >= 10 ? v.toFixed(0) : v.toFixed(2));

/**
 * A hand-built SVG: one panel per measure, a group of horizontal bars per document size (one
 * shape), one bar per system, on a log scale so a 1000× gap stays readable.
 */
export function chartSvg(cells: readonly CellResult[], shape: string, title: string): string {
  const mine = cells.filter((c) => c.spec.shape === shape);
  const sizes = [...new Set(mine.map((c) => c.spec.size))].sort((a, b) => a - b);
  const systems = [...new Set(mine.map((c) => c.system))];
  const bar = 11;
  const labelW = 170;
  const plotW = 330;
  const panelW = labelW + plotW + 60;
  const groupH = systems.length * bar + 18;
  const panelH = 30 + sizes.length * groupH;
  const cols = 2;
  const W = cols * panelW + 20;
  const H = 50 + Math.ceil(PANELS.length / cols) * (panelH + 20) + 20 + systems.length * 0;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="36" fill="#555">${esc(`${shape} outline; log scale; shorter is better; missing bar: not supported`)}</text>`,
  ];
  PANELS.forEach(([key, label], p) => {
    const x0 = 10 + (p % cols) * panelW;
    const y0 = 50 + Math.floor(p / cols) * (panelH + 20);
    const values = mine.map((c) => headline(c)[key]).filter((v): v is number => typeof v === "number" && v > 0);
    if (values.length === 0) return;
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.ceil(Math.log10(Math.max(...values))) + (Math.min(...values) === Math.max(...values) ? 1 : 0);
    const scale = (v: number) => ((Math.log10(v) - lo) / Math.max(1, hi - lo)) * plotW;
    out.push(`<text x="${x0}" y="${y0 + 12}" font-weight="bold">${esc(label)}</text>`);
    for (let e = lo; e <= hi; e++) {
      const x = x0 + labelW + scale(10 ** e);
      out.push(`<line x1="${x}" y1="${y0 + 18}" x2="${x}" y2="${y0 + panelH}" stroke="#ddd"/>`, `<text x="${x}" y="${y0 + panelH + 10}" text-anchor="middle" fill="#777">${short(10 ** e)}</text>`);
    }
    sizes.forEach((size, g) => {
      const gy = y0 + 24 + g * groupH;
      out.push(`<text x="${x0}" y="${gy + 8}" fill="#333">${short(size)} objectives</text>`);
      systems.forEach((s, i) => {
        const c = mine.find((x) => x.system === s && x.spec.size === size);
        const v = c ? headline(c)[key] : null;
        const y = gy + 10 + i * bar;
        out.push(`<text x="${x0 + labelW - 4}" y="${y + 8}" text-anchor="end">${esc(s)}</text>`);
        if (v !== null && v !== undefined && v > 0) {
          out.push(`<rect x="${x0 + labelW}" y="${y}" width="${Math.max(1, scale(v)).toFixed(1)}" height="${bar - 2}" fill="${COLORS[s] ?? "#444"}"/>`);
          out.push(`<text x="${(x0 + labelW + Math.max(1, scale(v)) + 3).toFixed(1)}" y="${y + 8}" fill="#333">${short(v)}</text>`);
        }
      });
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
