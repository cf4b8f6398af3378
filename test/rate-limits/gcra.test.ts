import { describe, expect, it } from "vitest";
import { decide } from "../../src/rate-limits/gcra";

const SIXTY = { perMinute: 60, burst: 20 };

/** Runs `count` requests at `now` through the algorithm, carrying its state; their decisions. */
function burst(count: number, now: number, policy = SIXTY, start: number | null = null) {
  let tat = start;
  const decisions = [];
  for (let i = 0; i < count; i++) {
    const decision = decide(tat, now, policy);
    if (decision.allowed) tat = decision.tat;
    decisions.push(decision);
  }
  return { decisions, tat };
}

describe("GCRA", () => {
  it("allows a full burst at once, counting down what remains, then refuses", () => {
    const { decisions } = burst(21, 1_000_000);
    expect(decisions.slice(0, 20).every((d) => d.allowed)).toBe(true);
    expect(decisions.map((d) => d.remaining)).toEqual([
      19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0,
    ]);
    expect(decisions.every((d) => d.limit === 20)).toBe(true);
    expect(decisions[20]).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
  });

  it("refills at the rate: one more a second at 60 a minute", () => {
    const t0 = 5_000_000;
    const { tat } = burst(20, t0);
    expect(decide(tat, t0 + 999, SIXTY).allowed).toBe(false);
    const later = decide(tat, t0 + 1_000, SIXTY);
    expect(later).toMatchObject({ allowed: true, remaining: 0 });
    // Ten seconds later, ten have come back (one of them now taken).
    expect(decide(tat, t0 + 10_000, SIXTY)).toMatchObject({ allowed: true, remaining: 9 });
  });

  it("says when the allowance is full again (RateLimit-Reset) and when to retry", () => {
    const t0 = 0;
    const first = decide(null, t0, SIXTY);
    expect(first).toMatchObject({ allowed: true, remaining: 19, resetSeconds: 1 });
    const { tat } = burst(20, t0);
    const refused = decide(tat, t0 + 250, SIXTY);
    expect(refused).toMatchObject({ allowed: false, resetSeconds: 20, retryAfterSeconds: 1 });
  });

  it("gives Retry-After in whole seconds, at least 1, rounded up", () => {
    const slow = { perMinute: 2, burst: 1 };
    const { tat } = burst(1, 0, slow);
    expect(decide(tat, 0, slow)).toMatchObject({ allowed: false, retryAfterSeconds: 30 });
    expect(decide(tat, 29_001, slow)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(decide(tat, 30_000, slow).allowed).toBe(true);
  });

  it("changes nothing when it refuses: a flood of refusals does not push the allowance back", () => {
    const t0 = 0;
    const { tat } = burst(20, t0);
    const flood = burst(1_000, t0 + 500, SIXTY, tat);
    expect(flood.decisions.every((d) => !d.allowed)).toBe(true);
    expect(flood.tat).toBe(tat);
    expect(decide(tat, t0 + 1_000, SIXTY).allowed).toBe(true);
  });

  it("handles rates that do not divide a minute evenly without losing a request to rounding", () => {
    const seven = { perMinute: 7, burst: 3 };
    const { decisions } = burst(4, 123_456_789, seven);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
  });

  it("lets a past tat count as a full allowance", () => {
    expect(decide(0, 1_000_000_000, SIXTY)).toMatchObject({ allowed: true, remaining: 19 });
  });
});
