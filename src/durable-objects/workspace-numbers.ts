import { DurableObject } from "cloudflare:workers";
import { purchaseDeadlineMs, purchaseSettleMs, TOTAL_NUMBER_LIMIT, twilioConfig } from "../config";
import { keyringFromEnv, openSecret, sealSecret } from "../crypto/credentials";
import { importRecords, phoneNumberRecords } from "../db/phone-numbers";
import { livekitConfig } from "../livekit/config";
import { livekitTelephony } from "../livekit/telephony";
import { log } from "../log";
import type { ImportRequest } from "../saga/imports";
import type { Idempotency } from "../saga/ledger";
import {
  NumberSaga,
  type PurchaseRequest,
  type ReleaseRequest,
  type SagaSettings,
  type UpdateRequest,
} from "../saga/number-saga";
import type { PurchaseOutcome, ReleaseOutcome, UpdateOutcome } from "../saga/outcomes";
import type { Carrier, ImportPorts, Telephony } from "../saga/ports";
import { twilioCarrier } from "../twilio/carrier";
import { twilioCustomerAccount } from "../twilio/customer-account";
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

/** What imports need, or undefined on a deployment without them (see importsReady). */
function importPorts(env: Env, ledger: SqliteLedger): ImportPorts | undefined {
  const keyring = keyringFromEnv(env as unknown as Record<string, unknown>);
  const livekit = livekitConfig(env);
  if (!keyring || !livekit.sipUri) return undefined;
  return {
    customerAccount: (credentials, logContext) =>
      twilioCustomerAccount(env, credentials, logContext),
    telephony: (logContext) => {
      const telephony = livekitTelephony(env, logContext);
      if (!telephony) throw new Error("LiveKit is not configured on this deployment");
      return telephony;
    },
    records: importRecords(env.DB),
    ledger,
    sealer: {
      seal: (plaintext, aad) => sealSecret(keyring, plaintext, aad),
      open: (sealed, aad) => openSecret(keyring, sealed, aad),
    },
    sipUri: livekit.sipUri,
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
        imports: importPorts(env, ledger),
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

  /** Imports a number the customer brings (POST /v1/agents/phone-numbers). */
  importNumber(request: ImportRequest, idempotency: Idempotency | null): Promise<PurchaseOutcome> {
    return this.#saga.importNumber(request, idempotency);
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
