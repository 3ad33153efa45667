import type { Command } from "commander";
import type { Props } from "../../index.js";
import { storedContent } from "../../interchange/index.js";
import { withContext, type GlobalOptions } from "../context.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { collectProp, nonNegative } from "../parse-args.js";
import { print } from "../render.js";

interface PropOptions extends GlobalOptions {
  readonly prop?: Props;
  readonly done?: boolean;
  readonly note?: string;
}

function propsOf(options: PropOptions): Props {
  const props: Props = { ...options.prop };
  if (options.done !== undefined) props["done"] = options.done;
  if (options.note !== undefined) props["note"] = options.note;
  return props;
}

function withProps(command: Command): Command {
  return command
    .option("--prop <key=value>", "set a prop (repeatable); the value is JSON when it parses, else text", collectProp)
    .option("--done", "mark done (props.done = true)")
    .option("--undone", "mark not done (props.done = false)")
    .option("--note <text>", "set the note (props.note)");
}

function readDone(command: Command): boolean | undefined {
  const o = command.opts<{ done?: boolean; undone?: boolean }>();
  if (o.done && o.undone) throw new CliError("INVALID_ARGUMENT", "--done and --undone cannot both be given");
  return o.done ? true : o.undone ? false : undefined;
}

/** `logbook create | update | move | remove`: single edits, one version each. */
export function editCommands(program: Command, io: Io): void {
  withProps(
    program
      .command("create")
      .argument("<content>", "the new row's text")
      .description("create a row under --parent (or, without it, a new document)")
      .option("--parent <oid>", "the parent objective; omitted: a new document")
      .option("--index <i>", "position among the parent's children (default: last)", nonNegative("--index")),
  )
    .addHelpText("after", '\nExamples:\n  $ logbook create "Plan"                                  # a new document\n  $ logbook create "Buy milk" --parent 0190f3c2-... --index 0 --undone')
    .action(async (content: string, _options, command: Command) => {
      const options = command.optsWithGlobals<PropOptions & { parent?: string; index?: number }>();
      const done = readDone(command);
      const props = propsOf({ ...options, ...(done === undefined ? {} : { done }) });
      await withContext(options, io, "create", async (ctx) => {
        const made = options.parent
          ? await ctx.engine.create(ctx.spaceId, { parentOid: options.parent, content: storedContent(content), props, ...(options.index === undefined ? {} : { index: options.index }) })
          : await ctx.engine.createDocument(ctx.spaceId, { content: storedContent(content), props });
        if (!options.parent) await ctx.remember({ oid: made.oid, title: made.content, at: new Date().toISOString() });
        await print(ctx, made, () => made.oid);
      });
    });

  withProps(
    program
      .command("update")
      .argument("<oid>", "the row to change")
      .description("change a row's text and/or props (a partial patch: other props stay)")
      .option("--content <text>", "the new text"),
  )
    .addHelpText("after", '\nExamples:\n  $ logbook update 0190f3c2-... --content "Buy oat milk"\n  $ logbook update 0190f3c2-... --done --prop priority=2')
    .action(async (oid: string, _options, command: Command) => {
      const options = command.optsWithGlobals<PropOptions & { content?: string }>();
      const done = readDone(command);
      const props = propsOf({ ...options, ...(done === undefined ? {} : { done }) });
      if (options.content === undefined && Object.keys(props).length === 0) throw new CliError("INVALID_ARGUMENT", "nothing to update: give --content, --done, --undone, --note or --prop");
      await withContext(options, io, "existing", async (ctx) => {
        const patch = { ...(options.content === undefined ? {} : { content: storedContent(options.content) }), ...(Object.keys(props).length ? { props } : {}) };
        const now = await ctx.engine.update(ctx.spaceId, oid, patch);
        await print(ctx, now, () => `updated ${oid}: version ${now.vid}`);
      });
    });

  program
    .command("move")
    .argument("<oid>", "the row to move (with its subtree)")
    .description("move a row under another parent or to another position")
    .requiredOption("--parent <oid>", "the new parent")
    .option("--index <i>", "position among the new parent's children (default: last)", nonNegative("--index"))
    .addHelpText("after", "\nExample:\n  $ logbook move 0190f3c2-... --parent 0190f3d0-... --index 0")
    .action(async (oid: string, _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { parent: string; index?: number }>();
      await withContext(options, io, "existing", async (ctx) => {
        const now = await ctx.engine.move(ctx.spaceId, oid, { parentOid: options.parent, ...(options.index === undefined ? {} : { index: options.index }) });
        await print(ctx, now, () => `moved ${oid} under ${options.parent}`);
      });
    });

  program
    .command("remove")
    .argument("<oid>", "the row (or document) to remove, with its subtree")
    .description("remove a subtree from the active tree (its versions stay: checkout brings it back)")
    .addHelpText("after", "\nExample:\n  $ logbook remove 0190f3c2-...")
    .action(async (oid: string, _options, command: Command) => {
      await withContext(command.optsWithGlobals<GlobalOptions>(), io, "existing", async (ctx) => {
        await ctx.engine.remove(ctx.spaceId, oid);
        await print(ctx, { removed: oid }, () => `removed ${oid}`);
      });
    });

  program
    .command("restore")
    .argument("<oid>", "a removed row (or document)")
    .description("put a removed row back with its subtree, where it was or under --parent (undo of remove)")
    .option("--parent <oid>", "put it under this row instead of where it was")
    .option("--index <i>", "position among the parent's children, with --parent (default: last)", nonNegative("--index"))
    .addHelpText("after", "\nExamples:\n  $ logbook restore 0190f3c2-...\n  $ logbook restore 0190f3c2-... --parent 0190f3d0-... --index 0")
    .action(async (oid: string, _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { parent?: string; index?: number }>();
      await withContext(options, io, "existing", async (ctx) => {
        if (options.index !== undefined && options.parent === undefined) throw new CliError("INVALID_ARGUMENT", `--index ${options.index} needs --parent: without it the row goes back where it was`);
        const to = options.parent === undefined ? undefined : { parentOid: options.parent, ...(options.index === undefined ? {} : { index: options.index }) };
        const now = await ctx.engine.restore(ctx.spaceId, oid, to);
        await print(ctx, now, () => `restored ${oid} under ${now.parentOid ?? "(a document)"}`);
      });
    });
}
