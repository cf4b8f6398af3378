// What both stand-ins' control APIs (/__standin/*) share: their error, and reading a JSON body.

/** A control request the stand-in refuses, with the status to answer. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new ControlError(400, "body must be JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ControlError(400, "body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** `field` as a whole number in [min, max], or undefined when absent or null. */
export function optionalInteger(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ControlError(400, `${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** What a stand-in's Durable Object answers a faultable call with. */
type FaultedOutcome =
  | { action: "respond"; holdMs: number }
  | { action: "drop" }
  /** A `delay` fault was consumed: wait, then call again with appliedFault "delay". */
  | { action: "perform_after_delay"; delayMs: number };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Plays the faults of one call in the Worker, not in the Durable Object, so other requests keep
 * flowing: a `delay` waits and then performs, a `drop` rejects the caller's fetch (through a
 * service binding, an exception from the handler is the nearest thing to a reset connection),
 * and a held reply waits before it is sent. Returns the reply to send.
 */
export async function playFaults<T extends FaultedOutcome>(
  handle: (appliedFault: "delay" | null) => Promise<T>,
  standin: string,
): Promise<Extract<T, { action: "respond" }>> {
  let outcome = await handle(null);
  if (outcome.action === "perform_after_delay") {
    await sleep(outcome.delayMs);
    outcome = await handle("delay");
  }
  if (outcome.action === "drop") {
    throw new Error(`Network connection lost. (${standin} injected fault)`);
  }
  if (outcome.action === "perform_after_delay") {
    throw new Error(`${standin}: a delay fault was applied twice`);
  }
  const reply = outcome as Extract<T, { action: "respond" }>;
  if (reply.holdMs > 0) await sleep(reply.holdMs);
  return reply;
}
