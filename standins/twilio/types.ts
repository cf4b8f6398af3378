// Shapes shared by the stand-in Worker, its Durable Object, the contract helpers and tests.
// Kept free of runtime imports so tests can import them without pulling in the Worker.

/**
 * Twilio operations; `update`: POST IncomingPhoneNumbers/{Sid} (a label, a voice URL).
 * `account`: GET Accounts/{AC}.json; `caller_ids`: OutgoingCallerIds.json; `sip`: the SIP
 * CredentialLists and their Credentials; `trunking`: everything under trunking.twilio.com/v1.
 */
export type TwilioOperation =
  | "search"
  | "purchase"
  | "lookup"
  | "release"
  | "update"
  | "account"
  | "caller_ids"
  | "sip"
  | "trunking";

export type FaultOperation = TwilioOperation | "any";

export type FaultKind =
  | "status"
  | "status_then_complete"
  | "delay"
  | "drop"
  | "drop_after"
  | "succeed_then_timeout"
  | "odd_item";

/** How a `status` or `status_then_complete` fault writes its error body. */
export type FaultBody = "json" | "html";

/**
 * How a request authenticated: an account's SID and auth token, the master account's API key and
 * secret, wrong or malformed credentials, or none. Secrets are checked, never stored or logged.
 */
export type AuthKind = "account" | "api_key" | "invalid" | "none";

export type AccountType = "Full" | "Trial";
export type AccountStatus = "active" | "suspended" | "closed";

/** Body of POST /__standin/faults. */
export interface FaultSpec {
  operation: FaultOperation;
  kind: FaultKind;
  status?: number;
  code?: number;
  message?: string;
  delay_ms?: number;
  times?: number;
  /**
   * Seconds sent in `Retry-After`; null sends no header. Absent: 1 for a 429, none otherwise.
   */
  retry_after?: number | null;
  /** "html": the error body is an HTML page (text/html), as Twilio's edge sometimes answers 5xx. */
  body?: FaultBody;
  /** `status_then_complete`: the purchase becomes visible this many ms after the reply. */
  complete_after_ms?: number;
}

export interface Fault {
  id: number;
  operation: FaultOperation;
  kind: FaultKind;
  status: number | null;
  code: number | null;
  message: string | null;
  delay_ms: number | null;
  /** Seconds in `Retry-After`; null = no header. */
  retry_after: number | null;
  body: FaultBody;
  complete_after_ms: number | null;
  /** null = applies until cleared. */
  times_remaining: number | null;
}

/** One Twilio request as GET /__standin/requests reports it. */
export interface TwilioRequestLogEntry {
  /** null when the path is not a Twilio route the stand-in knows. */
  operation: TwilioOperation | null;
  method: string;
  path: string;
  query: Record<string, string>;
  /**
   * Parsed body when it was sent form-encoded; null otherwise (including GET/DELETE). A
   * `Password` field reads "[redacted]".
   */
  form: Record<string, string> | null;
  content_type: string | null;
  auth: AuthKind;
  /**
   * The Basic auth username (never the password), when the path does not already name it: an
   * API key, another account's SID. Absent when it is the path's account or nothing was sent.
   */
  username?: string;
  /** 0 when a `drop` fault cut the connection before any reply existed. */
  status: number;
  /** The reply's JSON body (an HTML page as a string); an `auth_token` reads "[redacted]". */
  response: unknown;
  /** The injected fault that shaped this exchange, if any (an addition to the brief's fields). */
  fault: FaultKind | null;
}

/** A number an account owns, as GET /__standin/numbers lists it. */
export interface OwnedNumberSummary {
  sid: string;
  account_sid: string;
  phone_number: string;
  friendly_name: string;
  trunk_sid: string | null;
  voice_url: string | null;
  voice_application_sid: string | null;
  /** RFC 2822, as Twilio's 2010 API writes it. */
  date_created: string;
  /** ISO 8601 time Twilio's API starts showing the number; null when it already does. */
  visible_at: string | null;
}

/** Body of POST /__standin/numbers. */
export interface PlantNumberSpec {
  phone_number: string;
  /** Default: the master account. */
  account_sid?: string;
  friendly_name?: string;
  trunk_sid?: string;
  voice_url?: string;
  voice_application_sid?: string;
  /** ISO 8601; default now. */
  date_created?: string;
}

/** Body of POST /__standin/accounts. */
export interface NewAccountSpec {
  friendly_name?: string;
  /** Default "Full". */
  type?: AccountType;
  /** Default "active". */
  status?: AccountStatus;
}

/** Reply of POST /__standin/accounts. */
export interface CreatedAccount {
  account_sid: string;
  auth_token: string;
}

/** An account as GET /__standin/accounts lists it (the master account first). */
export interface StandinAccount {
  sid: string;
  /** A dev-only secret: the control API shows it, the request log never does. */
  auth_token: string;
  friendly_name: string;
  type: AccountType;
  status: AccountStatus;
  /** RFC 2822. */
  date_created: string;
}

/** Body of POST /__standin/caller-ids. */
export interface NewCallerIdSpec {
  phone_number: string;
  /** Default: the master account. */
  account_sid?: string;
  friendly_name?: string;
}

/** A verified caller id, as POST and GET /__standin/caller-ids show it. */
export interface StandinCallerId {
  sid: string;
  account_sid: string;
  phone_number: string;
  friendly_name: string;
  /** RFC 2822. */
  date_created: string;
}

/** GET /__standin/settings; each is set by its own control route and cleared by reset. */
export interface StandinSettings {
  /** POST /__standin/latency: every Twilio reply waits this long after the work is done. */
  latency_ms: number;
  /** POST /__standin/list-lag: a bought number is hidden this long after its purchase. */
  list_lag_ms: number;
  /** POST /__standin/release-hold: a released number is not for sale for this long. */
  release_hold_ms: number;
  /** POST /__standin/domain-reservation: a deleted trunk's domain name stays taken this long. */
  domain_reservation_ms: number;
}

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

/** A trunk with what hangs on it, as GET /__standin/trunks lists it. */
export interface StandinTrunk {
  sid: string;
  account_sid: string;
  friendly_name: string | null;
  domain_name: string | null;
  /** ISO 8601, as trunking v1 writes dates. */
  date_created: string;
  origination_urls: {
    sid: string;
    sip_url: string;
    priority: number;
    weight: number;
    enabled: boolean;
    friendly_name: string;
  }[];
  /** The account's numbers whose trunk_sid is this trunk (shown by Twilio yet or not). */
  phone_numbers: { sid: string; phone_number: string }[];
  credential_lists: { sid: string; friendly_name: string }[];
}

/** GET /__standin/concurrency. */
export interface StandinConcurrency {
  /** Twilio requests being handled now (held ones from before a reset included). */
  in_flight: number;
  /** The most Twilio requests at once among those that arrived since the last reset. */
  peak: number;
}
