// Full-jitter exponential backoff: spreads the retries of many callers that failed together.
const BASE_MS = 1_000;
const CAP_MS = 5 * 60_000;

/** A random wait in [0, min(cap, base * 2^attempt)). */
export function fullJitterDelayMs(
  attempt: number,
  baseMs = BASE_MS,
  capMs = CAP_MS,
  random = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.floor(random() * ceiling);
}

/** When the alarm next looks at a row that failed `attempts` times: at least 250 ms away. */
export function nextAttemptDelayMs(attempts: number, random = Math.random): number {
  return Math.max(250, fullJitterDelayMs(attempts, BASE_MS, CAP_MS, random));
}
