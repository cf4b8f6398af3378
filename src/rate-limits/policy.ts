import type { RatePolicy } from "../config";

/** The two limits of a workspace, counted separately. */
export type RateLimitClass = "search" | "write";

export type RatePolicies = Record<RateLimitClass, RatePolicy>;

/** A workspace's own rates from its D1 row; null: the deployment's default. */
export type RateOverrides = {
  searchRatePerMinute: number | null;
  writeRatePerMinute: number | null;
};

/**
 * A workspace's effective limits: the deployment's defaults, with the workspace's own rate
 * where its row sets one. An own rate scales the burst with it (the burst stays the same
 * number of seconds' worth of requests, at least one): the default 60 a minute with a burst
 * of 20 becomes, at 6 a minute, a burst of 2; at 600, a burst of 200.
 */
export function ratePolicies(defaults: RatePolicies, overrides: RateOverrides): RatePolicies {
  return {
    search: withRate(defaults.search, overrides.searchRatePerMinute),
    write: withRate(defaults.write, overrides.writeRatePerMinute),
  };
}

function withRate(policy: RatePolicy, perMinute: number | null): RatePolicy {
  if (perMinute === null || perMinute === policy.perMinute) return policy;
  return {
    perMinute,
    burst: Math.max(1, Math.round((policy.burst * perMinute) / policy.perMinute)),
  };
}
