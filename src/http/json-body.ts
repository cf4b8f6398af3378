import { bodyLimit } from "hono/body-limit";
import { appMiddleware } from "../app-env";
import { ApiError } from "../errors";

export const MAX_BODY_BYTES = 16 * 1024;

const tooLarge = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError(
      413,
      "payload_too_large",
      `The body is larger than ${MAX_BODY_BYTES} bytes.`,
    );
  },
});

/**
 * Bodies must be JSON objects, declared as such, and small. Parsed once here so that a body
 * that is not JSON is a 400 `bad_request` rather than a validation error about its fields.
 */
export const jsonBody = appMiddleware(async (c, next) => {
  const type = c.req.header("Content-Type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "Send the body as application/json.");
  }
  await tooLarge(c, async () => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw new ApiError(400, "bad_request", "The body is not valid JSON.");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new ApiError(400, "bad_request", "The body must be a JSON object.");
    }
    await next();
  });
});
