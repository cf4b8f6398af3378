import type { Context } from "hono";
import { ApiError } from "../api-error";
import { type AppEnv, appMiddleware } from "../app-env";

export const MAX_BODY_BYTES = 16 * 1024;

const JSON_CONTENT_TYPE = /^application\/json\s*(;|$)/i;

export type BodyRead = { ok: true; body: Record<string, unknown> } | { ok: false; error: ApiError };

/**
 * Reads the request's body as a JSON object, once per request (the result is kept on the
 * context). Never throws: the API key is checked before a bad body is refused, and the key
 * check itself peeks at the body for the agent it names.
 */
export async function readJsonBody(c: Context<AppEnv>): Promise<BodyRead> {
  const cached = c.get("bodyRead");
  if (cached) return cached;
  const read = await readOnce(c);
  c.set("bodyRead", read);
  return read;
}

async function readOnce(c: Context<AppEnv>): Promise<BodyRead> {
  if (!JSON_CONTENT_TYPE.test(c.req.header("Content-Type") ?? "")) {
    return refused(415, "unsupported_media_type", "Send the body as application/json.");
  }
  const declared = Number(c.req.header("Content-Length"));
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return tooLarge();
  const bytes = await c.req.arrayBuffer();
  if (bytes.byteLength > MAX_BODY_BYTES) return tooLarge();
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return refused(400, "bad_request", "The body is not valid JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return refused(400, "bad_request", "The body must be a JSON object.");
  }
  return { ok: true, body: body as Record<string, unknown> };
}

function refused(status: 400 | 413 | 415, code: ApiError["code"], message: string): BodyRead {
  return { ok: false, error: new ApiError(status, code, message) };
}

function tooLarge(): BodyRead {
  return refused(413, "payload_too_large", `The body is larger than ${MAX_BODY_BYTES} bytes.`);
}

/**
 * Bodies must be JSON objects, declared as such, and small: a body that is not JSON is a 400
 * `bad_request` rather than a validation error about its fields.
 */
export const jsonBody = appMiddleware(async (c, next) => {
  const read = await readJsonBody(c);
  if (!read.ok) throw read.error;
  await next();
});
