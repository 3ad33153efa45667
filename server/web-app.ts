/**
 * The local outliner page's server (`logbook serve`): the page from web/ and a small JSON +
 * WebSocket API over one engine and one space. Bound to loopback by whoever listens; a random
 * per-start token (in the printed URL; the page sends it in a header) and a Host check keep other
 * local pages and DNS rebinding out. See docs/web.md.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import websocket from "@fastify/websocket";
import Fastify, { type FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import { EngineError, type Engine, type Objective, type Props, type Role } from "../index.js";
import { explainDiff, explainHistory, exportOutline, importOutline, parseText, sourceText, storedContent, versionReader, type OutlineFormat } from "../interchange/index.js";

/** Options of {@link createWebApp}. */
export interface WebAppOptions {
  readonly engine: Engine;
  readonly spaceId: string;
  /** The directory holding index.html, app.js and app.css (the built page). */
  readonly pageDir: string;
  /**
   * Hosts the Host header may name (e.g. `127.0.0.1:8790`, `localhost:8790`); a function when the
   * port is known only once the server listens.
   */
  readonly hosts: readonly string[] | (() => readonly string[]);
  /** The token the URL carries; default: 32 random bytes. */
  readonly token?: string;
  /** Whose folds the page keeps (the view builder's per-user folds). Default "web". */
  readonly user?: string;
}

const STATUS: Record<string, number> = { NOT_FOUND: 404, INVALID_ARGUMENT: 400, CYCLE: 400, CONFLICT: 409, FORBIDDEN: 403 };
const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };

/** A fastify app (not listening) and its token. */
export async function createWebApp(options: WebAppOptions): Promise<{ app: FastifyInstance; token: string }> {
  const { engine, spaceId } = options;
  const token = options.token ?? randomBytes(32).toString("base64url");
  const user = options.user ?? "web";
  const hostsNow = () => new Set((typeof options.hosts === "function" ? options.hosts() : options.hosts).map((h) => h.toLowerCase()));
  const sockets = new Set<WebSocket>();
  const app = Fastify({ logger: false, bodyLimit: 32 * 2 ** 20 });
  await app.register(websocket, { options: { maxPayload: 1024 } });

  const tokenOk = (given: string | undefined) => {
    if (given === undefined) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  app.addHook("onRequest", async (request, reply) => {
    // DNS rebinding: a foreign page that resolves its own name to 127.0.0.1 still sends its Host.
    if (!hostsNow().has(String(request.headers.host ?? "").toLowerCase())) return reply.status(403).send(error("FORBIDDEN", "this server answers only to its own address"));
    // The page itself (three static files) holds no data; every /api call carries the token in a
    // header, which another site's page cannot send here without a CORS preflight this server
    // never grants (the socket, which cannot carry headers, takes it in its query).
    const path = request.url.split("?")[0]!;
    if (!path.startsWith("/api/")) return;
    const given = path === "/api/live" ? (request.query as { token?: string }).token : (request.headers["x-logbook-token"] as string | undefined);
    if (!tokenOk(given)) return reply.status(401).send(error("UNAUTHENTICATED", "open the URL logbook serve printed (it carries the token)"));
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    if (err instanceof EngineError) return reply.status(STATUS[err.code] ?? 500).send(error(err.code, err.message));
    const status = typeof err.statusCode === "number" && err.statusCode < 500 ? err.statusCode : 500;
    return reply.status(status).send(error(status < 500 ? "INVALID_ARGUMENT" : "INTERNAL", status < 500 ? err.message : "internal error"));
  });

  const poke = (doc: string | undefined) => {
    const text = JSON.stringify({ type: "changed", doc });
    for (const s of sockets) s.send(text);
  };
  /** Runs a write and tells every open page that the document of the row it returns changed. */
  const write = async (fn: () => Promise<Objective>): Promise<Objective> => {
    const out = await fn();
    poke(docOf(out));
    return out;
  };

  for (const [path, file] of [["/", "index.html"], ["/app.js", "app.js"], ["/app.css", "app.css"]] as const) {
    app.get(path, async (_request, reply) => {
      const ext = file.slice(file.lastIndexOf("."));
      void reply.header("content-type", TYPES[ext]).header("cache-control", "no-store");
      void reply.header("content-security-policy", "default-src 'self'; connect-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:");
      return reply.send(await readFile(join(options.pageDir, file)));
    });
  }

  app.get("/api/docs", async () => (await engine.documents(spaceId)).map(summary));

  app.get<{ Querystring: { doc: string; offset?: string; limit?: string; vid?: string } }>("/api/view", async (request) => {
    const q = request.query;
    const view = await engine.view(spaceId, q.doc, { offset: int(q.offset, 0), limit: Math.min(int(q.limit, 50), 500), user, ...(q.vid ? { vid: q.vid } : {}) });
    return { total: view.total, rows: view.rows.map((r) => ({ ...r, content: sourceText(r.content) })) };
  });

  app.get<{ Params: { oid: string }; Querystring: { vid?: string } }>("/api/rows/:oid", async (request) => {
    const o = await engine.get(spaceId, request.params.oid, request.query.vid ? { vid: request.query.vid } : undefined);
    const index = o.parentOid === null ? 0 : await indexOf(o);
    return { ...summary(o), parentOid: o.parentOid, index, path: o.path ?? [] };
  });

  app.post<{ Params: { oid: string }; Body: { folded: boolean } }>("/api/rows/:oid/fold", async (request) => {
    await engine.setFolded(spaceId, user, request.params.oid, request.body.folded === true);
    return { ok: true };
  });

  app.post<{ Body: { parentOid: string; index?: number; content?: string; props?: Props } }>("/api/rows", async (request) => {
    const b = request.body;
    const created = await write(() => engine.create(spaceId, { parentOid: b.parentOid, content: storedContent(b.content ?? ""), ...(b.index === undefined ? {} : { index: b.index }), ...(b.props ? { props: b.props } : {}) }));
    return summary(created);
  });

  app.patch<{ Params: { oid: string }; Body: { content?: string; props?: Props } }>("/api/rows/:oid", async (request) => {
    const oid = request.params.oid;
    const before = await engine.get(spaceId, oid);
    // The engine stores non-empty text: an empty row is stored as " " (interchange/empty-text.ts).
    const patch = { ...(request.body.content === undefined ? {} : { content: storedContent(request.body.content) }), ...(request.body.props ? { props: request.body.props } : {}) };
    const after = await write(() => engine.update(spaceId, oid, patch));
    // The inverse patch, for the page's undo: every prop the patch touched, as it was (null: absent).
    const props: Props = {};
    for (const key of Object.keys(request.body.props ?? {})) props[key] = before.props[key] ?? null;
    return { row: summary(after), undo: { ...(request.body.content === undefined ? {} : { content: sourceText(before.content) }), props } };
  });

  app.post<{ Params: { oid: string }; Body: { parentOid: string; index: number } }>("/api/rows/:oid/move", async (request) => {
    const oid = request.params.oid;
    const before = await engine.get(spaceId, oid);
    const from = { parentOid: before.parentOid, index: await indexOf(before) };
    const moved = await write(() => engine.move(spaceId, oid, { parentOid: request.body.parentOid, index: request.body.index }));
    return { row: summary(moved), undo: from };
  });

  app.delete<{ Params: { oid: string } }>("/api/rows/:oid", async (request) => {
    const before = await engine.get(spaceId, request.params.oid);
    await engine.remove(spaceId, request.params.oid);
    poke(docOf(before));
    return { ok: true };
  });

  app.post<{ Params: { oid: string }; Body: { parentOid?: string; index?: number } | undefined }>("/api/rows/:oid/restore", async (request) => {
    // The page's undo of a removal: the same row back where it was (or under parentOid).
    const b = request.body ?? {};
    const to = b.parentOid === undefined ? undefined : { parentOid: b.parentOid, ...(b.index === undefined ? {} : { index: b.index }) };
    return summary(await write(() => engine.restore(spaceId, request.params.oid, to)));
  });

  app.get<{ Params: { oid: string }; Querystring: { limit?: string; cursor?: string } }>("/api/rows/:oid/history", async (request) => {
    // The row's versions, newest first, each with the op that made it explained (its own edit or
    // a descendant's): what the panel lists, previews, checks out and diffs.
    const oid = request.params.oid;
    const limit = Math.min(int(request.query.limit, 30), 200);
    const page = await engine.versions(spaceId, oid, { limit, ...(request.query.cursor ? { cursor: request.query.cursor } : {}) });
    const ops = await engine.history(spaceId, oid, { limit: limit * 2 });
    const listed = new Set(page.versions.map((v) => v.opId)); // only the ops that made a listed version are explained
    const explained = new Map((await explainHistory(versionReader(engine, spaceId), ops.ops.filter((op) => listed.has(op.opId)))).map((op) => [op.opId, op]));
    const versions = page.versions.map((v) => {
      const op = explained.get(v.opId);
      return { ...v, device: op?.device, textBefore: op?.textBefore, textAfter: op?.textAfter, changed: op?.changed ?? [] };
    });
    return { versions, ...(page.next ? { next: page.next } : {}) };
  });

  app.get<{ Params: { oid: string }; Querystring: { from: string; to: string } }>("/api/rows/:oid/diff", async (request) => {
    const { from, to } = request.query;
    const changes = await engine.diff(spaceId, request.params.oid, from, to);
    return explainDiff(versionReader(engine, spaceId), { oid: request.params.oid, from, to }, changes);
  });

  // Sharing (docs/collaboration.md): the entries in force on a row and their history; setting one
  // is a share op (no content version), so the page only needs to redraw the panel.
  app.get<{ Params: { oid: string } }>("/api/rows/:oid/collaborators", async (request) => {
    const oid = request.params.oid;
    const [entries, history] = await Promise.all([engine.collaborators(spaceId, oid), engine.shareHistory(spaceId, oid)]);
    return { entries, history };
  });
  app.post<{ Params: { oid: string }; Body: { user: string; role: Role | null } }>("/api/rows/:oid/share", async (request) => {
    const b = request.body ?? ({} as { user?: unknown; role?: unknown });
    return { entries: await engine.share(spaceId, request.params.oid, b.user, b.role ?? null) };
  });

  app.post<{ Params: { oid: string }; Body: { vid: string } }>("/api/rows/:oid/checkout", async (request) => {
    const oid = request.params.oid;
    return summary(await write(() => engine.checkout(spaceId, oid, request.body.vid)));
  });

  app.get<{ Querystring: { doc: string; format?: string; vid?: string } }>("/api/export", async (request, reply) => {
    const format: OutlineFormat = request.query.format === "md" ? "md" : "opml";
    // Streamed as it is read; the first chunk (the root) is awaited so that a bad oid or vid is an
    // error answer, not a broken download.
    const chunks = exportOutline(engine, spaceId, request.query.doc, format, request.query.vid ? { vid: request.query.vid } : {});
    const first = await chunks.next();
    void reply.header("content-type", format === "md" ? "text/markdown; charset=utf-8" : "text/x-opml; charset=utf-8");
    void reply.header("content-disposition", `attachment; filename="outline.${format === "md" ? "md" : "opml"}"`);
    return reply.send(Readable.from((async function* () {
      if (!first.done) yield first.value;
      yield* chunks;
    })()));
  });

  app.post<{ Body: { format: OutlineFormat; text: string; title?: string } }>("/api/import", async (request) => {
    const b = request.body;
    if (b.format !== "md" && b.format !== "opml") throw new EngineError("INVALID_ARGUMENT", `format must be md or opml, got ${JSON.stringify(b.format)}`);
    const result = await importOutline(engine, spaceId, parseText(b.format, String(b.text ?? "")), { title: b.title ?? "Imported" });
    poke(result.oid);
    return { oid: result.oid, nodes: result.nodes };
  });

  app.get("/api/live", { websocket: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  app.addHook("onClose", async () => {
    for (const s of sockets) s.close();
  });

  async function indexOf(o: Objective): Promise<number> {
    if (o.parentOid === null) return 0;
    const kids = await engine.children(spaceId, o.parentOid, { limit: 100_000 });
    return kids.findIndex((k) => k.oid === o.oid);
  }
  return { app, token };
}

/** The document an active row belongs to (a document root is its own). */
function docOf(o: Objective): string {
  return o.path?.[0] ?? o.oid;
}

function summary(o: Objective) {
  return { oid: o.oid, vid: o.vid, content: sourceText(o.content), props: o.props, childCount: o.childCount, stats: o.stats, createdAt: o.createdAt };
}

function error(code: string, message: string) {
  return { error: { code, message } };
}

function int(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new EngineError("INVALID_ARGUMENT", `expected a non-negative integer, got ${JSON.stringify(value).slice(0, 40)}`);
  return Number(value);
}

