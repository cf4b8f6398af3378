import type { NewPhoneNumber } from "../db/phone-numbers";
import type { PhoneNumberSource } from "../schemas/phone-numbers";

/**
 * The states of a ledger row: the workspace's own account of a number it holds or is acquiring.
 * Every state but `active` and `needs_operator` is unfinished work, which the alarm drives
 * forward if the request that started it could not:
 * - reserved: a cap slot is held; the carrier has not been asked (the D1 claim may exist).
 * - buying: the purchase was sent to the carrier; its outcome may be unknown.
 * - bought: the carrier holds the number for us (its SID is known); D1 does not show it yet.
 * - active: held and shown.
 * - updating: held and shown; a change recorded in D1 is still to reach the carrier.
 * - releasing: the release was decided; the carrier or D1 have not both confirmed it.
 * - needs_operator: the carrier refused for good (a release, or the undoing of a purchase);
 *   the number stays held and counted, flagged in D1 for reconcile, until an operator acts.
 */
export type LedgerState =
  /** An import under way (see NumberImports): its progress is in `import_progress`. */
  | "importing"
  /** An import being undone (refused, failed, or abandoned): the alarm finishes it. */
  | "import_undoing"
  | "reserved"
  | "buying"
  | "bought"
  | "active"
  | "updating"
  | "releasing"
  | "needs_operator";

/** States the alarm does not drive: settled, or waiting for a person. */
export const RESTING_STATES: readonly LedgerState[] = ["active", "needs_operator"];

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
  /** The LiveKit agent name calls to the number should reach; null when unbound. */
  agent_name: string | null;
  /** LiveKit's inbound trunk that accepts calls to this number (one per number). */
  inbound_trunk_id: string | null;
  /** LiveKit's dispatch rule that sends the number's calls to its agent. */
  dispatch_rule_id: string | null;
  /** 1 once the number is a caller id of its workspace's LiveKit outbound trunk. */
  outbound_added: number;
  /**
   * Wiring passes begun: after the first, a create whose reply may have been lost is looked up
   * before it is sent again (LiveKit has no idempotency key).
   */
  wiring_attempts: number;
  /** 1 while a label recorded in D1 is still to reach the carrier. */
  label_dirty: number;
  /** 1 while an agent recorded in D1 is still to reach LiveKit's dispatch rules. */
  route_dirty: number;
  started_at: number;
  attempts: number;
  next_attempt_at: number;
  /**
   * For `buying`: from this time on, a lookup that does not find the number proves it was not
   * bought. Before it, a purchase request without a reply may still be running at the carrier.
   */
  settle_at: number;
};

export type NewLedgerRow = Omit<
  LedgerRow,
  | "attempts"
  | "settle_at"
  | "inbound_trunk_id"
  | "dispatch_rule_id"
  | "outbound_added"
  | "wiring_attempts"
  | "label_dirty"
  | "route_dirty"
> &
  Partial<Pick<LedgerRow, "inbound_trunk_id" | "dispatch_rule_id" | "outbound_added">>;

export type LedgerChanges = Partial<
  Pick<
    LedgerRow,
    | "state"
    | "source"
    | "twilio_sid"
    | "record"
    | "attempts"
    | "next_attempt_at"
    | "settle_at"
    | "agent_name"
    | "inbound_trunk_id"
    | "dispatch_rule_id"
    | "outbound_added"
    | "wiring_attempts"
    | "label_dirty"
    | "route_dirty"
  >
>;

/** The workspace's shared outbound trunk, as this workspace's object knows it. */
export type PlatformTrunk = {
  /** Our id (trunk_<ULID>), recorded in D1 and shown as the numbers' trunk_id. */
  trunk_id: string;
  /** LiveKit's outbound trunk (ST_...), once created. */
  livekit_trunk_id: string | null;
  /** Creations begun: after the first, LiveKit is looked up before creating again. */
  attempts: number;
};

/** A request's Idempotency-Key and a hash of what it asked for. */
export type Idempotency = { key: string; requestHash: string };

/** The operations that take an Idempotency-Key. */
export type KeyedOperation = "purchase" | "update" | "release";

/** The kind of a stored answer: the number purchased (or imported), updated, or released. */
export type StoredAnswer = "purchased" | "updated" | "released";

export type IdempotencyRecord = {
  key: string;
  request_hash: string;
  /** The ledger row (and phone number id) the key's request works on. */
  number_id: string | null;
  operation: KeyedOperation | null;
  /** The stored answer, once the request finished (with the number in `body`, but for a release). */
  answer: StoredAnswer | null;
  body: string | null;
  created_at: number;
};

export function recordOf(row: LedgerRow): NewPhoneNumber {
  return JSON.parse(row.record) as NewPhoneNumber;
}
