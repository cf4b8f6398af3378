import { billedToPlatform } from "../billing";
import { type NewPhoneNumber, type PhoneNumberRow, toPhoneNumber } from "../db/phone-numbers";
import { newId } from "../ids";
import { collectingUpstreamCalls, type UpstreamCall } from "../log";
import type { PhoneNumber } from "../schemas/phone-numbers";
import { fullJitterDelayMs, nextAttemptDelayMs } from "./backoff";
import { type ImportRequest, isImported, NumberImports } from "./imports";
import {
  type Idempotency,
  type KeyedOperation,
  type LedgerRow,
  type NewLedgerRow,
  recordOf,
} from "./ledger";
import type {
  AnyOutcome,
  PurchaseOutcome,
  Refusal,
  ReleaseOutcome,
  UpdateOutcome,
} from "./outcomes";
import { type FromRequest, type SagaPorts, UpstreamFailure } from "./ports";
import { NumberWiring, type WiringChanges } from "./wiring";

export type PurchaseRequest = FromRequest & {
  workspaceId: string;
  e164: string;
  label: string | null;
  agentId: string | null;
  /**
   * The LiveKit agent name of agentId, when agentId names an agent of this workspace (looked up
   * with the caller's key); null otherwise.
   */
  agentName: string | null;
  purchasedNumberLimit: number;
  idempotency: Idempotency | null;
};

export type UpdateRequest = FromRequest & {
  workspaceId: string;
  id: string;
  /** undefined: unchanged; null: cleared. */
  label?: string | null;
  /** undefined: unchanged; null: unbound. */
  agentId?: string | null;
  /** As in PurchaseRequest: agentId's LiveKit agent name, null when not the workspace's. */
  agentName: string | null;
  idempotency: Idempotency | null;
};

export type ReleaseRequest = FromRequest & {
  workspaceId: string;
  id: string;
  idempotency: Idempotency | null;
};

export type SagaSettings = {
  /** Any workspace holds at most this many numbers, of every source together. */
  totalNumberLimit: number;
  /**
   * How long a purchase without a clear answer (no reply, a 5xx) may still complete at the
   * carrier: until then the number counts against the caps and lookups are repeated.
   */
  settleMs: number;
  /** How long a live request may take before the alarm treats its row as abandoned. */
  graceMs: number;
  /** After this long an unfinished purchase is undone at the carrier. */
  deadlineMs: number;
  /** How long an Idempotency-Key and its answer are kept. */
  idempotencyTtlMs: number;
  /** Where a workspace's LiveKit outbound trunk sends calls (the master trunk's termination). */
  outboundAddress: string;
};

/**
 * Who moves a row: a request, or the alarm. A request's `upstream` collects the carrier and
 * LiveKit calls that went well, for its one log line (see logUpstreamCall).
 */
type Driver = { by: "request" | "alarm"; requestId: string | null; upstream?: UpstreamCall[] };

const byRequest = (request: FromRequest): Driver => ({
  by: "request",
  requestId: request.requestId,
  upstream: request.upstream,
});

/** What one step of a row came to: the client's answer, or "continue" to the next step. */
type Step = AnyOutcome | "continue";

/** While a purchase settles, lookups are repeated from this interval, doubling. */
const SETTLE_POLL_BASE_MS = 2_000;

const refuse = <K extends Refusal["kind"]>(
  kind: K,
  details?: Omit<Extract<Refusal, { kind: K }>, "ok" | "kind">,
): Refusal => ({ ok: false, kind, ...details }) as Refusal;

/**
 * The purchases, changes and releases of one workspace, as a saga over its ledger: every step
 * is written to the ledger before it is taken, every step is idempotent, and a step that cannot
 * complete is either compensated (nothing was bought: free the slot, the claim and the key),
 * left for the alarm (which drives each unfinished row forward with backoff until it settles),
 * or, when the carrier refuses for good where money is at stake, handed to an operator. A
 * request, a retry with the same Idempotency-Key and the alarm may each pick a row up where the
 * last one left it. An upstream's word is checked where it is not proof: a release answered
 * 404 is confirmed by a lookup, a purchase answered 5xx is looked up until it settles.
 */
export class NumberSaga {
  /** Ledger rows that a live request (or the alarm) is driving right now. */
  readonly #inFlight = new Set<string>();
  /** Changes to one number, one after another (see update). */
  readonly #changes = new Map<string, Promise<unknown>>();
  readonly #wiring: NumberWiring;
  /** Imports (POST /v1/agents/phone-numbers), where this deployment has them. */
  readonly #imports: NumberImports | null;

  constructor(
    private readonly ports: SagaPorts,
    private readonly settings: SagaSettings,
  ) {
    this.#wiring = new NumberWiring(ports, settings.outboundAddress);
    this.#imports = ports.imports
      ? new NumberImports(ports, ports.imports, this.#wiring, {
          retryLater: (id) => this.#retryLater(id),
          close: (row) => this.#closePurchase(row),
          handToOperator: (row, fields, reason) => this.#flagForOperator(row, fields, reason),
        })
      : null;
  }

  /** Remembers the numbers a search returned; only these may be bought, until they expire. */
  rememberSearch(e164s: string[], ttlMs: number): void {
    const now = this.ports.clock.now();
    this.ports.ledger.rememberSearch(e164s, now + ttlMs, now);
  }

  /**
   * Buys a number. The order of checks: a repeated Idempotency-Key, the recent search, the
   * agent, the caps in this workspace (counting purchases in flight), then the steps: the D1
   * claim (the caps again, across every path, and the number's uniqueness across workspaces),
   * the carrier, the D1 activation.
   */
  async purchase(request: PurchaseRequest): Promise<PurchaseOutcome> {
    const { ledger, clock } = this.ports;
    const now = clock.now();
    const repeated = await this.#repeated(request.idempotency, request);
    if (repeated) return repeated as PurchaseOutcome;

    if (!ledger.wasSearched(request.e164, now)) return refuse("not_searched");
    if (request.agentId && !request.agentName) return refuse("agent_unknown");

    const id = newId("phone");
    const at = new Date(now).toISOString();
    const record: NewPhoneNumber = {
      id,
      workspace_id: request.workspaceId,
      e164: request.e164,
      source: "twilio_purchased",
      capabilities: ["inbound", "outbound"],
      label: request.label,
      // The workspace's shared outbound trunk, once the number is on it (see NumberWiring).
      trunk_id: null,
      agent_id: request.agentId,
      livekit_phone_number_id: null,
      twilio_sid: null,
      created_at: at,
      updated_at: at,
    };
    const limits = {
      purchased: request.purchasedNumberLimit,
      total: this.settings.totalNumberLimit,
    };

    const refusal = this.#reserve(
      {
        id,
        e164: request.e164,
        source: "twilio_purchased",
        state: "reserved",
        twilio_sid: null,
        record: JSON.stringify(record),
        purchased_limit: limits.purchased,
        total_limit: limits.total,
        agent_name: request.agentId ? request.agentName : null,
        started_at: now,
        next_attempt_at: now + this.settings.graceMs,
      },
      { held: "already_held", cap: "cap_reached" },
      () => {
        if (request.idempotency) this.#bindKey(request.idempotency, id, "purchase", now);
      },
    );
    if (refusal) return refusal;

    return this.#wakeThenDrive(id, now, byRequest(request)) as Promise<PurchaseOutcome>;
  }

  /**
   * Imports a number (see NumberImports). The order of checks: a repeated Idempotency-Key, the
   * agent, a re-import of a number held here from the same Twilio account (which refreshes its
   * stored token), the number held here, the caps (counting imports in flight); then the steps:
   * the D1 claim (the caps again, and the number held by any workspace), the upstreams, D1.
   */
  async importNumber(
    request: ImportRequest,
    idempotency: Idempotency | null,
  ): Promise<PurchaseOutcome> {
    const { ledger, clock } = this.ports;
    const imports = this.#imports;
    if (!imports) throw new Error("imports are not configured on this deployment");
    const now = clock.now();
    const repeated = await this.#repeated(idempotency, request);
    if (repeated) return repeated as PurchaseOutcome;
    if (request.agentId && !request.agentName) return refuse("agent_unknown");

    const id = newId("phone");
    const fields = {
      request_id: request.requestId,
      by: "request",
      workspace_id: request.workspaceId,
      number_id: id,
      e164: request.e164,
      ...collectingUpstreamCalls(request.upstream),
    };
    const held = ledger.holdings(request.e164);
    if (held.sameNumber > 0) {
      const existing = this.ports.imports?.ledger.rowByNumber(request.e164) ?? null;
      if (
        existing?.state === "active" &&
        imports.hasProgress(existing) &&
        (existing.source === "twilio" || existing.source === "verified_caller_id") &&
        request.source === "twilio"
      ) {
        const refused = await imports.refresh(request, existing, {
          ...fields,
          number_id: existing.id,
        });
        if (refused) return refused;
        if (imports.progressOf(existing).accountSid === request.twilio?.accountSid) {
          return {
            ok: true,
            kind: "purchased",
            number: toPhoneNumber(recordOf(existing)),
            replayed: false,
          };
        }
      }
      return refuse("number_held");
    }

    const at = new Date(now).toISOString();
    const record: NewPhoneNumber = {
      id,
      workspace_id: request.workspaceId,
      e164: request.e164,
      source: request.source,
      capabilities: request.source === "livekit" ? ["inbound"] : ["inbound", "outbound"],
      label: request.label,
      trunk_id: request.source === "byoc" ? request.trunkId : null,
      agent_id: request.agentId,
      livekit_phone_number_id: null,
      twilio_sid: null,
      created_at: at,
      updated_at: at,
    };
    const limits = {
      purchased: request.purchasedNumberLimit,
      total: this.settings.totalNumberLimit,
    };
    const progress = await imports.newProgress(id, request);
    const refusal = this.#reserve(
      {
        id,
        e164: request.e164,
        source: request.source,
        state: "importing",
        twilio_sid: null,
        record: JSON.stringify(record),
        purchased_limit: limits.purchased,
        total_limit: limits.total,
        agent_name: request.agentId ? request.agentName : null,
        started_at: clock.now(),
        next_attempt_at: clock.now() + this.settings.graceMs,
      },
      { held: "number_held", cap: "import_cap_reached" },
      () => {
        this.ports.imports?.ledger.saveImportProgress(id, null, JSON.stringify(progress));
        if (idempotency) this.#bindKey(idempotency, id, "purchase", clock.now());
      },
    );
    if (refusal) return refusal;
    return this.#wakeThenDrive(id, now, byRequest(request)) as Promise<PurchaseOutcome>;
  }

  /**
   * Changes a number's label or agent: recorded in D1 at once (the answer), then carried to the
   * carrier (the label is its FriendlyName) and to LiveKit (the dispatch rule) by the row's
   * `updating` step, retried by the alarm. Changes to one number run one after another, so that
   * D1, the ledger and LiveKit end in the same order.
   */
  update(request: UpdateRequest): Promise<UpdateOutcome> {
    const previous = this.#changes.get(request.id) ?? Promise.resolve();
    const next = previous.then(
      () => this.#update(request),
      () => this.#update(request),
    );
    this.#changes.set(request.id, next);
    return next.finally(() => {
      if (this.#changes.get(request.id) === next) this.#changes.delete(request.id);
    });
  }

  async #update(request: UpdateRequest): Promise<UpdateOutcome> {
    const { ledger, records, clock, log } = this.ports;
    const now = clock.now();
    const repeated = await this.#repeated(request.idempotency, request);
    if (repeated) return repeated as UpdateOutcome;

    const row = ledger.get(request.id) ?? (await this.#learn(request.workspaceId, request.id));
    if (!row || this.#beingBought(row)) return refuse("not_found");
    if (row.state !== "active" && row.state !== "updating") return refuse("key_in_progress");
    if (request.agentId && !request.agentName) return refuse("agent_unknown");
    if (request.agentId && row.source === "verified_caller_id") {
      return refuse("caller_id_not_routable");
    }

    const at = new Date(now).toISOString();
    const updated = await records.update(
      request.workspaceId,
      row.id,
      { label: request.label, agentId: request.agentId },
      at,
    );
    if (!updated) return refuse("not_found");
    const number = toPhoneNumber(updated);
    const before = recordOf(row);
    const labelChanged = request.label !== undefined && request.label !== before.label;
    const agentName = request.agentId === undefined ? row.agent_name : request.agentName;
    const routeChanged = agentName !== row.agent_name || request.agentId !== undefined;
    const carryLabel = labelChanged && row.source === "twilio_purchased" && row.twilio_sid !== null;
    // A number reaches LiveKit through its own inbound trunk, or (bought from LiveKit) as a
    // LiveKit number assigned to its rule; a caller id is never routed.
    const routable =
      row.inbound_trunk_id !== null ||
      (row.source === "livekit" && recordOf(row).livekit_phone_number_id !== null);
    const carryRoute = routeChanged && routable;
    ledger.transaction(() => {
      ledger.update(row.id, {
        record: JSON.stringify(recordFromRow(updated)),
        agent_name: agentName,
        ...(carryLabel ? { label_dirty: 1 } : {}),
        ...(carryRoute ? { route_dirty: 1 } : {}),
        ...(carryLabel || carryRoute
          ? { state: "updating", attempts: 0, next_attempt_at: now + this.settings.graceMs }
          : {}),
      });
      if (request.idempotency) {
        this.#bindKey(request.idempotency, row.id, "update", now);
        ledger.finishKeys(row.id, "update", "updated", number);
      }
    });
    if (ledger.get(row.id)?.state === "updating" && !this.#inFlight.has(row.id)) {
      try {
        await this.#wakeThenDrive(row.id, now, byRequest(request));
      } catch (error) {
        // The change is recorded; carrying it upstream is the alarm's work now.
        log.warn("update_not_carried", { number_id: row.id, error: String(error) });
      }
    }
    return { ok: true, kind: "updated", number, replayed: false };
  }

  /** Releases a number the workspace holds: at the carrier first, then in D1. */
  async release(request: ReleaseRequest): Promise<ReleaseOutcome> {
    const { ledger, clock } = this.ports;
    const now = clock.now();
    const repeated = await this.#repeated(request.idempotency, request);
    if (repeated) return repeated as ReleaseOutcome;

    const row = ledger.get(request.id) ?? (await this.#learn(request.workspaceId, request.id));
    if (!row || this.#beingBought(row)) return refuse("not_found");
    if (row.state === "needs_operator") return refuse("release_refused");
    if (this.#inFlight.has(row.id)) return refuse("key_in_progress");

    ledger.transaction(() => {
      ledger.update(row.id, {
        state: "releasing",
        attempts: 0,
        next_attempt_at: now + this.settings.graceMs,
      });
      if (request.idempotency) this.#bindKey(request.idempotency, row.id, "release", now);
    });
    return this.#wakeThenDrive(row.id, now, byRequest(request)) as Promise<ReleaseOutcome>;
  }

  /**
   * Reconciliation found that the carrier no longer holds this number: record it as released,
   * so the caps stop counting it. A number with work under way is left to that work.
   */
  async recordLostNumber(workspaceId: string, id: string): Promise<boolean> {
    const { ledger, records, clock, log } = this.ports;
    const row = ledger.get(id);
    if (row && (row.state !== "active" || this.#inFlight.has(id))) return false;
    await records.markReleased(workspaceId, id, new Date(clock.now()).toISOString());
    if (row) ledger.delete(id);
    log.warn("lost_number_marked_released", { workspace_id: workspaceId, number_id: id });
    return true;
  }

  /** The alarm's work: finishes every row that is due, then wakes again while work remains. */
  async finishDueWork(): Promise<void> {
    const { ledger, clock, scheduler, log } = this.ports;
    const now = clock.now();
    for (const row of ledger.due(now)) {
      if (this.#inFlight.has(row.id)) {
        // A live request is on it; look again once it has had time to finish.
        ledger.update(row.id, { next_attempt_at: now + this.settings.graceMs });
        continue;
      }
      try {
        await this.#drive(row.id, { by: "alarm", requestId: null });
      } catch (error) {
        log.error("ledger_alarm_failed", { number_id: row.id, error: String(error) });
        this.#retryLater(row.id);
      }
    }
    const next = ledger.nextAttemptAt();
    if (next !== null) await scheduler.wakeBy(next);
  }

  /**
   * Arms the alarm (the durable wake-up) and then drives the row. The row counts as driven from
   * before the first await: a retry with the same key arriving in between must not drive it a
   * second time (and buy twice).
   */
  async #wakeThenDrive(id: string, now: number, driver: Driver): Promise<AnyOutcome> {
    this.#inFlight.add(id);
    try {
      await this.ports.scheduler.wakeBy(now + this.settings.graceMs);
    } catch (error) {
      this.#inFlight.delete(id);
      throw error;
    }
    return this.#drive(id, driver);
  }

  /** Moves one row forward as far as it can go now; returns what its client should hear. */
  async #drive(id: string, driver: Driver): Promise<AnyOutcome> {
    this.#inFlight.add(id);
    try {
      for (;;) {
        const row = this.ports.ledger.get(id);
        if (!row) return refuse("not_found");
        const step = await this.#step(row, driver);
        if (step !== "continue") return step;
      }
    } finally {
      this.#inFlight.delete(id);
      // Read and acted on in one turn: a request that reserves a row after this check arms its
      // own wake-up after this call was made.
      const next = this.ports.ledger.nextAttemptAt();
      if (next !== null) await this.ports.scheduler.wakeBy(next);
      else await this.ports.scheduler.cancel();
    }
  }

  #step(row: LedgerRow, driver: Driver): Promise<Step> | Step {
    switch (row.state) {
      case "importing":
        return this.#import(row, driver);
      case "import_undoing":
        return this.#undoImport(row, driver);
      case "reserved":
        return driver.by === "alarm"
          ? this.#reservationAbandoned(row, driver)
          : this.#claimAndBuy(row, driver);
      case "buying":
        return this.#settlePurchase(row, driver);
      case "bought":
        return this.#activate(row, driver);
      case "updating":
        return this.#carryUpdate(row, driver);
      case "releasing":
        return this.#releaseNumber(row, driver);
      case "needs_operator":
        return refuse("release_refused");
      case "active":
        return {
          ok: true,
          kind: "purchased",
          number: toPhoneNumber({ ...recordOf(row), twilio_sid: row.twilio_sid }),
          replayed: false,
        };
    }
  }

  /**
   * An import under way: a request carries it forward; the alarm finds it abandoned (its
   * request died) and undoes it, so that nothing is left behind.
   */
  async #import(row: LedgerRow, driver: Driver): Promise<Step> {
    const imports = this.#imports;
    if (!imports) throw new Error("imports are not configured on this deployment");
    const fields = this.#fields(row, driver);
    if (driver.by === "alarm") {
      this.ports.log.info("import_abandoned", fields);
      return this.#undoImport(row, driver);
    }
    const outcome = await imports.acquire(row, fields);
    if ("ok" in outcome) return outcome;
    return { ok: true, kind: "purchased", number: outcome, replayed: false };
  }

  async #undoImport(row: LedgerRow, driver: Driver): Promise<Step> {
    const imports = this.#imports;
    if (!imports) throw new Error("imports are not configured on this deployment");
    await imports.undo(row, this.#fields(row, driver));
    return refuse("import_unavailable");
  }

  /** The request that reserved this slot died before the carrier was asked. */
  async #reservationAbandoned(row: LedgerRow, driver: Driver): Promise<Step> {
    this.ports.log.info("purchase_abandoned", this.#fields(row, driver));
    return this.#undoPurchase(row, refuse("nothing_bought", { reason: "interrupted" }));
  }

  /** reserved -> buying: the D1 claim, then the purchase at the carrier. */
  async #claimAndBuy(row: LedgerRow, driver: Driver): Promise<Step> {
    const { records, ledger, clock, log } = this.ports;
    const fields = this.#fields(row, driver);
    const record = recordOf(row);
    let claim: Awaited<ReturnType<typeof records.claim>>;
    try {
      claim = await records.claim(record, {
        purchased: row.purchased_limit,
        total: row.total_limit,
      });
    } catch (error) {
      log.warn("purchase_claim_failed", { ...fields, error: String(error) });
      return this.#undoPurchase(row, refuse("nothing_bought", { reason: "records_unavailable" }));
    }
    if (claim === "number_taken") return this.#undoPurchase(row, refuse("number_taken"));
    if (claim !== "claimed") {
      // D1 also counts numbers this ledger never saw (imported, or created before it).
      const limit = claim.over === "purchased" ? row.purchased_limit : row.total_limit;
      return this.#undoPurchase(row, refuse("cap_reached", { cap: claim.over, limit }));
    }

    // From here on the purchase may happen at the carrier: it is never sent twice, and an
    // unknown outcome is settled by asking the carrier what the account holds.
    const now = clock.now();
    ledger.update(row.id, {
      state: "buying",
      settle_at: now + this.settings.settleMs,
      next_attempt_at: now + this.settings.graceMs,
    });
    try {
      const bought = await this.ports.carrier(fields).buy({ e164: row.e164, label: record.label });
      ledger.update(row.id, { state: "bought", twilio_sid: bought.sid });
      log.info("number_purchased", { ...fields, twilio_sid: bought.sid });
      return "continue";
    } catch (error) {
      if (!(error instanceof UpstreamFailure)) throw error;
      switch (error.kind) {
        case "unknown_outcome":
          // No reply, or a 5xx that Twilio's edge may give while the purchase completes behind
          // it: only lookups, over the settle window, can tell.
          return "continue";
        case "number_refused":
          return this.#undoPurchase(row, refuse("number_unavailable"));
        case "throttled":
          return this.#undoPurchase(
            row,
            refuse("nothing_bought", {
              reason: "carrier_unavailable",
              retryAfterSeconds:
                error.details.retryAfterSeconds ?? Math.ceil(fullJitterDelayMs(2) / 1000) + 1,
            }),
          );
        case "platform_refused":
        case "not_found":
          log.error("carrier_refused_platform", {
            ...fields,
            carrier_code: error.details.code ?? null,
            error: error.message,
          });
          return this.#undoPurchase(row, refuse("purchasing_unavailable"));
      }
    }
  }

  /** buying -> bought, or undone: asks the carrier whether the account now holds the number. */
  async #settlePurchase(row: LedgerRow, driver: Driver): Promise<Step> {
    const { ledger, clock, log } = this.ports;
    const fields = this.#fields(row, driver);
    if (this.#pastDeadline(row)) return this.#undoPurchaseAtCarrier(row, driver);
    let owned: { sid: string } | null;
    try {
      owned = await this.ports.carrier(fields).findOwned(row.e164);
    } catch (error) {
      this.#retryLater(row.id);
      const level = error instanceof UpstreamFailure && error.kind === "platform_refused";
      log[level ? "error" : "warn"]("purchase_outcome_unknown", {
        ...fields,
        error: String(error),
      });
      return refuse("purchase_unconfirmed");
    }
    if (owned) {
      ledger.update(row.id, { state: "bought", twilio_sid: owned.sid });
      log.info("number_purchased", { ...fields, twilio_sid: owned.sid, settled_by: "lookup" });
      return "continue";
    }
    const now = clock.now();
    if (now < row.settle_at) {
      // Not there yet, but the purchase may still complete at the carrier: look again, more
      // slowly each time, and conclude only after the settle window.
      const next = Math.min(
        row.settle_at,
        now + Math.max(250, fullJitterDelayMs(row.attempts, SETTLE_POLL_BASE_MS)),
      );
      ledger.update(row.id, { attempts: row.attempts + 1, next_attempt_at: next });
      log.warn("purchase_outcome_unknown", { ...fields, settle_at: row.settle_at });
      return refuse("purchase_unconfirmed");
    }
    log.info("purchase_not_made", fields);
    return this.#undoPurchase(row, refuse("nothing_bought", { reason: "carrier_did_not_buy" }));
  }

  /**
   * bought -> active: the number is wired into LiveKit (see NumberWiring), then becomes visible
   * in D1, and the key keeps the answer.
   */
  async #activate(row: LedgerRow, driver: Driver): Promise<Step> {
    const { records, ledger, clock, log } = this.ports;
    if (this.#pastDeadline(row)) return this.#undoPurchaseAtCarrier(row, driver);
    const fields = this.#fields(row, driver);
    let wiring: WiringChanges;
    try {
      wiring = await this.#wiring.wire(row, fields);
    } catch (error) {
      this.#retryLater(row.id);
      log.warn("purchase_wiring_failed", { ...fields, error: String(error) });
      return refuse("bought_not_recorded");
    }
    const at = new Date(clock.now()).toISOString();
    const wired = { ...row, ...wiring };
    const wiredRecord = recordOf(wired);
    try {
      await records.activate(row.id, at, {
        carrierSid: row.twilio_sid,
        trunkId: wiredRecord.trunk_id,
        inboundTrunkId: wired.inbound_trunk_id,
      });
    } catch (error) {
      ledger.update(row.id, wiring);
      this.#retryLater(row.id);
      log.warn("purchase_record_failed", { ...fields, error: String(error) });
      return refuse("bought_not_recorded");
    }
    const record = { ...wiredRecord, twilio_sid: row.twilio_sid, updated_at: at };
    const number: PhoneNumber = toPhoneNumber(record);
    // The wiring is written with the activation: one commit (see NumberWiring.wire).
    ledger.transaction(() => {
      ledger.update(row.id, { ...wiring, state: "active", record: JSON.stringify(record) });
      ledger.finishKeys(row.id, "purchase", "purchased", number);
    });
    return { ok: true, kind: "purchased", number, replayed: false };
  }

  /**
   * updating -> active: the label recorded in D1 becomes the carrier's FriendlyName, and the
   * agent becomes the dispatch rule. A change that arrives meanwhile is carried too before the
   * row rests.
   */
  async #carryUpdate(row: LedgerRow, driver: Driver): Promise<Step> {
    const { ledger, log } = this.ports;
    const fields = this.#fields(row, driver);
    const record = recordOf(row);
    const answer: Step = {
      ok: true,
      kind: "updated",
      number: toPhoneNumber(record),
      replayed: false,
    };
    try {
      if (row.label_dirty && row.twilio_sid) {
        await this.ports.carrier(fields).setLabel(row.twilio_sid, record.label);
      }
      if (row.route_dirty) {
        await this.#wiring.route(row, fields, { lookFirst: row.wiring_attempts > 0 });
      }
    } catch (error) {
      if (!(error instanceof UpstreamFailure)) throw error;
      if (error.kind === "platform_refused" || error.kind === "number_refused") {
        // A change the upstream refuses for good is not worth an operator: D1 stays the truth.
        log.error("change_refused_upstream", { ...fields, error: error.message });
        ledger.update(row.id, { state: "active", label_dirty: 0, route_dirty: 0, attempts: 0 });
        return answer;
      }
      this.#retryLater(row.id);
      log.warn("change_not_carried", { ...fields, error: error.message });
      return answer;
    }
    // Rest only if nothing changed while the upstreams were being told.
    const now = this.ports.ledger.get(row.id);
    if (now?.state !== "updating") return answer;
    const unchanged = now.record === row.record && now.agent_name === row.agent_name;
    if (!unchanged) return "continue";
    ledger.update(row.id, { state: "active", label_dirty: 0, route_dirty: 0, attempts: 0 });
    return answer;
  }

  /** releasing -> gone: released at the carrier, then in D1; every waiting key gets 204. */
  async #releaseNumber(row: LedgerRow, driver: Driver): Promise<Step> {
    const { log } = this.ports;
    const fields = this.#fields(row, driver);
    // Imports know what they did (their progress); a number learned from D1 without it is
    // released as before: LiveKit entries only.
    if (isImported(row.source) && this.#imports?.hasProgress(row)) {
      try {
        const refused = await this.#imports?.release(row, fields);
        if (refused) return refused;
      } catch (error) {
        this.#retryLater(row.id);
        log.warn("release_unwiring_failed", { ...fields, error: String(error) });
        const retryAfterSeconds =
          error instanceof UpstreamFailure ? error.details.retryAfterSeconds : undefined;
        return refuse("release_pending", { retryAfterSeconds });
      }
      return this.#recordRelease(row, driver);
    }
    try {
      await this.#wiring.unwire(row, fields);
    } catch (error) {
      if (!(error instanceof UpstreamFailure)) throw error;
      this.#retryLater(row.id);
      log.warn("release_unwiring_failed", { ...fields, error: error.message });
      return refuse("release_pending", { retryAfterSeconds: error.details.retryAfterSeconds });
    }
    if (row.source === "twilio_purchased" && row.twilio_sid) {
      const carrier = this.ports.carrier(fields);
      try {
        await carrier.release({ sid: row.twilio_sid, e164: row.e164 });
      } catch (error) {
        if (!(error instanceof UpstreamFailure)) throw error;
        if (error.kind === "not_found") {
          // A 404 says only that this SID is not on the account: confirm by number.
          const confirmed = await this.#confirmGone(row, driver);
          if (confirmed !== true) return confirmed;
        } else if (error.kind === "platform_refused" || error.kind === "number_refused") {
          return this.#handToOperator(
            row,
            driver,
            `the carrier refused the release: ${error.message}`,
          );
        } else {
          this.#retryLater(row.id);
          log.warn("release_not_confirmed", { ...fields, error: error.message });
          return refuse("release_pending", { retryAfterSeconds: error.details.retryAfterSeconds });
        }
      }
    }
    return this.#recordRelease(row, driver);
  }

  /** The release done upstream: recorded in D1, the row gone, every waiting key gets 204. */
  async #recordRelease(row: LedgerRow, driver: Driver): Promise<Step> {
    const { records, ledger, clock, log } = this.ports;
    const fields = this.#fields(row, driver);
    const record = recordOf(row);
    try {
      await records.markReleased(record.workspace_id, row.id, new Date(clock.now()).toISOString());
    } catch (error) {
      this.#retryLater(row.id);
      log.warn("release_record_failed", { ...fields, error: String(error) });
      return refuse("released_not_recorded");
    }
    ledger.transaction(() => {
      ledger.delete(row.id);
      ledger.finishKeys(row.id, "release", "released", null);
    });
    log.info("number_released", { ...fields, twilio_sid: row.twilio_sid });
    return { ok: true, kind: "released", replayed: false };
  }

  /**
   * After a 404 to a release: true when a lookup by number shows the account no longer holds
   * it; otherwise what the client hears while the release goes on (under the SID the account
   * holds it by, if that changed).
   */
  async #confirmGone(row: LedgerRow, driver: Driver): Promise<true | Step> {
    const { ledger, log } = this.ports;
    const fields = this.#fields(row, driver);
    let owned: { sid: string } | null;
    try {
      owned = await this.ports.carrier(fields).findOwned(row.e164);
    } catch (error) {
      this.#retryLater(row.id);
      log.warn("release_not_confirmed", { ...fields, error: String(error) });
      return refuse("release_pending");
    }
    if (!owned) return true;
    if (owned.sid !== row.twilio_sid) {
      ledger.update(row.id, { twilio_sid: owned.sid });
      return "continue";
    }
    // The carrier says "not found" and lists the number under that very SID: keep it held.
    this.#retryLater(row.id);
    log.error("release_contradicted", { ...fields, twilio_sid: row.twilio_sid });
    return refuse("release_pending");
  }

  /**
   * Past the deadline a purchase that could not be recorded is undone at the carrier too, so
   * the platform does not pay for a number no workspace can see.
   */
  async #undoPurchaseAtCarrier(row: LedgerRow, driver: Driver): Promise<Step> {
    const { records, log } = this.ports;
    const fields = this.#fields(row, driver);
    try {
      await this.#wiring.unwire(row, fields);
      const carrier = this.ports.carrier(fields);
      const sid = row.twilio_sid ?? (await carrier.findOwned(row.e164))?.sid ?? null;
      if (sid) {
        try {
          await carrier.release({ sid, e164: row.e164 });
        } catch (error) {
          const gone = error instanceof UpstreamFailure && error.kind === "not_found";
          if (!gone || (await carrier.findOwned(row.e164))) throw error;
        }
      }
      await records.undoClaim(row.id);
    } catch (error) {
      if (
        error instanceof UpstreamFailure &&
        (error.kind === "platform_refused" || error.kind === "number_refused")
      ) {
        return this.#handToOperator(row, driver, `undoing the purchase failed: ${error.message}`);
      }
      this.#retryLater(row.id);
      log.error("purchase_undo_failed", { ...fields, error: String(error) });
      return refuse("purchase_unconfirmed");
    }
    this.#closePurchase(row);
    // Operators alert on this event: the purchase took money and time and was given up.
    log.error("purchase_given_up", { ...fields, twilio_sid: row.twilio_sid });
    return refuse("purchase_undone");
  }

  /**
   * The carrier refused, for good, work that money depends on: the row rests in
   * `needs_operator` (still held and counted), flagged in D1 for reconcile, logged at error.
   */
  async #handToOperator(row: LedgerRow, driver: Driver, reason: string): Promise<Refusal> {
    await this.#flagForOperator(row, this.#fields(row, driver), reason);
    return refuse("release_refused");
  }

  async #flagForOperator(row: LedgerRow, fields: Record<string, unknown>, reason: string) {
    const { ledger, records, log } = this.ports;
    ledger.update(row.id, { state: "needs_operator" });
    log.error("needs_operator", { ...fields, reason });
    try {
      await records.flagForOperator(row.id, reason);
    } catch (error) {
      log.error("operator_flag_failed", { number_id: row.id, error: String(error) });
    }
  }

  /**
   * The compensation of a purchase that did not happen: removes the D1 claim, then frees the
   * slot and the key. If the claim cannot be removed now, the row goes back to `reserved`,
   * which the alarm undoes (it never buys a reserved row).
   */
  async #undoPurchase(row: LedgerRow, refusal: Refusal): Promise<Refusal> {
    try {
      await this.ports.records.undoClaim(row.id);
    } catch (error) {
      this.ports.ledger.update(row.id, { state: "reserved" });
      this.#retryLater(row.id);
      this.ports.log.warn("purchase_undo_failed", { number_id: row.id, error: String(error) });
      return refusal;
    }
    this.#closePurchase(row);
    return refusal;
  }

  #closePurchase(row: LedgerRow) {
    const { ledger } = this.ports;
    ledger.transaction(() => {
      ledger.delete(row.id);
      ledger.deleteUnfinishedKeys(row.id);
    });
  }

  /**
   * A number this ledger never saw (created before it, or by another path): the ledger learns
   * it from D1. Its limits are not needed: it is never claimed again.
   */
  async #learn(workspaceId: string, id: string): Promise<LedgerRow | null> {
    const { records, ledger, clock } = this.ports;
    const stored = await records.findActive(workspaceId, id);
    if (!stored) return null;
    if (ledger.get(id)) return ledger.get(id);
    ledger.insert({
      id: stored.id,
      e164: stored.e164,
      source: stored.source,
      state: "active",
      twilio_sid: stored.twilio_sid,
      record: JSON.stringify(recordFromRow(stored)),
      purchased_limit: 0,
      total_limit: 0,
      // Not known here: the next change lists the number's rules first.
      agent_name: null,
      inbound_trunk_id: stored.livekit_inbound_trunk_id,
      outbound_added: stored.trunk_id ? 1 : 0,
      started_at: clock.now(),
      next_attempt_at: 0,
    });
    if (stored.livekit_inbound_trunk_id || stored.livekit_phone_number_id) {
      ledger.update(id, { wiring_attempts: 1 });
    }
    return ledger.get(id);
  }

  /** For a request whose Idempotency-Key was seen before: its answer; otherwise null. */
  async #repeated(
    idempotency: Idempotency | null,
    request: FromRequest,
  ): Promise<AnyOutcome | null> {
    if (!idempotency) return null;
    const { ledger, clock } = this.ports;
    const prior = ledger.findKey(idempotency.key, clock.now() - this.settings.idempotencyTtlMs);
    if (!prior) return null;
    if (prior.request_hash !== idempotency.requestHash) return refuse("key_reused");
    if (prior.answer === "purchased" && prior.body) {
      return { ok: true, kind: "purchased", number: JSON.parse(prior.body), replayed: true };
    }
    if (prior.answer === "updated" && prior.body) {
      return { ok: true, kind: "updated", number: JSON.parse(prior.body), replayed: true };
    }
    if (prior.answer === "released") return { ok: true, kind: "released", replayed: true };
    if (prior.number_id && this.#inFlight.has(prior.number_id)) return refuse("key_in_progress");
    const row = prior.number_id ? ledger.get(prior.number_id) : null;
    if (!row) {
      // The key's work left nothing behind: the request runs as new.
      ledger.deleteKey(prior.key);
      return null;
    }
    // The first request died or answered before its work was done: resume it.
    return this.#drive(row.id, byRequest(request));
  }

  /**
   * The reservation of a purchase or an import: the caps and the durable intent (`row`, and what
   * `alsoWrite` adds) in one synchronous transaction, so that work in flight counts against the
   * caps and survives a crash of this object. The purchased-number cap counts only numbers the
   * platform pays for; each operation refuses in its own words (`refusals`).
   */
  #reserve(
    row: NewLedgerRow,
    refusals: { held: "already_held" | "number_held"; cap: "cap_reached" | "import_cap_reached" },
    alsoWrite: () => void,
  ): Refusal | null {
    const { ledger } = this.ports;
    return ledger.transaction((): Refusal | null => {
      const held = ledger.holdings(row.e164);
      if (held.sameNumber > 0) return refuse(refusals.held);
      if (billedToPlatform(row.source) && held.purchased >= row.purchased_limit) {
        return refuse(refusals.cap, { cap: "purchased", limit: row.purchased_limit });
      }
      if (held.total >= row.total_limit) {
        return refuse(refusals.cap, { cap: "total", limit: row.total_limit });
      }
      ledger.insert(row);
      alsoWrite();
      return null;
    });
  }

  #bindKey(idempotency: Idempotency, numberId: string, operation: KeyedOperation, now: number) {
    this.ports.ledger.deleteKeysBefore(now - this.settings.idempotencyTtlMs);
    this.ports.ledger.bindKey(idempotency.key, idempotency.requestHash, numberId, operation, now);
  }

  /** A number being bought is not the workspace's to change or release yet (nor shown). */
  #beingBought(row: LedgerRow): boolean {
    return row.state === "reserved" || row.state === "buying" || row.state === "bought";
  }

  #retryLater(id: string) {
    const row = this.ports.ledger.get(id);
    if (!row) return;
    this.ports.ledger.update(id, {
      attempts: row.attempts + 1,
      next_attempt_at: this.ports.clock.now() + nextAttemptDelayMs(row.attempts),
    });
  }

  #pastDeadline(row: LedgerRow): boolean {
    return this.ports.clock.now() - row.started_at > this.settings.deadlineMs;
  }

  /** The fields of every log line about the row (never a secret). */
  #fields(row: LedgerRow, driver: Driver) {
    return {
      request_id: driver.requestId,
      by: driver.by,
      workspace_id: recordOf(row).workspace_id,
      number_id: row.id,
      e164: row.e164,
      ...collectingUpstreamCalls(driver.upstream),
    };
  }
}

/** The fields of a D1 row that the ledger keeps (its record). */
function recordFromRow(row: PhoneNumberRow): NewPhoneNumber {
  return {
    id: row.id,
    workspace_id: row.workspace_id,
    e164: row.e164,
    source: row.source,
    capabilities: JSON.parse(row.capabilities) as NewPhoneNumber["capabilities"],
    label: row.label,
    trunk_id: row.trunk_id,
    agent_id: row.agent_id,
    livekit_phone_number_id: row.livekit_phone_number_id,
    twilio_sid: row.twilio_sid,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
