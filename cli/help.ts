/** Shown after `logbook --help`: the first steps. */
export const checkoutCommandsNote = `
Examples:
  $ logbook import notes.opml                 # prints the new document's oid
  $ logbook tree <doc> --depth 2
  $ logbook view <doc> --offset 0 --limit 20
  $ logbook export <doc> --format md > notes.md

Exit codes: 0 done, 1 bad argument or input (the message names it), 2 storage error.
Every command has --help with examples; docs/cli.md has them all.`;
