/** Public surface of the sync layer (docs/sync.md): clocks, the wire protocol, transports, the client. */
export { checkDrift, createHlcClock, decodeHlc, encodeHlc, HlcError, isHlc, MAX_DRIFT_MS } from "../engine/hlc.js";
export type { Hlc, HlcClock, HlcClockOptions, HlcErrorCode } from "../engine/hlc.js";
export { checkPullQuery, checkPushBatch, checkWireOp, isDeviceId, isSpaceId, LIMITS, SYNC_STATUS, SyncError } from "./protocol.js";
export type { BindResult, Invitation, InvitedRole, PullPage, PushBatch, PushResult, Refused, ServerMessage, SyncErrorCode, WireOp } from "./protocol.js";
export { faultyTransport, httpTransport } from "./transport.js";
export type { Faults, FaultyTransport, HttpTransportOptions, ListenHandlers, SyncTransport } from "./transport.js";
export { createSyncClient } from "./sync-client.js";
export type { SyncClient, SyncClientOptions, SyncRound } from "./sync-client.js";
