import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { RequestIdVariables } from "hono/request-id";
import type { BodyRead } from "./http/json-body";

/** The caller, as established by its API key. */
export type Caller = {
  keyId: string;
  workspaceId: string;
  /** null: the deployment default applies. */
  purchasedNumberLimit: number | null;
  trunkId: string | null;
  /** The workspace's own rate limits (a minute); null: the deployment's defaults apply. */
  searchRatePerMinute: number | null;
  writeRatePerMinute: number | null;
};

export type AppEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & {
    /** SHA-256 of the request's API key (never the key). */
    keyHash: string;
    caller: Caller;
    /** Whether the body's agent_id names an agent of the caller's workspace. */
    agentFound: boolean;
    /** The request's body, read once (see readJsonBody). */
    bodyRead: BodyRead;
  };
};

/** A middleware typed for this app (hono's createFactory would pull in a second router). */
export const appMiddleware = (handler: MiddlewareHandler<AppEnv>) =>
  createMiddleware<AppEnv>(handler);
