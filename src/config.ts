// Deployment settings, read from vars and secrets (see wrangler.toml and README).

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
  /** Present in local development and tests: the stand-in that plays Twilio. */
  fetcher: Fetcher | null;
};

// Secrets are absent from the generated Env type of production, so read them loosely.
type LooseEnv = Env & Partial<Record<string, unknown>>;

function text(env: LooseEnv, name: string): string | null {
  const value = env[name];
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

function positiveInteger(env: LooseEnv, name: string, fallback: number): number {
  const value = Number(text(env, name));
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

export function twilioConfig(env: Env): TwilioConfig {
  const loose = env as LooseEnv;
  const accountSid = text(loose, "TWILIO_ACCOUNT_SID");
  const authToken = text(loose, "TWILIO_AUTH_TOKEN");
  const apiKeySid = text(loose, "TWILIO_API_KEY_SID");
  const apiKeySecret = text(loose, "TWILIO_API_KEY_SECRET");
  let credentials: TwilioCredentials | null = null;
  if (accountSid && apiKeySid && apiKeySecret) {
    credentials = { accountSid, username: apiKeySid, password: apiKeySecret };
  } else if (accountSid && authToken) {
    credentials = { accountSid, username: accountSid, password: authToken };
  }
  const upstream = loose.TWILIO_UPSTREAM;
  return {
    credentials,
    trunkSid: text(loose, "TWILIO_TRUNK_SID"),
    timeoutMs: positiveInteger(loose, "TWILIO_TIMEOUT_MS", 8000),
    region: text(loose, "TWILIO_REGION"),
    edge: text(loose, "TWILIO_EDGE"),
    fetcher: upstream && typeof upstream === "object" ? (upstream as Fetcher) : null,
  };
}

export function defaultPurchasedNumberLimit(env: Env): number {
  return positiveInteger(env as LooseEnv, "DEFAULT_PURCHASED_LIMIT", 3);
}

export function recentSearchTtlMs(env: Env): number {
  return positiveInteger(env as LooseEnv, "RECENT_SEARCH_TTL_SECONDS", 900) * 1000;
}

/**
 * How long after a purchase without a clear answer (no reply, a 5xx) Twilio may still complete
 * it behind its edge: until then the number counts against the caps and lookups are repeated;
 * only a lookup after it that finds nothing proves nothing was bought.
 */
export function purchaseSettleMs(env: Env): number {
  return positiveInteger(env as LooseEnv, "PURCHASE_SETTLE_SECONDS", 300) * 1000;
}

/** After this long an unfinished purchase is undone at Twilio (see the ledger's alarm). */
export function purchaseDeadlineMs(env: Env): number {
  return positiveInteger(env as LooseEnv, "PURCHASE_DEADLINE_SECONDS", 3600) * 1000;
}

/** Any workspace holds at most this many numbers, of every source together. */
export const TOTAL_NUMBER_LIMIT = 100;

/** A rate limit: `perMinute` sustained, `burst` of them at once from a full allowance. */
export type RatePolicy = { perMinute: number; burst: number };

/** The deployment's default rate limits of every workspace (see src/rate-limits). */
export function defaultRateLimits(env: Env): { search: RatePolicy; write: RatePolicy } {
  const loose = env as LooseEnv;
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
