import type { NewPhoneNumber } from "../db/phone-numbers";
import type { PhoneNumberSource } from "../schemas/phone-numbers";

/**
 * The states of a ledger row: the workspace's own account of a number it holds or is acquiring.
 * Every state but `active` is unfinished work, which the alarm drives forward if the request
 * that started it could not:
 * - reserved: a cap slot is held; the carrier has not been asked (the D1 claim may exist).
 * - buying: the purchase was sent to the carrier; its outcome may be unknown.
 * - bought: the carrier holds the number for us (its SID is known); D1 does not show it yet.
 * - active: held and shown.
 * - releasing: the release was decided; the carrier or D1 have not both confirmed it.
 */
export type LedgerState = "reserved" | "buying" | "bought" | "active" | "releasing";

export type LedgerRow = {
  id: string;
  e164: string;
  source: PhoneNumberSource;
  state: LedgerState;
  /** The carrier's id for the number, once known. */
  twilio_sid: string | null;
  /** The D1 row to write, as JSON (NewPhoneNumber). */
  record: string;
  /** The workspace's purchased-number limit when the purchase was asked for. */
  purchased_limit: number;
  /** The workspace's limit of numbers of every source when the purchase was asked for. */
  total_limit: number;
  started_at: number;
  attempts: number;
  next_attempt_at: number;
  /**
   * For `buying`: from this time on, a lookup that does not find the number proves it was not
   * bought. Before it, a purchase request without a reply may still be running at the carrier.
   */
  settle_at: number;
};

export type NewLedgerRow = Omit<LedgerRow, "attempts" | "settle_at">;

export type LedgerChanges = Partial<
  Pick<LedgerRow, "state" | "twilio_sid" | "record" | "attempts" | "next_attempt_at" | "settle_at">
>;

/** A request's Idempotency-Key and a hash of what it asked for. */
export type Idempotency = { key: string; requestHash: string };

export type IdempotencyRecord = {
  key: string;
  request_hash: string;
  /** The ledger row (and phone number id) the key's request works on. */
  number_id: string | null;
  /** The stored answer, once the request finished: 201 with the number, or 204. */
  status: 201 | 204 | null;
  body: string | null;
  created_at: number;
};

export function recordOf(row: LedgerRow): NewPhoneNumber {
  return JSON.parse(row.record) as NewPhoneNumber;
}
