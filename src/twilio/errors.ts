import { ApiError } from "../errors";

/**
 * Why a Twilio call did not succeed, in the terms that decide what we do next:
 * - `refused`: Twilio answered and did nothing (a 4xx with an error code);
 * - `rejected_credentials`, `throttled`: Twilio did nothing, and the fault is not the client's;
 * - `unknown`: the call may or may not have taken effect (timeout, dropped connection, 5xx,
 *   a reply we could not read): only asking Twilio again tells.
 * - `not_configured`: no credentials; nothing was sent.
 */
export type TwilioFailureKind =
  | "refused"
  | "rejected_credentials"
  | "throttled"
  | "unknown"
  | "not_configured";

export class TwilioError extends Error {
  constructor(
    readonly kind: TwilioFailureKind,
    readonly operation: string,
    readonly httpStatus: number | null,
    readonly twilioCode: number | null,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "TwilioError";
  }
}

// Twilio's codes for a number that cannot be bought as asked.
const NUMBER_UNAVAILABLE = 21422;
const NUMBER_INVALID = 21421;
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** What the client is told; Twilio's own message and body stay in our logs. */
export function toApiError(error: TwilioError): ApiError {
  if (error.kind === "not_configured") {
    return new ApiError(
      503,
      "service_unavailable",
      "Phone-number purchasing is not configured here.",
    );
  }
  if (
    error.kind === "refused" &&
    (error.twilioCode === NUMBER_UNAVAILABLE || error.twilioCode === NUMBER_INVALID)
  ) {
    return new ApiError(
      400,
      "bad_request",
      "This number is no longer available; search again and pick another.",
    );
  }
  return new ApiError(
    503,
    "service_unavailable",
    "The phone-number carrier is unavailable; retry later.",
    { retryAfterSeconds: error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS },
  );
}
