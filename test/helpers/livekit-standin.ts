import { env } from "cloudflare:workers";
import type {
  Fault,
  FaultSpec,
  LiveKitRequestLogEntry,
  RouteAnswer,
  StandinState,
} from "../../standins/livekit/types";

// Control of the LiveKit stand-in (standins/livekit) from tests: its state, its request log,
// the faults it injects and the call-routing query; and raw Twirp calls with tokens signed here
// (independently of src/livekit/token.ts, so the two check each other).

export const LIVEKIT_STANDIN_KEY = "devkey-livekit-standin";
export const LIVEKIT_STANDIN_SECRET = "devsecret-livekit-standin-0123456789abcdef";

function standin(): Fetcher {
  if (!env.LIVEKIT_UPSTREAM) throw new Error("the LIVEKIT_UPSTREAM binding is missing");
  return env.LIVEKIT_UPSTREAM;
}

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await standin().fetch(`https://livekit-standin.local/__standin/${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`stand-in ${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return response.json<T>();
}

export const livekitStandin = {
  reset: () => control("POST", "reset"),
  setLatency: (ms: number) => control("POST", "latency", { ms }),
  addFault: async (fault: FaultSpec) =>
    (await control<{ fault: Fault }>("POST", "faults", fault)).fault,
  faults: async () => (await control<{ faults: Fault[] }>("GET", "faults")).faults,
  clearFaults: () => control("DELETE", "faults"),
  requests: async () =>
    (await control<{ requests: LiveKitRequestLogEntry[] }>("GET", "requests")).requests,
  clearRequests: () => control("DELETE", "requests"),
  state: () => control<StandinState>("GET", "state"),
  route: (to: string, from?: string) =>
    control<RouteAnswer>(
      "GET",
      `route?${new URLSearchParams(from === undefined ? { to } : { to, from })}`,
    ),
};

// ---- Tokens --------------------------------------------------------------------------------

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function base64UrlJson(value: unknown): string {
  return base64Url(new TextEncoder().encode(JSON.stringify(value)));
}

/**
 * An HS256 token: by default for the stand-in's key, valid for five minutes, granting
 * `sip.admin`. `claims` replace or add claims (undefined removes one).
 */
export async function signToken(
  claims: Record<string, unknown> = {},
  secret = LIVEKIT_STANDIN_SECRET,
  header: Record<string, unknown> = { alg: "HS256", typ: "JWT" },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: LIVEKIT_STANDIN_KEY,
    nbf: now,
    exp: now + 300,
    sip: { admin: true },
  };
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) delete payload[name];
    else payload[name] = value;
  }
  const signingInput = `${base64UrlJson(header)}.${base64UrlJson(payload)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64Url(new Uint8Array(signature))}`;
}

// ---- Raw Twirp calls -----------------------------------------------------------------------

const PHONE_NUMBER_METHODS = new Set([
  "SearchPhoneNumbers",
  "PurchasePhoneNumber",
  "ListPhoneNumbers",
  "GetPhoneNumber",
  "UpdatePhoneNumber",
  "ReleasePhoneNumbers",
]);

export interface TwirpOptions {
  /** A bearer token; default: a fresh valid one. null sends no Authorization header. */
  token?: string | null;
  /** The raw body; default: JSON of `body`. */
  rawBody?: string;
  contentType?: string | null;
  httpMethod?: string;
  /** Default: livekit.PhoneNumberService for its methods, livekit.SIP otherwise. */
  service?: string;
  signal?: AbortSignal;
}

export async function twirp(
  method: string,
  body: unknown = {},
  options: TwirpOptions = {},
): Promise<Response> {
  const service =
    options.service ??
    (PHONE_NUMBER_METHODS.has(method) ? "livekit.PhoneNumberService" : "livekit.SIP");
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? await signToken() : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const contentType = options.contentType === undefined ? "application/json" : options.contentType;
  if (contentType !== null) headers["Content-Type"] = contentType;
  const init: RequestInit = {
    method: options.httpMethod ?? "POST",
    headers,
  };
  if (init.method !== "GET" && init.method !== "HEAD") {
    init.body = options.rawBody ?? JSON.stringify(body);
  }
  if (options.signal) init.signal = options.signal;
  return standin().fetch(`https://project.livekit.cloud/twirp/${service}/${method}`, init);
}

/** A Twirp call that must succeed; its JSON reply. */
export async function twirpOk<T = Record<string, unknown>>(
  method: string,
  body: unknown = {},
): Promise<T> {
  const response = await twirp(method, body);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** A Twirp call that must fail; its status and error body. */
export async function twirpError(
  method: string,
  body: unknown = {},
  options: TwirpOptions = {},
): Promise<{ status: number; code: string; msg: string; meta?: Record<string, string> }> {
  const response = await twirp(method, body, options);
  const text = await response.text();
  if (response.status === 200) throw new Error(`${method}: expected an error, got 200 ${text}`);
  return { status: response.status, ...(JSON.parse(text) as { code: string; msg: string }) };
}
