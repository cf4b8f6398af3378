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
  const standin = loose.TWILIO_UPSTREAM;
  return {
    credentials,
    trunkSid: text(loose, "TWILIO_TRUNK_SID"),
    timeoutMs: positiveInteger(loose, "TWILIO_TIMEOUT_MS", 8000),
    fetcher: standin && typeof standin === "object" ? (standin as Fetcher) : null,
  };
}

export function defaultPurchasedNumberLimit(env: Env): number {
  return positiveInteger(env as LooseEnv, "DEFAULT_PURCHASED_LIMIT", 3);
}

export function recentSearchTtlMs(env: Env): number {
  return positiveInteger(env as LooseEnv, "RECENT_SEARCH_TTL_SECONDS", 900) * 1000;
}

/** After this long an unfinished purchase is undone at Twilio (see the ledger's alarm). */
export function purchaseDeadlineMs(env: Env): number {
  return positiveInteger(env as LooseEnv, "PURCHASE_DEADLINE_SECONDS", 3600) * 1000;
}

/** Any workspace holds at most this many numbers, of every source together. */
export const TOTAL_NUMBER_LIMIT = 100;
