import { ApiError, agentNotFound, phoneNumberNotFound } from "../api-error";
import type { Refusal, RefusalKind } from "../saga/outcomes";
import { UpstreamFailure } from "../saga/ports";

/** What the request that met a refusal carried, where the advice depends on it. */
export type RefusalContext = { idempotencyKey: boolean };

/** A carrier or D1 hiccup: worth retrying after this many seconds. */
const RETRY_AFTER_SECONDS = 5;

/**
 * How a client learns the outcome of work still under way: its Idempotency-Key if it sent one;
 * a request without one can only look at its numbers (a retry would be a new purchase).
 */
function retryAdvice(context: RefusalContext, what: string): string {
  return context.idempotencyKey
    ? `Retry with the same Idempotency-Key to learn ${what}.`
    : `List your phone numbers in a minute to learn ${what}.`;
}

/**
 * The one table from the saga's refusals to HTTP: status, error code, message and Retry-After.
 * Messages say what happened to the money: "nothing was bought" only where that is known.
 */
const REFUSALS: {
  [K in RefusalKind]: (refusal: Extract<Refusal, { kind: K }>, context: RefusalContext) => ApiError;
} = {
  not_searched: () =>
    new ApiError(
      400,
      "bad_request",
      "e164 was not returned by a recent search in this workspace; search, then buy one of the numbers it returned.",
      { fields: { e164: "not returned by a recent search" } },
    ),
  agent_unknown: () => agentNotFound(),
  already_held: () =>
    new ApiError(422, "conflict", "This workspace already holds or is buying this number."),
  cap_reached: ({ cap, limit }) =>
    new ApiError(
      422,
      "conflict",
      cap === "purchased"
        ? `This workspace has reached its purchased-number limit of ${limit}; release a purchased number first.`
        : `This workspace has reached its limit of ${limit} phone numbers of any source; release a number first.`,
    ),
  number_taken: () =>
    new ApiError(
      400,
      "bad_request",
      "This number is no longer available; search again and pick another.",
    ),
  not_found: () => phoneNumberNotFound(),
  key_reused: () =>
    new ApiError(
      409,
      "conflict",
      "This Idempotency-Key was already used with a different request.",
    ),
  key_in_progress: () =>
    new ApiError(
      409,
      "conflict",
      "A request for this phone number is still being processed; retry shortly.",
      {
        retryAfterSeconds: 1,
      },
    ),
  number_unavailable: () =>
    new ApiError(
      400,
      "bad_request",
      "The carrier no longer offers this number; nothing was bought. Search again and pick another.",
    ),
  purchasing_unavailable: () =>
    new ApiError(
      503,
      "service_unavailable",
      "Purchasing phone numbers is unavailable right now; nothing was bought. The platform's operators have been alerted.",
    ),
  nothing_bought: ({ reason, retryAfterSeconds }) =>
    new ApiError(503, "service_unavailable", NOTHING_BOUGHT[reason], {
      retryAfterSeconds: retryAfterSeconds ?? RETRY_AFTER_SECONDS,
    }),
  purchase_unconfirmed: (_refusal, context) =>
    new ApiError(
      503,
      "service_unavailable",
      `The carrier did not confirm the purchase; it will be settled shortly. ${retryAdvice(context, "the outcome")}`,
      { retryAfterSeconds: RETRY_AFTER_SECONDS },
    ),
  bought_not_recorded: (_refusal, context) =>
    new ApiError(
      503,
      "service_unavailable",
      `The number was bought but not yet recorded; it will appear shortly. ${retryAdvice(context, "its id")}`,
      { retryAfterSeconds: RETRY_AFTER_SECONDS },
    ),
  purchase_undone: () =>
    new ApiError(
      503,
      "service_unavailable",
      "The purchase could not be completed and was undone; nothing is billed. Retry later.",
      { retryAfterSeconds: RETRY_AFTER_SECONDS },
    ),
  release_pending: ({ retryAfterSeconds }) =>
    new ApiError(
      503,
      "service_unavailable",
      "The release is not confirmed by the carrier yet; the number stays held until it is, and the release will be retried.",
      { retryAfterSeconds: retryAfterSeconds ?? RETRY_AFTER_SECONDS },
    ),
  release_refused: () =>
    new ApiError(
      503,
      "service_unavailable",
      "The carrier refused to release this number; it stays listed until the platform's operators resolve it, and they have been alerted.",
    ),
  released_not_recorded: () =>
    new ApiError(
      503,
      "service_unavailable",
      "The number was released but not yet recorded; it will disappear from your list shortly.",
      { retryAfterSeconds: RETRY_AFTER_SECONDS },
    ),
  number_held: () =>
    new ApiError(
      409,
      "conflict",
      "This number is already held by a workspace, or being added to one; nothing was changed.",
      { fields: { e164: "already held" } },
    ),
  import_cap_reached: ({ cap, limit }) =>
    new ApiError(
      402,
      "payment_required",
      cap === "purchased"
        ? `This workspace has reached its purchased-number limit of ${limit} (numbers billed to the platform); release one first.`
        : `This workspace has reached its limit of ${limit} phone numbers of any source; release a number first.`,
    ),
  customer_credentials_rejected: () =>
    new ApiError(400, "bad_request", "Twilio rejected these credentials; nothing was changed.", {
      fields: { "twilio.auth_token": "rejected by Twilio for this account_sid" },
    }),
  customer_account_inactive: () =>
    new ApiError(400, "bad_request", "This Twilio account is not active; nothing was changed.", {
      fields: { "twilio.account_sid": "the account is suspended or closed" },
    }),
  number_not_on_account: () =>
    new ApiError(
      400,
      "bad_request",
      "This number is neither a phone number nor a verified caller id of this Twilio account; nothing was changed.",
      { fields: { e164: "not on this Twilio account" } },
    ),
  number_on_foreign_trunk: () =>
    new ApiError(
      400,
      "bad_request",
      "This number is on another Elastic SIP trunk of the account; take it off that trunk first. Nothing was changed.",
      { fields: { e164: "on a SIP trunk that is not ours" } },
    ),
  caller_id_needs_import: () =>
    new ApiError(
      400,
      "bad_request",
      "This number is a verified caller id of the account; import one of the account's own phone numbers first (source twilio).",
      { fields: { e164: "a verified caller id without an earlier twilio import" } },
    ),
  caller_id_not_routable: () =>
    new ApiError(
      400,
      "bad_request",
      "A verified caller id is outbound only and cannot be bound to an agent.",
      { fields: { agent_id: "not allowed for a verified caller id" } },
    ),
  trunk_unknown: () =>
    new ApiError(400, "bad_request", "trunk_id does not name a SIP trunk of this workspace.", {
      fields: { trunk_id: "no such trunk in this workspace" },
    }),
  import_number_refused: () =>
    new ApiError(400, "bad_request", "This number is not available; nothing was bought.", {
      fields: { e164: "not available" },
    }),
  import_unavailable: ({ retryAfterSeconds }) =>
    new ApiError(
      503,
      "service_unavailable",
      "Twilio or LiveKit is unavailable; nothing was imported and nothing is left behind. Retry later.",
      { retryAfterSeconds: retryAfterSeconds ?? RETRY_AFTER_SECONDS },
    ),
  stored_credentials_rejected: () =>
    new ApiError(
      503,
      "service_unavailable",
      "The Twilio credentials stored for this number's account were rejected; the number stays listed until you import it again with working credentials (which refreshes them), then delete it.",
    ),
};

const NOTHING_BOUGHT: Record<Extract<Refusal, { kind: "nothing_bought" }>["reason"], string> = {
  interrupted: "The purchase was interrupted; nothing was bought. Retry later.",
  records_unavailable: "The purchase could not be recorded; nothing was bought. Retry later.",
  carrier_did_not_buy:
    "The carrier did not complete the purchase; nothing was bought. Retry later.",
  carrier_unavailable: "The phone-number carrier is unavailable; nothing was bought. Retry later.",
};

export function refusalToApiError(refusal: Refusal, context: RefusalContext): ApiError {
  const render = REFUSALS[refusal.kind] as (r: Refusal, c: RefusalContext) => ApiError;
  return render(refusal, context);
}

/** A carrier failure met outside the saga (a search): nothing was changed. */
export function upstreamFailureToApiError(failure: UpstreamFailure): ApiError {
  switch (failure.kind) {
    case "number_refused":
      return failure.details.field
        ? new ApiError(400, "validation_failed", "The carrier refused the search.", {
            fields: { [failure.details.field]: "is not a valid area code at the carrier" },
          })
        : new ApiError(400, "bad_request", "The carrier refused the search.");
    case "platform_refused":
    case "not_found":
      return new ApiError(
        503,
        "service_unavailable",
        "Searching phone numbers is unavailable right now. The platform's operators have been alerted.",
      );
    case "throttled":
    case "unknown_outcome":
      return new ApiError(
        503,
        "service_unavailable",
        "The phone-number carrier is unavailable; retry later.",
        { retryAfterSeconds: failure.details.retryAfterSeconds ?? RETRY_AFTER_SECONDS },
      );
  }
}

export { UpstreamFailure };
