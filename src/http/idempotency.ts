import type { Context } from "hono";
import { ApiError } from "../api-error";
import type { AppEnv } from "../app-env";
import type { Idempotency } from "../saga/ledger";

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * The request's Idempotency-Key with a hash of what it asks for (the operation and its
 * normalized fields), or null when it has none.
 */
export async function idempotencyOf(
  c: Context<AppEnv>,
  request: Record<string, unknown>,
): Promise<Idempotency | null> {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError(400, "validation_failed", "Invalid Idempotency-Key header.", {
      fields: { "Idempotency-Key": "must be 1 to 255 printable ASCII characters" },
    });
  }
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(request)),
  );
  const requestHash = [...new Uint8Array(digest)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  return { key, requestHash };
}
