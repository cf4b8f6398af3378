import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { RequestIdVariables } from "hono/request-id";

/** The caller, as established by its API key. */
export type Caller = {
  keyId: string;
  workspaceId: string;
  /** null: the deployment default applies. */
  purchasedNumberLimit: number | null;
  trunkId: string | null;
};

export type AppEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & { caller: Caller };
};

/** A middleware typed for this app (hono's createFactory would pull in a second router). */
export const appMiddleware = (handler: MiddlewareHandler<AppEnv>) =>
  createMiddleware<AppEnv>(handler);
