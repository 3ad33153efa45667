/**
 * The open sync sockets of one server: who they belong to, which spaces they listen to, and the
 * pokes sent to them. A socket keeps its session token so it can be re-checked: a revoked or
 * expired session closes its sockets (close code 4401), at once after a revocation of that user's
 * sessions and within `revalidateMs` otherwise. Sockets are capped per user and in all, and pinged:
 * one that misses a pong is dropped at the next ping.
 */
import type { WebSocket } from "ws";
import { SyncError, type ServerMessage } from "../sync/protocol.js";

/** WebSocket close code for a session that is no longer valid. */
export const CLOSE_UNAUTHENTICATED = 4401;

/** WebSocket close code for a member's socket whose role in one of its spaces was taken away. */
export const CLOSE_FORBIDDEN = 4403;

/** WebSocket close code for a socket over its user's cap (opened in a race past the 429 check). */
export const CLOSE_TOO_MANY = 4429;

interface Listener {
  readonly socket: WebSocket;
  readonly token: string;
  readonly userId: string;
  readonly spaces: ReadonlySet<string>;
  /** Listens to spaces of other users (their entries let it): re-checked when entries change. */
  readonly member?: boolean;
}

/** Limits of a hub. */
export interface SyncHubLimits {
  /** Open sockets of one user. Default 16. */
  readonly maxSocketsPerUser?: number;
  /** Open sockets in all. Default 10000. */
  readonly maxSockets?: number;
}

/** The registry of open sockets (see the module comment). */
export interface SyncHub {
  /** Why a new socket of `userId` may not open now (a cap is reached), or undefined. */
  refusal(userId: string): { readonly code: "RATE_LIMITED" | "UNAVAILABLE"; readonly message: string } | undefined;
  /** Registers a socket; it is forgotten when it closes. */
  add(listener: Listener): void;
  /** Tells the sockets listening to `spaceId` (each was let in by an access check) that ops up to `lastSeq` exist. */
  poke(spaceId: string, lastSeq: number): void;
  /** Re-checks the sessions of one user's sockets (after a revocation); closes those refused. */
  revalidateUser(userId: string): Promise<void>;
  /** Re-checks one user's member sockets against their roles (after entries changed); closes those refused (4403). */
  recheckAccess(userId: string): Promise<void>;
  /** Re-checks every socket's session (expiry, idle time, revocations elsewhere); closes those refused. */
  revalidate(): Promise<void>;
  /** Pings every socket; terminates those that did not answer the previous ping. */
  ping(): void;
  /** Number of open sockets. */
  size(): number;
  /** Closes every socket (server shutdown). */
  closeAll(): void;
}

/**
 * Creates a hub that checks sessions with `authenticate` (throws when refused) and a member's
 * reach with `mayRead` (throws when refused; the periodic re-check asks it too).
 */
export function createSyncHub(
  authenticate: (token: string) => Promise<unknown>,
  limits: SyncHubLimits = {},
  mayRead: (userId: string, spaceId: string) => Promise<void> = async () => {},
): SyncHub {
  const maxPerUser = limits.maxSocketsPerUser ?? 16;
  const maxAll = limits.maxSockets ?? 10_000;
  const byUser = new Map<string, Set<Listener>>();
  const bySpace = new Map<string, Set<Listener>>();
  const alive = new WeakMap<WebSocket, boolean>();
  let count = 0;
  const send = (socket: WebSocket, message: ServerMessage) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  const forget = (l: Listener): boolean => {
    const mine = byUser.get(l.userId);
    if (!mine?.delete(l)) return false;
    count--;
    if (mine.size === 0) byUser.delete(l.userId);
    for (const s of l.spaces) {
      const there = bySpace.get(s);
      there?.delete(l);
      if (there?.size === 0) bySpace.delete(s);
    }
    return true;
  };
  const check = async (list: readonly Listener[]) => {
    // One answer per user and space in a pass, however many sockets ask.
    const asked = new Map<string, Promise<void>>();
    await Promise.all(
      list.map(async (l) => {
        try {
          await authenticate(l.token);
        } catch {
          if (forget(l)) l.socket.close(CLOSE_UNAUTHENTICATED, "session revoked or expired");
          return;
        }
        if (l.member) await checkAccess(l, asked);
      }),
    );
  };
  const checkAccess = async (l: Listener, asked = new Map<string, Promise<void>>()) => {
    const ask = (space: string) => {
      const key = `${l.userId}\u0000${space}`;
      let answer = asked.get(key);
      if (!answer) asked.set(key, (answer = mayRead(l.userId, space)));
      return answer;
    };
    try {
      for (const s of l.spaces) await ask(s);
    } catch (error) {
      // Only a refusal closes it; a replica that cannot answer now leaves it to the next check.
      if (!(error instanceof SyncError && (error.code === "FORBIDDEN" || error.code === "NOT_FOUND"))) return;
      if (forget(l)) l.socket.close(CLOSE_FORBIDDEN, "role taken away");
    }
  };
  const refusal: SyncHub["refusal"] = (userId) => {
    if ((byUser.get(userId)?.size ?? 0) >= maxPerUser) {
      return { code: "RATE_LIMITED", message: `user ${userId} has ${maxPerUser} sync sockets open; close one first` };
    }
    if (count >= maxAll) return { code: "UNAVAILABLE", message: `the server has ${maxAll} sync sockets open; try again later` };
    return undefined;
  };
  let checkingAll: Promise<void> | undefined;
  return {
    refusal,
    add(listener) {
      // Upgrades racing past `refusal` are closed here: the caps hold exactly.
      const over = refusal(listener.userId);
      if (over) {
        listener.socket.close(over.code === "RATE_LIMITED" ? CLOSE_TOO_MANY : 1013, over.message.slice(0, 120));
        return;
      }
      const mine = byUser.get(listener.userId) ?? new Set<Listener>();
      byUser.set(listener.userId, mine);
      mine.add(listener);
      for (const s of listener.spaces) {
        const there = bySpace.get(s) ?? new Set<Listener>();
        bySpace.set(s, there);
        there.add(listener);
      }
      count++;
      alive.set(listener.socket, true);
      listener.socket.on("pong", () => alive.set(listener.socket, true));
      listener.socket.on("close", () => forget(listener));
      send(listener.socket, { type: "ready", spaces: [...listener.spaces] });
    },
    poke(spaceId, lastSeq) {
      for (const l of bySpace.get(spaceId) ?? []) send(l.socket, { type: "poke", spaceId, lastSeq });
    },
    async revalidateUser(userId) {
      await check([...(byUser.get(userId) ?? [])]);
    },
    async recheckAccess(userId) {
      const asked = new Map<string, Promise<void>>();
      await Promise.all([...(byUser.get(userId) ?? [])].filter((l) => l.member).map((l) => checkAccess(l, asked)));
    },
    async revalidate() {
      // One full check at a time; a call during a check waits for it and starts a fresh one.
      while (checkingAll) await checkingAll;
      checkingAll = check([...byUser.values()].flatMap((set) => [...set]));
      try {
        await checkingAll;
      } finally {
        checkingAll = undefined;
      }
    },
    ping() {
      for (const set of byUser.values()) {
        for (const l of [...set]) {
          if (alive.get(l.socket) === false) {
            forget(l);
            l.socket.terminate();
            continue;
          }
          alive.set(l.socket, false);
          if (l.socket.readyState === l.socket.OPEN) l.socket.ping();
        }
      }
    },
    size: () => count,
    closeAll() {
      for (const set of byUser.values()) for (const l of set) l.socket.close(1001, "server shutting down");
      byUser.clear();
      bySpace.clear();
      count = 0;
    },
  };
}
