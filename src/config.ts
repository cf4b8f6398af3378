// Deployment settings, read from vars and secrets (see wrangler.toml and README).
import { gateFetcher, type TwilioFetcher } from "./twilio/gate-fetcher";

export type TwilioCredentials = {
  accountSid: string;
  // Either the account's Auth Token or an API Key (SID + secret) of the same account.
  username: string;
  password: string;
};

export type TwilioConfig = {
  credentials: TwilioCredentials | null;
  trunkSid: string | null;
  timeoutMs: number;
  /** A Twilio region (e.g. `au1`) and edge location (e.g. `sydney`); null: api.twilio.com. */
  region: string | null;
  edge: string | null;
  /**
   * What Twilio calls are sent through: the TwilioGate object (which forwards them to Twilio or
   * to the stand-in), or, without a gate, the stand-in in local development and tests; null:
   * straight to Twilio with the global fetch.
   */
  fetcher: TwilioFetcher | null;
  /** The longest a call may wait for its turn at the gate (0 without one), on top of timeoutMs. */
  queueWaitMs: number;
};

// Secrets are absent from the generated Env type of production, so read them loosely.
export type LooseEnv = Partial<Record<string, unknown>>;

/** A setting as trimmed text, or null when unset or blank. */
export function text(env: LooseEnv, name: string): string | null {
  const value = env[name];
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

/** A setting as a whole number above 0, or `fallback`. */
export function positiveInteger(env: LooseEnv, name: string, fallback: number): number {
  const value = Number(text(env, name));
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** The master account's credentials: an API key of it, else its Auth Token; null when unset. */
function twilioCredentials(loose: LooseEnv): TwilioCredentials | null {
  const accountSid = text(loose, "TWILIO_ACCOUNT_SID");
  const authToken = text(loose, "TWILIO_AUTH_TOKEN");
  const apiKeySid = text(loose, "TWILIO_API_KEY_SID");
  const apiKeySecret = text(loose, "TWILIO_API_KEY_SECRET");
  if (accountSid && apiKeySid && apiKeySecret) {
    return { accountSid, username: apiKeySid, password: apiKeySecret };
  }
  if (accountSid && authToken) return { accountSid, username: accountSid, password: authToken };
  return null;
}

export function twilioConfig(env: Env): TwilioConfig {
  const loose = env as unknown as LooseEnv;
  const gate = twilioGateSettings(env);
  return {
    credentials: twilioCredentials(loose),
    trunkSid: text(loose, "TWILIO_TRUNK_SID"),
    timeoutMs: gate.timeoutMs,
    region: text(loose, "TWILIO_REGION"),
    edge: text(loose, "TWILIO_EDGE"),
    fetcher: gate.enabled ? gateFetcher(twilioGate(env)) : twilioUpstream(env),
    queueWaitMs: gate.enabled ? gate.maxWaitMs : 0,
  };
}

/**
 * Whether this deployment can call Twilio: credentials, and for purchases the trunk every bought
 * number is put on.
 */
export function twilioReady(env: Env, options = { needsTrunk: false }): boolean {
  // Only the settings: no gate stub is made for a check (twilioConfig makes one).
  const loose = env as unknown as LooseEnv;
  return Boolean(
    twilioCredentials(loose) && (!options.needsTrunk || text(loose, "TWILIO_TRUNK_SID")),
  );
}

/** Present in local development and tests: the stand-in that plays Twilio. Null: Twilio itself. */
export function twilioUpstream(env: Env): Fetcher | null {
  const upstream = (env as unknown as LooseEnv).TWILIO_UPSTREAM;
  return upstream && typeof upstream === "object" ? (upstream as Fetcher) : null;
}

/** The one TwilioGate object of the deployment. */
export const TWILIO_GATE_NAME = "master";

/**
 * The gate, created (by whatever asks for it first) in TWILIO_GATE_LOCATION_HINT's region, next
 * to the Twilio Region it calls. Without a hint it would be created near its first caller, which
 * may be the hourly reconcile wherever its cron fires, and every Twilio call of every workspace
 * would then travel there and back for good: an object is never moved.
 */
export function twilioGate(env: Env) {
  const hint = text(env as unknown as LooseEnv, "TWILIO_GATE_LOCATION_HINT");
  return env.TWILIO_GATE.getByName(
    TWILIO_GATE_NAME,
    hint ? { locationHint: hint as DurableObjectLocationHint } : undefined,
  );
}

export type TwilioGateSettings = {
  /** Whether Twilio calls go through the gate (TWILIO_MAX_CONCURRENCY above 0, and bound). */
  enabled: boolean;
  /** Twilio calls of all workspaces together in flight at once, at most. */
  maxConcurrency: number;
  /** How long a call waits for its turn before it is refused as throttled (never sent). */
  maxWaitMs: number;
  /** The timeout of the Twilio call itself, once its turn has come. */
  timeoutMs: number;
};

export function twilioGateSettings(env: Env): TwilioGateSettings {
  const loose = env as unknown as LooseEnv;
  const raw = text(loose, "TWILIO_MAX_CONCURRENCY");
  const maxConcurrency = raw === "0" ? 0 : positiveInteger(loose, "TWILIO_MAX_CONCURRENCY", 20);
  const bound = typeof loose.TWILIO_GATE === "object" && loose.TWILIO_GATE !== null;
  return {
    enabled: bound && maxConcurrency > 0,
    maxConcurrency,
    maxWaitMs: positiveInteger(loose, "TWILIO_GATE_MAX_WAIT_MS", 2000),
    timeoutMs: positiveInteger(loose, "TWILIO_TIMEOUT_MS", 8000),
  };
}

/** A rate limit: `perMinute` sustained, `burst` of them at once from a full allowance. */
export type RatePolicy = { perMinute: number; burst: number };

/** The deployment's default rate limits of every workspace (see src/rate-limits). */
export function defaultRateLimits(env: Env): { search: RatePolicy; write: RatePolicy } {
  const loose = env as unknown as LooseEnv;
  return {
    search: {
      perMinute: positiveInteger(loose, "SEARCH_RATE_PER_MINUTE", 60),
      burst: positiveInteger(loose, "SEARCH_BURST", 20),
    },
    write: {
      perMinute: positiveInteger(loose, "WRITE_RATE_PER_MINUTE", 30),
      burst: positiveInteger(loose, "WRITE_BURST", 10),
    },
  };
}

export function defaultPurchasedNumberLimit(env: Env): number {
  return positiveInteger(env as unknown as LooseEnv, "DEFAULT_PURCHASED_LIMIT", 3);
}

export function recentSearchTtlMs(env: Env): number {
  return positiveInteger(env as unknown as LooseEnv, "RECENT_SEARCH_TTL_SECONDS", 900) * 1000;
}

/**
 * How long after a purchase without a clear answer (no reply, a 5xx) Twilio may still complete
 * it behind its edge: until then the number counts against the caps and lookups are repeated;
 * only a lookup after it that finds nothing proves nothing was bought.
 */
export function purchaseSettleMs(env: Env): number {
  return positiveInteger(env as unknown as LooseEnv, "PURCHASE_SETTLE_SECONDS", 300) * 1000;
}

/** After this long an unfinished purchase is undone at Twilio (see the ledger's alarm). */
export function purchaseDeadlineMs(env: Env): number {
  return positiveInteger(env as unknown as LooseEnv, "PURCHASE_DEADLINE_SECONDS", 3600) * 1000;
}

/** Any workspace holds at most this many numbers, of every source together. */
export const TOTAL_NUMBER_LIMIT = 100;
