/**
 * How a sync client reaches a server. `httpTransport` speaks HTTP + WebSocket to the sync routes;
 * tests put `faultyTransport` in between to drop, duplicate, delay and reorder deliveries.
 */
import WebSocket from "ws";
import type { SnapshotFrame } from "../engine/snapshot.js";
import type { PartialTop, PartialTops } from "../engine/partial-replica.js";
import {
  decodeSnapshotFrames,
  SyncError,
  type BindResult,
  type CreateSpaceResult,
  type Invitation,
  type InvitedRole,
  type PullPage,
  type PushBatch,
  type PushResult,
  type Refused,
  type ServerMessage,
  type SyncErrorCode,
} from "./protocol.js";

/** Handlers of a poke socket. */
export interface ListenHandlers {
  /** The server has ops up to `lastSeq` in `spaceId`. */
  onPoke(spaceId: string, lastSeq: number): void;
  /** The socket ended; `code` 4401 means the session was revoked or expired. */
  onClose(code: number, reason: string): void;
}

/** What a sync client needs from the network. Failures are `SyncError`s (`UNAVAILABLE`: try again). */
export interface SyncTransport {
  push(spaceId: string, batch: PushBatch): Promise<PushResult>;
  pull(spaceId: string, after: number, limit: number): Promise<PullPage>;
  /** Opens a socket that pokes on new ops of the spaces; resolves once it is open. */
  listen(spaceIds: readonly string[], handlers: ListenHandlers): Promise<{ close(): void }>;
  /**
   * Binds an engine device to this session's accounts device (after the one it was bound to was
   * revoked). Optional: transports without it cannot rebind.
   */
  bind?(device: string): Promise<BindResult>;
  /** Creates a space on the server for this session's user (idempotent). Optional: without it a client only joins. */
  createSpace?(spaceId: string): Promise<CreateSpaceResult>;
  /** The server replica's rows of a space, frame by frame. Optional: without it a joining device replays the ops. */
  snapshot?(spaceId: string): AsyncIterable<SnapshotFrame>;
  /** One version of one subtree with its history up to it, frame by frame (engine/subtree-snapshot.ts). Optional. */
  subtree?(spaceId: string, oid: string, vid: string): AsyncIterable<SnapshotFrame>;
  /** The subtrees a member who may read part of the space reads, with their vids. Optional. */
  tops?(spaceId: string): Promise<PartialTops>;
  /** Their current state, frame by frame (a partial replica's load), but for tops `have` lists unchanged. Optional. */
  partial?(spaceId: string, have: readonly PartialTop[]): AsyncIterable<SnapshotFrame>;
  /** Invites an address to a role on a subtree (a manager there). Optional. */
  invite?(spaceId: string, invitation: { readonly oid: string; readonly email: string; readonly role: InvitedRole }): Promise<Invitation>;
  /** The space's invitations on objectives this user may share. Optional. */
  invitations?(spaceId: string): Promise<readonly Invitation[]>;
  /** Withdraws an invitation still waiting. Optional. */
  cancelInvitation?(spaceId: string, id: string): Promise<void>;
}

/** Options of {@link httpTransport}. */
export interface HttpTransportOptions {
  /** The server, e.g. `http://127.0.0.1:8788`. */
  readonly baseUrl: string;
  /** The accounts session token of this device (sent as `Authorization: Bearer`). */
  readonly token: string;
  /** Sync route prefix. Default `/sync`. */
  readonly routePrefix?: string;
  /** Per-request timeout in ms. Default 15000. */
  readonly timeoutMs?: number;
  /** Timeout of a whole snapshot download in ms. Default 600000. */
  readonly snapshotTimeoutMs?: number;
}

const CODES = new Set<SyncErrorCode>([
  "BAD_BATCH",
  "TOO_LARGE",
  "CLOCK_SKEW",
  "FORGED",
  "FORBIDDEN",
  "UNAUTHENTICATED",
  "CONFLICT",
  "NOT_FOUND",
  "QUOTA_EXCEEDED",
  "RATE_LIMITED",
  "UNAVAILABLE",
]);

/** A 403's list of refused ops, kept only when every entry is well-formed (else the client goes by `opId`). */
function refusedOf(value: unknown): Refused[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const ok = value.every((r) => typeof r === "object" && r !== null && typeof (r as Refused).opId === "string" && typeof (r as Refused).message === "string");
  return ok ? (value as Refused[]).map((r) => ({ opId: r.opId, message: r.message })) : undefined;
}

async function failure(response: Response): Promise<SyncError> {
  let body: { error?: { code?: string; message?: string; opId?: unknown; refused?: unknown; partial?: unknown } } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON: keep the status
  }
  const code = body.error?.code;
  const message = body.error?.message ?? `HTTP ${response.status}`;
  if (response.status >= 500) return new SyncError("UNAVAILABLE", `server answered ${response.status}: ${message}`);
  if (response.status === 401) return new SyncError("UNAUTHENTICATED", message);
  const opId = typeof body.error?.opId === "string" ? body.error.opId : undefined;
  const refused = refusedOf(body.error?.refused);
  if (code !== undefined && CODES.has(code as SyncErrorCode)) return new SyncError(code as SyncErrorCode, message, { ...(opId === undefined ? {} : { opId }), ...(refused ? { refused } : {}), ...(body.error?.partial === true ? { partial: true } : {}) });
  if (response.status === 403) return new SyncError("FORBIDDEN", message);
  if (response.status === 413) return new SyncError("TOO_LARGE", message);
  if (response.status === 429) return new SyncError("RATE_LIMITED", message);
  return new SyncError("BAD_BATCH", `${code ?? response.status}: ${message}`);
}

/**
 * The real transport: `POST <prefix>/:space/push`, `GET <prefix>/:space/pull`, `GET <prefix>/ws`.
 *
 * @example
 * const transport = httpTransport({ baseUrl: "http://127.0.0.1:8788", token });
 */
export function httpTransport(options: HttpTransportOptions): SyncTransport {
  const base = options.baseUrl.replace(/\/$/, "") + (options.routePrefix ?? "/sync");
  const headers = { authorization: `Bearer ${options.token}` };
  const timeout = options.timeoutMs ?? 15_000;
  const call = async <T>(url: string, init: RequestInit): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeout) });
    } catch (error) {
      throw new SyncError("UNAVAILABLE", `cannot reach ${url}: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok) throw await failure(response);
    if (response.status === 204) return undefined as T;
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new SyncError("UNAVAILABLE", `unreadable answer from ${url}`, { cause: error });
    }
  };
  async function* frames(url: string, body?: unknown): AsyncGenerator<SnapshotFrame> {
    let response: Response;
    try {
      // A large space streams for a while: the timeout covers the whole body.
      const init: RequestInit =
        body === undefined ? { headers } : { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) };
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.snapshotTimeoutMs ?? 600_000) });
    } catch (error) {
      throw new SyncError("UNAVAILABLE", `cannot reach ${url}: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok || !response.body) throw await failure(response);
    try {
      yield* decodeSnapshotFrames(response.body as unknown as AsyncIterable<Uint8Array>);
    } catch (error) {
      if (error instanceof SyncError) throw error;
      throw new SyncError("UNAVAILABLE", `the snapshot from ${url} broke off: ${(error as Error).message}`, { cause: error });
    }
  }
  return {
    push: (spaceId, batch) =>
      call(`${base}/${spaceId}/push`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(batch) }),
    pull: (spaceId, after, limit) => call(`${base}/${spaceId}/pull?after=${after}&limit=${limit}`, { headers }),
    bind: (device) => call(`${base}/devices/${encodeURIComponent(device)}/bind`, { method: "POST", headers }),
    createSpace: (spaceId) => call(`${base}/spaces`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ spaceId }) }),
    invite: (spaceId, invitation) =>
      call(`${base}/${spaceId}/invitations`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(invitation) }),
    invitations: async (spaceId) => (await call<{ invitations: Invitation[] }>(`${base}/${spaceId}/invitations`, { headers })).invitations,
    cancelInvitation: (spaceId, id) => call(`${base}/${spaceId}/invitations/${encodeURIComponent(id)}`, { method: "DELETE", headers }),
    snapshot: (spaceId) => frames(`${base}/${spaceId}/snapshot`),
    subtree: (spaceId, oid, vid) => frames(`${base}/${spaceId}/subtree/${encodeURIComponent(oid)}/${encodeURIComponent(vid)}`),
    tops: (spaceId) => call(`${base}/${spaceId}/tops`, { headers }),
    partial: (spaceId, have) => frames(`${base}/${spaceId}/partial`, { have }),
    listen: (spaceIds, handlers) =>
      new Promise((resolve, reject) => {
        const url = `${base.replace(/^http/, "ws")}/ws?spaces=${spaceIds.join(",")}`;
        const socket = new WebSocket(url, { headers, handshakeTimeout: timeout });
        let open = false;
        socket.on("unexpected-response", (_request, response) => {
          const status = response.statusCode ?? 0;
          reject(
            new SyncError(
              status === 401 ? "UNAUTHENTICATED" : status === 403 ? "FORBIDDEN" : status === 429 ? "RATE_LIMITED" : status >= 500 ? "UNAVAILABLE" : "BAD_BATCH",
              `socket refused: HTTP ${status}`,
            ),
          );
          socket.terminate();
        });
        socket.on("error", (error) => {
          if (!open) reject(new SyncError("UNAVAILABLE", `cannot open ${url}: ${error.message}`, { cause: error }));
        });
        socket.on("open", () => {
          open = true;
          resolve({ close: () => socket.close() });
        });
        socket.on("message", (data) => {
          let message: ServerMessage;
          try {
            message = JSON.parse(String(data)) as ServerMessage;
          } catch {
            return;
          }
          if (message.type === "poke") handlers.onPoke(message.spaceId, message.lastSeq);
        });
        socket.on("close", (code, reason) => {
          if (open) handlers.onClose(code, String(reason));
        });
      }),
  };
}

/** Fault probabilities (0..1) and delays of {@link faultyTransport}. */
export interface Faults {
  /** A request is lost before it reaches the server. */
  readonly dropRequest?: number;
  /** The server handled the request but the answer is lost. */
  readonly dropResponse?: number;
  /** The request is delivered a second time, later (after other requests: a reordered duplicate). */
  readonly duplicate?: number;
  /** A pull is answered with an earlier pull's (stale) page instead. */
  readonly stale?: number;
  /** Each request waits up to this many ms (random) first, so concurrent devices interleave. */
  readonly maxDelayMs?: number;
  /** A poke is lost. */
  readonly dropPoke?: number;
}

/** A transport with injected faults; `offline` cuts it, `idle()` waits for delayed duplicates. */
export interface FaultyTransport extends SyncTransport {
  /** While true every request fails with `UNAVAILABLE` (the device is offline). */
  offline: boolean;
  /** Resolves when every delayed duplicate has been delivered. */
  idle(): Promise<void>;
}

/** Wraps a transport with random faults drawn from `random` (seeded in tests for reproducibility). */
export function faultyTransport(inner: SyncTransport, faults: Faults, random: () => number = Math.random): FaultyTransport {
  const pending = new Set<Promise<unknown>>();
  const stalePages = new Map<string, PullPage[]>();
  const chance = (p: number | undefined) => p !== undefined && p > 0 && random() < p;
  const lost = (what: string) => new SyncError("UNAVAILABLE", `injected fault: ${what}`);
  const delay = async () => {
    const ms = faults.maxDelayMs ? Math.floor(random() * faults.maxDelayMs) : 0;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  };
  const later = (send: () => Promise<unknown>) => {
    const wait = 1 + Math.floor(random() * ((faults.maxDelayMs ?? 0) + 5));
    const p = new Promise((r) => setTimeout(r, wait)).then(send).catch(() => {});
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const t: FaultyTransport = {
    offline: false,
    async push(spaceId, batch) {
      if (t.offline) throw lost("offline");
      await delay();
      if (chance(faults.dropRequest)) throw lost("push request dropped");
      if (chance(faults.duplicate)) later(() => inner.push(spaceId, batch));
      const result = await inner.push(spaceId, batch);
      if (chance(faults.dropResponse)) throw lost("push answer dropped");
      return result;
    },
    async pull(spaceId, after, limit) {
      if (t.offline) throw lost("offline");
      await delay();
      if (chance(faults.dropRequest)) throw lost("pull request dropped");
      const seen = stalePages.get(spaceId) ?? [];
      if (seen.length > 0 && chance(faults.stale)) return seen[Math.floor(random() * seen.length)]!;
      const page = await inner.pull(spaceId, after, limit);
      seen.push(page);
      if (seen.length > 8) seen.shift();
      stalePages.set(spaceId, seen);
      if (chance(faults.dropResponse)) throw lost("pull answer dropped");
      return page;
    },
    async listen(spaceIds, handlers) {
      if (t.offline) throw lost("offline");
      return inner.listen(spaceIds, {
        onPoke: (s, seq) => {
          if (!chance(faults.dropPoke)) handlers.onPoke(s, seq);
        },
        onClose: handlers.onClose,
      });
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
  if (inner.bind) {
    const bind = inner.bind.bind(inner);
    t.bind = async (device) => {
      if (t.offline) throw lost("offline");
      return bind(device);
    };
  }
  if (inner.snapshot) {
    const snapshot = inner.snapshot.bind(inner);
    t.snapshot = async function* (spaceId) {
      if (t.offline) throw lost("offline");
      if (chance(faults.dropRequest)) throw lost("snapshot request dropped");
      let n = 0;
      for await (const frame of snapshot(spaceId)) {
        // A connection lost mid-stream: the device loads nothing and replays instead.
        if (n++ > 0 && chance((faults.dropResponse ?? 0) / 4)) throw lost("snapshot broke off");
        yield frame;
      }
    };
  }
  if (inner.tops) {
    const tops = inner.tops.bind(inner);
    t.tops = async (spaceId) => {
      if (t.offline) throw lost("offline");
      return tops(spaceId);
    };
  }
  if (inner.subtree) {
    const subtree = inner.subtree.bind(inner);
    t.subtree = async function* (spaceId, oid, vid) {
      if (t.offline) throw lost("offline");
      yield* subtree(spaceId, oid, vid);
    };
  }
  if (inner.partial) {
    const partial = inner.partial.bind(inner);
    t.partial = async function* (spaceId, have) {
      if (t.offline) throw lost("offline");
      yield* partial(spaceId, have);
    };
  }
  if (inner.createSpace) {
    const create = inner.createSpace.bind(inner);
    t.createSpace = async (spaceId) => {
      if (t.offline) throw lost("offline");
      return create(spaceId);
    };
  }
  return t;
}
