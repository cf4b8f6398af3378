// What a workspace's object works with: the saga over its ledger, D1, the carrier and LiveKit,
// and its rate limiter. Loaded by WorkspaceNumbers on the object's first event rather than when
// the Worker's module is evaluated, so that a Worker isolate that only serves reads never
// compiles the saga, the carriers' clients or their wire schemas (see the object's constructor).
import { purchaseDeadlineMs, purchaseSettleMs, TOTAL_NUMBER_LIMIT, twilioConfig } from "../config";
import { keyringFromEnv, openSecret, sealSecret } from "../crypto/credentials";
import { importRecords, phoneNumberRecords } from "../db/phone-numbers";
import { livekitConfig } from "../livekit/config";
import { type LiveKitTelephony, livekitTelephony } from "../livekit/telephony";
import { type LogFields, log } from "../log";
import { RateLimiter, SqliteBuckets } from "../rate-limits/limiter";
import { NumberSaga, type SagaSettings } from "../saga/number-saga";
import type { Carrier, ImportPorts } from "../saga/ports";
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

/**
 * LiveKit, for purchases and imports alike. The routes refuse both on a deployment without
 * LiveKit, before this object; reaching here without it is a bug.
 */
function configuredTelephony(env: Env, logContext: LogFields): LiveKitTelephony {
  const telephony = livekitTelephony(env, logContext);
  if (!telephony) throw new Error("LiveKit is not configured on this deployment");
  return telephony;
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
    telephony: (logContext) => configuredTelephony(env, logContext),
    records: importRecords(d1),
    ledger,
    sealer: {
      seal: (plaintext, aad) => sealSecret(keyring, plaintext, aad),
      open: (sealed, aad) => openSecret(keyring, sealed, aad),
    },
    sipUri: livekit.sipUri,
  };
}

export type WorkspaceParts = {
  saga: NumberSaga;
  limits: RateLimiter;
  /**
   * The object's writes go to the D1 primary; its bookmark, returned with each answer, lets the
   * Worker's later reads (from replicas) see them (src/db/read-your-writes.ts).
   */
  d1: D1DatabaseSession;
  search: (request: SearchRequest) => Promise<SearchOutcome>;
};

/** Builds the object's parts over its storage (migrating its ledger first) and `env`. */
export function workspaceParts(ctx: DurableObjectState, env: Env): WorkspaceParts {
  const d1 = env.DB.withSession("first-primary");
  const limits = new RateLimiter(new SqliteBuckets(ctx.storage.sql));
  const ledger = new SqliteLedger(ctx.storage);
  ledger.migrate();
  const saga = new NumberSaga(
    {
      carrier: (logContext): Carrier => {
        const carrier = twilioCarrier(env, logContext, { needsTrunk: true });
        // The route refuses purchases on a deployment without Twilio, before this object.
        if (!carrier) throw new Error("Twilio is not configured on this deployment");
        return carrier;
      },
      telephony: (logContext) => configuredTelephony(env, logContext),
      records: phoneNumberRecords(d1),
      ledger,
      clock: { now: () => Date.now() },
      scheduler: {
        // An alarm already due sooner is left alone: it finds nothing, or re-arms.
        wakeBy: async (time) => {
          const current = await ctx.storage.getAlarm();
          if (current === null || current > time) await ctx.storage.setAlarm(time);
        },
        cancel: () => ctx.storage.deleteAlarm(),
      },
      log,
      imports: importPorts(env, ledger, d1),
    },
    sagaSettings(env),
  );
  return { saga, limits, d1, search: (request) => searchCarrier(env, request) };
}
