import type { ErrorCode } from "./schemas/error-body";

/**
 * An outcome the client can act on. Thrown anywhere in a request and rendered once, by
 * `app.onError`, as the `Error` envelope; anything else that is thrown becomes a bare 500.
 */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 402 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 503,
    readonly code: ErrorCode,
    message: string,
    readonly options: { fields?: Record<string, string>; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const unauthorized = () =>
  new ApiError(401, "unauthorized", "Missing, malformed, unknown or revoked API key.");

export const phoneNumberNotFound = () =>
  new ApiError(404, "not_found", "No phone number with this id in your workspace.");

export const agentNotFound = () =>
  new ApiError(422, "not_found", "agent_id does not name an agent in your workspace.", {
    fields: { agent_id: "no such agent in this workspace" },
  });
