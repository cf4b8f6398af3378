import { describe, expect, it } from "vitest";
import type { RatePolicy } from "../../src/config";
import { type Bucket, type Buckets, RateLimiter } from "../../src/rate-limits/limiter";
import type { RateLimitClass } from "../../src/rate-limits/policy";
import { ratePolicies } from "../../src/rate-limits/policy";

/** Buckets in memory that count their writes. */
class MemoryBuckets implements Buckets {
  readonly saved = new Map<RateLimitClass, Bucket>();
  writes = 0;
  get(name: RateLimitClass) {
    return this.saved.get(name) ?? null;
  }
  save(name: RateLimitClass, bucket: Bucket) {
    this.writes++;
    this.saved.set(name, bucket);
  }
}

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const TWO_AT_ONCE: RatePolicy = { perMinute: 6, burst: 2 };

describe("RateLimiter", () => {
  it("does the work while allowed, and reports where the workspace stands", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(new MemoryBuckets(), clock.now);
    const result = await limiter.run("search", TWO_AT_ONCE, async () => "found");
    expect(result).toEqual({
      limited: false,
      outcome: "found",
      rateLimit: { limit: 2, remaining: 1, resetSeconds: 10 },
    });
  });

  it("over the limit: refuses without doing the work or writing anything", async () => {
    const clock = fakeClock();
    const buckets = new MemoryBuckets();
    const limiter = new RateLimiter(buckets, clock.now);
    let done = 0;
    const work = async () => ++done;
    await limiter.run("write", TWO_AT_ONCE, work);
    await limiter.run("write", TWO_AT_ONCE, work);
    const writes = buckets.writes;
    const refused = await limiter.run("write", TWO_AT_ONCE, work);
    expect(refused).toEqual({
      limited: true,
      class: "write",
      retryAfterSeconds: 10,
      rateLimit: { limit: 2, remaining: 0, resetSeconds: 20 },
    });
    expect(done).toBe(2);
    expect(buckets.writes).toBe(writes);
    clock.advance(10_000);
    expect((await limiter.run("write", TWO_AT_ONCE, work)).limited).toBe(false);
    expect(done).toBe(3);
  });

  it("keeps search and write apart", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(new MemoryBuckets(), clock.now);
    const one: RatePolicy = { perMinute: 1, burst: 1 };
    expect((await limiter.run("search", one, async () => 1)).limited).toBe(false);
    expect((await limiter.run("search", one, async () => 1)).limited).toBe(true);
    expect((await limiter.run("write", one, async () => 1)).limited).toBe(false);
  });

  it("counts a request before its work finishes, so concurrent ones cannot share the last unit", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(new MemoryBuckets(), clock.now);
    let release = () => {};
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const results = [1, 2, 3].map(() => limiter.run("search", TWO_AT_ONCE, () => slow));
    release();
    expect((await Promise.all(results)).map((r) => r.limited)).toEqual([false, false, true]);
  });

  it("starts a changed policy with a full allowance: a raise applies at once", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(new MemoryBuckets(), clock.now);
    const slow: RatePolicy = { perMinute: 1, burst: 1 };
    expect((await limiter.run("search", slow, async () => 1)).limited).toBe(false);
    expect((await limiter.run("search", slow, async () => 1)).limited).toBe(true);
    const raised = await limiter.run("search", { perMinute: 600, burst: 200 }, async () => 1);
    expect(raised).toMatchObject({ limited: false, rateLimit: { limit: 200, remaining: 199 } });
  });

  it("lets at most one burst of a lowered policy through before it holds", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(new MemoryBuckets(), clock.now);
    for (let i = 0; i < 20; i++) {
      await limiter.run("search", { perMinute: 60, burst: 20 }, async () => i);
    }
    const lowered = { perMinute: 6, burst: 2 };
    const after = [];
    for (let i = 0; i < 3; i++)
      after.push((await limiter.run("search", lowered, async () => i)).limited);
    expect(after).toEqual([false, false, true]);
  });

  it("refuses a policy that is not a limit", async () => {
    const limiter = new RateLimiter(new MemoryBuckets(), fakeClock().now);
    await expect(limiter.run("search", { perMinute: 0, burst: 1 }, async () => 1)).rejects.toThrow(
      /invalid search rate limit/,
    );
  });
});

describe("a workspace's effective limits", () => {
  const defaults = {
    search: { perMinute: 60, burst: 20 },
    write: { perMinute: 30, burst: 10 },
  };

  it("are the deployment's defaults without a rate of its own", () => {
    expect(ratePolicies(defaults, { searchRatePerMinute: null, writeRatePerMinute: null })).toEqual(
      defaults,
    );
  });

  it("take the workspace's own rate, with the burst scaled to it (at least 1)", () => {
    expect(ratePolicies(defaults, { searchRatePerMinute: 6, writeRatePerMinute: 600 })).toEqual({
      search: { perMinute: 6, burst: 2 },
      write: { perMinute: 600, burst: 200 },
    });
    expect(
      ratePolicies(defaults, { searchRatePerMinute: 1, writeRatePerMinute: null }).search,
    ).toEqual({ perMinute: 1, burst: 1 });
  });
});
