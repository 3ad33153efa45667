/**
 * The sync server's permission check on pushed ops (docs/collaboration.md, "On the server"): before
 * it stores a batch, the server asks its replica whether each op's actor may do what the op does
 * where the op does it, so an op that replay would refuse (`skipped:FORBIDDEN`) is never stored and
 * never reaches another device. The answer is read from the replica's current state, with the
 * objectives and entries that earlier ops of the same batch make. Replay, in clock order on every
 * device, stays the rule that decides what the push check lets through: an offline edit racing a
 * move of its objective out of the actor's reach (see `checkOps`).
 */
import type { Core } from "./core.js";
import { actorEntries, allows, type Need, type Role } from "./roles.js";
import { placesOf } from "./access.js";
import { IMPORT_PART_KIND } from "./import-parts.js";
import { checkId } from "./validate.js";
import { isUuid } from "./ids.js";
import { REPLAYABLE_KINDS } from "./replicate.js";

/** What the check reads of an op: who, what kind, on which objective, with which data. */
export interface CheckedOp {
  readonly opId: string;
  readonly kind: string;
  readonly oid: string;
  /** The user the op acts for; null is the engine's owner, never refused. */
  readonly actor: string | null;
  /** Its clock: an op older than a later change of places or entries is left to replay (see `checkOps`). */
  readonly hlc?: string;
  readonly data: { readonly [key: string]: unknown };
}

/** The first op of a batch its actor may not apply: its index, id and why. */
export interface OpRefusal {
  readonly index: number;
  readonly opId: string;
  readonly message: string;
}

/** Options of {@link checkOps}. */
export interface CheckOptions {
  /**
   * Let kinds this engine cannot replay pass (a newer client's, pushed by a space's owner: every
   * replica keeps them and skips them alike). Default false: refused for any actor.
   */
  readonly passUnknownKinds?: boolean;
  /**
   * Do not refuse clocks older than the actor's first role (a space's owner: an old clock of theirs
   * costs only their own space a redo). Default false.
   */
  readonly anyClock?: boolean;
}

/** Where an op acts: objectives and what it needs at each (`whole`: nothing below may rank lower). */
interface Anchor {
  readonly oid: string;
  readonly need: Need;
  readonly whole?: boolean;
  /** Only the whole-subtree check (a restore's own objective: its role is its destination's). */
  readonly onlyWhole?: boolean;
}

/** An oid an op names, lowercase; anything else (replay refuses it as INVALID_ARGUMENT) is none. */
const text = (v: unknown): string | undefined => (isUuid(v) ? v.toLowerCase() : undefined);

function anchorsOf(op: CheckedOp): Anchor[] | "any" | "unknown" {
  if (!REPLAYABLE_KINDS.has(op.kind) && op.kind !== IMPORT_PART_KIND) return "unknown";
  const oid = text(op.oid);
  // An op without a valid oid cannot apply anywhere (replay refuses it as INVALID_ARGUMENT).
  if (oid === undefined) return "any";
  const d = op.data;
  switch (op.kind) {
    case "createDocument":
    case IMPORT_PART_KIND: // rows only; the import op that follows is checked where it lands
      return "any";
    case "create": {
      const parent = text(d["parentOid"]);
      return parent ? [{ oid: parent, need: "edit" }] : [];
    }
    case "update":
      return [{ oid, need: "edit" }];
    case "remove":
    case "checkout":
      return [{ oid, need: "edit", whole: true }];
    case "move": {
      const to = text(d["toParent"]);
      return [{ oid, need: "edit", whole: true }, ...(to ? [{ oid: to, need: "edit" as const }] : [])];
    }
    case "restore": {
      const to = text(d["toParent"]);
      // Back under its last parent (found with the objective's last place) or under `toParent`,
      // with its whole subtree: no part of it the actor may only view.
      return [to ? { oid: to, need: "edit" } : { oid, need: "edit" }, { oid, need: "edit", whole: true, onlyWhole: true }];
    }
    case "import": {
      const parent = text(d["parentOid"]);
      return parent ? [{ oid: parent, need: "edit" }] : "any";
    }
    case "share":
      return [{ oid, need: "manage" }];
    default:
      return "unknown";
  }
}

/**
 * The first op of `ops` whose actor may not apply it, or undefined when every one may. An op with
 * an actor is checked like the engine checks its write: the actor's role at the objective (and, for
 * a create, an import or a move's destination, at the parent) must allow editing, a share needs
 * `manager`, a remove, checkout or move also needs no lower entry of the actor below the objective.
 * An objective this storage has never held is not refused here: replay would skip the op as
 * `NOT_FOUND` (or check it where a later op of the same batch makes it). Nor is an op the current
 * state refuses whose clock is older than a change of places or entries applied here (a move,
 * removal, restore, checkout, import or share that sorts after it): an offline edit made while its
 * author could make it, racing a move of its objective out of their reach, is decided by replay at
 * its place in the clock order, alike on every replica, instead of stranding its device. An op
 * whose clock is older than its actor's first role here is refused (replay would refuse it, after
 * undoing everything since its clock), and so is one older than the last change of its actor's
 * entries (a backdated clock must not be judged under a role taken away since). Kinds this engine cannot
 * replay are refused for actors (they could never be checked) unless `passUnknownKinds`. Reads
 * only: a few statements for the whole batch, plus one walk per whole-subtree op of an actor with
 * lower entries.
 */
export async function checkOps(core: Core, spaceId: string, ops: readonly CheckedOp[], options: CheckOptions = {}): Promise<OpRefusal | undefined> {
  return (await judge(core, spaceId, ops, options, true))[0];
}

/**
 * Every op of `ops` its actor may not apply, judged as {@link checkOps} judges the first: each op
 * against the state the batch's earlier ops make, leaving the refused ones out (an op below an
 * objective a refused create would have made is not refused here: replay skips it as NOT_FOUND).
 * What a sync server answers a push with, so the device withdraws them all at once.
 */
export async function refusedOps(core: Core, spaceId: string, ops: readonly CheckedOp[], options: CheckOptions = {}): Promise<OpRefusal[]> {
  return judge(core, spaceId, ops, options, false);
}

async function judge(core: Core, spaceId: string, ops: readonly CheckedOp[], options: CheckOptions, first: boolean): Promise<OpRefusal[]> {
  spaceId = checkId("spaceId", spaceId);
  const out: OpRefusal[] = [];
  const acting = ops.filter((op) => op.actor !== null);
  if (acting.length === 0) return out;
  // Every place the batch acts, read at once: in the active tree, else where it last was.
  const anchors = new Set<string>();
  for (const op of acting) {
    const a = anchorsOf(op);
    if (Array.isArray(a)) for (const x of a) anchors.add(x.oid);
  }
  const paths = await placesOf(core, spaceId, [...anchors]);
  const entries = new Map<string, Map<string, Role | null>>();
  const entriesOf = async (actor: string) => {
    let mine = entries.get(actor);
    if (!mine) entries.set(actor, (mine = await actorEntries(core.storage, spaceId, actor)));
    return mine;
  };
  const roleClocks = new Map<string, { first: string | null; last: string | null }>();
  // Objectives made by earlier ops of the batch: their place is their parent's.
  const born = new Map<string, string[]>();
  const pathOf = (oid: string) => born.get(oid) ?? paths.get(oid);
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index]!;
    const actor = op.actor;
    if (actor === null) continue;
    const mine = await entriesOf(actor);
    const oid = op.oid.toLowerCase();
    const anchor = anchorsOf(op);
    if (anchor === "unknown" && options.passUnknownKinds) continue;
    const refusal = (message: string): OpRefusal => ({ index, opId: op.opId, message: `ops[${index}] (${op.kind} ${op.opId}): ${message}` });
    let raced: boolean | undefined;
    const refuse = async (message: string): Promise<OpRefusal | undefined> => {
      raced ??= op.hlc !== undefined && (await changedSince(core, spaceId, op.hlc));
      return raced ? undefined : refusal(message);
    };
    const refuseNow = (r: OpRefusal) => {
      out.push(r);
      return first;
    };
    if (anchor === "unknown") {
      if (refuseNow(refusal(`user ${actor} may not push ops of kind ${JSON.stringify(op.kind)}, which this server cannot check`))) return out;
      continue;
    }
    const rooting = op.kind === "createDocument" || (op.kind === "import" && anchor === "any");
    if (op.hlc !== undefined && !rooting && !options.anyClock) {
      // Before their first role here, replay refuses all they do; such an old clock would only
      // make every replica undo and redo what followed it. Before the last change of their
      // entries, the op would be judged under a role they no longer have (a backdated clock
      // must not bring a lowered or taken role back).
      let clocks = roleClocks.get(actor);
      if (clocks === undefined) roleClocks.set(actor, (clocks = await rolesChanged(core, spaceId, actor)));
      const early =
        clocks.first === null || op.hlc < clocks.first
          ? refusal(`user ${actor} had no role in space ${spaceId} at the op's clock ${op.hlc}${clocks.first === null ? "" : ` (their first came at ${clocks.first})`}`)
          : clocks.last !== null && op.hlc < clocks.last
            ? refusal(`the op's clock ${op.hlc} is older than the last change of user ${actor}'s entries (${clocks.last})`)
            : undefined;
      if (early) {
        if (refuseNow(early)) return out;
        continue;
      }
    }
    if (rooting) {
      // Documents of their own: they manage them from this op on.
      const known = roleClocks.get(actor);
      if (op.hlc !== undefined && (known?.first ?? "\uffff") > op.hlc) roleClocks.set(actor, { first: op.hlc, last: known?.last ?? null });
      if (op.kind === "createDocument") {
        born.set(oid, [oid]);
        mine.set(oid, "manager");
      }
      continue;
    }
    if (anchor === "any") continue;
    let refused: OpRefusal | undefined;
    judging: for (const { oid: at, need, whole, onlyWhole } of anchor) {
      let path = pathOf(at);
      // A restore without a destination goes back under its last parent (a document: as one).
      if (path && op.kind === "restore" && at === oid && path.length > 1 && !onlyWhole) path = path.slice(1);
      if (!path || path.length === 0) continue;
      const role = path.map((o) => mine.get(o)).find((r) => r !== undefined && r !== null) ?? undefined;
      if (!onlyWhole && !allows(role, need)) {
        refused = await refuse(`user ${actor} may not ${need} objective ${at} in space ${spaceId}: ${role === undefined ? "no role there" : `role ${role}`}`);
        break;
      }
      if (whole) {
        const lower = [...mine].filter(([o, r]) => r !== null && !allows(r, need) && o !== at).map(([o]) => o);
        const below = await placesOf(core, spaceId, lower.filter((o) => !paths.has(o) && !born.has(o)), paths);
        for (const o of lower) {
          if ((born.get(o) ?? below.get(o))?.slice(1).includes(at)) {
            refused = await refuse(`user ${actor} may not ${need} objective ${at} whole: their role on ${o} below it is ${mine.get(o)}`);
            break judging;
          }
        }
      }
    }
    if (refused) {
      if (refuseNow(refused)) return out;
      continue;
    }
    if (op.kind === "create") {
      const parent = pathOf(text(op.data["parentOid"]) ?? "");
      if (parent) born.set(oid, [oid, ...parent]);
    }
    if (op.kind === "share" && typeof op.data["user"] === "string" && op.data["user"] === actor) {
      const role = op.data["role"];
      mine.set(oid, typeof role === "string" ? (role as Role) : null);
    }
  }
  return out;
}

/** The kinds of op that change where objectives are or who may do what there. */
const RESHAPING = ["move", "remove", "restore", "checkout", "import", "share"];

/** Whether an applied op that changes places or entries sorts after `hlc` (an index range from it, stopping at the first). */
async function changedSince(core: Core, spaceId: string, hlc: string): Promise<boolean> {
  const rows = await core.storage.query("select 1 from op where space_id = $1 and hlc > $2 and seq is not null and kind = any($3::text[]) limit 1", [spaceId, hlc, RESHAPING]);
  return rows.length > 0;
}

/**
 * The clocks of the first op that gave `user` a role in the space (an entry naming them, or a
 * document they made) and of the last one that changed their entries; null: none did.
 */
async function rolesChanged(core: Core, spaceId: string, user: string): Promise<{ first: string | null; last: string | null }> {
  const [row] = await core.storage.query<{ first: string | null; last: string | null }>(
    `select min(h) as first, max(h) filter (where shared) as last from (
       select o.hlc as h, true as shared from share s join op o on o.space_id = s.space_id and o.seq = s.seq where s.space_id = $1 and s.user_id = $2
       union all
       select o.hlc, false from document d join op o on o.space_id = d.space_id and o.seq = d.seq where d.space_id = $1 and o.actor = $2) t`,
    [spaceId, user],
  );
  return { first: row?.first ?? null, last: row?.last ?? null };
}
