import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "../api-error";
import type { AppEnv } from "../app-env";
import { log } from "../log";
import type { ErrorBody } from "../schemas/error-body";
import { UpstreamFailure, upstreamFailureToApiError } from "./refusals";

function toApiErrorFromAnything(error: unknown, c: Context<AppEnv>): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof UpstreamFailure) return upstreamFailureToApiError(error);
  if (error instanceof HTTPException && error.status === 401) {
    return new ApiError(401, "unauthorized", "Missing or invalid credentials.");
  }
  if (error instanceof HTTPException && error.status < 500) {
    // Hono's own refusals (e.g. a body it could not parse) carry no field detail.
    return new ApiError(400, "bad_request", "The request could not be read.");
  }
  log.error("unhandled_error", {
    request_id: c.get("requestId"),
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new ApiError(500, "internal_error", "Something went wrong on our side.");
}

/** The single place errors become responses: always the `Error` envelope. */
export function renderError(error: unknown, c: Context<AppEnv>): Response {
  const apiError = toApiErrorFromAnything(error, c);
  const { fields, retryAfterSeconds } = apiError.options;
  const body: ErrorBody = {
    error: { code: apiError.code, message: apiError.message, ...(fields ? { fields } : {}) },
    request_id: c.get("requestId"),
  };
  if (retryAfterSeconds !== undefined) c.header("Retry-After", String(retryAfterSeconds));
  return c.json(body, apiError.status);
}
