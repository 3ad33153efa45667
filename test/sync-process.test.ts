/**
 * Crashes as processes, not mocks (issue 8): the sync server is SIGKILLed in the middle of pushes
 * and restarted on the same Postgres database — nothing acknowledged is lost, nothing is doubled;
 * a device process is SIGKILLed in the middle of applying pulled pages and restarted on its PGlite
 * data dir — it resumes from its cursor and ends with the same tree as the device that made it; the
 * server is SIGKILLed in the middle of a joining device's snapshot — the device keeps nothing of it,
 * and bootstraps again once the server is back.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAccounts } from "../accounts/index.js";
import { openEngine, pglite, type Engine } from "../index.js";
import { createSyncClient, httpTransport, SyncError, type SyncTransport } from "../sync/index.js";
import { FAST_SETTINGS, PASSWORD } from "./helpers/accounts-fixtures.js";
import { backends, postgresUnavailable, throwawayDatabase, type Fresh } from "./helpers/backends.js";
import { run, type Proc } from "./helpers/server-process.js";
import { memoryMail, verifiedUser } from "./helpers/sync-fixtures.js";

const noPostgres = await postgresUnavailable();
if (noPostgres) console.warn(`[logbook tests] skipping the sync crash tests: ${noPostgres}`);

describe.skipIf(noPostgres !== undefined)("sync crashes", () => {
  let db: { url: string; drop: () => Promise<void> };
  let token: string;
  let device: Fresh;
  let server: { proc: Proc; url: string } | undefined;
  let dataDir: string;

  const startServer = async () => {
    const proc = run("server/sync-server.ts", [], { SYNC_STORE: db.url, ACCOUNTS_STORE: db.url, PORT: "0" });
    const url = (await proc.line(/^listening (\S+)/))[1]!;
    server = { proc, url };
    return server;
  };

  beforeAll(async () => {
    db = await throwawayDatabase();
    const mail = memoryMail();
    const accounts = await openAccounts({ store: { kind: "postgres", url: db.url }, mail: { transport: mail.transport, from: "t@localhost" }, settings: FAST_SETTINGS });
    await verifiedUser(accounts, mail, "crash@example.com");
    token = (await accounts.signIn({ email: "crash@example.com", password: PASSWORD, deviceName: "laptop" })).token;
    await accounts.close();
    device = await backends[0]!.fresh();
    dataDir = await mkdtemp(join(tmpdir(), "logbook-sync-"));
  });
  afterAll(async () => {
    server?.proc.child.kill("SIGKILL");
    await server?.proc.exited;
    await device?.release();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  let spaceId: string;
  let doc: string;

  it("a server killed in the middle of pushes loses nothing acknowledged and doubles nothing", async () => {
    await startServer();
    const e: Engine = device.engine;
    ({ spaceId } = await e.createSpace());
    doc = (await e.createDocument(spaceId, { content: "crash" })).oid;
    const parents = [doc];
    for (let i = 0; i < 400; i++) {
      const o = await e.create(spaceId, { parentOid: parents[i % parents.length]!, content: `n${i}`, props: { done: i % 3 === 0 } });
      if (i % 10 === 0) parents.push(o.oid);
      if (i % 7 === 0) await e.update(spaceId, o.oid, { content: `n${i}'` });
    }
    let inner = httpTransport({ baseUrl: server!.url, token });
    const acked = new Set<string>();
    let pushes = 0;
    const killAt = new Set([2, 5, 9]);
    const transport: SyncTransport = {
      async push(space, batch) {
        pushes++;
        const sending = inner.push(space, batch);
        if (killAt.has(pushes)) {
          // Mid-push: the request is on its way (or being stored) when the process dies.
          const victim = server!.proc;
          setTimeout(() => victim.child.kill("SIGKILL"), Math.floor(Math.random() * 8));
        }
        const result = await sending;
        for (const op of batch.ops) acked.add(op.opId);
        return result;
      },
      pull: (space, after, limit) => inner.pull(space, after, limit),
      listen: (spaces, handlers) => inner.listen(spaces, handlers),
      bind: (device) => inner.bind!(device),
      createSpace: (space) => inner.createSpace!(space),
    };
    const client = createSyncClient({ engine: e, spaceId, transport, pushBatch: 40, create: true });
    let restarts = 0;
    for (;;) {
      try {
        await client.sync();
        break;
      } catch (error) {
        if (!(error instanceof SyncError) || error.code !== "UNAVAILABLE") throw error;
        await server!.proc.exited;
        await startServer();
        inner = httpTransport({ baseUrl: server!.url, token });
        restarts++;
      }
    }
    expect(restarts).toBeGreaterThanOrEqual(1);
    const ids: string[] = [];
    for (let after = 0; ; ) {
      const page = await inner.pull(spaceId, after, 1000);
      ids.push(...page.ops.map((op) => op.opId));
      if (!page.more) break;
      after = page.ops[page.ops.length - 1]!.serverSeq;
    }
    expect(new Set(ids).size).toBe(ids.length);
    const mine = (await e.logSince(spaceId, { limit: 10_000 })).map((op) => op.opId);
    expect([...ids].sort()).toEqual([...mine].sort());
    for (const id of acked) expect(ids).toContain(id);
    expect(await e.pullCursor(spaceId)).toBe(ids.length);
  });

  it("an online device keeps editing while the server is down and reconnects by itself (backoff)", async () => {
    const e = device.engine;
    const port = new URL(server!.url).port;
    const errors: unknown[] = [];
    const client = createSyncClient({ engine: e, spaceId, transport: httpTransport({ baseUrl: server!.url, token }), backoff: { initialMs: 50, maxMs: 400 }, onError: (x) => errors.push(x) });
    client.start();
    try {
      const until = async (check: () => boolean | Promise<boolean>) => {
        for (const end = Date.now() + 60_000; !(await check()); ) {
          if (Date.now() > end) throw new Error(`timed out; client ${client.status}, errors ${errors.map(String).join("; ").slice(0, 500)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await until(() => client.status === "online");
      server!.proc.child.kill("SIGKILL");
      await server!.proc.exited;
      await until(() => client.status === "offline");
      const late = await e.create(spaceId, { parentOid: doc, content: "written while the server was down" });
      client.changed();
      // Same address, new process: the client finds it again and pushes what waited.
      const proc = run("server/sync-server.ts", [], { SYNC_STORE: db.url, ACCOUNTS_STORE: db.url, PORT: port });
      server = { proc, url: (await proc.line(/^listening (\S+)/))[1]! };
      const direct = httpTransport({ baseUrl: server.url, token });
      await until(async () => {
        const page = await direct.pull(spaceId, (await direct.pull(spaceId, 0, 1)).lastSeq - 1, 10);
        return page.ops.some((op) => op.oid === late.oid);
      });
      expect(errors.every((x) => x instanceof SyncError && x.code === "UNAVAILABLE")).toBe(true);
    } finally {
      await client.stop();
    }
  });

  it("a device killed in the middle of applying resumes from its cursor and converges", async () => {
    const args = [dataDir, server!.url, token, spaceId];
    const first = run("test/helpers/sync-client-process.ts", args);
    await first.line(/^pulled 200$/);
    setTimeout(() => first.child.kill("SIGKILL"), Math.floor(Math.random() * 30));
    await first.exited;
    expect(first.lines.some((l) => l.startsWith("done"))).toBe(false);

    const second = run("test/helpers/sync-client-process.ts", args);
    const resumedAt = Number((await second.line(/^pulled (\d+)$/))[1]);
    const done = Number((await second.line(/^done (\d+)$/))[1]);
    expect(await second.exited).toBe(0);
    expect(resumedAt).toBeGreaterThan(0); // not from the start of the log
    expect(done).toBe(await device.engine.pullCursor(spaceId));

    const replica = await openEngine({ storage: pglite({ dataDir }) });
    try {
      const want = await device.engine.view(spaceId, doc, { limit: 10_000 });
      const got = await replica.view(spaceId, doc, { limit: 10_000 });
      expect((await replica.get(spaceId, doc)).vid).toBe((await device.engine.get(spaceId, doc)).vid);
      expect(got.rows.map((r) => [r.oid, r.vid])).toEqual(want.rows.map((r) => [r.oid, r.vid]));
    } finally {
      await replica.close();
    }
  });
  it("a server killed in the middle of a snapshot: the joining device keeps nothing of it and bootstraps again", async () => {
    const e = device.engine;
    // About 12 MB of rows: the snapshot streams in several frames, never all in socket buffers.
    const nodes = Array.from({ length: 60 }, (_, i) => ({ content: `part ${i}`, children: Array.from({ length: 400 }, (_, j) => ({ content: `${i}.${j} ${"x".repeat(480)}` })) }));
    await e.importTree(spaceId, { parentOid: doc, nodes });
    let inner = httpTransport({ baseUrl: server!.url, token });
    await createSyncClient({ engine: e, spaceId, transport: inner }).sync();

    const joining = await backends[0]!.fresh();
    try {
      const j = joining.engine;
      await j.createSpace({ spaceId });
      let attempts = 0;
      let framesBeforeKill = 0;
      const transport: SyncTransport = {
        push: (space, batch) => inner.push(space, batch),
        pull: (space, after, limit) => inner.pull(space, after, limit),
        listen: (spaces, handlers) => inner.listen(spaces, handlers),
        bind: (d) => inner.bind!(d),
        async *snapshot(space) {
          const first = attempts++ === 0;
          let frames = 0;
          for await (const frame of inner.snapshot!(space)) {
            yield frame;
            // The second frame is in: the server dies while the rest is still on its way.
            if (first && ++frames === 2) {
              framesBeforeKill = frames;
              server!.proc.child.kill("SIGKILL");
              await server!.proc.exited;
            }
          }
        },
      };
      const client = createSyncClient({ engine: j, spaceId, transport });
      await expect(client.sync()).rejects.toMatchObject({ code: "UNAVAILABLE" });
      expect(framesBeforeKill).toBe(2);
      // Nothing of the broken stream was kept: no op, no cursor, no row.
      expect(await j.pullCursor(spaceId)).toBe(0);
      expect(await j.logSince(spaceId, { limit: 1 })).toEqual([]);
      expect(await j.documents(spaceId)).toEqual([]);

      await startServer();
      inner = httpTransport({ baseUrl: server!.url, token });
      expect((await client.sync()).pulled).toBe(0); // the snapshot held everything
      expect(attempts).toBe(2);
      expect((await j.get(spaceId, doc)).vid).toBe((await e.get(spaceId, doc)).vid);
      expect((await j.get(spaceId, doc)).stats.descendants).toBe((await e.get(spaceId, doc)).stats.descendants);
    } finally {
      await joining.release();
    }
  }, 300_000);
});
