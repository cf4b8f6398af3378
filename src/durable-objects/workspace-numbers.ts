import { DurableObject } from "cloudflare:workers";
import { purchaseDeadlineMs, TOTAL_NUMBER_LIMIT, twilioConfig } from "../config";
import {
  abandonClaim,
  activatePhoneNumber,
  claimPhoneNumber,
  findActivePhoneNumber,
  markPhoneNumberReleased,
  type NewPhoneNumber,
  toPhoneNumber,
} from "../db/phone-numbers";
import { ApiError, agentNotFound, type Failure, phoneNumberNotFound } from "../errors";
import { newId } from "../ids";
import { type LogFields, log } from "../log";
import type { PhoneNumber } from "../schemas/phone-numbers";
import { TwilioClient } from "../twilio/client";
import { TwilioError, toApiError } from "../twilio/errors";
import { nextAttemptDelayMs } from "./backoff";
import {
  type IdempotencyRow,
  LEDGER_SCHEMA,
  type LedgerRow,
  type LedgerState,
  recordOf,
} from "./ledger";

export type Idempotency = { key: string; requestHash: string };

export type PurchaseInput = {
  workspaceId: string;
  e164: string;
  label: string | null;
  agentId: string | null;
  /** Whether agentId names an agent of this workspace (looked up by the caller). */
  agentFound: boolean;
  trunkId: string | null;
  purchasedNumberLimit: number;
  idempotency: Idempotency | null;
  requestId: string;
};

export type PurchaseOutcome =
  | { ok: true; status: 201; number: PhoneNumber; replayed: boolean }
  | Failure;

export type ReleaseInput = {
  workspaceId: string;
  id: string;
  idempotency: Idempotency | null;
  requestId: string;
};

export type ReleaseOutcome = { ok: true; status: 204; replayed: boolean } | Failure;

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const RETRY_AFTER_SECONDS = 5;

const retryLater = (message: string) =>
  new ApiError(503, "service_unavailable", message, {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  }).toFailure();

const capReached = (cap: "purchased" | "total" | "either", purchasedNumberLimit: number) => {
  const purchased = `its purchased-number limit of ${purchasedNumberLimit}`;
  const total = `its limit of ${TOTAL_NUMBER_LIMIT} phone numbers of any source`;
  const which =
    cap === "purchased" ? purchased : cap === "total" ? total : `${purchased} or ${total}`;
  return new ApiError(
    422,
    "conflict",
    `This workspace has reached ${which}; release a number first.`,
  ).toFailure();
};

const unconfirmed = () =>
  retryLater(
    "The purchase is not confirmed yet; retry with the same Idempotency-Key to learn its outcome.",
  );

const stillRunning = () =>
  new ApiError(
    409,
    "conflict",
    "A request with this Idempotency-Key is still running; retry shortly.",
    { retryAfterSeconds: 1 },
  ).toFailure();

/**
 * One per workspace: serializes the workspace's purchases and releases, holds its caps, the
 * numbers its searches returned, its idempotency keys, and the ledger of every purchase or
 * release still under way, which its alarm finishes if the request that started it could not.
 */
export class WorkspaceNumbers extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  /** Ledger rows that a live request (or the alarm) is driving right now. */
  readonly #inFlight = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(LEDGER_SCHEMA);
  }

  /**
   * Reconciliation found that Twilio no longer holds this number: stop counting it and record
   * it as released. Numbers with work under way are left to that work.
   */
  async forgetLostNumber(workspaceId: string, id: string): Promise<boolean> {
    const row = this.#ledgerRow(id);
    if (row && (row.state !== "active" || this.#inFlight.has(id))) return false;
    await markPhoneNumberReleased(this.env.DB, workspaceId, id, new Date().toISOString());
    if (row) this.#sql.exec("DELETE FROM ledger WHERE id = ?", id);
    log.warn("lost_number_marked_released", { workspace_id: workspaceId, number_id: id });
    return true;
  }

  /** Remembers the numbers a search returned; only these may be bought, until they expire. */
  rememberSearch(e164s: string[], ttlMs: number): void {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM recent_searches WHERE expires_at <= ?", now);
      for (const e164 of e164s) {
        this.#sql.exec(
          `INSERT INTO recent_searches (e164, expires_at) VALUES (?, ?)
           ON CONFLICT (e164) DO UPDATE SET expires_at = excluded.expires_at`,
          e164,
          now + ttlMs,
        );
      }
    });
  }

  async purchase(input: PurchaseInput): Promise<PurchaseOutcome> {
    const now = Date.now();
    const repeated = await this.#repeated(input);
    if (repeated) return repeated as PurchaseOutcome;

    // The documented order of checks: recent search, agent, caps, then Twilio.
    if (!this.#wasRecentlySearched(input.e164, now)) {
      return new ApiError(
        400,
        "bad_request",
        "e164 was not returned by a recent search in this workspace; search first.",
        { fields: { e164: "not returned by a recent search" } },
      ).toFailure();
    }
    if (input.agentId && !input.agentFound) return agentNotFound().toFailure();
    // Purchasing not configured is refused by the route, before this object is called.

    const id = newId("phone");
    const at = new Date(now).toISOString();
    const record: NewPhoneNumber = {
      id,
      workspace_id: input.workspaceId,
      e164: input.e164,
      source: "twilio_purchased",
      capabilities: ["inbound", "outbound"],
      label: input.label,
      trunk_id: input.trunkId,
      agent_id: input.agentId,
      livekit_phone_number_id: null,
      twilio_sid: null,
      created_at: at,
      updated_at: at,
    };

    // The reservation: cap check and durable pending row in one synchronous transaction, so
    // purchases in flight count against the caps and survive a crash of this object.
    const refusal = this.ctx.storage.transactionSync((): Failure | null => {
      const held = this.#sql
        .exec<{ total: number; purchased: number; same_number: number }>(
          `SELECT COUNT(*) AS total,
                  COALESCE(SUM(source = 'twilio_purchased'), 0) AS purchased,
                  COALESCE(SUM(e164 = ?), 0) AS same_number
             FROM ledger`,
          input.e164,
        )
        .one();
      if (held.same_number > 0) {
        return new ApiError(
          422,
          "conflict",
          "This workspace already holds or is buying this number.",
        ).toFailure();
      }
      if (held.purchased >= input.purchasedNumberLimit) {
        return capReached("purchased", input.purchasedNumberLimit);
      }
      if (held.total >= TOTAL_NUMBER_LIMIT) return capReached("total", input.purchasedNumberLimit);
      this.#sql.exec(
        `INSERT INTO ledger (id, e164, source, state, record, idempotency_key, started_at,
           next_attempt_at)
         VALUES (?, ?, 'twilio_purchased', 'reserved', ?, ?, ?, ?)`,
        id,
        input.e164,
        JSON.stringify(record),
        input.idempotency?.key ?? null,
        now,
        now + this.#graceMs(),
      );
      if (input.idempotency) this.#rememberKey(input.idempotency, id, now);
      return null;
    });
    if (refusal) return refusal;

    await this.#armAlarm();
    return this.#drive(
      id,
      "request",
      input.requestId,
      input.purchasedNumberLimit,
    ) as Promise<PurchaseOutcome>;
  }

  async release(input: ReleaseInput): Promise<ReleaseOutcome> {
    const now = Date.now();
    const repeated = await this.#repeated(input);
    if (repeated) return repeated as ReleaseOutcome;

    let row = this.#ledgerRow(input.id);
    if (!row) {
      // A number this ledger never saw (created before it, or by another path): learn it.
      const stored = await findActivePhoneNumber(this.env.DB, input.workspaceId, input.id);
      if (!stored) return phoneNumberNotFound().toFailure();
      const { status: _status, released_at: _releasedAt, ...fields } = stored;
      const record: NewPhoneNumber = {
        ...fields,
        capabilities: JSON.parse(stored.capabilities) as NewPhoneNumber["capabilities"],
      };
      this.#sql.exec(
        `INSERT INTO ledger (id, e164, source, state, twilio_sid, record, started_at)
         VALUES (?, ?, ?, 'active', ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        stored.id,
        stored.e164,
        stored.source,
        stored.twilio_sid,
        JSON.stringify(record),
        now,
      );
      row = this.#ledgerRow(input.id);
      if (!row) return phoneNumberNotFound().toFailure();
    }
    if (row.state !== "active" && row.state !== "releasing") {
      return phoneNumberNotFound().toFailure();
    }
    if (this.#inFlight.has(row.id)) return stillRunning();

    const id = row.id;
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(
        `UPDATE ledger SET state = 'releasing', idempotency_key = COALESCE(?, idempotency_key),
           next_attempt_at = ? WHERE id = ?`,
        input.idempotency?.key ?? null,
        now + this.#graceMs(),
        id,
      );
      if (input.idempotency) this.#rememberKey(input.idempotency, id, now);
    });
    await this.#armAlarm();
    return this.#drive(id, "request", input.requestId) as Promise<ReleaseOutcome>;
  }

  /** Finishes whatever requests left unfinished, then re-arms only while work remains. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const due = this.#sql
      .exec<LedgerRow>(
        "SELECT * FROM ledger WHERE state != 'active' AND next_attempt_at <= ? ORDER BY next_attempt_at",
        now,
      )
      .toArray();
    for (const row of due) {
      if (this.#inFlight.has(row.id)) {
        // A live request is on it; look again once it has had time to finish.
        this.#sql.exec(
          "UPDATE ledger SET next_attempt_at = ? WHERE id = ?",
          now + this.#graceMs(),
          row.id,
        );
        continue;
      }
      try {
        await this.#drive(row.id, "alarm", null);
      } catch (error) {
        log.error("ledger_alarm_failed", { number_id: row.id, error: String(error) });
        this.#scheduleRetry(row.id);
      }
    }
    await this.#armAlarm();
  }

  /**
   * Moves one ledger row forward as far as it can go now, and returns what the client of the
   * request that owns it should hear. Every step is idempotent, so a request, a retry with the
   * same key and the alarm may each pick the row up where the last one left it.
   */
  async #drive(
    id: string,
    by: "request" | "alarm",
    requestId: string | null,
    purchasedNumberLimit?: number,
  ): Promise<PurchaseOutcome | ReleaseOutcome> {
    this.#inFlight.add(id);
    try {
      for (;;) {
        const row = this.#ledgerRow(id);
        if (!row) return phoneNumberNotFound().toFailure();
        const step = await this.#step(row, by, requestId, purchasedNumberLimit);
        if (step !== "continue") return step;
      }
    } finally {
      this.#inFlight.delete(id);
      await this.#armAlarm();
    }
  }

  async #step(
    row: LedgerRow,
    by: "request" | "alarm",
    requestId: string | null,
    purchasedNumberLimit: number | undefined,
  ): Promise<PurchaseOutcome | ReleaseOutcome | "continue"> {
    const record = recordOf(row);
    const fields = {
      request_id: requestId,
      by,
      workspace_id: record.workspace_id,
      number_id: row.id,
      e164: row.e164,
    };
    switch (row.state) {
      case "reserved": {
        if (by === "alarm") {
          // The request that reserved this slot died before Twilio was asked.
          await abandonClaim(this.env.DB, row.id);
          this.#forget(row);
          log.info("purchase_abandoned", fields);
          return retryLater("The purchase was interrupted; nothing was bought.");
        }
        let claim: Awaited<ReturnType<typeof claimPhoneNumber>>;
        try {
          claim = await claimPhoneNumber(this.env.DB, record, {
            purchased: purchasedNumberLimit ?? Number.MAX_SAFE_INTEGER,
            total: TOTAL_NUMBER_LIMIT,
          });
        } catch (error) {
          log.warn("purchase_claim_failed", { ...fields, error: String(error) });
          return this.#abandon(
            row,
            retryLater("The purchase could not be recorded; nothing was bought. Retry later."),
          );
        }
        if (claim === "over_cap") {
          // D1 counts numbers this ledger never saw (created by another path).
          return this.#abandon(row, capReached("either", purchasedNumberLimit ?? 0));
        }
        if (claim === "number_taken") {
          return this.#abandon(
            row,
            new ApiError(
              400,
              "bad_request",
              "This number is no longer available; search again and pick another.",
            ).toFailure(),
          );
        }
        // From here on the purchase may happen at Twilio: it is never sent twice, and an
        // unknown outcome is settled by asking Twilio what the account holds.
        this.#sql.exec(
          "UPDATE ledger SET state = 'buying', settle_at = ? WHERE id = ?",
          Date.now() + this.#settleMs(),
          row.id,
        );
        try {
          const bought = await this.#twilio(fields).purchase({
            e164: row.e164,
            friendlyName: record.label,
            trunkSid: twilioConfig(this.env).trunkSid ?? "",
          });
          this.#setState(row.id, "bought", bought.sid);
          log.info("number_purchased", { ...fields, twilio_sid: bought.sid });
          return "continue";
        } catch (error) {
          if (error instanceof TwilioError && error.kind === "unknown") {
            // Twilio replied (a 5xx): it has finished with the request, so a lookup is
            // conclusive now. Without a reply, only after the settle time.
            if (error.httpStatus !== null) {
              this.#sql.exec("UPDATE ledger SET settle_at = ? WHERE id = ?", Date.now(), row.id);
            }
            return "continue";
          }
          return this.#twilioFailure(row, error);
        }
      }

      case "buying": {
        if (Date.now() - row.started_at > purchaseDeadlineMs(this.env)) {
          return this.#giveUp(row);
        }
        let owned: Awaited<ReturnType<TwilioClient["findOwned"]>>;
        try {
          owned = await this.#twilio(fields).findOwned(row.e164);
        } catch (error) {
          this.#scheduleRetry(row.id);
          log.warn("purchase_outcome_unknown", { ...fields, error: String(error) });
          return unconfirmed();
        }
        if (owned) {
          this.#setState(row.id, "bought", owned.sid);
          log.info("number_purchased", { ...fields, twilio_sid: owned.sid, settled_by: "lookup" });
          return "continue";
        }
        if (Date.now() < row.settle_at) {
          // Not there yet, but the purchase may still be under way at Twilio: look again later.
          this.#sql.exec(
            "UPDATE ledger SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
            row.settle_at,
            row.id,
          );
          log.warn("purchase_outcome_unknown", { ...fields, settle_at: row.settle_at });
          return unconfirmed();
        }
        log.info("purchase_not_made", fields);
        return this.#abandon(
          row,
          retryLater("Twilio did not complete the purchase; nothing was bought. Retry later."),
        );
      }

      case "bought": {
        if (Date.now() - row.started_at > purchaseDeadlineMs(this.env)) {
          return this.#giveUp(row);
        }
        const at = new Date().toISOString();
        try {
          await activatePhoneNumber(this.env.DB, row.id, row.twilio_sid, at);
        } catch (error) {
          this.#scheduleRetry(row.id);
          log.warn("purchase_record_failed", { ...fields, error: String(error) });
          return retryLater(
            "The number was bought but is not recorded yet; retry with the same Idempotency-Key.",
          );
        }
        const number = toPhoneNumber({ ...record, twilio_sid: row.twilio_sid, updated_at: at });
        this.ctx.storage.transactionSync(() => {
          this.#sql.exec(
            "UPDATE ledger SET state = 'active', record = ? WHERE id = ?",
            JSON.stringify({ ...record, twilio_sid: row.twilio_sid, updated_at: at }),
            row.id,
          );
          if (row.idempotency_key) this.#finishKey(row.idempotency_key, 201, number);
        });
        return { ok: true, status: 201, number, replayed: false };
      }

      case "releasing": {
        if (row.source === "twilio_purchased" && row.twilio_sid) {
          try {
            await this.#twilio(fields).release(row.twilio_sid);
          } catch (error) {
            this.#scheduleRetry(row.id);
            return this.#twilioFailure(row, error, { keep: true });
          }
        }
        try {
          await markPhoneNumberReleased(
            this.env.DB,
            record.workspace_id,
            row.id,
            new Date().toISOString(),
          );
        } catch (error) {
          this.#scheduleRetry(row.id);
          log.warn("release_record_failed", { ...fields, error: String(error) });
          return retryLater("The number was released but is not recorded yet; retry shortly.");
        }
        this.ctx.storage.transactionSync(() => {
          this.#sql.exec("DELETE FROM ledger WHERE id = ?", row.id);
          if (row.idempotency_key) this.#finishKey(row.idempotency_key, 204, null);
        });
        log.info("number_released", { ...fields, twilio_sid: row.twilio_sid });
        return { ok: true, status: 204, replayed: false };
      }

      case "active":
        return {
          ok: true,
          status: 201,
          number: toPhoneNumber({ ...record, twilio_sid: row.twilio_sid }),
          replayed: false,
        };
    }
  }

  /**
   * Past the deadline a purchase that could not be recorded is undone: the number is released
   * at Twilio, so the platform does not pay for a number no workspace can see.
   */
  async #giveUp(row: LedgerRow): Promise<Failure> {
    const record = recordOf(row);
    const fields = { workspace_id: record.workspace_id, number_id: row.id, e164: row.e164 };
    try {
      const twilio = this.#twilio();
      const sid = row.twilio_sid ?? (await twilio.findOwned(row.e164))?.sid ?? null;
      if (sid) await twilio.release(sid);
      await abandonClaim(this.env.DB, row.id);
    } catch (error) {
      this.#scheduleRetry(row.id);
      log.error("purchase_give_up_failed", { ...fields, error: String(error) });
      return retryLater("The purchase could not be completed; retry later.");
    }
    this.#forget(row);
    log.error("purchase_given_up", { ...fields, twilio_sid: row.twilio_sid });
    return retryLater("The purchase could not be completed and was undone.");
  }

  /** A Twilio call ended without the outcome we wanted; nothing was bought or released. */
  async #twilioFailure(
    row: LedgerRow,
    error: unknown,
    options: { keep?: boolean } = {},
  ): Promise<Failure> {
    if (!(error instanceof TwilioError)) throw error;
    const failure = toApiError(error).toFailure();
    if (options.keep) return failure;
    return this.#abandon(row, failure);
  }

  /** The purchase did not happen: free the slot, the D1 claim and the idempotency key. */
  async #abandon(row: LedgerRow, failure: Failure): Promise<Failure> {
    try {
      await abandonClaim(this.env.DB, row.id);
    } catch (error) {
      // The claim stays; the alarm removes it (a reserved row is never bought by the alarm).
      this.#setState(row.id, "reserved");
      this.#scheduleRetry(row.id);
      log.warn("purchase_abandon_failed", { number_id: row.id, error: String(error) });
      return failure;
    }
    this.#forget(row);
    return failure;
  }

  #forget(row: LedgerRow) {
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM ledger WHERE id = ?", row.id);
      if (row.idempotency_key) {
        this.#sql.exec("DELETE FROM idempotency_keys WHERE key = ?", row.idempotency_key);
      }
    });
  }

  /** For a request with an Idempotency-Key already seen: its answer; otherwise null. */
  async #repeated(input: {
    idempotency: Idempotency | null;
    requestId: string;
  }): Promise<PurchaseOutcome | ReleaseOutcome | null> {
    const prior = input.idempotency && this.#idempotencyRow(input.idempotency.key);
    if (!prior || !input.idempotency) return null;
    return this.#resume(prior, input.idempotency.requestHash, input.requestId);
  }

  /**
   * The answer to a request that repeats an Idempotency-Key: the stored response, a conflict,
   * or the resumed work of the first request. Null when the key's work left nothing behind.
   */
  async #resume(
    prior: IdempotencyRow,
    requestHash: string,
    requestId: string,
  ): Promise<PurchaseOutcome | ReleaseOutcome | null> {
    if (prior.request_hash !== requestHash) {
      return new ApiError(
        409,
        "conflict",
        "This Idempotency-Key was already used with a different request.",
      ).toFailure();
    }
    if (prior.status === 201 && prior.body) {
      return {
        ok: true,
        status: 201,
        number: JSON.parse(prior.body) as PhoneNumber,
        replayed: true,
      };
    }
    if (prior.status === 204) return { ok: true, status: 204, replayed: true };
    if (prior.number_id && this.#inFlight.has(prior.number_id)) return stillRunning();
    const row = prior.number_id ? this.#ledgerRow(prior.number_id) : null;
    if (!row) {
      this.#sql.exec("DELETE FROM idempotency_keys WHERE key = ?", prior.key);
      return null;
    }
    return this.#drive(row.id, "request", requestId);
  }

  #twilio(logContext: LogFields = {}): TwilioClient {
    return TwilioClient.fromConfig(twilioConfig(this.env), logContext);
  }

  #wasRecentlySearched(e164: string, now: number): boolean {
    return (
      this.#sql
        .exec("SELECT 1 FROM recent_searches WHERE e164 = ? AND expires_at > ?", e164, now)
        .toArray().length > 0
    );
  }

  #ledgerRow(id: string): LedgerRow | null {
    return this.#sql.exec<LedgerRow>("SELECT * FROM ledger WHERE id = ?", id).toArray()[0] ?? null;
  }

  #idempotencyRow(key: string): IdempotencyRow | null {
    return (
      this.#sql
        .exec<IdempotencyRow>(
          "SELECT * FROM idempotency_keys WHERE key = ? AND created_at > ?",
          key,
          Date.now() - IDEMPOTENCY_TTL_MS,
        )
        .toArray()[0] ?? null
    );
  }

  #rememberKey(idempotency: Idempotency, numberId: string, now: number) {
    this.#sql.exec(
      "DELETE FROM idempotency_keys WHERE created_at <= ? AND status IS NOT NULL",
      now - IDEMPOTENCY_TTL_MS,
    );
    this.#sql.exec(
      `INSERT INTO idempotency_keys (key, request_hash, number_id, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash,
         number_id = excluded.number_id, status = NULL, body = NULL, created_at = excluded.created_at`,
      idempotency.key,
      idempotency.requestHash,
      numberId,
      now,
    );
  }

  #finishKey(key: string, status: number, body: unknown) {
    this.#sql.exec(
      "UPDATE idempotency_keys SET status = ?, body = ? WHERE key = ?",
      status,
      body === null ? null : JSON.stringify(body),
      key,
    );
  }

  #setState(id: string, state: LedgerState, twilioSid?: string) {
    this.#sql.exec(
      "UPDATE ledger SET state = ?, twilio_sid = COALESCE(?, twilio_sid) WHERE id = ?",
      state,
      twilioSid ?? null,
      id,
    );
  }

  #scheduleRetry(id: string) {
    const row = this.#ledgerRow(id);
    if (!row) return;
    this.#sql.exec(
      "UPDATE ledger SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
      Date.now() + nextAttemptDelayMs(row.attempts),
      id,
    );
  }

  /** How long a purchase sent without a reply may still complete at Twilio. */
  #settleMs(): number {
    return 2 * twilioConfig(this.env).timeoutMs;
  }

  /** How long a live request may take before the alarm treats its row as abandoned. */
  #graceMs(): number {
    return 3 * twilioConfig(this.env).timeoutMs + 5_000;
  }

  /**
   * Makes the alarm fire by the earliest unfinished row's next attempt. An alarm already due
   * sooner is left alone (it finds nothing, or re-arms), which saves a storage write per request.
   */
  async #armAlarm() {
    const next = this.#sql
      .exec<{ at: number | null }>(
        "SELECT MIN(next_attempt_at) AS at FROM ledger WHERE state != 'active'",
      )
      .one().at;
    if (next === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }
}
