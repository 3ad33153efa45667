/**
 * Which proxies to believe about the client address (`X-Forwarded-For`): exactly a number of hops,
 * or a list of proxy addresses. Never every hop: trusting all of them lets any client pick its own
 * address, and with it a fresh rate-limit budget per request.
 */
import { isIP } from "node:net";
import { AccountsError } from "../accounts/index.js";

/** `false` (no proxy), a number of proxy hops in front of the server, or the proxies' addresses/CIDR ranges. */
export type TrustProxy = false | number | readonly string[];

const bad = (message: string) => new AccountsError("INVALID_ARGUMENT", message);

function checkAddress(entry: string): string {
  const [address = "", bits, ...rest] = entry.split("/");
  const family = isIP(address);
  const width = family === 4 ? 32 : 128;
  const ok = family !== 0 && rest.length === 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= width));
  if (!ok) throw bad(`trusted proxy ${JSON.stringify(entry)} is not an IP address or CIDR range`);
  return entry;
}

/**
 * Checks a trust-proxy setting: a hop count (0 is off) or addresses; `true` is refused.
 *
 * @example
 * checkTrustProxy(1)                        // one proxy (e.g. nginx on the same host)
 * checkTrustProxy(["127.0.0.1", "10.0.0.0/8"])
 */
export function checkTrustProxy(value: unknown): TrustProxy {
  if (value === undefined || value === false || value === 0) return false;
  if (value === true) throw bad("trustProxy: true would trust every X-Forwarded-For hop, so clients could pick their address; give the number of proxy hops or their addresses");
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0 || value > 10) throw bad(`trustProxy must be a hop count in 0..10, got ${value}`);
    return value;
  }
  const list = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(list)) throw bad(`trustProxy must be a hop count or a list of addresses, got ${JSON.stringify(value)}`);
  const entries = list.map((e) => String(e).trim()).filter((e) => e !== "");
  if (entries.length === 0) return false;
  return entries.map(checkAddress);
}

/**
 * Parses the `TRUST_PROXY` environment variable: unset or `0` (no proxy), a hop count such as `1`,
 * or a comma-separated list of proxy addresses or CIDR ranges. `true` is refused.
 *
 * @example
 * parseTrustProxy("1")                    // 1
 * parseTrustProxy("127.0.0.1,10.0.0.0/8") // ["127.0.0.1", "10.0.0.0/8"]
 */
export function parseTrustProxy(text: string | undefined): TrustProxy {
  const value = (text ?? "").trim();
  if (value === "" || value === "0" || value === "false") return false;
  if (/^\d+$/.test(value)) return checkTrustProxy(Number(value));
  if (value === "true") return checkTrustProxy(true);
  return checkTrustProxy(value);
}

/**
 * The setting as fastify takes it. A hop count becomes a function trusting the first `n`
 * addresses (the socket's peer, then `X-Forwarded-For` from the right): fastify 5.12 ignores a
 * plain number (it trusts no hop then). A hop count cannot check who the peer is, so it assumes
 * the server is reachable only through its proxies; an address list checks every hop.
 */
export function fastifyTrustProxy(setting: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (setting === false) return false;
  if (typeof setting === "number") return (_address, hop) => hop < setting;
  return [...setting];
}
