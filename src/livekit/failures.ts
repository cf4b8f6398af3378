// Why a LiveKit call did not succeed, in the terms that decide what we do next. One table maps
// every Twirp error code to its kind; replies that carry no Twirp code (a proxy's page, an empty
// body) are judged by their HTTP status instead, and anything that never produced a reply
// (timeout, dropped connection) is an unknown outcome.

/**
 * - `refused`: LiveKit answered and did nothing (invalid_argument, not_found, already_exists...);
 * - `rejected_credentials`: our API key, secret or token was refused: a platform configuration
 *   problem, permanent until someone fixes the settings; nothing was done;
 * - `throttled`: LiveKit did nothing and asks us to slow down;
 * - `unknown`: the call may or may not have taken effect (timeout, dropped connection, 5xx,
 *   unavailable, a reply we could not read): only asking LiveKit again tells;
 * - `not_configured`: no URL or credentials; nothing was sent.
 */
export type LiveKitFailureKind =
  | "refused"
  | "rejected_credentials"
  | "throttled"
  | "unknown"
  | "not_configured";

/** Twirp's error codes (twitchtv/twirp) and what each means for us. */
export const TWIRP_CODE_KINDS = {
  invalid_argument: "refused",
  malformed: "refused",
  out_of_range: "refused",
  already_exists: "refused",
  failed_precondition: "refused",
  not_found: "refused",
  // Our request named a route or method LiveKit does not have: refused, and our bug.
  bad_route: "refused",
  unimplemented: "refused",
  unauthenticated: "rejected_credentials",
  permission_denied: "rejected_credentials",
  resource_exhausted: "throttled",
  unavailable: "unknown",
  internal: "unknown",
  deadline_exceeded: "unknown",
  unknown: "unknown",
  // Cancelled, aborted (a concurrency conflict) or lost part-way: whether it took effect is
  // not known.
  canceled: "unknown",
  aborted: "unknown",
  dataloss: "unknown",
} as const satisfies Record<string, LiveKitFailureKind>;

export type TwirpCode = keyof typeof TWIRP_CODE_KINDS;

export function isTwirpCode(value: unknown): value is TwirpCode {
  return typeof value === "string" && Object.hasOwn(TWIRP_CODE_KINDS, value);
}

/** The kind of a reply with no Twirp code, by its HTTP status. */
export function kindForHttpStatus(status: number): LiveKitFailureKind {
  if (status === 401 || status === 403) return "rejected_credentials";
  if (status === 429) return "throttled";
  // 408 (a proxy's timeout) and every 5xx may have happened after LiveKit did the work.
  if (status === 408 || status >= 500) return "unknown";
  return "refused";
}

export class LiveKitError extends Error {
  /**
   * LiveKit said the thing asked about does not exist. On a delete or release, callers may take
   * that as "already gone". But a not_found is not proof that something is gone, or never
   * happened, when the call that would have made it is itself uncertain: a create whose reply
   * was lost may land after the lookup, so an unknown outcome is settled by asking again later,
   * not by one not_found.
   */
  readonly notFound: boolean;

  constructor(
    readonly kind: LiveKitFailureKind,
    /** The Twirp method, e.g. "CreateSIPInboundTrunk". */
    readonly operation: string,
    readonly httpStatus: number | null,
    readonly twirpCode: string | null,
    /** LiveKit's own message or ours; never holds a token, secret or password. */
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "LiveKitError";
    this.notFound = twirpCode === "not_found";
  }
}
