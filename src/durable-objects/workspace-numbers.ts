import { DurableObject } from "cloudflare:workers";
import {
  purchaseDeadlineMs,
  purchaseSettleMs,
  type RatePolicy,
  TOTAL_NUMBER_LIMIT,
  twilioConfig,
} from "../config";
import { keyringFromEnv, openSecret, sealSecret } from "../crypto/credentials";
import { importRecords, phoneNumberRecords } from "../db/phone-numbers";
import { livekitConfig } from "../livekit/config";
import { livekitTelephony } from "../livekit/telephony";
import { log } from "../log";
import { type Limited, RateLimiter, SqliteBuckets } from "../rate-limits/limiter";
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
    outboundAddress: livekitConfig(env).termination?.domain ?? "",
  };
}

/** What imports need, or undefined on a deployment without them (see importsReady). */
function importPorts(
  env: Env,
  ledger: SqliteLedger,
  d1: D1DatabaseSession,
): ImportPorts | undefined {
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
    records: importRecords(d1),
    ledger,
    sealer: {
      seal: (plaintext, aad) => sealSecret(keyring, plaintext, aad),
      open: (sealed, aad) => openSecret(keyring, sealed, aad),
    },
    sipUri: livekit.sipUri,
  };
}

/** An answer of the object: the saga's outcome, and the D1 bookmark of its writes so far. */
export type WithBookmark<T> = T & { bookmark: string | null };

/**
 * One per workspace, reached by the workspace id: serializes the workspace's purchases,
 * imports, changes and releases. A thin shell: its RPC methods and its alarm hand the work to
 * the saga, which runs over this object's SQLite storage (the ledger), D1, the carrier and
 * LiveKit. Searches, purchases, imports, changes and releases are first counted against the
 * workspace's rate limits (src/rate-limits, the limits given by the caller); one over its limit
 * is refused before anything is written or called.
 */
export class WorkspaceNumbers extends DurableObject<Env> {
  readonly #saga: NumberSaga;
  readonly #limits: RateLimiter;
  /**
   * The object's writes go to the D1 primary; its bookmark, returned with each answer, lets the
   * Worker's later reads (from replicas) see them (src/db/read-your-writes.ts).
   */
  readonly #d1: D1DatabaseSession;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#d1 = env.DB.withSession("first-primary");
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
        telephony: (logContext): Telephony => {
          const telephony = livekitTelephony(env, logContext);
          // The route refuses purchases on a deployment without LiveKit, before this object.
          if (!telephony) throw new Error("LiveKit is not configured on this deployment");
          return telephony;
        },
        records: phoneNumberRecords(this.#d1),
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
        imports: importPorts(env, ledger, this.#d1),
      },
      sagaSettings(env),
    );
  }

  /** Remembers the numbers a search returned; only these may be bought, until they expire. */
  rememberSearch(e164s: string[], ttlMs: number): void {
    this.#saga.rememberSearch(e164s, ttlMs);
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

  purchase(
    request: PurchaseRequest,
    limit: RatePolicy,
  ): Promise<Limited<WithBookmark<PurchaseOutcome>>> {
    return this.#limits.run("write", limit, async () =>
      this.#withBookmark(await this.#saga.purchase(request)),
    );
  }

  /** Imports a number the customer brings (POST /v1/agents/phone-numbers). */
  importNumber(
    request: ImportRequest,
    idempotency: Idempotency | null,
    limit: RatePolicy,
  ): Promise<Limited<WithBookmark<PurchaseOutcome>>> {
    return this.#limits.run("write", limit, async () =>
      this.#withBookmark(await this.#saga.importNumber(request, idempotency)),
    );
  }

  update(request: UpdateRequest, limit: RatePolicy): Promise<Limited<WithBookmark<UpdateOutcome>>> {
    return this.#limits.run("write", limit, async () =>
      this.#withBookmark(await this.#saga.update(request)),
    );
  }

  release(
    request: ReleaseRequest,
    limit: RatePolicy,
  ): Promise<Limited<WithBookmark<ReleaseOutcome>>> {
    return this.#limits.run("write", limit, async () =>
      this.#withBookmark(await this.#saga.release(request)),
    );
  }

  /** Reconciliation: the carrier no longer holds this number. */
  recordLostNumber(workspaceId: string, id: string): Promise<boolean> {
    return this.#saga.recordLostNumber(workspaceId, id);
  }

  override alarm(): Promise<void> {
    return this.#saga.finishDueWork();
  }

  #withBookmark<T extends object>(outcome: T): WithBookmark<T> {
    return { ...outcome, bookmark: this.#d1.getBookmark() };
  }
}

/**
 * The workspace's object. It is created near the D1 primary (D1_PRIMARY_LOCATION_HINT), so that
 * its own D1 round trips and its carrier calls stay in one region whoever asks first.
 */
export function workspaceObject(env: Env, workspaceId: string) {
  const hint = (env as Env & { D1_PRIMARY_LOCATION_HINT?: string }).D1_PRIMARY_LOCATION_HINT;
  return env.WORKSPACE_NUMBERS.getByName(
    workspaceId,
    hint ? { locationHint: hint as DurableObjectLocationHint } : undefined,
  );
}
