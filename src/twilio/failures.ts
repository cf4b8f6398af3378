import { UpstreamFailure } from "../saga/ports";

/**
 * What a Twilio call came to when it did not succeed, as seen on the wire:
 * - `answered`: Twilio answered with an error status and (usually) its error body;
 * - `unknown`: no usable answer (timeout, dropped connection, a reply we could not read);
 * - `not_configured`: no credentials; nothing was sent.
 * What that means for us is decided once, by the table in `toUpstreamFailure`.
 */
export type TwilioFailureKind = "answered" | "unknown" | "not_configured";

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

/** Refusals of the number or of the request's own input: the client can pick another. */
const NUMBER_REFUSALS = new Map<number, string | undefined>([
  [21422, undefined], // the number is not available (sold, or not in inventory)
  [21421, undefined], // the number is not a valid phone number
  [21452, "area_code"], // no numbers found in the area code
  [21451, "area_code"], // the area code is not valid (unassigned)
]);

/**
 * Refusals of the platform's account or configuration, named for the operator's log. Any other
 * 4xx is treated the same way: permanent, and not the client's to fix.
 */
export const PLATFORM_REFUSALS = new Map<number, string>([
  [20003, "the platform's Twilio credentials were rejected"],
  [20005, "the platform's Twilio account is not active"],
  [21404, "a trial account's limit was reached"],
  [21631, "Twilio requires an address for this number"],
  [21649, "Twilio requires a regulatory bundle for this number"],
]);

/**
 * The one table from Twilio's answers to the saga's terms. Twilio's own message and body stay in
 * the log line of the call; clients hear the saga's outcome.
 */
export function toUpstreamFailure(error: TwilioError): UpstreamFailure {
  const status = error.httpStatus;
  const code = error.twilioCode;
  const details = { replied: status !== null, code };
  if (error.kind === "not_configured") {
    return new UpstreamFailure("platform_refused", "Twilio is not configured", details);
  }
  if (error.kind === "unknown" || status === null || status >= 500) {
    // A 502/503/504 may come from Twilio's edge while the request completes behind it.
    return new UpstreamFailure("unknown_outcome", error.message, details);
  }
  if (status === 429) {
    return new UpstreamFailure("throttled", error.message, {
      ...details,
      retryAfterSeconds: error.retryAfterSeconds,
    });
  }
  if (status === 404) return new UpstreamFailure("not_found", error.message, details);
  if (code !== null && NUMBER_REFUSALS.has(code)) {
    return new UpstreamFailure("number_refused", error.message, {
      ...details,
      field: NUMBER_REFUSALS.get(code),
    });
  }
  const reason = (code !== null && PLATFORM_REFUSALS.get(code)) || "Twilio refused the request";
  return new UpstreamFailure("platform_refused", `${reason}: ${error.message}`, details);
}
