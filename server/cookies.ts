/**
 * The two cookies of the accounts HTTP surface: the per-device session cookie (`__Host-`,
 * Secure, HttpOnly, SameSite=Lax) and the long-lived device-name cookie that pre-fills the
 * device at the next sign-in.
 */
import type { FastifyReply, FastifyRequest } from "fastify";

/** Name of the session cookie. `__Host-` forces Secure, Path=/ and no Domain in browsers. */
export const SESSION_COOKIE = "__Host-logbook-session";

/** Name of the device-name cookie (readable by scripts so a sign-in form can pre-fill it). */
export const DEVICE_COOKIE = "__Host-logbook-device";

/** "Never" for the device cookie; browsers cap cookie lifetime (Chrome: 400 days) and it is refreshed at each sign-in. */
const FAR_FUTURE = new Date("9999-12-31T23:59:59Z");

/** Sets the session cookie until the session expires. */
export function setSessionCookie(reply: FastifyReply, token: string, expiresAt: number): void {
  reply.setCookie(SESSION_COOKIE, token, { path: "/", secure: true, httpOnly: true, sameSite: "lax", expires: new Date(expiresAt) });
}

/** Removes the session cookie. */
export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: "/", secure: true, httpOnly: true, sameSite: "lax" });
}

/** Remembers the device name (no expiry in practice). */
export function setDeviceCookie(reply: FastifyReply, name: string): void {
  reply.setCookie(DEVICE_COOKIE, name, { path: "/", secure: true, httpOnly: false, sameSite: "lax", expires: FAR_FUTURE });
}

/** The device name remembered by the browser, if any. */
export function deviceNameFrom(request: FastifyRequest): string | undefined {
  return request.cookies[DEVICE_COOKIE];
}

/** The session token of a request: the session cookie, else an `Authorization: Bearer` header. */
export function sessionTokenFrom(request: FastifyRequest): string | undefined {
  const cookie = request.cookies[SESSION_COOKIE];
  if (cookie !== undefined && cookie !== "") return cookie;
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
