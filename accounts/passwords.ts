/**
 * argon2id hashing of passwords (and of the low-entropy verification codes), plus the dummy
 * verification that keeps "unknown e-mail" as slow as "wrong password".
 */
import argon2 from "argon2";
import type { Argon2Params } from "./config.js";

/** A password hasher bound to one parameter set. */
export interface Hasher {
  /** Hashes `secret` with argon2id; returns the PHC string (`$argon2id$v=19$m=…,t=…,p=…$…`). */
  readonly hash: (secret: string) => Promise<string>;
  /** True if `secret` matches `hash`; false (never throws) on a malformed hash. */
  readonly verify: (hash: string, secret: string) => Promise<boolean>;
  /** Spends the same time as a failed {@link Hasher.verify}, for callers with no real hash. */
  readonly verifyDummy: (secret: string) => Promise<void>;
}

/** Creates a {@link Hasher} for the given argon2id parameters. */
export function createHasher(params: Argon2Params): Hasher {
  const options = { type: argon2.argon2id, ...params } as const;
  let dummy: Promise<string> | undefined;
  const hash = (secret: string): Promise<string> => argon2.hash(secret, options);
  const verify = async (stored: string, secret: string): Promise<boolean> => {
    try {
      return await argon2.verify(stored, secret);
    } catch {
      return false;
    }
  };
  const verifyDummy = async (secret: string): Promise<void> => {
    dummy ??= hash("dummy password that matches nothing");
    await verify(await dummy, secret);
  };
  return { hash, verify, verifyDummy };
}

/** Reads the argon2 parameters recorded in a PHC hash string (for audits and tests). */
export function hashParams(hash: string): { readonly type: string } & Argon2Params {
  const match = /^\$(argon2(?:id|i|d))\$v=\d+\$([^$]+)\$/.exec(hash);
  if (match === null) throw new Error("not an argon2 PHC hash string");
  const fields = new Map((match[2] ?? "").split(",").map((pair) => pair.split("=") as [string, string]));
  return { type: match[1] ?? "", memoryCost: Number(fields.get("m")), timeCost: Number(fields.get("t")), parallelism: Number(fields.get("p")) };
}
