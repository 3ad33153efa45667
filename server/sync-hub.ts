/**
 * The open sync sockets of one server: who they belong to, which spaces they listen to, and the
 * pokes sent to them. A socket keeps its session token so it can be re-checked: a revoked or
 * expired session closes its sockets (close code 4401), at once after a revocation through this
 * server and within `revalidateMs` otherwise.
 */
import type { WebSocket } from "ws";
import type { ServerMessage } from "../sync/protocol.js";

/** WebSocket close code for a session that is no longer valid. */
export const CLOSE_UNAUTHENTICATED = 4401;

interface Listener {
  readonly socket: WebSocket;
  readonly token: string;
  readonly userId: string;
  readonly spaces: ReadonlySet<string>;
}

/** The registry of open sockets (see the module comment). */
export interface SyncHub {
  /** Registers a socket; it is forgotten when it closes. */
  add(listener: Listener): void;
  /** Tells the owner's sockets listening to `spaceId` that ops up to `lastSeq` exist. */
  poke(spaceId: string, ownerUserId: string, lastSeq: number): void;
  /** Re-checks every socket's session; closes those refused. */
  revalidate(): Promise<void>;
  /** Number of open sockets. */
  size(): number;
  /** Closes every socket (server shutdown). */
  closeAll(): void;
}

/** Creates a hub that checks sessions with `authenticate` (throws when refused). */
export function createSyncHub(authenticate: (token: string) => Promise<unknown>): SyncHub {
  const listeners = new Set<Listener>();
  const send = (socket: WebSocket, message: ServerMessage) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  let checking: Promise<void> | undefined;
  return {
    add(listener) {
      listeners.add(listener);
      listener.socket.on("close", () => listeners.delete(listener));
      send(listener.socket, { type: "ready", spaces: [...listener.spaces] });
    },
    poke(spaceId, ownerUserId, lastSeq) {
      for (const l of listeners) {
        if (l.userId === ownerUserId && l.spaces.has(spaceId)) send(l.socket, { type: "poke", spaceId, lastSeq });
      }
    },
    async revalidate() {
      // One check at a time; a request during a check waits for a fresh one.
      while (checking) await checking;
      checking = (async () => {
        await Promise.all(
          [...listeners].map(async (l) => {
            try {
              await authenticate(l.token);
            } catch {
              listeners.delete(l);
              l.socket.close(CLOSE_UNAUTHENTICATED, "session revoked or expired");
            }
          }),
        );
      })();
      try {
        await checking;
      } finally {
        checking = undefined;
      }
    },
    size: () => listeners.size,
    closeAll() {
      for (const l of listeners) l.socket.close(1001, "server shutting down");
      listeners.clear();
    },
  };
}
