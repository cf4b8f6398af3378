// Full-jitter exponential backoff: spreads retries of many objects that failed together.
const BASE_MS = 1_000;
const CAP_MS = 5 * 60_000;

export function nextAttemptDelayMs(attempts: number, random = Math.random): number {
  const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** Math.min(attempts, 20));
  return Math.max(250, Math.floor(random() * ceiling));
}
