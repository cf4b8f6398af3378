// LiveKit access tokens for server API calls: a short-lived JWT, HS256 with the project's API
// secret (Web Crypto's HMAC-SHA256), issued by the API key, granting `sip.admin`, which every
// trunk, dispatch-rule and phone-number call needs. LiveKit's `video` grants are not needed here.

import type { LiveKitCredentials } from "./config";

/** How long a token is valid. */
export const TOKEN_TTL_SECONDS = 5 * 60;
/** A cached token is replaced once it has less than this left. */
const RENEW_BEFORE_EXPIRY_SECONDS = 60;
/** `nbf` is set this far in the past, so a LiveKit clock a little behind ours still accepts it. */
const NOT_BEFORE_SKEW_SECONDS = 30;

export type TokenOptions = {
  /** Seconds since the epoch; defaults to now. */
  now?: number;
  ttlSeconds?: number;
  /** Optional `sub` (the identity the token speaks for). */
  subject?: string;
};

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function base64UrlJson(value: unknown): string {
  return base64Url(new TextEncoder().encode(JSON.stringify(value)));
}

/** A new signed token: `{iss, nbf, exp, sub?, sip: {admin: true}}`. */
export async function signSipAdminToken(
  credentials: LiveKitCredentials,
  options: TokenOptions = {},
): Promise<{ token: string; expiresAt: number }> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const expiresAt = now + (options.ttlSeconds ?? TOKEN_TTL_SECONDS);
  const claims: Record<string, unknown> = {
    iss: credentials.apiKey,
    nbf: now - NOT_BEFORE_SKEW_SECONDS,
    exp: expiresAt,
    sip: { admin: true },
  };
  if (options.subject !== undefined) claims.sub = options.subject;
  const signingInput = `${base64UrlJson({ alg: "HS256", typ: "JWT" })}.${base64UrlJson(claims)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(credentials.apiSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput));
  return { token: `${signingInput}.${base64Url(new Uint8Array(signature))}`, expiresAt };
}

// Per isolate: one token per key and secret, reused until close to expiry. Keyed by the secret
// too, so a rotated secret is never answered with a token signed by the old one.
const cache = new Map<string, { token: string; expiresAt: number }>();

/** A valid `sip.admin` token for these credentials, from the cache when one has time left. */
export async function sipAdminToken(credentials: LiveKitCredentials): Promise<string> {
  const key = `${credentials.apiKey}\u0000${credentials.apiSecret}`;
  const now = Math.floor(Date.now() / 1000);
  const cached = cache.get(key);
  if (cached && cached.expiresAt - now > RENEW_BEFORE_EXPIRY_SECONDS) return cached.token;
  const fresh = await signSipAdminToken(credentials, { now });
  // Old entries (a rotated secret) are dropped rather than kept for the isolate's life.
  cache.clear();
  cache.set(key, fresh);
  return fresh.token;
}
