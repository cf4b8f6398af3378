import type { NewPhoneNumber, PhoneNumberRow } from "../db/phone-numbers";
import type { IdempotencyRecord, LedgerChanges, LedgerRow, NewLedgerRow } from "./ledger";

// The saga's view of the world. The Durable Object plugs in Twilio, D1 and its own SQLite
// storage; the unit tests plug in memory.

/** Why a carrier call did not do what was asked, in the terms that decide what happens next. */
export type CarrierFailureKind =
  /** The call may or may not have taken effect (no reply, a 5xx, a reply we could not read). */
  | "unknown_outcome"
  /** The carrier refused this number (no longer for sale, invalid): nothing was done. */
  | "number_refused"
  /** The carrier refused the platform (credentials, throttling, account limits): nothing done. */
  | "platform_refused";

export class CarrierFailure extends Error {
  constructor(
    readonly kind: CarrierFailureKind,
    message: string,
    readonly details: {
      /** Whether the carrier answered at all (a 5xx did; a timeout did not). */
      replied: boolean;
      retryAfterSeconds?: number;
    },
  ) {
    super(message);
    this.name = "CarrierFailure";
  }
}

/** The carrier that sells numbers to the platform (Twilio's master account). */
export interface Carrier {
  /** Buys the number; throws CarrierFailure. */
  buy(order: { e164: string; label: string | null }): Promise<{ sid: string }>;
  /** The number as the platform's account holds it now, or null; throws CarrierFailure. */
  findOwned(e164: string): Promise<{ sid: string } | null>;
  /** Releases the number; a number the carrier no longer has counts as released. */
  release(sid: string): Promise<void>;
}

export type ClaimResult = "claimed" | "number_taken" | { over: "purchased" | "total" };

/** The shared records in D1: what every workspace holds, unique per number. */
export interface Records {
  /** Writes the number as being bought, if the caps allow; idempotent on the id. */
  claim(record: NewPhoneNumber, limits: { purchased: number; total: number }): Promise<ClaimResult>;
  /** The bought number becomes visible, with the carrier's SID. Idempotent. */
  activate(id: string, carrierSid: string | null, at: string): Promise<void>;
  /** Removes the claim of a purchase that did not happen. Idempotent. */
  undoClaim(id: string): Promise<void>;
  /** Records the number as released. Idempotent. */
  markReleased(workspaceId: string, id: string, at: string): Promise<void>;
  findActive(workspaceId: string, id: string): Promise<PhoneNumberRow | null>;
}

/**
 * The workspace's own ledger, in the Durable Object's storage: synchronous, so that a check
 * and the write it allows happen in one transaction with nothing in between.
 */
export interface Ledger {
  transaction<T>(work: () => T): T;
  /** What the workspace holds or is acquiring, counted for the caps. */
  holdings(e164: string): { total: number; purchased: number; sameNumber: number };
  insert(row: NewLedgerRow): void;
  get(id: string): LedgerRow | null;
  update(id: string, changes: LedgerChanges): void;
  delete(id: string): void;
  /** Unfinished rows whose next attempt is due, oldest first. */
  due(now: number): LedgerRow[];
  /** The earliest next attempt of any unfinished row, or null when none is left. */
  nextAttemptAt(): number | null;

  findKey(key: string, notBefore: number): IdempotencyRecord | null;
  /** Binds the key to the number's operation (replacing an expired or abandoned use of it). */
  bindKey(key: string, requestHash: string, numberId: string, now: number): void;
  /** Stores the answer of every unfinished request bound to the number. */
  finishKeys(numberId: string, status: 201 | 204, body: unknown): void;
  /** Frees the keys of the number's unfinished requests, so that they can be retried. */
  deleteUnfinishedKeys(numberId: string): void;
  deleteKey(key: string): void;
  deleteKeysBefore(time: number): void;

  rememberSearch(e164s: string[], expiresAt: number, now: number): void;
  wasSearched(e164: string, now: number): boolean;
}

export interface Clock {
  now(): number;
}

/** Wakes the saga (the Durable Object's alarm) by the given time at the latest. */
export interface Scheduler {
  wakeBy(time: number): Promise<void>;
}

export type SagaPorts = {
  /** The carrier, logging its calls with these fields (request id, workspace, number). */
  carrier: (logContext: Record<string, unknown>) => Carrier;
  records: Records;
  ledger: Ledger;
  clock: Clock;
  scheduler: Scheduler;
  log: SagaLog;
};

export type SagaLog = {
  info(event: string, fields: Record<string, unknown>): void;
  warn(event: string, fields: Record<string, unknown>): void;
  error(event: string, fields: Record<string, unknown>): void;
};
