import { type LooseEnv, positiveInteger, text } from "../config";

// LiveKit's deployment settings, read from vars and secrets (see wrangler.toml): the project's
// API, the SIP URI Twilio's trunks send inbound calls to, and the master Elastic SIP trunk that
// LiveKit's outbound trunk sends calls through.

export type LiveKitCredentials = {
  apiKey: string;
  apiSecret: string;
};

/** The master Twilio trunk's termination side: where LiveKit sends outbound calls. */
export type TwilioTermination = {
  /** `<name>.pstn.twilio.com`: the LiveKit outbound trunk's `address`. */
  domain: string;
  username: string;
  password: string;
};

export type LiveKitConfig = {
  /** The project's URL, `https://<project>.livekit.cloud` (a `wss://` URL is taken as https). */
  url: string | null;
  /** null when the key or secret is unset: LiveKit is then not configured (503). */
  credentials: LiveKitCredentials | null;
  /** Where Twilio sends inbound calls, e.g. `sip:<project>.sip.livekit.cloud`. */
  sipUri: string | null;
  /** null when the domain or either credential is unset. */
  termination: TwilioTermination | null;
  timeoutMs: number;
  /** Present in local development and tests: the stand-in that plays LiveKit. */
  fetcher: Fetcher | null;
};

export function livekitConfig(env: Env): LiveKitConfig {
  const loose = env as unknown as LooseEnv;
  const apiKey = text(loose, "LIVEKIT_API_KEY");
  const apiSecret = text(loose, "LIVEKIT_API_SECRET");
  const domain = text(loose, "TWILIO_TERMINATION_DOMAIN");
  const username = text(loose, "TWILIO_SIP_USERNAME");
  const password = text(loose, "TWILIO_SIP_PASSWORD");
  const standin = loose.LIVEKIT_UPSTREAM;
  return {
    url: text(loose, "LIVEKIT_URL"),
    credentials: apiKey && apiSecret ? { apiKey, apiSecret } : null,
    sipUri: text(loose, "LIVEKIT_SIP_URI"),
    termination: domain && username && password ? { domain, username, password } : null,
    timeoutMs: positiveInteger(loose, "LIVEKIT_TIMEOUT_MS", 8000),
    fetcher: standin && typeof standin === "object" ? (standin as Fetcher) : null,
  };
}

/** A configuration that can wire numbers into LiveKit. */
export type ReadyLiveKitConfig = LiveKitConfig & {
  url: string;
  credentials: LiveKitCredentials;
  termination: TwilioTermination;
};

/**
 * Whether this deployment can wire numbers into LiveKit: its API's URL and key, and the master
 * trunk's termination (where outbound calls go). Imports also need LIVEKIT_SIP_URI, checked by
 * their route.
 */
export function livekitReady(config: LiveKitConfig): config is ReadyLiveKitConfig {
  return Boolean(config.url && config.credentials && config.termination);
}
