/** Mapping of accounts errors (and fastify's own request errors) to JSON HTTP answers. */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { AccountsError } from "../accounts/index.js";
import type { AccountsErrorCode } from "../accounts/index.js";

/** The JSON body of every error answer. */
export interface ErrorBody {
  /** Machine-readable code: an {@link AccountsErrorCode}, `BAD_REQUEST` or `INTERNAL`. */
  readonly error: { readonly code: string; readonly message: string; readonly retryAfterMs?: number };
}

/** HTTP status of each accounts error code. */
export const STATUS_OF: { readonly [C in AccountsErrorCode]: number } = {
  INVALID_ARGUMENT: 400,
  INVALID_CREDENTIALS: 401,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  EXPIRED: 410,
  RATE_LIMITED: 429,
  STORAGE: 503,
  CLOSED: 503,
};

/** Fastify error handler: typed answers for accounts errors, no internals for anything else. */
export function handleError(error: FastifyError | AccountsError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof AccountsError) {
    const status = STATUS_OF[error.code];
    if (status >= 500) request.log.error({ err: error }, "accounts store failure");
    if (error.retryAfterMs !== undefined) void reply.header("retry-after", String(Math.ceil(error.retryAfterMs / 1000)));
    const message = status >= 500 ? "service temporarily unavailable" : error.message;
    const body: ErrorBody = {
      error: error.retryAfterMs === undefined ? { code: error.code, message } : { code: error.code, message, retryAfterMs: error.retryAfterMs },
    };
    void reply.status(status).send(body);
    return;
  }
  const status = typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status >= 500) request.log.error({ err: error }, "unexpected error");
  const code = error.validation !== undefined ? "INVALID_ARGUMENT" : status >= 500 ? "INTERNAL" : "BAD_REQUEST";
  const body: ErrorBody = { error: { code, message: status >= 500 ? "internal error" : error.message } };
  void reply.status(status).send(body);
}
