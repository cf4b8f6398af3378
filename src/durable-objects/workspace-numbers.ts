import { DurableObject } from "cloudflare:workers";
import { purchaseDeadlineMs, purchaseSettleMs, TOTAL_NUMBER_LIMIT, twilioConfig } from "../config";
import { phoneNumberRecords } from "../db/phone-numbers";
import { livekitConfig } from "../livekit/config";
import { livekitTelephony } from "../livekit/telephony";
import { log } from "../log";
import {
  NumberSaga,
  type PurchaseRequest,
  type ReleaseRequest,
  type SagaSettings,
  type UpdateRequest,
} from "../saga/number-saga";
import type { PurchaseOutcome, ReleaseOutcome, UpdateOutcome } from "../saga/outcomes";
import type { Carrier, Telephony } from "../saga/ports";
import { twilioCarrier } from "../twilio/carrier";
import { SqliteLedger } from "./sqlite-ledger";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

function sagaSettings(env: Env): SagaSettings {
  const { timeoutMs } = twilioConfig(env);
  return {
    totalNumberLimit: TOTAL_NUMBER_LIMIT,
    settleMs: purchaseSettleMs(env),
    graceMs: 3 * timeoutMs + 5_000,
    deadlineMs: purchaseDeadlineMs(env),
    idempotencyTtlMs: IDEMPOTENCY_TTL_MS,
    outboundAddress: livekitConfig(env).termination?.domain ?? "",
  };
}

/**
 * One per workspace, reached by the workspace id: serializes the workspace's purchases,
 * changes and releases. A thin shell: its RPC methods and its alarm hand the work to the saga, which runs
 * over this object's SQLite storage (the ledger), D1 and the carrier.
 */
export class WorkspaceNumbers extends DurableObject<Env> {
  readonly #saga: NumberSaga;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
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
        telephony: (logContext): Telephony => {
          const telephony = livekitTelephony(env, logContext);
          // The route refuses purchases on a deployment without LiveKit, before this object.
          if (!telephony) throw new Error("LiveKit is not configured on this deployment");
          return telephony;
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

  /** Remembers the numbers a search returned; only these may be bought, until they expire. */
  rememberSearch(e164s: string[], ttlMs: number): void {
    this.#saga.rememberSearch(e164s, ttlMs);
  }

  purchase(request: PurchaseRequest): Promise<PurchaseOutcome> {
    return this.#saga.purchase(request);
  }

  update(request: UpdateRequest): Promise<UpdateOutcome> {
    return this.#saga.update(request);
  }

  release(request: ReleaseRequest): Promise<ReleaseOutcome> {
    return this.#saga.release(request);
  }

  /** Reconciliation: the carrier no longer holds this number. */
  recordLostNumber(workspaceId: string, id: string): Promise<boolean> {
    return this.#saga.recordLostNumber(workspaceId, id);
  }

  override alarm(): Promise<void> {
    return this.#saga.finishDueWork();
  }
}
