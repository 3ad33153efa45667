/**
 * Two devices syncing through a server: `npm run sync:demo`.
 *
 * Starts accounts + sync on 127.0.0.1 (in-memory PGlite, mails kept in memory), signs one user in
 * on a laptop and a phone (each an engine on its own in-memory PGlite), edits on both — the phone
 * offline for a while, concurrently — and shows that both end with the same tree and root vid.
 */
import { openAccounts } from "../accounts/index.js";
import { openEngine, pglite, type Engine } from "../index.js";
import { createServer, memoryMailTransport, syncPlugin } from "../server/index.js";
import { createSyncClient, faultyTransport, httpTransport } from "../sync/index.js";

// 1. A server: accounts and the sync routes, ops stored on an in-memory PGlite.
const mail = memoryMailTransport();
// Every database here boots PGlite (a few seconds each): open them all at once.
const [accounts, syncStorage, laptop, phone] = await Promise.all([
  openAccounts({
    store: { kind: "pglite" },
    mail: { transport: mail.transport, from: "demo@localhost" },
    settings: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } }, // demo only: cheap hashing
  }),
  pglite().open(),
  // The two devices' engines (pass pglite({ dataDir }) to keep them across restarts).
  openEngine({ storage: pglite() }),
  openEngine({ storage: pglite() }),
]);
const app = await createServer({ accounts });
await app.register(syncPlugin, { storage: syncStorage });
const url = await app.listen({ host: "127.0.0.1", port: 0 });
console.log(`server on ${url}`);

// 2. One user, two devices (each device signs in once and keeps its session token).
const email = "ada@example.com";
const password = "correct horse battery staple";
await accounts.signUp({ email, password, firstName: "Ada" });
await accounts.drainMail();
const code = /verification code is:\s+(\d{6})/.exec(mail.textsTo(email).at(-1) ?? "")![1]!;
await accounts.verifyEmail({ email, code });
const laptopSession = await accounts.signIn({ email, password, deviceName: "laptop" });
const phoneSession = await accounts.signIn({ email, password, deviceName: "phone" });

// 3. Each device: its engine and a sync client with the device's session token.
const { spaceId } = await laptop.createSpace();
await phone.createSpace({ spaceId }); // a replica of the same space
// The laptop made the space: its client creates it on the server; the phone's joins it.
const laptopSync = createSyncClient({ engine: laptop, spaceId, transport: httpTransport({ baseUrl: url, token: laptopSession.token }), create: true });
// The phone's network can be cut: the same transport tests use to inject faults.
const phoneNet = faultyTransport(httpTransport({ baseUrl: url, token: phoneSession.token }), {});
const phoneSync = createSyncClient({ engine: phone, spaceId, transport: phoneNet });
laptopSync.start();
phoneSync.start(); // online: pushes local edits, follows pokes from the server

const doc = await laptop.createDocument(spaceId, { content: "Trip" });
const tickets = await laptop.create(spaceId, { parentOid: doc.oid, content: "Buy tickets" });
laptopSync.changed();
await waitFor(async () => (await phone.logSince(spaceId)).length === 2);
console.log("phone got the laptop's document");

// 4. The phone goes offline and both edit the same objective, concurrently.
await phoneSync.stop();
phoneNet.offline = true;
await phone.update(spaceId, tickets.oid, { props: { done: true } }); // offline edit
await phone.create(spaceId, { parentOid: doc.oid, content: "Pack (written offline)" });
await laptop.update(spaceId, tickets.oid, { content: "Buy train tickets" });
laptopSync.changed();

// 5. Back online: both converge (fields merge, last writer by clock wins per field).
phoneNet.offline = false;
phoneSync.start();
phoneSync.changed();
await waitFor(async () => (await laptop.logSince(spaceId)).length === 5 && (await phone.logSince(spaceId)).length === 5);
await waitFor(async () => (await root(laptop)) === (await root(phone)));
for (const [name, engine] of [["laptop", laptop], ["phone", phone]] as const) {
  const rows = (await engine.view(spaceId, doc.oid)).rows.map((r) => `${r.content}${r.props["done"] ? " ✓" : ""}`);
  console.log(`${name}: root vid ${await root(engine)}  ${JSON.stringify(rows)}`);
}

await laptopSync.stop();
await phoneSync.stop();
await laptop.close();
await phone.close();
await app.close();
await accounts.close();
await syncStorage.close();

async function root(engine: Engine): Promise<string> {
  return (await engine.get(spaceId, doc.oid)).vid;
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("the devices did not converge in 20 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}
