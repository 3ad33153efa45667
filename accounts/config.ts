/**
 * Tunables of the accounts library with their production defaults. Every field can be
 * overridden per instance (tests lower the argon2 cost and the time-outs).
 */

/** argon2id cost parameters. */
export interface Argon2Params {
  /** Memory in KiB. */
  readonly memoryCost: number;
  /** Iterations. */
  readonly timeCost: number;
  /** Lanes. */
  readonly parallelism: number;
}

/** OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** A "points per duration" budget for one rate-limited key. */
export interface RateBudget {
  /** Attempts allowed within `durationSec`. */
  readonly points: number;
  /** Window in seconds. */
  readonly durationSec: number;
}

/** Budgets for one rate-limited action, per account (e-mail) and per client IP. */
export interface RateRule {
  /** Budget keyed by normalised e-mail address. */
  readonly perAccount: RateBudget;
  /** Budget keyed by client IP (skipped when the caller passes no IP). */
  readonly perIp: RateBudget;
}

/** Rate limits of every throttled action. */
export interface RateLimits {
  /** Sign-in attempts and old-password checks. */
  readonly signIn: RateRule;
  /** Verification-code attempts. */
  readonly verify: RateRule;
  /** Mails sent: sign-up, resend-verification, password-reset requests. */
  readonly mail: RateRule;
  /** Reset-key redemptions (per IP; the per-account budget is keyed by the key's user). */
  readonly reset: RateRule;
}

/** Password length policy (characters). */
export interface PasswordPolicy {
  /** Minimum length. */
  readonly minLength: number;
  /** Maximum length (bounds hashing work). */
  readonly maxLength: number;
}

/** All tunables. */
export interface AccountsSettings {
  /** argon2id parameters for new hashes. */
  readonly argon2: Argon2Params;
  /** Password length policy. */
  readonly password: PasswordPolicy;
  /** Lifetime of a session, ms. */
  readonly sessionTtlMs: number;
  /** A session not used for this long is refused (idle timeout), ms. */
  readonly sessionIdleMs: number;
  /** Lifetime of a verification code, ms. */
  readonly verificationTtlMs: number;
  /** Wrong codes allowed before a verification code is discarded. */
  readonly verificationMaxAttempts: number;
  /** Lifetime of a password-reset key, ms. */
  readonly resetTtlMs: number;
  /** Minimum interval between two `last_seen_at` updates of a device (and `last_used_at` of a session), ms. */
  readonly lastSeenResolutionMs: number;
  /** Rate limits. */
  readonly limits: RateLimits;
}

const minutes = (n: number): number => n * 60_000;

/** Production defaults. */
export const DEFAULT_SETTINGS: AccountsSettings = {
  argon2: OWASP_ARGON2,
  password: { minLength: 8, maxLength: 256 },
  sessionTtlMs: minutes(60 * 24 * 30),
  sessionIdleMs: minutes(60 * 24 * 7),
  verificationTtlMs: minutes(30),
  verificationMaxAttempts: 5,
  resetTtlMs: minutes(60),
  lastSeenResolutionMs: minutes(1),
  limits: {
    signIn: { perAccount: { points: 10, durationSec: 15 * 60 }, perIp: { points: 100, durationSec: 15 * 60 } },
    verify: { perAccount: { points: 10, durationSec: 15 * 60 }, perIp: { points: 50, durationSec: 15 * 60 } },
    mail: { perAccount: { points: 5, durationSec: 60 * 60 }, perIp: { points: 30, durationSec: 60 * 60 } },
    reset: { perAccount: { points: 10, durationSec: 15 * 60 }, perIp: { points: 30, durationSec: 15 * 60 } },
  },
};

/** A partial override of {@link AccountsSettings}; nested objects are merged one level deep. */
export type AccountsSettingsOverride = {
  readonly [K in keyof AccountsSettings]?: K extends "limits"
    ? { readonly [R in keyof RateLimits]?: Partial<RateRule> }
    : AccountsSettings[K] extends object
      ? Partial<AccountsSettings[K]>
      : AccountsSettings[K];
};

/** Applies an override to the defaults. */
export function resolveSettings(override: AccountsSettingsOverride = {}): AccountsSettings {
  const d = DEFAULT_SETTINGS;
  const limits = override.limits ?? {};
  const rule = (name: keyof RateLimits): RateRule => ({ ...d.limits[name], ...limits[name] });
  return {
    argon2: { ...d.argon2, ...override.argon2 },
    password: { ...d.password, ...override.password },
    sessionTtlMs: override.sessionTtlMs ?? d.sessionTtlMs,
    sessionIdleMs: override.sessionIdleMs ?? d.sessionIdleMs,
    verificationTtlMs: override.verificationTtlMs ?? d.verificationTtlMs,
    verificationMaxAttempts: override.verificationMaxAttempts ?? d.verificationMaxAttempts,
    resetTtlMs: override.resetTtlMs ?? d.resetTtlMs,
    lastSeenResolutionMs: override.lastSeenResolutionMs ?? d.lastSeenResolutionMs,
    limits: { signIn: rule("signIn"), verify: rule("verify"), mail: rule("mail"), reset: rule("reset") },
  };
}
