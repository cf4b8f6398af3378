import { collectingUpstreamCalls } from "../log";
import { type FromRequest, UpstreamFailure } from "../saga/ports";
import type { AvailablePhoneNumber } from "../schemas/phone-numbers";
import { twilioCarrier } from "../twilio/carrier";

export type SearchRequest = FromRequest & {
  workspaceId: string;
  areaCode?: string;
  limit: number;
  /** How long the numbers found may be bought by this workspace. */
  ttlMs: number;
};

/** A search's result; a carrier failure as plain data, since errors lose their class over RPC. */
export type SearchOutcome =
  | { ok: true; numbers: AvailablePhoneNumber[] }
  | {
      ok: false;
      failure: {
        kind: UpstreamFailure["kind"];
        message: string;
        details: UpstreamFailure["details"];
      };
    };

/** Searches the master account's inventory for the workspace (the object's search). */
export async function searchCarrier(env: Env, request: SearchRequest): Promise<SearchOutcome> {
  const carrier = twilioCarrier(env, {
    request_id: request.requestId,
    workspace_id: request.workspaceId,
    ...collectingUpstreamCalls(request.upstream),
  });
  // The route refuses searches on a deployment without Twilio, before the object.
  if (!carrier) throw new Error("Twilio is not configured on this deployment");
  try {
    const numbers = await carrier.searchAvailable({
      areaCode: request.areaCode,
      limit: request.limit,
    });
    return { ok: true, numbers };
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    const { kind, message, details } = error;
    return { ok: false, failure: { kind, message, details } };
  }
}
