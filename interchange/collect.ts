import type { Props, TreeInput } from "../index.js";
import type { Outline, OutlineEvent, OutlineRow } from "./outline.js";

interface Building {
  readonly content: string;
  readonly props: Props;
  readonly children: TreeInput[];
}

/** Builds a whole outline in memory from events (small files, tests); `title` when none is named. */
export async function collect(events: AsyncIterable<OutlineEvent>, title = "Untitled"): Promise<Outline> {
  const root: Building = { content: title, props: {}, children: [] };
  let head: { content: string; props: Props } = root;
  const stack: Building[] = [root];
  for await (const event of events) {
    if (event.kind === "title") head = { content: event.content ?? title, props: event.props };
    else if (event.kind === "open") {
      const node: Building = { content: event.content, props: event.props, children: [] };
      stack[stack.length - 1]!.children.push(node);
      stack.push(node);
    } else stack.pop();
  }
  return { content: head.content, props: head.props, children: root.children };
}

/** An in-memory outline as depth-first rows, for the writers. */
export function* rowsOf(nodes: readonly TreeInput[], depth = 0): Generator<OutlineRow> {
  for (const node of nodes) {
    const children = node.children ?? [];
    yield { depth, content: node.content, props: node.props ?? {}, childCount: children.length };
    yield* rowsOf(children, depth + 1);
  }
}
