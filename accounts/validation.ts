/**
 * Input validation and normalisation. Every function returns the cleaned value or throws
 * `AccountsError("INVALID_ARGUMENT")` naming the field (and quoting it, unless secret).
 */
import { isCommonPassword } from "./common-passwords.js";
import type { PasswordPolicy } from "./config.js";
import { AccountsError, quoteValue } from "./errors.js";

/** Longest accepted e-mail address (RFC 5321 path limit minus the brackets). */
export const MAX_EMAIL_LENGTH = 254;
/** Longest accepted local part (RFC 5321). */
export const MAX_LOCAL_PART_LENGTH = 64;
/** Longest first name or device name. */
export const MAX_NAME_LENGTH = 100;

// Control characters, whitespace, and the characters RFC 5322 only allows quoted.
const FORBIDDEN_IN_LOCAL = /[\p{Cc}\p{Cf}\p{Z}\s"(),:;<>@[\\\]]/u;
const DOMAIN_LABEL = /^(?!-)[\p{L}\p{N}-]{1,63}(?<!-)$/u;

function fail(message: string): never {
  throw new AccountsError("INVALID_ARGUMENT", message);
}

function requireString(field: string, value: unknown): string {
  if (typeof value !== "string") fail(`${field} must be a string`);
  return value;
}

/** A validated e-mail address: `address` as entered (trimmed, NFC), `normalized` for lookups. */
export interface EmailAddress {
  /** The address as the user typed it, trimmed and NFC-normalised; used to send mail. */
  readonly address: string;
  /** Lower-cased {@link EmailAddress.address}; unique key in the store. */
  readonly normalized: string;
}

/**
 * Validates an e-mail address. Accepts unicode (SMTPUTF8) local parts and domains and all
 * RFC 5322 atext specials (`'`, `%`, `+`, `_`, …); rejects quoted local parts, IP literals,
 * whitespace, control characters and over-long addresses.
 */
export function parseEmail(value: unknown): EmailAddress {
  const raw = requireString("email", value);
  if (raw.length > MAX_EMAIL_LENGTH * 4) fail(`email is too long (${raw.length} characters, max ${MAX_EMAIL_LENGTH})`);
  const address = raw.trim().normalize("NFC");
  if (address.length > MAX_EMAIL_LENGTH) fail(`email is too long (${address.length} characters, max ${MAX_EMAIL_LENGTH})`);
  const at = address.lastIndexOf("@");
  const local = address.slice(0, Math.max(at, 0));
  const domain = address.slice(at + 1);
  const bad = (why: string): never => fail(`email ${quoteValue(address)} is not a valid address: ${why}`);
  if (at <= 0 || domain.length === 0) bad("expected local@domain");
  if (local.length > MAX_LOCAL_PART_LENGTH) bad(`local part longer than ${MAX_LOCAL_PART_LENGTH} characters`);
  if (FORBIDDEN_IN_LOCAL.test(local)) bad("local part contains a space, control or reserved character");
  if (local.startsWith(".") || local.endsWith(".") || local.includes("..")) bad("misplaced dot in local part");
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label))) bad("domain is not a dotted host name");
  return { address, normalized: address.toLowerCase() };
}

/** Validates a new password against the policy (length, not one of the most common passwords); never quotes the value. */
export function parseNewPassword(value: unknown, policy: PasswordPolicy, field = "password"): string {
  const password = requireString(field, value);
  if (password.length < policy.minLength) fail(`${field} is too short (min ${policy.minLength} characters)`);
  if (password.length > policy.maxLength) fail(`${field} is too long (max ${policy.maxLength} characters)`);
  if (isCommonPassword(password)) fail(`${field} is one of the most common passwords; choose another`);
  return password;
}

/**
 * Checks a password offered for sign-in: only the type and an upper bound (so an attacker
 * cannot make us hash megabytes). Policy changes must not lock out old passwords.
 */
export function parseOfferedPassword(value: unknown, policy: PasswordPolicy, field = "password"): string {
  const password = requireString(field, value);
  if (password.length === 0) fail(`${field} is empty`);
  if (password.length > policy.maxLength) fail(`${field} is too long (max ${policy.maxLength} characters)`);
  return password;
}

/** Validates a display name (first name, device name): 1–100 characters, no control characters. */
export function parseName(field: string, value: unknown): string {
  const raw = requireString(field, value);
  if (raw.length > MAX_NAME_LENGTH * 4) fail(`${field} is too long (${raw.length} characters, max ${MAX_NAME_LENGTH})`);
  const name = raw.trim().normalize("NFC");
  if (name.length === 0) fail(`${field} is empty`);
  if (name.length > MAX_NAME_LENGTH) fail(`${field} ${quoteValue(name)} is too long (${name.length} characters, max ${MAX_NAME_LENGTH})`);
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(name)) fail(`${field} ${quoteValue(name)} contains control characters`);
  return name;
}

/** Validates an opaque identifier (device id): a UUID string. */
export function parseId(field: string, value: unknown): string {
  const id = requireString(field, value);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) fail(`${field} ${quoteValue(id)} is not an id`);
  return id;
}

/** Validates an optional client IP used as a rate-limit key. */
export function parseIp(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const ip = requireString("ip", value);
  if (ip.length === 0 || ip.length > 64) fail(`ip ${quoteValue(ip)} is not an address`);
  return ip;
}
