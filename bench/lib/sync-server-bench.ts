/**
 * Push and pull throughput through a real sync server on 127.0.0.1 (accounts + sync routes, HTTP):
 * one signed-in device pushes a history in batches, then a device pulls it all in pages.
 */
import { openAccounts } from "../../accounts/index.js";
import type { ReplicaOp } from "../../index.js";
import { createServer, memoryMailTransport, syncPlugin } from "../../server/index.js";
import { pglite } from "../../storage/pglite/index.js";
import { postgres } from "../../storage/postgres/index.js";
import { httpTransport, LIMITS, type WireOp } from "../../sync/index.js";
import { throwawayDatabase } from "./backends.js";
import { progress } from "./measure.js";

/** Push and pull figures of one server store. */
export interface ServerThroughput {
  readonly store: "pglite" | "postgres";
  readonly ops: number;
  readonly pushBatch: number;
  readonly pushOpsPerSec: number;
  readonly pullPage: number;
  readonly pullOpsPerSec: number;
}

/** A fresh database for the server's ops; undefined (with the reason printed) without a server. */
async function serverDatabase(): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  const db = await throwawayDatabase("logbook_bench_sync");
  if (typeof db !== "string") return db;
  console.warn(`[bench] no postgres for the sync server: ${db}`);
  return undefined;
}

/**
 * Runs a sync server (accounts + sync routes on 127.0.0.1) with its ops on `store` while `fn` runs,
 * with the token of one signed-in user; undefined when Postgres is not there.
 */
export async function withSyncServer<T>(
  store: "pglite" | "postgres",
  fn: (base: string, token: string, replicaCaughtUp: (spaceId: string) => Promise<void>) => Promise<T>,
): Promise<T | undefined> {
  const db = store === "postgres" ? await serverDatabase() : undefined;
  if (store === "postgres" && !db) return undefined;
  const mail = memoryMailTransport();
  // Cheap password hashing: sign-in is not what is measured.
  const accounts = await openAccounts({ store: { kind: "pglite" }, mail: { transport: mail.transport, from: "bench@localhost" }, settings: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } } });
  const storage = await (db ? postgres({ connectionString: db.url }) : pglite()).open();
  const app = await createServer({ accounts });
  await app.register(syncPlugin, { storage });
  try {
    const base = await app.listen({ host: "127.0.0.1", port: 0 });
    const email = "bench@example.com";
    const password = "correct horse battery staple";
    await accounts.signUp({ email, password, firstName: "Bench" });
    await accounts.drainMail();
    const code = /verification code is:\s+(\d{6})/.exec(mail.textsTo(email).at(-1) ?? "")![1]!;
    await accounts.verifyEmail({ email, code });
    const session = await accounts.signIn({ email, password, deviceName: "hub" });
    return await fn(base, session.token, (spaceId) => app.syncReplica!.caughtUp(spaceId));
  } finally {
    await app.close();
    await accounts.close();
    await storage.close();
    await db?.drop();
  }
}

/** Push and pull throughput of the server with its ops on `store`; undefined when Postgres is not there. */
export async function serverThroughput(store: "pglite" | "postgres", spaceId: string, ops: readonly ReplicaOp[]): Promise<ServerThroughput | undefined> {
  return withSyncServer(store, async (base, token) => {
    const http = httpTransport({ baseUrl: base, token });
    const wire: WireOp[] = ops.map((o) => ({ opId: o.opId, kind: o.kind, oid: o.oid, hlc: o.hlc, at: o.at, actor: o.actor, device: o.device, data: o.data }));
    await http.createSpace!(spaceId);
    await http.bind!(wire[0]!.device);
    const pushBatch = LIMITS.maxOpsPerBatch;
    progress(`sync server (${store}): push ${wire.length} ops in batches of ${pushBatch}`);
    let t0 = performance.now();
    for (let i = 0; i < wire.length; i += pushBatch) await http.push(spaceId, { device: wire[0]!.device, ops: wire.slice(i, i + pushBatch) });
    const pushOpsPerSec = (wire.length / (performance.now() - t0)) * 1000;
    const pullPage = LIMITS.maxPullLimit;
    t0 = performance.now();
    let pulled = 0;
    for (let after = 0; ; ) {
      const page = await http.pull(spaceId, after, pullPage);
      pulled += page.ops.length;
      if (page.ops.length === 0 || !page.more) break;
      after = page.ops[page.ops.length - 1]!.serverSeq;
    }
    const pullOpsPerSec = (pulled / (performance.now() - t0)) * 1000;
    if (pulled !== wire.length) throw new Error(`pulled ${pulled} of ${wire.length} ops`);
    progress(`sync server (${store}): push ${pushOpsPerSec.toFixed(0)} ops/s, pull ${pullOpsPerSec.toFixed(0)} ops/s`);
    return { store, ops: wire.length, pushBatch, pushOpsPerSec, pullPage, pullOpsPerSec };
  });
}
