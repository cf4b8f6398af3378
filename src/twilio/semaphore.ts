/** A held permit; release it exactly once (later calls do nothing). */
export type Permit = { release(): void };

type Waiter = { grant: (permit: Permit | null) => void; timer: unknown };

export type Timers = {
  set(callback: () => void, ms: number): unknown;
  clear(timer: unknown): void;
};

const realTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

/**
 * At most `permits` holders at a time; the others wait in line (first come, first served) for
 * at most the wait they ask for, and are then told no (null). Pure bookkeeping in memory: the
 * TwilioGate object holds one for the whole deployment.
 */
export class Semaphore {
  #held = 0;
  readonly #line: Waiter[] = [];

  constructor(
    readonly capacity: number,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Holders right now. */
  get held(): number {
    return this.#held;
  }

  /** Callers waiting for a permit right now. */
  get waiting(): number {
    return this.#line.length;
  }

  /** A permit at once when one is free, else within `maxWaitMs`, else null. */
  acquire(maxWaitMs: number): Promise<Permit | null> {
    if (this.#held < this.capacity && this.#line.length === 0) {
      return Promise.resolve(this.#take());
    }
    if (maxWaitMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: this.timers.set(() => {
          const at = this.#line.indexOf(waiter);
          if (at >= 0) this.#line.splice(at, 1);
          resolve(null);
        }, maxWaitMs),
      };
      this.#line.push(waiter);
    });
  }

  #take(): Permit {
    this.#held++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#held--;
        this.#handOn();
      },
    };
  }

  /** A freed permit goes to the first in line, if any. */
  #handOn(): void {
    const next = this.#line.shift();
    if (!next) return;
    this.timers.clear(next.timer);
    next.grant(this.#take());
  }
}
