import { CarrierFailure } from "../saga/ports";

/**
 * Why a Twilio call did not succeed, as the client saw it:
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

/** Twilio's codes for a number that cannot be bought as asked. */
const NUMBER_REFUSALS = new Set([
  21422, // the number is not available
  21421, // the number is invalid
]);

/**
 * The one table from Twilio's answers to the saga's terms. Twilio's own message and body stay
 * in our logs (written by the client); the client of our API hears the saga's outcome.
 */
export function toCarrierFailure(error: TwilioError): CarrierFailure {
  const replied = error.httpStatus !== null;
  switch (error.kind) {
    case "unknown":
      return new CarrierFailure("unknown_outcome", error.message, { replied });
    case "refused":
      if (error.twilioCode !== null && NUMBER_REFUSALS.has(error.twilioCode)) {
        return new CarrierFailure("number_refused", error.message, { replied });
      }
      return new CarrierFailure("platform_refused", error.message, { replied });
    case "throttled":
      return new CarrierFailure("platform_refused", error.message, {
        replied,
        retryAfterSeconds: error.retryAfterSeconds,
      });
    case "rejected_credentials":
    case "not_configured":
      return new CarrierFailure("platform_refused", error.message, { replied });
  }
}
