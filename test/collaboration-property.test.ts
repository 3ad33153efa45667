/**
 * Property test of collaboration (issue 19): random entries, actors and ops against a small
 * permission model. The tree itself is read back from the engine after each op (its rules have
 * their own property test); the model keeps the entries and decides, from that tree, what each
 * actor may do. Checked after every op: an op is refused (FORBIDDEN, nothing written) exactly when
 * the model says so; a share op makes no content version; a content checkout changes no entry;
 * every objective's entries in force equal the model's; readers' children, views and statistics
 * leave out what is hidden from them. The sync server's check of a pushed op (`checkOps`, asked
 * before each step with the op the step makes) agrees with the model too. And at the end of each
 * sequence, every user's partial replica (engine/partial-replica.ts) holds only rows the model lets
 * them read, and loaded into another database each of its tops reads as on the replica.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newOid, type CheckedOp, type Engine, type SnapshotFrame } from "../index.js";
import { outcomeOf as outcome } from "./helpers/error-code.js";
import { usableBackends } from "./helpers/backends.js";

const RUNS = Number(process.env["LOGBOOK_PROPERTY_RUNS"] ?? 40);
const USERS = ["u1", "u2", "u3"] as const;
const ROLES = ["manager", "collaborator", "viewer", "none", null] as const;
type Role = Exclude<(typeof ROLES)[number], null>;
const RANK: Record<Role, number> = { none: 0, viewer: 1, collaborator: 2, manager: 3 };

type Step =
  | { kind: "share"; by: number; at: number; user: number; role: number }
  | { kind: "update"; by: number; at: number }
  | { kind: "create"; by: number; at: number }
  | { kind: "move"; by: number; at: number; to: number }
  | { kind: "remove"; by: number; at: number }
  | { kind: "checkout"; by: number; at: number; back: number }
  | { kind: "read"; by: number; at: number };

const n = fc.nat({ max: 1000 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("share" as const), by: n, at: n, user: n, role: n }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("update" as const), by: n, at: n }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("create" as const), by: n, at: n }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("move" as const), by: n, at: n, to: n }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const), by: n, at: n }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("checkout" as const), by: n, at: n, back: n }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("read" as const), by: n, at: n }) },
);

/** The active tree as the owner sees it: parent of each objective (null for the root). */
async function treeOf(engine: Engine, s: string, root: string): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>([[root, null]]);
  for (const r of await engine.subtree(s, root, { depth: 50 })) out.set(r.oid, r.parentOid);
  return out;
}

describe.each(await usableBackends())("collaboration property on $name", (backend) => {
  let engine: Engine;
  let device: Engine;
  let release: (() => Promise<void>) | undefined;
  let releaseDevice: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ engine, release } = await backend.fresh());
    ({ engine: device, release: releaseDevice } = await backend.fresh());
  });
  afterAll(async () => {
    await release?.();
    await releaseDevice?.();
  });

  it(`refuses exactly what the permission model refuses, on ${RUNS} random sequences`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), async (steps) => {
        const { spaceId: s } = await engine.createSpace();
        // u1 made the document: its manager, whatever entry u1 gets there. Entries: oid -> user -> role.
        const root = (await engine.as("u1").createDocument(s, { content: "root" })).oid;
        const entries = new Map<string, Map<string, Role>>();
        const entryOf = (o: string, user: string) => (o === root && user === "u1" ? "manager" : entries.get(o)?.get(user));
        let tree = await treeOf(engine, s, root);
        const pathOf = (oid: string) => {
          const path: string[] = [];
          for (let at: string | null | undefined = oid; at; at = tree.get(at)) path.push(at);
          return path;
        };
        const roleOf = (user: string, oid: string): Role | undefined => {
          for (const o of pathOf(oid)) {
            const r = entryOf(o, user);
            if (r) return r;
          }
          return undefined;
        };
        const may = (user: string, oid: string, need: number) => (RANK[roleOf(user, oid) ?? "none"] ?? 0) >= need;
        // A write of a whole subtree also needs no entry of the actor's below it to rank lower.
        const mayWhole = (user: string, oid: string, need: number) =>
          may(user, oid, need) && ![...tree.keys()].some((o) => o !== oid && pathOf(o).includes(oid) && RANK[entryOf(o, user) ?? "manager"] < need);
        const expectedEntries = (oid: string) => {
          const seen = new Map<string, { user: string; role: Role; oid: string }>();
          for (const o of pathOf(oid)) {
            for (const u of new Set([...(entries.get(o)?.keys() ?? []), ...(o === root ? ["u1"] : [])])) {
              if (!seen.has(u)) seen.set(u, { user: u, role: entryOf(o, u)!, oid: o });
            }
          }
          return [...seen.values()].sort((a, b) => (a.user < b.user ? -1 : 1));
        };
        for (const step of steps) {
          const oids = [...tree.keys()];
          const pick = (i: number) => oids[i % oids.length]!;
          const user = USERS[step.by % USERS.length]!;
          const actor = engine.as(user);
          const at = pick(step.at);
          const rootBefore = (await engine.get(s, root)).vid;
          const opsBefore = (await engine.opsSince(s)).ops.length;
          let allowed: boolean;
          let got: string;
          // What a device would push for the step, as the server's replica judges it.
          const judged = async (kind: string, oid: string, data: CheckedOp["data"] = {}) =>
            (await engine.checkOps(s, [{ opId: `${newOid()}.1`, kind, oid, actor: user, data }])) === undefined;
          let pushable: boolean | undefined;
          switch (step.kind) {
            case "share": {
              const target = USERS[step.user % USERS.length]!;
              const role = ROLES[step.role % ROLES.length]!;
              allowed = may(user, at, 3);
              pushable = await judged("share", at, { user: target, role });
              got = await outcome(actor.share(s, at, target, role));
              if (got === "ok") {
                const own = entries.get(at) ?? new Map<string, Role>();
                if (role === null) own.delete(target);
                else own.set(target, role);
                entries.set(at, own);
                // Sharing is versioned apart: the content is as it was.
                expect((await engine.get(s, root)).vid).toBe(rootBefore);
              }
              break;
            }
            case "update":
              allowed = may(user, at, 2);
              pushable = await judged("update", at, { content: "x" });
              got = await outcome(actor.update(s, at, { content: `by ${user} ${step.at}` }));
              break;
            case "create":
              allowed = may(user, at, 2);
              pushable = await judged("create", newOid(), { parentOid: at, pos: "a0", content: "x" });
              got = await outcome(actor.create(s, { parentOid: at, content: `new by ${user}` }));
              break;
            case "move": {
              const to = pick(step.to);
              // Only moves the tree allows (not the root, not into its own subtree): the roles decide.
              if (at === root || pathOf(to).includes(at)) continue;
              allowed = mayWhole(user, at, 2) && may(user, to, 2);
              pushable = await judged("move", at, { toParent: to, toPos: "a0" });
              got = await outcome(actor.move(s, at, { parentOid: to }));
              break;
            }
            case "remove":
              if (at === root) continue;
              allowed = mayWhole(user, at, 2);
              pushable = await judged("remove", at);
              got = await outcome(actor.remove(s, at));
              break;
            case "checkout": {
              const versions = (await engine.versions(s, at)).versions;
              const vid = versions[step.back % versions.length]!.vid;
              allowed = mayWhole(user, at, 2);
              pushable = await judged("checkout", at, { target: vid });
              const before = JSON.stringify([...entries].map(([o, m]) => [o, [...m]]));
              got = await outcome(actor.checkout(s, at, vid));
              // A content checkout changes no entry.
              expect(JSON.stringify([...entries].map(([o, m]) => [o, [...m]]))).toBe(before);
              break;
            }
            case "read": {
              allowed = may(user, at, 1);
              got = await outcome(actor.get(s, at));
              if (got === "ok") {
                const kids = (await actor.children(s, at)).map((o) => o.oid);
                const visible = oids.filter((o) => tree.get(o) === at && entryOf(o, user) !== "none");
                expect(new Set(kids)).toEqual(new Set(visible));
                // The view: the owner's rows without the hidden subtrees; the statistics count what is left.
                const all = (await engine.view(s, at, { limit: 10_000 })).rows;
                const expected: string[] = [];
                let skipBelow = Infinity;
                for (const r of all) {
                  if (r.depth > skipBelow) continue;
                  skipBelow = Infinity;
                  if (entryOf(r.oid, user) === "none") skipBelow = r.depth;
                  else expected.push(r.oid);
                }
                const seen = await actor.view(s, at, { limit: 10_000 });
                expect(seen.rows.map((r) => r.oid)).toEqual(expected);
                expect(seen.total).toBe(expected.length);
                expect((await actor.get(s, at)).stats.descendants).toBe(expected.length);
              }
              break;
            }
          }
          expect(got, `${step.kind} by ${user} at ${at}`).toBe(allowed ? "ok" : "FORBIDDEN");
          if (pushable !== undefined) expect(pushable, `checkOps: ${step.kind} by ${user} at ${at}`).toBe(allowed);
          if (!allowed) {
            expect((await engine.get(s, root)).vid).toBe(rootBefore);
            expect((await engine.opsSince(s)).ops.length).toBe(opsBefore);
          }
          tree = await treeOf(engine, s, root);
          // Objectives that left the tree take their entries' meaning with them; the live ones agree.
          for (const o of tree.keys()) expect(await engine.collaborators(s, o)).toEqual(expectedEntries(o));
        }
        // Partial replicas: no row a user may not read travels to their device; what does reads
        // there as on the replica, top by top.
        const rowsOf = async (e: Engine, top: string) => (await e.view(s, top, { limit: 10_000 })).rows.map((r) => [r.oid, r.vid, r.depth, r.content]);
        for (const user of USERS) {
          const frames: SnapshotFrame[] = [];
          for await (const f of engine.exportPartial(s, user)) frames.push(f);
          for (const o of new Set(frames.flatMap((f) => (f.t === "version" ? f.rows.map((r) => String(r[0])) : [])))) {
            const role = roleOf(user, o);
            expect(tree.has(o) && role !== undefined && role !== "none", `${user} sent ${o} (role ${role})`).toBe(true);
          }
          const copy = `${s.slice(0, -12)}${USERS.indexOf(user).toString().padStart(12, "0")}`;
          await device.createSpace({ spaceId: copy });
          const loaded = await device.loadPartial(copy, frames, "");
          for (const top of loaded.tops) expect((await device.view(copy, top.oid, { limit: 10_000 })).rows.map((r) => [r.oid, r.vid, r.depth, r.content])).toEqual(await rowsOf(engine, top.oid));
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
