/**
 * logbook-engine: a versioned-tree document database for outliners.
 *
 * @example
 * import { openEngine, pglite } from "logbook-engine";
 * await using engine = await openEngine({ storage: pglite({ dataDir: "./data" }) });
 */
export { openEngine, type Engine, type EngineOptions } from "./open-engine.js";
export { EngineError, StorageError, type EngineErrorCode } from "./engine/errors.js";
export { newOid } from "./engine/ids.js";
export type { Change, Json, Objective, Op, OpKind, Page, Props, Stats, VersionRef } from "./engine/types.js";
export type { NewDocument, NewObjective } from "./engine/create.js";
export type { Entry, Role } from "./engine/roles.js";
export type { EntryChange } from "./engine/share.js";
export type { ImportOptions, TreeInput } from "./engine/import-tree.js";
export type { ImportEvent, ImportStreamOptions } from "./engine/import-stream.js";
export type { Patch } from "./engine/update.js";
export type { Destination } from "./engine/move.js";
export type { At, ChildrenOptions, SubtreeOptions, SubtreeRow } from "./engine/read.js";
export type { Limits } from "./engine/validate.js";
export { pglite, type PgliteOptions } from "./storage/pglite/index.js";
export { postgres, type PostgresOptions } from "./storage/postgres/index.js";
export type { PinnedRead, Storage, StorageConfig, Queryable } from "./storage/contract.js";
export type { Row, View, ViewOptions } from "./viewbuilder/view.js";
export type { ApplyOptions, ReplicaOp } from "./engine/replicate.js";
export type { ConflictEvent, LogOptions } from "./engine/clock-order.js";
export type { SnapshotFrame, SnapshotTable } from "./engine/snapshot.js";
export type { SubtreeExportOptions } from "./engine/subtree-snapshot.js";
export type { PartialTop, PartialTops } from "./engine/partial-replica.js";
export type { CheckedOp, CheckOptions, OpRefusal } from "./engine/check-ops.js";
export type { SpaceAccess } from "./engine/space-access.js";
