import type { NewPhoneNumber } from "../db/phone-numbers";
import type { PhoneNumberSource } from "../schemas/phone-numbers";

/**
 * The workspace's own account of the numbers it holds or is acquiring, in the object's SQLite
 * storage. Each row moves through these states; every state but `active` is unfinished work
 * that the alarm drives forward if the request that started it could not:
 * - reserved: a cap slot is held; Twilio has not been asked (the D1 claim may exist).
 * - buying: the purchase was sent to Twilio; its outcome may be unknown.
 * - bought: Twilio holds the number for us (sid known); D1 does not show it yet.
 * - active: held and shown.
 * - releasing: the release was decided; Twilio or D1 have not both confirmed it.
 */
export type LedgerState = "reserved" | "buying" | "bought" | "active" | "releasing";

export type LedgerRow = {
  id: string;
  e164: string;
  source: PhoneNumberSource;
  state: LedgerState;
  twilio_sid: string | null;
  /** The D1 row to write, as JSON (NewPhoneNumber). */
  record: string;
  idempotency_key: string | null;
  started_at: number;
  attempts: number;
  next_attempt_at: number;
  /**
   * For `buying`: from this time on, a lookup that does not find the number proves it was not
   * bought. Before it, a purchase request without a reply may still be running at Twilio.
   */
  settle_at: number;
};

export type IdempotencyRow = {
  key: string;
  request_hash: string;
  number_id: string | null;
  status: number | null;
  body: string | null;
  created_at: number;
};

// One statement a line (this string ships in the bundle as written).
export const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger (id TEXT PRIMARY KEY, e164 TEXT NOT NULL, source TEXT NOT NULL, state TEXT NOT NULL, twilio_sid TEXT, record TEXT NOT NULL, idempotency_key TEXT, started_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0, settle_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS ledger_e164 ON ledger(e164);
CREATE INDEX IF NOT EXISTS ledger_pending ON ledger(next_attempt_at) WHERE state != 'active';
CREATE TABLE IF NOT EXISTS recent_searches (e164 TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency_keys (key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, number_id TEXT, status INTEGER, body TEXT, created_at INTEGER NOT NULL);
`;

export function recordOf(row: LedgerRow): NewPhoneNumber {
  return JSON.parse(row.record) as NewPhoneNumber;
}
