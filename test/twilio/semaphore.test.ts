import { describe, expect, it } from "vitest";
import { type Permit, Semaphore, type Timers } from "../../src/twilio/semaphore";

/** Timers run by hand: `advance(ms)` fires the ones due. */
function fakeTimers() {
  let now = 0;
  let nextId = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  const timers: Timers = {
    set(callback, ms) {
      const id = ++nextId;
      pending.set(id, { at: now + ms, callback });
      return id;
    },
    clear(timer) {
      pending.delete(timer as number);
    },
  };
  return {
    timers,
    pending: () => pending.size,
    advance(ms: number) {
      now += ms;
      for (const [id, timer] of [...pending]) {
        if (timer.at <= now) {
          pending.delete(id);
          timer.callback();
        }
      }
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("Semaphore", () => {
  it("grants up to its capacity at once, then makes callers wait", async () => {
    const clock = fakeTimers();
    const gate = new Semaphore(2, clock.timers);
    const a = await gate.acquire(1_000);
    const b = await gate.acquire(1_000);
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(gate.held).toBe(2);
    let third: Permit | null | undefined;
    void gate.acquire(1_000).then((p) => {
      third = p;
    });
    await settle();
    expect(third).toBeUndefined();
    expect(gate.waiting).toBe(1);
    a?.release();
    await settle();
    expect(third).not.toBeNull();
    expect(gate.held).toBe(2);
    expect(clock.pending()).toBe(0);
  });

  it("serves the line first come, first served", async () => {
    const gate = new Semaphore(1, fakeTimers().timers);
    const first = await gate.acquire(1_000);
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      gate.acquire(1_000).then((permit) => {
        order.push(n);
        permit?.release();
      }),
    );
    first?.release();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(gate.held).toBe(0);
  });

  it("tells a caller no once its wait is over, and forgets it", async () => {
    const clock = fakeTimers();
    const gate = new Semaphore(1, clock.timers);
    const held = await gate.acquire(1_000);
    const waiting = gate.acquire(500);
    clock.advance(499);
    expect(gate.waiting).toBe(1);
    clock.advance(1);
    expect(await waiting).toBeNull();
    expect(gate.waiting).toBe(0);
    held?.release();
    expect(gate.held).toBe(0);
  });

  it("says no at once when asked not to wait, and ignores a second release", async () => {
    const gate = new Semaphore(1, fakeTimers().timers);
    const held = await gate.acquire(0);
    expect(await gate.acquire(0)).toBeNull();
    held?.release();
    held?.release();
    expect(gate.held).toBe(0);
    expect(await gate.acquire(0)).not.toBeNull();
    expect(gate.held).toBe(1);
  });
});
