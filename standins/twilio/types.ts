// Shapes shared by the stand-in Worker, its Durable Object, the contract helpers and tests.
// Kept free of runtime imports so tests can import them without pulling in the Worker.

/** Twilio operations; `update` (POST IncomingPhoneNumbers/{Sid}) is hit only by "any" faults. */
export type TwilioOperation = "search" | "purchase" | "lookup" | "release" | "update";

export type FaultOperation = Exclude<TwilioOperation, "update"> | "any";

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

/** How a request authenticated; passwords never leave the Worker that checked them. */
export type AuthKind = "account" | "api_key" | "invalid" | "none";

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
  /** Parsed body when it was sent form-encoded; null otherwise (including GET/DELETE). */
  form: Record<string, string> | null;
  content_type: string | null;
  auth: AuthKind;
  /** 0 when a `drop` fault cut the connection before any reply existed. */
  status: number;
  response: unknown;
  /** The injected fault that shaped this exchange, if any (an addition to the brief's fields). */
  fault: FaultKind | null;
}

/** A number the account owns, as GET /__standin/numbers lists it. */
export interface OwnedNumberSummary {
  sid: string;
  phone_number: string;
  friendly_name: string;
  trunk_sid: string | null;
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
}

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}
