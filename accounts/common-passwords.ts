/**
 * The most common passwords (ASVS 2.1.7 / 6.2.4: refuse breached and common passwords), from the
 * ranked list zxcvbn-ts ships (@zxcvbn-ts/language-common: about 49,000 passwords seen in public
 * breaches, about 18,000 of them 8 characters or longer). Compared case-insensitively.
 */
import { dictionary } from "@zxcvbn-ts/language-common";

let common: ReadonlySet<string> | undefined;

/**
 * Whether `password` is one of the most common passwords.
 *
 * @example
 * isCommonPassword("Password1") // true
 * isCommonPassword("correct horse battery staple") // false
 */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(dictionary["passwords-common"].map((p) => p.toLowerCase()));
  return common.has(password.toLowerCase());
}

/** How many passwords the list holds (for docs and tests). */
export function commonPasswordCount(): number {
  isCommonPassword("");
  return common!.size;
}
