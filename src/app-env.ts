import { createFactory } from "hono/factory";
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

export const factory = createFactory<AppEnv>();
