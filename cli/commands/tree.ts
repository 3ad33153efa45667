import type { Command } from "commander";
import type { Json, Props } from "../../index.js";
import { documentRows } from "../../interchange/index.js";
import { withContext, type GlobalOptions } from "../context.js";
import { bufferedWriter, type Io } from "../io.js";
import { positive } from "../parse-args.js";
import { rowLine } from "../render.js";

interface TreeOptions extends GlobalOptions {
  readonly depth?: number;
  readonly vid?: string;
  readonly ids?: boolean;
}

interface JsonNode {
  oid: string;
  vid: string;
  content: string;
  props: Props;
  childCount: number;
  children: JsonNode[];
}

/** `logbook tree DOC`: the outline drawn with indentation (or nested JSON). */
export function treeCommand(program: Command, io: Io): void {
  program
    .command("tree")
    .argument("<doc>", "the document's oid (or any objective's)")
    .description("print a document as an indented tree")
    .option("--depth <n>", "levels to show (1 = the top rows only)", positive("--depth"))
    .option("--vid <vid>", "a past version of the document")
    .option("--ids", "show each row's oid")
    .addHelpText("after", "\nExamples:\n  $ logbook tree 0190f3c2-... --depth 2\n  $ logbook tree 0190f3c2-... --vid Qm8x... --json")
    .action(async (doc: string, _options, command: Command) => {
      const options = command.optsWithGlobals<TreeOptions>();
      await withContext(options, io, "existing", async (ctx) => {
        const root = await ctx.engine.get(ctx.spaceId, doc, options.vid ? { vid: options.vid } : undefined);
        const max = options.depth ?? Infinity;
        const c = ctx.colors;
        const top: JsonNode = { oid: root.oid, vid: root.vid, content: root.content, props: root.props, childCount: root.childCount, children: [] };
        const stack: JsonNode[] = [top];
        const out = bufferedWriter(io.stdout);
        if (!ctx.json) await out.add(`${c.bold(rowLine(c, root))}${options.ids ? c.dim(`  ${root.oid}`) : ""}\n`);
        for await (const row of documentRows(ctx.engine, ctx.spaceId, root.oid, options.vid, max)) {
          if (ctx.json) {
            const node: JsonNode = { oid: row.oid, vid: row.vid, content: row.content, props: row.props, childCount: row.childCount, children: [] };
            stack.length = row.depth + 1;
            stack[row.depth]!.children.push(node);
            stack.push(node);
            continue;
          }
          const hidden = row.childCount > 0 && row.depth + 1 >= max ? c.dim(" …") : "";
          await out.add(`${"  ".repeat(row.depth + 1)}${c.dim("•")} ${rowLine(c, row)}${hidden}${options.ids ? c.dim(`  ${row.oid}`) : ""}\n`);
        }
        if (ctx.json) await out.add(`${JSON.stringify(top as unknown as Json, null, 2)}\n`);
        await out.flush();
      });
    });
}
