import type { PhoneNumber } from "../schemas/phone-numbers";

// What the workspace's operations can come to, in the domain's terms. No HTTP here: one table
// in src/http/refusals.ts turns each refusal into a status, an error code, a message and a
// Retry-After. Plain objects, so they cross the Durable Object's RPC boundary unchanged.

export type Refusal =
  // Refused before anything was done.
  | { ok: false; kind: "not_searched" }
  | { ok: false; kind: "agent_unknown" }
  | { ok: false; kind: "already_held" }
  | { ok: false; kind: "cap_reached"; cap: "purchased" | "total"; limit: number }
  | { ok: false; kind: "number_taken" }
  | { ok: false; kind: "not_found" }
  | { ok: false; kind: "key_reused" }
  | { ok: false; kind: "key_in_progress" }
  // A purchase that ended with nothing bought (its slot, claim and key are freed).
  | { ok: false; kind: "number_unavailable"; field?: string }
  /** The carrier refused the platform itself (credentials, account, configuration): lasting. */
  | { ok: false; kind: "purchasing_unavailable" }
  | { ok: false; kind: "nothing_bought"; reason: NothingBoughtReason; retryAfterSeconds?: number }
  // A purchase still under way: its slot stays held until the ledger settles it.
  | { ok: false; kind: "purchase_unconfirmed" }
  | { ok: false; kind: "bought_not_recorded" }
  | { ok: false; kind: "purchase_undone" }
  // A release still under way: the number stays held (and billed) until it is confirmed.
  | { ok: false; kind: "release_pending"; retryAfterSeconds?: number }
  | { ok: false; kind: "released_not_recorded" }
  /** The carrier refused the release for good: held (and billed) until an operator acts. */
  | { ok: false; kind: "release_refused" }
  // Imports (POST /v1/agents/phone-numbers), refused with nothing left behind.
  /** The number is held by a workspace (this one or another), or being acquired. */
  | { ok: false; kind: "number_held" }
  | { ok: false; kind: "import_cap_reached"; cap: "purchased" | "total"; limit: number }
  /** The customer's Twilio credentials were refused (by Twilio). */
  | { ok: false; kind: "customer_credentials_rejected" }
  | { ok: false; kind: "customer_account_inactive" }
  | { ok: false; kind: "number_not_on_account" }
  /** The number answers on a trunk that is not ours: never taken over. */
  | { ok: false; kind: "number_on_foreign_trunk" }
  /** A verified caller id needs an earlier full-number import from its account. */
  | { ok: false; kind: "caller_id_needs_import" }
  /** A verified caller id is outbound only: no agent. */
  | { ok: false; kind: "caller_id_not_routable" }
  | { ok: false; kind: "trunk_unknown" }
  /** The upstream refused the number itself (LiveKit: not for sale). */
  | { ok: false; kind: "import_number_refused" }
  /** An upstream was unavailable: what the import had done is undone (or being undone). */
  | { ok: false; kind: "import_unavailable"; retryAfterSeconds?: number }
  /** A DELETE met a stored Twilio token the account no longer accepts. */
  | { ok: false; kind: "stored_credentials_rejected" };

export type NothingBoughtReason =
  /** The request that reserved the slot died before the carrier was asked. */
  | "interrupted"
  /** The claim in D1 could not be written or checked. */
  | "records_unavailable"
  /** The carrier was asked, and a lookup after the settle time did not find the number. */
  | "carrier_did_not_buy"
  /** The carrier was busy (throttled) or unreachable before it was asked. */
  | "carrier_unavailable";

export type RefusalKind = Refusal["kind"];

export type PurchaseOutcome =
  | { ok: true; kind: "purchased"; number: PhoneNumber; replayed: boolean }
  | Refusal;

export type ReleaseOutcome = { ok: true; kind: "released"; replayed: boolean } | Refusal;

export type UpdateOutcome =
  | { ok: true; kind: "updated"; number: PhoneNumber; replayed: boolean }
  | Refusal;

export type AnyOutcome = PurchaseOutcome | ReleaseOutcome | UpdateOutcome;
