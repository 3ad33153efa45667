/**
 * Rate limiting with rate-limiter-flexible: each throttled action has a per-account and a
 * per-IP budget. Attempts consume points before any expensive work (argon2) happens; a
 * successful attempt clears the account's budget.
 */
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import type { RateLimits, RateRule } from "./config.js";
import { AccountsError } from "./errors.js";

/** The throttled actions. */
export type RateAction = keyof RateLimits;

/** A pair of limiters for one action. */
export interface RateLimiterPair {
  /** Keyed by account (normalised e-mail or user id). */
  readonly perAccount: RateLimiterAbstract;
  /** Keyed by client IP. */
  readonly perIp: RateLimiterAbstract;
}

/** Limiters for every action; pass your own (e.g. `RateLimiterPostgres`) to share across processes. */
export type RateLimiters = { readonly [A in RateAction]: RateLimiterPair };

/** In-process limiters built from the configured budgets. */
export function memoryRateLimiters(limits: RateLimits): RateLimiters {
  const pair = (action: RateAction, rule: RateRule): RateLimiterPair => ({
    perAccount: new RateLimiterMemory({ keyPrefix: `${action}:account`, points: rule.perAccount.points, duration: rule.perAccount.durationSec }),
    perIp: new RateLimiterMemory({ keyPrefix: `${action}:ip`, points: rule.perIp.points, duration: rule.perIp.durationSec }),
  });
  return {
    signIn: pair("signIn", limits.signIn),
    verify: pair("verify", limits.verify),
    mail: pair("mail", limits.mail),
    reset: pair("reset", limits.reset),
  };
}

const DESCRIPTIONS: { readonly [A in RateAction]: string } = {
  signIn: "sign-in attempts",
  verify: "verification attempts",
  mail: "mail requests",
  reset: "password-reset attempts",
};

async function consume(limiter: RateLimiterAbstract, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) {
      throw new AccountsError("STORAGE", `rate limiter failed: ${String(rejection)}`, { cause: rejection });
    }
    const retryAfterMs = Math.max(rejection.msBeforeNext, 1);
    throw new AccountsError("RATE_LIMITED", `too many ${what}; retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs });
  }
}

/**
 * Spends one attempt of `action` for the account and the IP (each skipped when undefined);
 * throws `RATE_LIMITED` with the time until the exhausted budget refills.
 */
export async function spendAttempt(limiters: RateLimiters, action: RateAction, account: string | undefined, ip: string | undefined): Promise<void> {
  const pair = limiters[action];
  const what = DESCRIPTIONS[action];
  if (ip !== undefined) await consume(pair.perIp, ip, `${what} from this address`);
  if (account !== undefined) await consume(pair.perAccount, account, `${what} for this account`);
}

/** Forgets the account's spent attempts of `action` (after a success). */
export async function clearAttempts(limiters: RateLimiters, action: RateAction, account: string): Promise<void> {
  await limiters[action].perAccount.delete(account);
}
