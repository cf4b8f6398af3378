// Twirp's error codes and the HTTP status Twirp gives each (twitchtv/twirp, errors.go), and the
// error body every Twirp server writes: {"code", "msg", "meta"?}.

export const TWIRP_STATUS = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
} as const satisfies Record<string, number>;

export type TwirpCode = keyof typeof TWIRP_STATUS;

export function isTwirpCode(value: unknown): value is TwirpCode {
  return typeof value === "string" && Object.hasOwn(TWIRP_STATUS, value);
}

export interface TwirpErrorBody {
  code: TwirpCode;
  msg: string;
  meta?: Record<string, string>;
}

/** A refusal a method hands back instead of its response. */
export class TwirpError extends Error {
  constructor(
    readonly code: TwirpCode,
    message: string,
    readonly meta?: Record<string, string>,
  ) {
    super(message);
  }

  get status(): number {
    return TWIRP_STATUS[this.code];
  }

  get body(): TwirpErrorBody {
    return this.meta === undefined
      ? { code: this.code, msg: this.message }
      : { code: this.code, msg: this.message, meta: this.meta };
  }
}
