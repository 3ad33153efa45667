/**
 * The accounts flows on PostgreSQL, PGlite and MariaDB: sign-up, verification, sign-in,
 * sessions, devices, password reset and change. Real SMTP, no database mocks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AccountsError, migrateAccounts, openAccounts, TABLES } from "../accounts/index.js";
import type { Accounts } from "../accounts/index.js";
import { codeIn, resetKeyIn, startMailServer } from "./helpers/accounts-smtp.js";
import type { TestMailServer } from "./helpers/accounts-smtp.js";
import { FAST_SETTINGS, PASSWORD, createVerifiedUser, uniqueEmail } from "./helpers/accounts-fixtures.js";
import { testStores } from "./helpers/accounts-stores.js";

const stores = await testStores();

/** Asserts that `promise` rejects with an AccountsError of `code`; returns the error. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AccountsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(AccountsError);
  expect((error as AccountsError).code).toBe(code);
  return error as AccountsError;
}

describe.each(stores)("accounts on $name", (store) => {
  describe.skipIf(store.skipReason !== undefined)("flows", () => {
    let accounts: Accounts;
    let mail: TestMailServer;
    let drop: () => Promise<void>;
    let offset = 0;

    beforeAll(async () => {
      mail = await startMailServer();
      const created = await store.create();
      drop = created.drop;
      accounts = await openAccounts({ store: created.config, mail: mail.mailConfig, settings: FAST_SETTINGS, now: () => Date.now() + offset });
    });
    afterEach(() => {
      offset = 0;
    });
    afterAll(async () => {
      await accounts?.close();
      await drop?.();
      await mail?.close();
    });

    it("migrates idempotently and creates the four tables", async () => {
      await migrateAccounts(accounts.database);
      for (const table of Object.values(TABLES)) expect(await accounts.database.schema.hasTable(table)).toBe(true);
    });

    it("signs up, verifies by mailed code, signs in and authenticates", async () => {
      const email = uniqueEmail("flow");
      await accounts.signUp({ email, password: PASSWORD, firstName: "Ada" });
      const message = await mail.waitForMail(email);
      // The address is not proven yet: the mail carries no text the signer-up chose.
      expect(message.text).not.toContain("Ada");
      const unverified = await accounts.findUserByEmail(email);
      expect(unverified?.state).toBe("unverified");
      await rejectsWith(accounts.signIn({ email, password: PASSWORD, deviceName: "laptop" }), "FORBIDDEN");
      const user = await accounts.verifyEmail({ email, code: codeIn(message) });
      expect(user.state).toBe("verified");
      const signedIn = await accounts.signIn({ email, password: PASSWORD, deviceName: "laptop" });
      expect(signedIn.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(signedIn.user.lastLoginAt).not.toBeNull();
      const auth = await accounts.authenticate(signedIn.token);
      expect(auth.user.id).toBe(user.id);
      expect(auth.user.email).toBe(email);
      expect(auth.device).toMatchObject({ id: signedIn.device.id, name: "laptop", userId: user.id });
      expect(auth.session.id).toBe(signedIn.session.id);
      expect((await accounts.getUser(user.id)).lastLoginAt).toBe(signedIn.user.lastLoginAt);
    });

    it("tells onVerified listeners who proved their address (a failing listener changes nothing), and sends mail for others", async () => {
      const seen: string[] = [];
      const off = accounts.onVerified((user) => seen.push(user.email));
      const offBroken = accounts.onVerified(() => {
        throw new Error("listener bug");
      });
      const email = uniqueEmail("verified-event");
      await accounts.signUp({ email, password: PASSWORD, firstName: "Ada" });
      const user = await accounts.verifyEmail({ email, code: codeIn(await mail.waitForMail(email)) });
      expect(user.state).toBe("verified");
      expect(seen).toEqual([email]);
      off();
      offBroken();
      const other = uniqueEmail("verified-event");
      await accounts.signUp({ email: other, password: PASSWORD, firstName: "Bo" });
      await accounts.verifyEmail({ email: other, code: codeIn(await mail.waitForMail(other)) });
      expect(seen).toEqual([email]);
      accounts.sendMail({ to: email, subject: `${accounts.product}: a note`, text: "shared with you" });
      expect((await mail.waitForMail(email, 2)).text).toContain("shared with you");
    });

    it("treats e-mail addresses case-insensitively and tells the owner about a second sign-up", async () => {
      const email = uniqueEmail("Case").replace("example.com", "Example.COM");
      await createVerifiedUser(accounts, mail, email);
      await accounts.signUp({ email: email.toUpperCase(), password: "another password", firstName: "Eve" });
      const notice = await mail.waitForMail(email, 2);
      expect(notice.text).toContain("already has one");
      const rows = await accounts.database(TABLES.users).where({ email_normalized: email.toLowerCase() });
      expect(rows).toHaveLength(1);
      await rejectsWith(accounts.signIn({ email, password: "another password", deviceName: "x" }), "INVALID_CREDENTIALS");
      const signedIn = await accounts.signIn({ email: email.toLowerCase(), password: PASSWORD, deviceName: "x" });
      expect(signedIn.user.email).toBe(email);
    });

    it("lets a second sign-up with another password void a pending (possibly squatted) one: only the mailbox sets the password", async () => {
      const email = uniqueEmail("squat");
      await accounts.signUp({ email, password: "attacker password", firstName: "Mallory" });
      const first = codeIn(await mail.waitForMail(email, 1));
      await accounts.signUp({ email, password: PASSWORD, firstName: "Ada" });
      const second = await mail.waitForMail(email, 2);
      expect(second.text).not.toMatch(/Mallory|Ada/);
      await rejectsWith(accounts.verifyEmail({ email, code: first }), "INVALID_CREDENTIALS");
      // Neither password works until the mailbox owner picks one with the mailed key.
      await rejectsWith(accounts.signIn({ email, password: "attacker password", deviceName: "x" }), "INVALID_CREDENTIALS");
      await rejectsWith(accounts.signIn({ email, password: PASSWORD, deviceName: "x" }), "INVALID_CREDENTIALS");
      await accounts.resetPassword({ key: resetKeyIn(second), newPassword: PASSWORD });
      await rejectsWith(accounts.signIn({ email, password: "attacker password", deviceName: "x" }), "INVALID_CREDENTIALS");
      const signedIn = await accounts.signIn({ email, password: PASSWORD, deviceName: "x" });
      expect(signedIn.user.state).toBe("verified");
      expect(signedIn.user.firstName).not.toBe("Mallory");
    });

    it("refuses a wrong password and an unknown e-mail with the same error", async () => {
      const email = uniqueEmail("wrong");
      await createVerifiedUser(accounts, mail, email);
      const wrong = await rejectsWith(accounts.signIn({ email, password: "not the password", deviceName: "x" }), "INVALID_CREDENTIALS");
      const unknown = await rejectsWith(
        accounts.signIn({ email: uniqueEmail("nobody"), password: "not the password", deviceName: "x" }),
        "INVALID_CREDENTIALS",
      );
      expect(unknown.message).toBe(wrong.message);
      expect(wrong.message).not.toContain("not the password");
    });

    it("discards a verification code after too many wrong guesses and expires it", async () => {
      const email = uniqueEmail("verify");
      await accounts.signUp({ email, password: PASSWORD, firstName: "Ada" });
      const code = codeIn(await mail.waitForMail(email));
      const wrongCode = code === "000000" ? "000001" : "000000";
      for (let i = 0; i < accounts.settings.verificationMaxAttempts; i++) {
        await rejectsWith(accounts.verifyEmail({ email, code: wrongCode }), "INVALID_CREDENTIALS");
      }
      await rejectsWith(accounts.verifyEmail({ email, code }), "INVALID_CREDENTIALS");
      await accounts.resendVerification({ email });
      const fresh = codeIn(await mail.waitForMail(email, 2));
      offset = accounts.settings.verificationTtlMs + 1000;
      await rejectsWith(accounts.verifyEmail({ email, code: fresh }), "EXPIRED");
      offset = 0;
      expect((await accounts.verifyEmail({ email, code: fresh })).state).toBe("verified");
      await rejectsWith(accounts.verifyEmail({ email, code: fresh }), "INVALID_CREDENTIALS");
      await rejectsWith(accounts.verifyEmail({ email, code: "12ab" }), "INVALID_ARGUMENT");
    });

    it("answers resendVerification identically for unknown and verified addresses, sending nothing", async () => {
      const verified = uniqueEmail("resend");
      await createVerifiedUser(accounts, mail, verified);
      const unknown = uniqueEmail("resend-nobody");
      await expect(accounts.resendVerification({ email: verified })).resolves.toBeUndefined();
      await expect(accounts.resendVerification({ email: unknown })).resolves.toBeUndefined();
      await accounts.drainMail();
      expect(mail.mailsTo(verified)).toHaveLength(1);
      expect(mail.mailsTo(unknown)).toHaveLength(0);
    });

    it("manages devices: one session per device, rename, revoke", async () => {
      const email = uniqueEmail("devices");
      await createVerifiedUser(accounts, mail, email);
      const laptop = await accounts.signIn({ email, password: PASSWORD, deviceName: "laptop" });
      const phone = await accounts.signIn({ email, password: PASSWORD, deviceName: "phone" });
      expect(phone.device.id).not.toBe(laptop.device.id);
      const userId = laptop.user.id;
      expect((await accounts.listDevices(userId)).map((d) => d.name)).toEqual(["laptop", "phone"]);

      const laptopAgain = await accounts.signIn({ email, password: PASSWORD, deviceName: "laptop" });
      expect(laptopAgain.device.id).toBe(laptop.device.id);
      await rejectsWith(accounts.authenticate(laptop.token), "UNAUTHENTICATED");
      expect((await accounts.authenticate(laptopAgain.token)).device.id).toBe(laptop.device.id);
      const byId = await accounts.signIn({ email, password: PASSWORD, deviceName: "ignored", deviceId: phone.device.id });
      expect(byId.device).toMatchObject({ id: phone.device.id, name: "phone" });

      const renamed = await accounts.renameDevice(userId, phone.device.id, "  Jörg’s phone 📱 ");
      expect(renamed.name).toBe("Jörg’s phone 📱");
      await rejectsWith(accounts.renameDevice(userId, phone.device.id, "laptop"), "CONFLICT");
      expect((await accounts.authenticate(byId.token)).device.name).toBe("Jörg’s phone 📱");

      await accounts.revokeDevice(userId, laptop.device.id);
      await rejectsWith(accounts.authenticate(laptopAgain.token), "UNAUTHENTICATED");
      await rejectsWith(accounts.signIn({ email, password: PASSWORD, deviceName: "x", deviceId: laptop.device.id }), "NOT_FOUND");
      expect((await accounts.listDevices(userId)).map((d) => d.id)).toEqual([phone.device.id]);
      await accounts.authenticate(byId.token);
      const laptop2 = await accounts.signIn({ email, password: PASSWORD, deviceName: "laptop" });
      expect(laptop2.device.id).not.toBe(laptop.device.id);

      const other = uniqueEmail("devices-other");
      await createVerifiedUser(accounts, mail, other);
      const otherSession = await accounts.signIn({ email: other, password: PASSWORD, deviceName: "x" });
      await rejectsWith(accounts.revokeDevice(otherSession.user.id, phone.device.id), "NOT_FOUND");
      await rejectsWith(accounts.renameDevice(otherSession.user.id, phone.device.id, "mine"), "NOT_FOUND");
      await rejectsWith(accounts.revokeDevice(userId, "not-an-id"), "INVALID_ARGUMENT");
    });

    it("signs out idempotently and refuses malformed, unknown and expired tokens", async () => {
      const email = uniqueEmail("signout");
      await createVerifiedUser(accounts, mail, email);
      const a = await accounts.signIn({ email, password: PASSWORD, deviceName: "a" });
      const b = await accounts.signIn({ email, password: PASSWORD, deviceName: "b" });
      await accounts.signOut(a.token);
      await accounts.signOut(a.token);
      await accounts.signOut("garbage");
      await rejectsWith(accounts.authenticate(a.token), "UNAUTHENTICATED");
      await accounts.authenticate(b.token);
      for (const bad of ["", "x".repeat(43), "a".repeat(10_000), undefined, 42, `${b.token.slice(0, 42)}?`]) {
        await rejectsWith(accounts.authenticate(bad), "UNAUTHENTICATED");
      }
      offset = accounts.settings.sessionTtlMs + 1;
      await rejectsWith(accounts.authenticate(b.token), "UNAUTHENTICATED");
    });

    it("resets a password with a mailed single-use key, killing every session", async () => {
      const email = uniqueEmail("reset");
      await createVerifiedUser(accounts, mail, email);
      const s1 = await accounts.signIn({ email, password: PASSWORD, deviceName: "one" });
      const s2 = await accounts.signIn({ email, password: PASSWORD, deviceName: "two" });
      await accounts.requestPasswordReset({ email: email.toUpperCase() });
      await accounts.requestPasswordReset({ email });
      const key1 = resetKeyIn(await mail.waitForMail(email, 2));
      const key2 = resetKeyIn(await mail.waitForMail(email, 3));
      expect(key1).not.toBe(key2);
      await rejectsWith(accounts.resetPassword({ key: key1, newPassword: "short" }), "INVALID_ARGUMENT");
      await accounts.resetPassword({ key: key1, newPassword: "a brand new password" });
      await rejectsWith(accounts.authenticate(s1.token), "UNAUTHENTICATED");
      await rejectsWith(accounts.authenticate(s2.token), "UNAUTHENTICATED");
      await rejectsWith(accounts.signIn({ email, password: PASSWORD, deviceName: "one" }), "INVALID_CREDENTIALS");
      await accounts.signIn({ email, password: "a brand new password", deviceName: "one" });
      await rejectsWith(accounts.resetPassword({ key: key1, newPassword: "yet another password" }), "INVALID_CREDENTIALS");
      await rejectsWith(accounts.resetPassword({ key: key2, newPassword: "yet another password" }), "INVALID_CREDENTIALS");
      await rejectsWith(accounts.resetPassword({ key: "nonsense", newPassword: "yet another password" }), "INVALID_CREDENTIALS");
    });

    it("lets exactly one of several concurrent redemptions of a reset key succeed", async () => {
      const email = uniqueEmail("reset-race");
      await createVerifiedUser(accounts, mail, email);
      await accounts.requestPasswordReset({ email });
      const key = resetKeyIn(await mail.waitForMail(email, 2));
      const outcomes = await Promise.allSettled(
        ["password one!", "password two!", "password three!"].map((newPassword) => accounts.resetPassword({ key, newPassword })),
      );
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      for (const o of outcomes) if (o.status === "rejected") expect((o.reason as AccountsError).code).toBe("INVALID_CREDENTIALS");
    });

    it("refuses an expired reset key and sends nothing for an unknown address", async () => {
      const email = uniqueEmail("reset-expired");
      await createVerifiedUser(accounts, mail, email);
      await accounts.requestPasswordReset({ email });
      const key = resetKeyIn(await mail.waitForMail(email, 2));
      offset = accounts.settings.resetTtlMs + 1;
      await rejectsWith(accounts.resetPassword({ key, newPassword: "a brand new password" }), "EXPIRED");
      offset = 0;
      const nobody = uniqueEmail("reset-nobody");
      await expect(accounts.requestPasswordReset({ email: nobody })).resolves.toBeUndefined();
      await accounts.drainMail();
      expect(mail.mailsTo(nobody)).toHaveLength(0);
      await accounts.signIn({ email, password: PASSWORD, deviceName: "still works" });
    });

    it("verifies an unverified account through a password reset (the key proves the mailbox)", async () => {
      const email = uniqueEmail("reset-unverified");
      await accounts.signUp({ email, password: PASSWORD, firstName: "Ada" });
      await mail.waitForMail(email);
      await accounts.requestPasswordReset({ email });
      await accounts.resetPassword({ key: resetKeyIn(await mail.waitForMail(email, 2)), newPassword: "a brand new password" });
      expect((await accounts.signIn({ email, password: "a brand new password", deviceName: "x" })).user.state).toBe("verified");
    });

    it("changes a password with the old one (keeping the caller's session) or with a reset key", async () => {
      const email = uniqueEmail("change");
      await createVerifiedUser(accounts, mail, email);
      const mine = await accounts.signIn({ email, password: PASSWORD, deviceName: "mine" });
      const other = await accounts.signIn({ email, password: PASSWORD, deviceName: "other" });
      const userId = mine.user.id;
      const wrong = await rejectsWith(
        accounts.changePassword({ userId, oldPassword: "wrong password", newPassword: "second password" }),
        "INVALID_CREDENTIALS",
      );
      expect(wrong.message).not.toContain("wrong password");
      await rejectsWith(accounts.changePassword({ userId, oldPassword: PASSWORD, newPassword: "short" }), "INVALID_ARGUMENT");
      await accounts.changePassword({ userId, oldPassword: PASSWORD, newPassword: "second password", keepSessionId: mine.session.id });
      await accounts.authenticate(mine.token);
      await rejectsWith(accounts.authenticate(other.token), "UNAUTHENTICATED");
      await rejectsWith(accounts.signIn({ email, password: PASSWORD, deviceName: "x" }), "INVALID_CREDENTIALS");

      await accounts.requestPasswordReset({ email });
      const key = resetKeyIn(await mail.waitForMail(email, 2));
      await accounts.changePassword({ resetKey: key, newPassword: "third password" });
      await rejectsWith(accounts.authenticate(mine.token), "UNAUTHENTICATED");
      await accounts.signIn({ email, password: "third password", deviceName: "x" });
      await rejectsWith(accounts.changePassword({ resetKey: key, newPassword: "fourth password" }), "INVALID_CREDENTIALS");
    });

    it("disables an account: sessions die, sign-in is forbidden, no reset mail", async () => {
      const email = uniqueEmail("disabled");
      await createVerifiedUser(accounts, mail, email);
      const s = await accounts.signIn({ email, password: PASSWORD, deviceName: "x" });
      await accounts.setUserState(s.user.id, "disabled");
      await rejectsWith(accounts.authenticate(s.token), "UNAUTHENTICATED");
      await rejectsWith(accounts.signIn({ email, password: PASSWORD, deviceName: "x" }), "FORBIDDEN");
      await rejectsWith(accounts.signIn({ email, password: "wrong password", deviceName: "x" }), "INVALID_CREDENTIALS");
      await accounts.requestPasswordReset({ email });
      await accounts.drainMail();
      expect(mail.mailsTo(email)).toHaveLength(1);
    });

    it("accepts SQL-special and unicode addresses, byte-exact and case-insensitive", async () => {
      const specials = [
        `o'brien+tag%_*=$\`{}|~^!#&/?-${Date.now()}@example.com`,
        `Jörg.Müller-${Date.now()}@bücher.example`,
        `用户${Date.now()}@例子.广告`,
        `ÉLODIE${Date.now()}@example.org`,
      ];
      for (const email of specials) {
        await createVerifiedUser(accounts, mail, email, PASSWORD, "Zoë 🚀");
        const s = await accounts.signIn({ email: email.toUpperCase(), password: PASSWORD, deviceName: "x" });
        expect(s.user.email).toBe(email);
        expect(s.user.firstName).toBe("Zoë 🚀");
      }
      // Accents are distinct addresses, not collation-equal (MariaDB's default collation would merge them).
      const plain = `elodie${Date.now()}@example.org`;
      await createVerifiedUser(accounts, mail, plain);
      expect((await accounts.findUserByEmail(plain))?.email).toBe(plain);
      expect((await accounts.findUserByEmail(specials[3] ?? ""))?.email).toBe(specials[3]);
    });

    it("refuses invalid and over-long inputs without echoing passwords", async () => {
      const longPassword = `secret-${"p".repeat(10_000)}`;
      const cases: Promise<unknown>[] = [
        accounts.signUp({ email: `${"a".repeat(250)}@example.com`, password: PASSWORD, firstName: "A" }),
        accounts.signUp({ email: `${"a".repeat(65)}@example.com`, password: PASSWORD, firstName: "A" }),
        accounts.signUp({ email: "no-at-sign", password: PASSWORD, firstName: "A" }),
        accounts.signUp({ email: "a b@example.com", password: PASSWORD, firstName: "A" }),
        accounts.signUp({ email: "a@localhost", password: PASSWORD, firstName: "A" }),
        accounts.signUp({ email: "a@example.com\r\nBcc: x@example.com", password: PASSWORD, firstName: "A" }),
        accounts.signUp({ email: uniqueEmail(), password: longPassword, firstName: "A" }),
        accounts.signUp({ email: uniqueEmail(), password: "short", firstName: "A" }),
        accounts.signUp({ email: uniqueEmail(), password: PASSWORD, firstName: "x".repeat(101) }),
        accounts.signUp({ email: uniqueEmail(), password: PASSWORD, firstName: "   " }),
        accounts.signUp({ email: uniqueEmail(), password: PASSWORD, firstName: "a\u0000b" }),
        accounts.signIn({ email: uniqueEmail(), password: longPassword, deviceName: "x" }),
        accounts.signIn({ email: uniqueEmail(), password: PASSWORD, deviceName: "d".repeat(1000) }),
        accounts.signIn({ email: uniqueEmail(), password: "", deviceName: "x" }),
        accounts.signUp({ email: 42, password: PASSWORD, firstName: "A" } as unknown as { email: string; password: string; firstName: string }),
      ];
      for (const c of cases) {
        const error = await rejectsWith(c, "INVALID_ARGUMENT");
        expect(error.message).not.toContain("secret-");
        expect(error.message.length).toBeLessThan(200);
      }
    });

    it("reports CLOSED after close on a second instance sharing the database", async () => {
      const second = await openAccounts({ database: accounts.database, mail: mail.mailConfig, settings: FAST_SETTINGS, migrate: false });
      await second[Symbol.asyncDispose]();
      await rejectsWith(second.signIn({ email: uniqueEmail(), password: PASSWORD, deviceName: "x" }), "CLOSED");
      expect(await accounts.findUserByEmail(uniqueEmail())).toBeUndefined(); // the shared database is still open
    });
  });
});
