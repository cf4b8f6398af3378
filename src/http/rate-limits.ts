import type { Context } from "hono";
import { ApiError } from "../api-error";
import type { AppEnv } from "../app-env";
import { defaultRateLimits } from "../config";
import type { Limited } from "../rate-limits/limiter";
import { type RatePolicies, ratePolicies } from "../rate-limits/policy";

/** The caller's workspace's effective limits: its own rates where its row sets them. */
export function callerRateLimits(c: Context<AppEnv>): RatePolicies {
  return ratePolicies(defaultRateLimits(c.env), c.get("caller"));
}

const WHAT = {
  search: "searches",
  write: "purchases, changes and releases",
} as const;

/**
 * The one place a rate-limited answer of the workspace object becomes HTTP: the RateLimit-*
 * headers (IETF draft, delta-seconds), set on whatever the response will be (success, refusal,
 * error), and, over the limit, a 429 `rate_limited` with Retry-After. Returns the outcome.
 */
export function admitted<T>(c: Context<AppEnv>, result: Limited<T>): T {
  const { limit, remaining, resetSeconds } = result.rateLimit;
  c.header("RateLimit-Limit", String(limit));
  c.header("RateLimit-Remaining", String(remaining));
  c.header("RateLimit-Reset", String(resetSeconds));
  if (!result.limited) return result.outcome;
  const wait = Math.max(1, result.retryAfterSeconds);
  throw new ApiError(
    429,
    "rate_limited",
    `This workspace has reached its rate limit for ${WHAT[result.class]}; nothing was done. Retry in ${wait} s.`,
    { retryAfterSeconds: wait },
  );
}
