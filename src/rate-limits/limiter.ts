import type { RatePolicy } from "../config";
import { decide, type RateLimitState } from "./gcra";
import type { RateLimitClass } from "./policy";

/**
 * What a rate-limited operation of the workspace object answers: refused by the limit (nothing
 * was written, nothing was called), or counted and carried out. Either way, where the workspace
 * now stands against that limit. A plain object, so it crosses the object's RPC boundary.
 */
export type Limited<T> =
  | {
      limited: true;
      class: RateLimitClass;
      rateLimit: RateLimitState;
      retryAfterSeconds: number;
    }
  | { limited: false; rateLimit: RateLimitState; outcome: T };

/** A limit's state: its GCRA `tat` (ms), and the policy it was counted under. */
export type Bucket = { tat: number; policy: RatePolicy };

/** Where each limit's state is kept. */
export interface Buckets {
  get(name: RateLimitClass): Bucket | null;
  save(name: RateLimitClass, bucket: Bucket): void;
}

const samePolicy = (a: RatePolicy, b: RatePolicy) =>
  a.perMinute === b.perMinute && a.burst === b.burst;

/** One workspace's limits, over its buckets and a clock. */
export class RateLimiter {
  constructor(
    private readonly buckets: Buckets,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one request against the class's limit and, if it is allowed, does the work. The
   * check and the count are one synchronous step, so concurrent requests to the object cannot
   * both take the last unit of allowance. A refusal stores nothing and does nothing.
   *
   * A bucket counted under another policy (the workspace's rate was changed since) is not
   * carried over: the new policy starts with a full allowance. So a raised limit applies at
   * once, and a lowered one lets at most one burst of the new size through first, with no
   * write on a refusal.
   */
  async run<T>(
    limitClass: RateLimitClass,
    policy: RatePolicy,
    work: () => Promise<T>,
  ): Promise<Limited<T>> {
    if (!(policy.perMinute > 0 && policy.burst >= 1)) {
      throw new Error(`invalid ${limitClass} rate limit: ${JSON.stringify(policy)}`);
    }
    const stored = this.buckets.get(limitClass);
    const tat = stored && samePolicy(stored.policy, policy) ? stored.tat : null;
    const decision = decide(tat, this.now(), policy);
    const rateLimit: RateLimitState = {
      limit: decision.limit,
      remaining: decision.remaining,
      resetSeconds: decision.resetSeconds,
    };
    if (!decision.allowed) {
      return {
        limited: true,
        class: limitClass,
        rateLimit,
        retryAfterSeconds: decision.retryAfterSeconds,
      };
    }
    this.buckets.save(limitClass, { tat: decision.tat, policy });
    return { limited: false, rateLimit, outcome: await work() };
  }
}

/**
 * The buckets in the workspace object's SQLite storage, not in its memory. In memory they would
 * cost nothing per request, but start full whenever the object starts again: after it is
 * evicted (idle for a while), restarted by a deploy, or reset by an error, each workspace would
 * get a fresh burst. In storage they are exact across all of that, for one row write per
 * request allowed (a refusal writes nothing, so a flood of refused requests costs only reads).
 * Most allowed requests write the object's storage anyway (the numbers a search returned, the
 * ledger row a purchase or release changes), and the bucket's row is flushed with those, so it
 * adds no wait of its own. Its own table, created here, leaves the ledger's schema alone.
 */
export class SqliteBuckets implements Buckets {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS rate_limit_buckets (
         name TEXT PRIMARY KEY,               -- the limit: search, write
         tat REAL NOT NULL,                   -- GCRA: when its allowance is full again (ms)
         per_minute INTEGER NOT NULL,         -- the policy it was counted under
         burst INTEGER NOT NULL
       )`,
    );
  }

  get(name: RateLimitClass): Bucket | null {
    const row = this.sql
      .exec<{ tat: number; per_minute: number; burst: number }>(
        "SELECT tat, per_minute, burst FROM rate_limit_buckets WHERE name = ?",
        name,
      )
      .toArray()[0];
    return row ? { tat: row.tat, policy: { perMinute: row.per_minute, burst: row.burst } } : null;
  }

  save(name: RateLimitClass, { tat, policy }: Bucket): void {
    this.sql.exec(
      `INSERT INTO rate_limit_buckets (name, tat, per_minute, burst) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE
         SET tat = excluded.tat, per_minute = excluded.per_minute, burst = excluded.burst`,
      name,
      tat,
      policy.perMinute,
      policy.burst,
    );
  }
}
