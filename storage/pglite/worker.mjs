// The worker side of `pglite({ worker: true })` (worker-storage.ts): opens PGlite in this thread
// and runs the queries the main thread sends, strictly in the order they arrive. Plain JavaScript
// because a worker starts without the TypeScript loader of the thread that made it.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite, types } from "@electric-sql/pglite";

const JSONB_VERSION = Buffer.from([1]);
const db = await PGlite.create({
  ...(workerData.dataDir ? { dataDir: workerData.dataDir } : {}),
  parsers: { [types.INT8]: (v) => Number(v), [types.BYTEA]: (v) => Buffer.from(v.slice(2), "hex") },
  serializers: { [types.JSONB]: (v) => Buffer.concat([JSONB_VERSION, Buffer.from(typeof v === "string" ? v : JSON.stringify(v), "utf8")]) },
});
let chain = Promise.resolve();
parentPort.on("message", (m) => {
  chain = chain.then(async () => {
    try {
      if (m.op === "query") {
        const options = m.blob ? { blob: new Blob([m.blob]) } : undefined;
        parentPort.postMessage({ id: m.id, rows: (await db.query(m.sql, m.params, options)).rows });
      }
      else if (m.op === "close") {
        await db.close();
        parentPort.postMessage({ id: m.id, rows: [] });
      }
    } catch (e) {
      parentPort.postMessage({ id: m.id, error: { message: e.message, code: e.code, name: e.name } });
    }
  });
});
parentPort.postMessage({ ready: true });
