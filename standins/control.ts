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

/** A JSON answer of the control API (or of a stand-in's own JSON replies). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });
}

/** Answers a control request: `handle`'s response, or a ControlError as `{ok: false, error}`. */
export async function answerControl(handle: () => Promise<Response>): Promise<Response> {
  try {
    return await handle();
  } catch (error) {
    if (error instanceof ControlError)
      return json({ ok: false, error: error.message }, error.status);
    throw error;
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

/** `body[field]` when it is one of `allowed`; a 400 naming the field and its values otherwise. */
export function oneOf<T extends string>(
  body: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
): T {
  const value = body[field];
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new ControlError(400, `${field} must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}

/**
 * Takes the first fault set for `operation` (or for `any`) from a stand-in's `faults` table,
 * counting its `times_remaining` down and deleting it with its last use. `read` turns the row
 * into the stand-in's own Fault.
 */
export function takeFault<F extends { id: number; times_remaining: number | null }>(
  sql: SqlStorage,
  operation: string,
  read: (row: Record<string, SqlStorageValue>) => F,
): F | null {
  const row = sql
    .exec<Record<string, SqlStorageValue>>(
      "SELECT * FROM faults WHERE operation = ? OR operation = 'any' ORDER BY id LIMIT 1",
      operation,
    )
    .toArray()[0];
  if (!row) return null;
  const fault = read(row);
  if (fault.times_remaining !== null) {
    if (fault.times_remaining <= 1) sql.exec("DELETE FROM faults WHERE id = ?", fault.id);
    else sql.exec("UPDATE faults SET times_remaining = times_remaining - 1 WHERE id = ?", fault.id);
  }
  return fault;
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
