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
