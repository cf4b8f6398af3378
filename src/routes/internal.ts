import { Hono } from "hono/tiny";
import { unauthorized } from "../api-error";
import type { AppEnv } from "../app-env";
import { reconcileTwilioNumbers } from "../reconcile";

async function sameSecret(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all(
    [given, expected].map((t) => crypto.subtle.digest("SHA-256", encoder.encode(t))),
  );
  return crypto.subtle.timingSafeEqual(a as ArrayBuffer, b as ArrayBuffer);
}

/**
 * Operator endpoints, used by `npm run admin -- reconcile`. They answer only to the
 * ADMIN_TOKEN secret; on a deployment without one they refuse everyone.
 */
export const internal = new Hono<AppEnv>()
  .use(async (c, next) => {
    const expected = (c.env as Env & { ADMIN_TOKEN?: string }).ADMIN_TOKEN;
    const given = c.req.header("Authorization")?.match(/^Bearer (\S+)$/)?.[1];
    if (!expected || !given || !(await sameSecret(given, expected))) throw unauthorized();
    await next();
  })
  .post("/reconcile", async (c) => {
    const report = await reconcileTwilioNumbers(c.env, { fix: c.req.query("fix") === "true" });
    return c.json(report, 200);
  });
