import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { RequestIdVariables } from "hono/request-id";
import type { D1Reader } from "./db/read-your-writes";
import type { BodyRead } from "./http/json-body";
import type { UpstreamCall } from "./log";

/** The caller, as established by its API key. */
export type Caller = {
  keyId: string;
  workspaceId: string;
  /** null: the deployment default applies. */
  purchasedNumberLimit: number | null;
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
    /**
     * The LiveKit agent name of the agent the body's agent_id names, when it is an agent of the
     * caller's workspace; null otherwise.
     */
    agentName: string | null;
    /** The request's body, read once (see readJsonBody). */
    bodyRead: BodyRead;
    /** The D1 session of the request's reads (see readSession). */
    d1Session: D1Reader;
    /** The carrier and LiveKit calls the request made that went well, for its log line. */
    upstream: UpstreamCall[];
  };
};

/** A middleware typed for this app (hono's createFactory would pull in a second router). */
export const appMiddleware = (handler: MiddlewareHandler<AppEnv>) =>
  createMiddleware<AppEnv>(handler);
