/** Public surface of the accounts HTTP layer, for the sync server to reuse. */
export { accountsPlugin } from "./accounts-plugin.js";
export type { AccountsPluginOptions } from "./accounts-plugin.js";
export { accountsRoutes } from "./accounts-routes.js";
export type { AccountsRoutesOptions } from "./accounts-routes.js";
export { DEVICE_COOKIE, SESSION_COOKIE, sessionTokenFrom } from "./cookies.js";
export { consoleMailTransport } from "./console-mail-transport.js";
export { memoryMailTransport } from "./memory-mail-transport.js";
export { createServer } from "./create-server.js";
export type { CreateServerOptions } from "./create-server.js";
export { STATUS_OF, handleError } from "./http-errors.js";
export type { ErrorBody } from "./http-errors.js";
export { syncPlugin } from "./sync-routes.js";
export type { SyncPluginOptions } from "./sync-routes.js";
export { CLOSE_UNAUTHENTICATED, createSyncHub } from "./sync-hub.js";
export type { SyncHub } from "./sync-hub.js";
export { migrateSyncStore, pullOps, pushOps } from "./sync-store.js";
export type { SyncCaller } from "./sync-store.js";
