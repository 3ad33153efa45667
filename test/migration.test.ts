/**
 * Upgrade in place: a space written by schema version 5 (test/fixtures/v5, dumped from the release
 * before the compact history format, with the answers that release gave) is loaded into a fresh
 * database at version 5, opened by this engine (migration 6 rewrites it into version records), and
 * every answer must be the same: every version of every objective, histories, views at several
 * versions, diffs, the op log. Then the upgraded space takes new edits, including a checkout to a
 * version made before the upgrade.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { EngineError, openEngine, pglite, postgres, type Engine, type Objective } from "../index.js";
import { migrate } from "../storage/migrate.js";
import type { Storage } from "../storage/contract.js";
import { postgresUnavailable, throwawayDatabase } from "./helpers/backends.js";

const dir = new URL("./fixtures/v5/", import.meta.url);
const tables = JSON.parse(readFileSync(new URL("tables.json", dir), "utf8")) as Record<string, Record<string, unknown>[]>;
const want = JSON.parse(readFileSync(new URL("expect.json", dir), "utf8")) as {
  spaceId: string;
  deviceId: string;
  docs: string[];
  objectives: Record<string, { active: Objective | { error: string }; versions: unknown[]; history: unknown[]; at: Record<string, { get: unknown; children: [string, string][] }> }>;
  views: Record<string, { active: unknown; folded: unknown; old: Record<string, unknown> }>;
  diffs: { oid: string; from: string; to: string; changes: unknown[] }[];
  log: unknown[];
  conflicts: unknown[];
  folds: string[];
};

/** Loads the fixture's rows into a database migrated to version 5, triggers off (the rows hold what they logged). */
async function loadV5(storage: Storage): Promise<void> {
  await migrate(storage, { to: 5 });
  await storage.transaction(async (tx) => {
    await tx.query("set local session_replication_role = replica");
    for (const [t, rows] of Object.entries(tables)) {
      if (t === "meta") {
        for (const r of rows) await tx.query("insert into meta (key, value) values ($1, $2)", [r["key"], r["value"]]);
        continue;
      }
      await tx.query(`insert into ${t} select * from jsonb_populate_recordset(null::${t}, $1::jsonb)`, [JSON.stringify(rows)]);
    }
  });
}

async function attempt<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof EngineError) return { error: e.code };
    throw e;
  }
}

const targets = [
  { name: "pglite", skip: async () => undefined },
  { name: "postgres", skip: postgresUnavailable },
] as const;

describe.each(targets)("upgrade of a schema-5 database on $name", (target) => {
  let engine: Engine | undefined;
  let release: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await engine?.close();
    await release?.();
  });

  it("answers exactly as the release that wrote it, then takes new edits", async (context) => {
    const reason = await target.skip();
    if (reason) {
      console.warn(`[logbook tests] skipping the upgrade on ${target.name}: ${reason}`);
      context.skip();
      return;
    }
    let storage: Storage;
    if (target.name === "pglite") storage = await pglite().open();
    else {
      const db = await throwawayDatabase();
      release = db.drop;
      storage = await postgres({ connectionString: db.url }).open();
    }
    await loadV5(storage);
    const progress: string[] = [];
    engine = await openEngine({ storage: { kind: target.name, open: async () => storage }, onProgress: (m) => progress.push(m) });
    const e = engine;
    const s = want.spaceId;
    expect(progress.some((m) => m.includes("version 6"))).toBe(true);
    expect(e.deviceId).toBe(want.deviceId);
    // One op table: an op replayed here shows the data it travels with (schema 5 kept a second,
    // local copy, whose create index could differ when devices inserted concurrently).
    const travelled = new Map((want.log as { opId: string; data: unknown }[]).map((o) => [o.opId, o.data]));
    for (const [oid, o] of Object.entries(want.objectives)) {
      expect(await attempt(() => e.get(s, oid)), `active ${oid}`).toEqual(o.active);
      expect((await e.versions(s, oid, { limit: 1000 })).versions, `versions of ${oid}`).toEqual(o.versions);
      const history = (o.history as { opId: string; data: unknown }[]).map((h) => ({ ...h, data: travelled.get(h.opId) ?? h.data }));
      expect((await e.history(s, oid, { limit: 1000 })).ops, `history of ${oid}`).toEqual(history);
      for (const [vid, at] of Object.entries(o.at)) {
        expect(await e.get(s, oid, { vid }), `${oid}@${vid}`).toEqual(at.get);
        expect((await e.children(s, oid, { vid })).map((c) => [c.oid, c.vid])).toEqual(at.children);
      }
    }
    for (const [doc, v] of Object.entries(want.views)) {
      expect(await e.view(s, doc, { limit: 10_000 })).toEqual(v.active);
      expect(await e.view(s, doc, { limit: 10_000, user: "ana" })).toEqual(v.folded);
      for (const [vid, view] of Object.entries(v.old)) expect(await e.view(s, doc, { vid, limit: 10_000 })).toEqual(view);
    }
    for (const d of want.diffs) expect(await e.diff(s, d.oid, d.from, d.to)).toEqual(d.changes);
    expect(await e.logSince(s, { limit: 10_000 })).toEqual(want.log);
    expect(await e.conflicts(s)).toEqual(want.conflicts);
    expect(await e.folds(s, "ana")).toEqual(want.folds);

    // New edits on upgraded data: new vids chain from the old ones; a checkout to a pre-upgrade vid.
    const doc = want.docs[0]!;
    const first = (await e.view(s, doc, { limit: 1 })).rows[0]!;
    const edited = await e.update(s, first.oid, { content: "after the upgrade" });
    expect(edited.vid).toMatch(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.\d+$/);
    expect((await e.versions(s, first.oid)).versions[0]).toMatchObject({ vid: edited.vid, vidBefore: first.vid });
    const old = (want.objectives[doc]!.versions as { vid: string }[]).at(-2)!.vid;
    await e.checkout(s, doc, old);
    expect(await e.view(s, doc, { limit: 10_000 })).toEqual(await e.view(s, doc, { vid: old, limit: 10_000 }).then((v) => ({ ...v, rows: v.rows })));
    const made = await e.create(s, { parentOid: doc, content: "new after checkout" });
    expect((await e.get(s, made.oid)).path).toEqual([doc]);
  });
});
