/**
 * A syncing device as its own process, for the crash tests: opens an engine on a PGlite data dir,
 * joins a space and pulls everything from a server, printing `pulled <cursor>` before applying each
 * page (so the test can kill it mid-apply) and `done <cursor>` at the end.
 * Usage: node --import tsx sync-client-process.ts <dataDir> <baseUrl> <token> <spaceId>
 */
import { openEngine, pglite } from "../../index.js";
import { createSyncClient, httpTransport, type SyncTransport } from "../../sync/index.js";

const [dataDir, baseUrl, token, spaceId] = process.argv.slice(2) as [string, string, string, string];
const engine = await openEngine({ storage: pglite({ dataDir }) });
await engine.createSpace({ spaceId }).catch(() => {}); // a replica; already there after a restart
const http = httpTransport({ baseUrl, token });
const transport: SyncTransport = {
  ...http,
  async pull(space, after, limit) {
    const page = await http.pull(space, after, limit);
    console.log(`pulled ${after}`);
    return page;
  },
};
// Replays (no snapshot): the test kills it while it applies pulled pages.
const client = createSyncClient({ engine, spaceId, transport, pullLimit: 100, bootstrap: false });
await client.sync();
console.log(`done ${await engine.pullCursor(spaceId)}`);
await engine.close();
