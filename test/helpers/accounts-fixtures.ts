/** Shared fixtures of the accounts tests: unique addresses, fast settings, verified users. */
import { randomBytes } from "node:crypto";
import type { Accounts, AccountsSettingsOverride } from "../../accounts/index.js";
import { codeIn } from "./accounts-smtp.js";
import type { TestMailServer } from "./accounts-smtp.js";

/** Cheap argon2 parameters so the suite stays fast (production parameters are tested separately). */
export const FAST_SETTINGS: AccountsSettingsOverride = { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } };

/** A password that satisfies the policy. */
export const PASSWORD = "correct horse battery staple";

/** A fresh address `prefix-<random>@example.com`. */
export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${randomBytes(5).toString("hex")}@example.com`;
}

/** A fresh IP-like rate-limit key. */
export function uniqueIp(): string {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

/** Signs up, reads the code from the mail and verifies; returns the code and the mail count. */
export async function createVerifiedUser(
  accounts: Accounts,
  mail: TestMailServer,
  email: string,
  password = PASSWORD,
  firstName = "Ada",
): Promise<{ readonly code: string }> {
  const before = mail.mailsTo(email).length;
  await accounts.signUp({ email, password, firstName });
  const code = codeIn(await mail.waitForMail(email, before + 1));
  await accounts.verifyEmail({ email, code });
  return { code };
}
