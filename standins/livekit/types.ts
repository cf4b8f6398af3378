// Shapes shared by the stand-in Worker, its Durable Object, the contract checker and tests.
// Kept free of runtime imports so tests can import them without pulling in the Worker.

import type { TwirpCode } from "./twirp";

export type SipMethod =
  | "CreateSIPInboundTrunk"
  | "CreateSIPOutboundTrunk"
  | "UpdateSIPInboundTrunk"
  | "UpdateSIPOutboundTrunk"
  | "GetSIPInboundTrunk"
  | "GetSIPOutboundTrunk"
  | "ListSIPInboundTrunk"
  | "ListSIPOutboundTrunk"
  | "DeleteSIPTrunk"
  | "CreateSIPDispatchRule"
  | "UpdateSIPDispatchRule"
  | "ListSIPDispatchRule"
  | "DeleteSIPDispatchRule";

export type PhoneNumberMethod =
  | "SearchPhoneNumbers"
  | "PurchasePhoneNumber"
  | "ListPhoneNumbers"
  | "GetPhoneNumber"
  | "UpdatePhoneNumber"
  | "ReleasePhoneNumbers";

/** The methods the stand-in performs; other methods of the two services answer unimplemented. */
export type LiveKitMethod = SipMethod | PhoneNumberMethod;

export type FaultOperation = LiveKitMethod | "any";

export type FaultKind = "status" | "delay" | "drop" | "drop_after" | "succeed_then_timeout";

/**
 * How the request's bearer token fared. Only "ok" tokens reach the method; the token itself and
 * the secret never leave the Worker that checked them.
 */
export type AuthVerdict =
  | "ok"
  | "missing"
  | "malformed"
  | "unknown_key"
  | "bad_signature"
  | "expired"
  | "not_yet_valid";

/** Body of POST /__standin/faults. */
export interface FaultSpec {
  operation: FaultOperation;
  kind: FaultKind;
  /** For `status`: the Twirp code to answer with (default `internal`). */
  code?: TwirpCode;
  message?: string;
  /** For `status`: the HTTP status, when it should differ from Twirp's for the code. */
  status?: number;
  /** For `status`: answer with this text (as text/html) instead of a Twirp error body. */
  raw_body?: string;
  delay_ms?: number;
  times?: number;
}

export interface Fault {
  id: number;
  operation: FaultOperation;
  kind: FaultKind;
  code: TwirpCode | null;
  message: string | null;
  status: number | null;
  raw_body: string | null;
  delay_ms: number | null;
  /** null = applies until cleared. */
  times_remaining: number | null;
}

/** One Twirp request as GET /__standin/requests reports it. */
export interface LiveKitRequestLogEntry {
  /** "livekit.SIP" or "livekit.PhoneNumberService"; null when the path is not a Twirp route. */
  service: string | null;
  /** The Twirp method name; null when the path names none the services have. */
  method: string | null;
  http_method: string;
  path: string;
  content_type: string | null;
  /** The JSON body, secret fields (auth_password...) replaced by "<redacted>"; null if none. */
  body: unknown;
  /** The body as sent, when it was not JSON (else null). */
  body_text: string | null;
  auth: AuthVerdict;
  /** Whether the token granted `sip.admin` (false when the token was not valid). */
  sip_admin: boolean;
  /** 0 when a `drop` fault cut the connection before any reply existed. */
  status: number;
  /** The JSON reply (secret fields redacted), or the raw text of a `raw_body` fault. */
  response: unknown;
  fault: FaultKind | null;
}

export interface RouteMatchingRule {
  sip_dispatch_rule_id: string;
  name: string;
  agent_names: string[];
  room_prefix: string | null;
}

/** GET /__standin/route?to=<e164>[&from=<e164>]. */
export interface RouteAnswer {
  to: string;
  from: string | null;
  /** Whether LiveKit would take the call at all (an inbound trunk, or a LiveKit number). */
  accepted: boolean;
  inbound_trunk_id: string | null;
  /** Set when the called number is a LiveKit phone number (PhoneNumberService) in use. */
  phone_number_id: string | null;
  matching_rules: RouteMatchingRule[];
  /** Why a call is not accepted, or would not be dispatched. */
  reason: string | null;
}

/** GET /__standin/state: everything the project holds, as the API would return it. */
export interface StandinState {
  inbound_trunks: Record<string, unknown>[];
  outbound_trunks: Record<string, unknown>[];
  dispatch_rules: Record<string, unknown>[];
  phone_numbers: Record<string, unknown>[];
}
