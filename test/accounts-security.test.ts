/**
 * Security properties of the accounts store on PostgreSQL, PGlite and MariaDB: no plaintext
 * secret in any row, production argon2 parameters, indistinguishable unknown e-mails, rate
 * limits, wrapped driver errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import argon2 from "argon2";
import { AccountsError, OWASP_ARGON2, commonPasswordCount, hashParams, isCommonPassword, openAccounts, TABLES } from "../accounts/index.js";
import type { Accounts, AccountsSettingsOverride } from "../accounts/index.js";
import { codeIn, resetKeyIn, startMailServer } from "./helpers/accounts-smtp.js";
import type { TestMailServer } from "./helpers/accounts-smtp.js";
import { FAST_SETTINGS, PASSWORD, createVerifiedUser, uniqueEmail, uniqueIp } from "./helpers/accounts-fixtures.js";
import { testStores } from "./helpers/accounts-stores.js";

const stores = await testStores();

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AccountsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(AccountsError);
  expect((error as AccountsError).code).toBe(code);
  return error as AccountsError;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const TIGHT_LIMITS: AccountsSettingsOverride = {
  ...FAST_SETTINGS,
  limits: {
    signIn: { perAccount: { points: 3, durationSec: 60 }, perIp: { points: 5, durationSec: 60 } },
    verify: { perAccount: { points: 3, durationSec: 60 }, perIp: { points: 5, durationSec: 60 } },
    mail: { perAccount: { points: 2, durationSec: 60 }, perIp: { points: 4, durationSec: 60 } },
    reset: { perAccount: { points: 3, durationSec: 60 }, perIp: { points: 3, durationSec: 60 } },
  },
};

describe.each(stores)("accounts security on $name", (store) => {
  describe.skipIf(store.skipReason !== undefined)("properties", () => {
    let accounts: Accounts;
    let mail: TestMailServer;
    let drop: () => Promise<void>;
    const extra: Accounts[] = [];

    /** Another instance on the same database with other settings (closed in afterAll). */
    async function sibling(settings: AccountsSettingsOverride): Promise<Accounts> {
      const instance = await openAccounts({ database: accounts.database, mail: mail.mailConfig, settings, migrate: false });
      extra.push(instance);
      return instance;
    }

    beforeAll(async () => {
      mail = await startMailServer();
      const created = await store.create();
      drop = created.drop;
      accounts = await openAccounts({ store: created.config, mail: mail.mailConfig, settings: FAST_SETTINGS });
    });
    afterAll(async () => {
      for (const instance of extra) await instance.close();
      await accounts?.close();
      await drop?.();
      await mail?.close();
    });

    it("never stores a plaintext password, code, token or reset key", async () => {
      const email = uniqueEmail("secrets");
      const secrets: string[] = [PASSWORD];
      const { code } = await createVerifiedUser(accounts, mail, email);
      secrets.push(code);
      const a = await accounts.signIn({ email, password: PASSWORD, deviceName: "a" });
      const b = await accounts.signIn({ email, password: PASSWORD, deviceName: "b" });
      secrets.push(a.token, b.token);
      await accounts.requestPasswordReset({ email });
      const key = resetKeyIn(await mail.waitForMail(email, 2));
      secrets.push(key, "the second password");
      await accounts.resetPassword({ key, newPassword: "the second password" });
      await accounts.requestPasswordReset({ email });
      const unusedKey = resetKeyIn(await mail.waitForMail(email, 3));
      secrets.push(unusedKey);
      const c = await accounts.signIn({ email, password: "the second password", deviceName: "c" });
      secrets.push(c.token, "the third password");
      await accounts.changePassword({ userId: c.user.id, oldPassword: "the second password", newPassword: "the third password" });
      const pending = uniqueEmail("secrets-pending");
      await accounts.signUp({ email: pending, password: "pending password", firstName: "P" });
      secrets.push("pending password", codeIn(await mail.waitForMail(pending)));

      const dump: string[] = [];
      for (const table of Object.values(TABLES)) {
        const rows = await accounts.database(table).select();
        expect(rows.length).toBeGreaterThan(0);
        dump.push(JSON.stringify(rows));
      }
      const everything = dump.join("\n");
      for (const secret of secrets) {
        expect(everything).not.toContain(secret);
        expect(everything).not.toContain(Buffer.from(secret).toString("hex"));
        expect(everything).not.toContain(Buffer.from(secret).toString("base64"));
      }
      const sessions = await accounts.database(TABLES.sessions).where({ user_id: c.user.id }).select("token_hash");
      for (const row of sessions) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      const users = await accounts.database(TABLES.users).whereIn("email_normalized", [email, pending]).select("password_hash", "verification_code_hash");
      for (const row of users) expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(users.some((row) => typeof row.verification_code_hash === "string" && row.verification_code_hash.startsWith("$argon2id$"))).toBe(true);
    });

    it("stores hashes with the production (OWASP) argon2id parameters by default", async () => {
      const production = await sibling({});
      expect(production.settings.argon2).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
      const email = uniqueEmail("owasp");
      await production.signUp({ email, password: PASSWORD, firstName: "O" });
      const row = await accounts.database(TABLES.users).where({ email_normalized: email }).first();
      expect(hashParams(row.password_hash)).toEqual({ type: "argon2id", ...OWASP_ARGON2 });
      expect(hashParams(row.verification_code_hash)).toEqual({ type: "argon2id", ...OWASP_ARGON2 });
    });

    it("upgrades a weaker stored hash to the configured parameters at sign-in", async () => {
      const email = uniqueEmail("rehash");
      await createVerifiedUser(accounts, mail, email);
      const production = await sibling({});
      await production.signIn({ email, password: PASSWORD, deviceName: "x" });
      const row = await accounts.database(TABLES.users).where({ email_normalized: email }).first();
      expect(hashParams(row.password_hash)).toEqual({ type: "argon2id", ...OWASP_ARGON2 });
    });

    it("takes similar time for an unknown e-mail and a wrong password (production parameters)", async () => {
      const production = await sibling({});
      const email = uniqueEmail("timing");
      await production.signUp({ email, password: PASSWORD, firstName: "T" });
      await mail.waitForMail(email);
      const time = async (address: string): Promise<number> => {
        const start = performance.now();
        await rejectsWith(production.signIn({ email: address, password: "wrong password", deviceName: "x" }), "INVALID_CREDENTIALS");
        return performance.now() - start;
      };
      await time(uniqueEmail("warm-up"));
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 7; i++) {
        known.push(await time(email));
        unknown.push(await time(uniqueEmail("timing-nobody")));
      }
      // The fastest run of each is the least disturbed by the other test worker sharing the CPU.
      const ratio = Math.min(...unknown) / Math.min(...known);
      expect(median(known)).toBeGreaterThan(5); // an argon2 verification really happened
      expect(Math.min(...unknown)).toBeGreaterThan(5);
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    });

    it("throttles verification brute force per account and per IP", async () => {
      const tight = await sibling(TIGHT_LIMITS);
      const email = uniqueEmail("brute");
      await tight.signUp({ email, password: PASSWORD, firstName: "B" });
      const code = codeIn(await mail.waitForMail(email));
      const wrong = code === "111111" ? "222222" : "111111";
      for (let i = 0; i < 3; i++) await rejectsWith(tight.verifyEmail({ email, code: wrong }), "INVALID_CREDENTIALS");
      const limited = await rejectsWith(tight.verifyEmail({ email, code }), "RATE_LIMITED");
      expect(limited.retryAfterMs).toBeGreaterThan(0);
      expect(limited.retryAfterMs).toBeLessThanOrEqual(60_000);

      const ip = uniqueIp();
      for (let i = 0; i < 5; i++) await rejectsWith(tight.verifyEmail({ email: uniqueEmail("spray"), code: wrong, ip }), "INVALID_CREDENTIALS");
      await rejectsWith(tight.verifyEmail({ email: uniqueEmail("spray"), code: wrong, ip }), "RATE_LIMITED");
      await rejectsWith(tight.verifyEmail({ email: uniqueEmail("spray"), code: wrong, ip: uniqueIp() }), "INVALID_CREDENTIALS");
    });

    it("throttles sign-in per account and per IP, and a success clears the account budget", async () => {
      const tight = await sibling(TIGHT_LIMITS);
      const email = uniqueEmail("throttle");
      await createVerifiedUser(accounts, mail, email);
      await rejectsWith(tight.signIn({ email, password: "wrong password", deviceName: "x" }), "INVALID_CREDENTIALS");
      await rejectsWith(tight.signIn({ email, password: "wrong password", deviceName: "x" }), "INVALID_CREDENTIALS");
      await tight.signIn({ email, password: PASSWORD, deviceName: "x" });
      for (let i = 0; i < 3; i++) await rejectsWith(tight.signIn({ email, password: "wrong password", deviceName: "x" }), "INVALID_CREDENTIALS");
      const limited = await rejectsWith(tight.signIn({ email, password: PASSWORD, deviceName: "x" }), "RATE_LIMITED");
      expect(limited.retryAfterMs).toBeGreaterThan(0);
      // Unknown addresses are throttled exactly the same way.
      const nobody = uniqueEmail("throttle-nobody");
      for (let i = 0; i < 3; i++) await rejectsWith(tight.signIn({ email: nobody, password: "wrong password", deviceName: "x" }), "INVALID_CREDENTIALS");
      await rejectsWith(tight.signIn({ email: nobody, password: "wrong password", deviceName: "x" }), "RATE_LIMITED");

      const ip = uniqueIp();
      for (let i = 0; i < 5; i++) {
        await rejectsWith(tight.signIn({ email: uniqueEmail("ip"), password: "wrong password", deviceName: "x", ip }), "INVALID_CREDENTIALS");
      }
      await rejectsWith(tight.signIn({ email: uniqueEmail("ip"), password: "wrong password", deviceName: "x", ip }), "RATE_LIMITED");
    });

    it("throttles reset requests identically for known and unknown addresses, and key redemption per IP", async () => {
      const tight = await sibling(TIGHT_LIMITS);
      const email = uniqueEmail("reset-throttle");
      await createVerifiedUser(accounts, mail, email);
      const nobody = uniqueEmail("reset-throttle-nobody");
      for (const address of [email, nobody]) {
        await tight.requestPasswordReset({ email: address });
        await tight.requestPasswordReset({ email: address });
        const limited = await rejectsWith(tight.requestPasswordReset({ email: address }), "RATE_LIMITED");
        expect(limited.message).not.toContain(address);
      }
      const ip = uniqueIp();
      const fakeKey = "A".repeat(43);
      for (let i = 0; i < 3; i++) await rejectsWith(tight.resetPassword({ key: fakeKey, newPassword: "new password!", ip }), "INVALID_CREDENTIALS");
      await rejectsWith(tight.resetPassword({ key: fakeKey, newPassword: "new password!", ip }), "RATE_LIMITED");
    });

    it("issues distinct 256-bit session tokens", async () => {
      const email = uniqueEmail("tokens");
      await createVerifiedUser(accounts, mail, email);
      const tokens = new Set<string>();
      for (let i = 0; i < 10; i++) tokens.add((await accounts.signIn({ email, password: PASSWORD, deviceName: `d${i}` })).token);
      expect(tokens.size).toBe(10);
      for (const token of tokens) expect(Buffer.from(token, "base64url")).toHaveLength(32);
    });

    it("refuses the most common passwords (a list of over 10,000) for new passwords, not at sign-in", async () => {
      expect(commonPasswordCount()).toBeGreaterThan(10_000);
      for (const common of ["password", "12345678", "QWERTYUIOP", "iloveyou"]) {
        await rejectsWith(accounts.signUp({ email: uniqueEmail("common"), password: common, firstName: "C" }), "INVALID_ARGUMENT");
      }
      const email = uniqueEmail("common-change");
      await createVerifiedUser(accounts, mail, email);
      const { user } = await accounts.signIn({ email, password: PASSWORD, deviceName: "x" });
      await rejectsWith(accounts.changePassword({ userId: user.id, oldPassword: PASSWORD, newPassword: "letmein1" }), "INVALID_ARGUMENT");
      // A stored password that became "common" still signs in: the policy applies to new ones only.
      expect(isCommonPassword("sunshine")).toBe(true);
      await accounts.database(TABLES.users).where({ id: user.id }).update({ password_hash: await argon2.hash("sunshine") });
      expect((await accounts.signIn({ email, password: "sunshine", deviceName: "x" })).user.id).toBe(user.id);
    });

    it("records sign-ins, failures, revocations, password changes and resets in the audit trail, without secrets", async () => {
      const email = uniqueEmail("audit");
      await createVerifiedUser(accounts, mail, email);
      const ip = uniqueIp();
      const a = await accounts.signIn({ email, password: PASSWORD, deviceName: "a", ip });
      await rejectsWith(accounts.signIn({ email, password: "wrong password", deviceName: "a", ip }), "INVALID_CREDENTIALS");
      const b = await accounts.signIn({ email, password: PASSWORD, deviceName: "b" });
      await accounts.revokeDevice(a.user.id, b.device.id, ip);
      await accounts.changePassword({ userId: a.user.id, oldPassword: PASSWORD, newPassword: "second passphrase", keepSessionId: a.session.id, ip });
      await accounts.signOut(a.token, ip);
      await accounts.signOut(a.token, ip); // idempotent: recorded once
      await accounts.requestPasswordReset({ email, ip });
      await accounts.resetPassword({ key: resetKeyIn(await mail.waitForMail(email, 2)), newPassword: "third passphrase", ip });
      await accounts.setUserState(a.user.id, "disabled");
      const trail = await accounts.auditTrail({ userId: a.user.id });
      expect(trail.map((e) => e.event)).toEqual([
        "state-changed",
        "password-reset",
        "password-reset-requested",
        "sign-out",
        "password-changed",
        "device-revoked",
        "sign-in",
        "sign-in-failed",
        "sign-in",
      ]);
      expect(trail.find((e) => e.event === "device-revoked")?.deviceId).toBe(b.device.id);
      expect(trail.filter((e) => e.ip === ip).map((e) => e.event)).not.toContain("state-changed");
      const older = await accounts.auditTrail({ userId: a.user.id, beforeId: trail[4]!.id, limit: 2 });
      expect(older.map((e) => e.event)).toEqual(["device-revoked", "sign-in"]);
      // A failed sign-in on an unknown address is recorded too (the same work as for a known one), naming nobody.
      await rejectsWith(accounts.signIn({ email: uniqueEmail("audit-nobody"), password: "wrong password", deviceName: "a", ip }), "INVALID_CREDENTIALS");
      expect((await accounts.auditTrail({ limit: 1 }))[0]).toMatchObject({ event: "sign-in-failed", userId: null, ip });
      await rejectsWith(accounts.auditTrail({ limit: 0 }), "INVALID_ARGUMENT");
    });

    it("refuses a session idle for longer than sessionIdleMs and keeps a used one", async () => {
      let offset = 0;
      const idle = await openAccounts({
        database: accounts.database,
        mail: mail.mailConfig,
        migrate: false,
        settings: { ...FAST_SETTINGS, sessionIdleMs: 10_000, lastSeenResolutionMs: 100 },
        now: () => Date.now() + offset,
      });
      extra.push(idle);
      const email = uniqueEmail("idle");
      await createVerifiedUser(accounts, mail, email);
      const { token } = await idle.signIn({ email, password: PASSWORD, deviceName: "x" });
      offset = 8_000;
      await idle.authenticate(token);
      offset = 16_000;
      await idle.authenticate(token);
      offset = 26_001;
      await rejectsWith(idle.authenticate(token), "UNAUTHENTICATED");
    });

    it.skipIf(store.name === "pglite")("wraps driver errors as STORAGE with the cause", async () => {
      const created = await store.create();
      await created.drop();
      const error = await rejectsWith(openAccounts({ store: created.config, mail: mail.mailConfig }), "STORAGE");
      expect(error.cause).toBeDefined();
      expect(error.message).toMatch(/migrating/);
    });
  });
});
