import type { RatePolicy } from "../config";

/**
 * Where a client stands against one limit, as the RateLimit-* headers say it: `limit` requests
 * at once from a full allowance (the burst), `remaining` of them left now, and `resetSeconds`
 * until the allowance is full again.
 */
export type RateLimitState = { limit: number; remaining: number; resetSeconds: number };

export type RateDecision = RateLimitState &
  (
    | {
        allowed: true;
        /** The bucket's new state, to store. */
        tat: number;
      }
    | {
        allowed: false;
        /** Whole seconds, at least 1, until a request would be allowed. */
        retryAfterSeconds: number;
      }
  );

/** Float slack: an allowance computed as 2.9999999 requests is 3. */
const EPSILON = 1e-6;

/**
 * The generic cell rate algorithm (a token bucket kept as one number): `tat`, the theoretical
 * arrival time, is when the allowance would be full again (ms; null or past: full now). Each
 * request allowed moves it one emission interval (60 000 / perMinute ms) later; a request is
 * refused when that would put it more than `burst` intervals ahead of now. A refusal changes
 * nothing. Pure: the caller reads the clock and stores `tat`.
 */
export function decide(tat: number | null, now: number, policy: RatePolicy): RateDecision {
  const interval = 60_000 / policy.perMinute;
  const capacity = policy.burst * interval;
  const start = Math.max(tat ?? now, now);
  const next = start + interval;
  if (next - now > capacity + EPSILON) {
    return {
      allowed: false,
      limit: policy.burst,
      remaining: 0,
      resetSeconds: seconds(start - now),
      retryAfterSeconds: Math.max(1, seconds(next - now - capacity)),
    };
  }
  return {
    allowed: true,
    tat: next,
    limit: policy.burst,
    remaining: Math.max(0, Math.floor((capacity - (next - now)) / interval + EPSILON)),
    resetSeconds: seconds(next - now),
  };
}

/** Whole seconds, rounded up (a float's slack ignored). */
function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000 - EPSILON));
}
