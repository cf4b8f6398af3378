import { appMiddleware } from "../app-env";
import { findCaller } from "../db/api-keys";
import { unauthorized } from "../errors";
import { hashApiKey, isWellFormedApiKey } from "./api-keys";

/** The API key in `Authorization: Bearer sk_...`, or null when absent or malformed. */
export function bearerApiKey(header: string | undefined): string | null {
  const match = header?.match(/^Bearer +(\S+) *$/i);
  const key = match?.[1];
  return key && isWellFormedApiKey(key) ? key : null;
}

export const requireApiKey = appMiddleware(async (c, next) => {
  const key = bearerApiKey(c.req.header("Authorization"));
  if (!key) throw unauthorized();
  const caller = await findCaller(c.env.DB, await hashApiKey(key));
  if (!caller) throw unauthorized();
  c.set("caller", caller);
  await next();
});
