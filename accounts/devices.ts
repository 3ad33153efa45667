/** Listing, renaming and revoking a user's devices. */
import type { Knex } from "knex";
import { recordAudit } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { AccountsError, quoteValue } from "./errors.js";
import { TABLES } from "./migrations.js";
import { toDevice } from "./rows.js";
import type { DeviceRow } from "./rows.js";
import { guarded } from "./store.js";
import type { Device } from "./types.js";
import { parseId, parseName } from "./validation.js";

/** The user's active (not revoked) devices, oldest first. */
export async function listDevices(ctx: AccountsContext, userId: string): Promise<readonly Device[]> {
  const id = parseId("userId", userId);
  const rows = await guarded("listing devices", () =>
    ctx.db<DeviceRow>(TABLES.devices).where({ user_id: id }).whereNull("revoked_at").orderBy([{ column: "created_at" }, { column: "id" }]),
  );
  return rows.map(toDevice);
}

async function activeDevice(trx: Knex.Transaction, userId: string, deviceId: string): Promise<DeviceRow> {
  const row = await trx<DeviceRow>(TABLES.devices).where({ id: deviceId, user_id: userId }).whereNull("revoked_at").forUpdate().first();
  if (row === undefined) throw new AccountsError("NOT_FOUND", `device ${deviceId} does not exist or was revoked`);
  return row;
}

/** Renames one of the user's devices; `CONFLICT` if another active device has that name. */
export async function renameDevice(ctx: AccountsContext, userId: string, deviceId: string, name: string): Promise<Device> {
  const uid = parseId("userId", userId);
  const did = parseId("deviceId", deviceId);
  const newName = parseName("name", name);
  return guarded("renaming a device", () =>
    ctx.db.transaction(async (trx) => {
      const row = await activeDevice(trx, uid, did);
      const clash = await trx<DeviceRow>(TABLES.devices)
        .where({ user_id: uid, name: newName })
        .whereNull("revoked_at")
        .whereNot({ id: did })
        .first();
      if (clash !== undefined) throw new AccountsError("CONFLICT", `another device is already named ${quoteValue(newName)}`);
      await trx(TABLES.devices).where({ id: did }).update({ name: newName });
      return toDevice({ ...row, name: newName });
    }),
  );
}

/** Revokes one of the user's devices and every session on it. */
export async function revokeDevice(ctx: AccountsContext, userId: string, deviceId: string, ip?: string): Promise<void> {
  const uid = parseId("userId", userId);
  const did = parseId("deviceId", deviceId);
  await guarded("revoking a device", () =>
    ctx.db.transaction(async (trx) => {
      await activeDevice(trx, uid, did);
      await trx(TABLES.devices).where({ id: did }).update({ revoked_at: ctx.now() });
      await trx(TABLES.sessions).where({ device_id: did }).update({ revoked: true });
      await recordAudit(ctx, { event: "device-revoked", userId: uid, deviceId: did, ip }, trx);
    }),
  );
  ctx.revoked(uid);
}
