import { DurableObject } from "cloudflare:workers";
import {
  purchaseDeadlineMs,
  purchaseSettleMs,
  type RatePolicy,
  TOTAL_NUMBER_LIMIT,
  twilioConfig,
} from "../config";
import { phoneNumberRecords } from "../db/phone-numbers";
import { log } from "../log";
import { type Limited, RateLimiter, SqliteBuckets } from "../rate-limits/limiter";
import {
  NumberSaga,
  type PurchaseRequest,
  type ReleaseRequest,
  type SagaSettings,
  type UpdateRequest,
} from "../saga/number-saga";
import type { PurchaseOutcome, ReleaseOutcome, UpdateOutcome } from "../saga/outcomes";
import type { Carrier } from "../saga/ports";
import { twilioCarrier } from "../twilio/carrier";
import { type SearchOutcome, type SearchRequest, searchCarrier } from "./search";
import { SqliteLedger } from "./sqlite-ledger";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

function sagaSettings(env: Env): SagaSettings {
  // A Twilio call may wait for its turn at the gate before its own timeout starts.
  const { timeoutMs, queueWaitMs } = twilioConfig(env);
  return {
    totalNumberLimit: TOTAL_NUMBER_LIMIT,
    settleMs: purchaseSettleMs(env),
    graceMs: 3 * (timeoutMs + queueWaitMs) + 5_000,
    deadlineMs: purchaseDeadlineMs(env),
    idempotencyTtlMs: IDEMPOTENCY_TTL_MS,
  };
}

/**
 * One per workspace, reached by the workspace id: serializes the workspace's purchases,
 * changes and releases. A thin shell: its RPC methods and its alarm hand the work to the saga, which runs
 * over this object's SQLite storage (the ledger), D1 and the carrier. Searches, purchases,
 * changes and releases are first counted against the workspace's rate limits (src/rate-limits,
 * the limits given by the caller); one over its limit is refused before anything is written or
 * called.
 */
export class WorkspaceNumbers extends DurableObject<Env> {
  readonly #saga: NumberSaga;
  readonly #limits: RateLimiter;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#limits = new RateLimiter(new SqliteBuckets(ctx.storage.sql));
    const ledger = new SqliteLedger(ctx.storage);
    ledger.migrate();
    this.#saga = new NumberSaga(
      {
        carrier: (logContext): Carrier => {
          const carrier = twilioCarrier(env, logContext, { needsTrunk: true });
          // The route refuses purchases on a deployment without Twilio, before this object.
          if (!carrier) throw new Error("Twilio is not configured on this deployment");
          return carrier;
        },
        records: phoneNumberRecords(env.DB),
        ledger,
        clock: { now: () => Date.now() },
        scheduler: {
          // An alarm already due sooner is left alone: it finds nothing, or re-arms.
          wakeBy: async (time) => {
            const current = await ctx.storage.getAlarm();
            if (current === null || current > time) await ctx.storage.setAlarm(time);
          },
        },
        log,
      },
      sagaSettings(env),
    );
  }

  /**
   * Searches the carrier's inventory, within the workspace's search limit, and remembers the
   * numbers found: only these may be bought, until they expire.
   */
  search(request: SearchRequest, limit: RatePolicy): Promise<Limited<SearchOutcome>> {
    return this.#limits.run("search", limit, async () => {
      const outcome = await searchCarrier(this.env, request);
      if (outcome.ok) {
        this.#saga.rememberSearch(
          outcome.numbers.map((n) => n.e164),
          request.ttlMs,
        );
      }
      return outcome;
    });
  }

  /** Remembers numbers as if a search had returned them (tests age a search this way). */
  rememberSearch(e164s: string[], ttlMs: number): void {
    this.#saga.rememberSearch(e164s, ttlMs);
  }

  purchase(request: PurchaseRequest, limit: RatePolicy): Promise<Limited<PurchaseOutcome>> {
    return this.#limits.run("write", limit, () => this.#saga.purchase(request));
  }

  update(request: UpdateRequest, limit: RatePolicy): Promise<Limited<UpdateOutcome>> {
    return this.#limits.run("write", limit, () => this.#saga.update(request));
  }

  release(request: ReleaseRequest, limit: RatePolicy): Promise<Limited<ReleaseOutcome>> {
    return this.#limits.run("write", limit, () => this.#saga.release(request));
  }

  /** Reconciliation: the carrier no longer holds this number. */
  recordLostNumber(workspaceId: string, id: string): Promise<boolean> {
    return this.#saga.recordLostNumber(workspaceId, id);
  }

  override alarm(): Promise<void> {
    return this.#saga.finishDueWork();
  }
}
