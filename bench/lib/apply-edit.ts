import type { Engine } from "../../index.js";
import type { Edit } from "../workload/history.js";

/** Makes one edit of the history generator (bench/workload/history.ts) through the engine's API. */
export async function applyEdit(engine: Engine, spaceId: string, edit: Edit): Promise<void> {
  if (edit.kind === "update") await engine.update(spaceId, edit.id, { content: edit.content });
  else if (edit.kind === "create") await engine.create(spaceId, { oid: edit.id, parentOid: edit.parent, index: edit.index, content: edit.content, props: edit.props });
  else if (edit.kind === "move") await engine.move(spaceId, edit.id, { parentOid: edit.parent, index: edit.index });
  else await engine.remove(spaceId, edit.id);
}
