import { Hono } from "hono/tiny";
import { ApiError, unauthorized } from "../api-error";
import type { AppEnv } from "../app-env";
import { keyringFromEnv, sealSecret } from "../crypto/credentials";
import { insertByocTrunk } from "../db/trunks";
import { isId, newId } from "../ids";

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
  /**
   * A customer's SIP trunk (byoc), for `admin trunks create`: `{workspace_id, address, username?,
   * password?}`. The password is sealed here (the CLI never holds the key). LiveKit's outbound
   * trunk is created with the trunk's first number (LiveKit refuses one without numbers).
   */
  .post("/trunks", async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const workspaceId = body?.workspace_id;
    const address = body?.address;
    const username = body?.username ?? null;
    const password = body?.password ?? null;
    const host = /^(?=.{1,253}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/;
    if (
      typeof workspaceId !== "string" ||
      !isId("ws", workspaceId) ||
      typeof address !== "string" ||
      !host.test(address) ||
      (username !== null && typeof username !== "string") ||
      (password !== null && typeof password !== "string") ||
      (username === null) !== (password === null)
    ) {
      throw new ApiError(
        400,
        "validation_failed",
        "Needs workspace_id, address (a host), and username with password or neither.",
      );
    }
    const keyring = keyringFromEnv(c.env as unknown as Record<string, unknown>);
    if (password !== null && !keyring) {
      throw new ApiError(503, "service_unavailable", "CREDENTIALS_KEY is not set.");
    }
    const id = newId("trunk");
    const sealed =
      password !== null && keyring
        ? await sealSecret(keyring, JSON.stringify({ sip_password: password }), id)
        : null;
    const written = await insertByocTrunk(c.env.DB, {
      id,
      workspaceId,
      address,
      sipUsername: username as string | null,
      sealed,
    });
    if (!written) throw new ApiError(404, "not_found", `No workspace ${workspaceId}.`);
    return c.json({ id, workspace_id: workspaceId, kind: "byoc", address }, 201);
  })
  .post("/reconcile", async (c) => {
    // Loaded on use, not with the Worker's module (see WorkspaceNumbers' constructor).
    const { reconcileTwilioNumbers } = await import("../reconcile");
    const report = await reconcileTwilioNumbers(c.env, { fix: c.req.query("fix") === "true" });
    return c.json(report, 200);
  });
