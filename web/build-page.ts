/**
 * Bundles the page (web/app.ts with index.html and app.css) into a directory `logbook serve`
 * serves: dist/web when the package is packed (`npm run build:dist`), a cache directory when the
 * command runs from the sources. esbuild is a dev dependency: the package ships the built page.
 *
 *   npx tsx web/build-page.ts dist/web
 */
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Builds the page into `outdir` (created if missing). */
export async function buildPage(outdir: string): Promise<void> {
  const { build } = await import("esbuild");
  await mkdir(outdir, { recursive: true });
  await build({ entryPoints: [join(here, "app.ts")], bundle: true, format: "esm", target: "es2022", minify: true, sourcemap: true, outfile: join(outdir, "app.js"), logLevel: "warning" });
  for (const file of ["index.html", "app.css"]) await copyFile(join(here, file), join(outdir, file));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildPage(process.argv[2] ?? join(here, "..", "dist", "web"));
