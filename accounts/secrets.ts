/**
 * Random secrets handed to users (session tokens, reset keys, verification codes) and the
 * one-way digests stored in their place.
 */
import { createHash, randomBytes, randomInt, randomUUID } from "node:crypto";

/** Bytes of randomness in session tokens and reset keys (256 bits, above the 128-bit floor). */
export const SECRET_BYTES = 32;

/** Length of a base64url-encoded {@link SECRET_BYTES} secret. */
export const SECRET_LENGTH = 43;

/** Digits in an e-mail verification code. */
export const CODE_DIGITS = 6;

/** A fresh unguessable token (base64url, {@link SECRET_BYTES} random bytes). */
export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString("base64url");
}

/** True if `text` has the shape of a {@link newSecret} result (cheap pre-check before a lookup). */
export function looksLikeSecret(text: string): boolean {
  return text.length === SECRET_LENGTH && /^[A-Za-z0-9_-]+$/.test(text);
}

/**
 * SHA-256 hex digest of a high-entropy secret, tagged with its purpose so a session-token
 * digest can never match a reset-key digest. Fast on purpose: 256 random bits need no
 * key stretching, and the digest doubles as the lookup key.
 */
export function digestSecret(purpose: "session" | "reset", secret: string): string {
  return createHash("sha256").update(`logbook-accounts:${purpose}:`).update(secret).digest("hex");
}

/** A fresh numeric verification code of {@link CODE_DIGITS} digits (uniform, leading zeros kept). */
export function newVerificationCode(): string {
  return String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, "0");
}

/** True if `text` has the shape of a verification code. */
export function looksLikeVerificationCode(text: string): boolean {
  return text.length === CODE_DIGITS && /^[0-9]+$/.test(text);
}

/** A new random row id. */
export function newId(): string {
  return randomUUID();
}
