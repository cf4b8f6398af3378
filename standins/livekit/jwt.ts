// Checks a LiveKit access token the way LiveKit's auth middleware does: HS256, signed with the
// secret of the API key named by `iss`, `exp` and `nbf` checked with a minute of leeway (go-jose's
// default). Returns a verdict and the grants, never the token.

import type { AuthVerdict } from "./types";

/** Clock skew tolerated on `exp` and `nbf`, in seconds. */
export const LEEWAY_SECONDS = 60;

export interface TokenCheck {
  verdict: AuthVerdict;
  /** `sip.admin` of a valid token; false otherwise. */
  sipAdmin: boolean;
}

function base64UrlToBytes(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

function jsonPart(text: string): Record<string, unknown> | null {
  const bytes = base64UrlToBytes(text);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export async function checkToken(
  authorization: string | null,
  apiKey: string,
  apiSecret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<TokenCheck> {
  const refuse = (verdict: AuthVerdict): TokenCheck => ({ verdict, sipAdmin: false });
  if (authorization === null || authorization.trim() === "") return refuse("missing");
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match?.[1]) return refuse("malformed");
  const parts = match[1].split(".");
  if (parts.length !== 3) return refuse("malformed");
  const [headerText, payloadText, signatureText] = parts as [string, string, string];
  const header = jsonPart(headerText);
  const payload = jsonPart(payloadText);
  const signature = base64UrlToBytes(signatureText);
  if (!header || !payload || !signature || header.alg !== "HS256") return refuse("malformed");
  if (payload.iss !== apiKey) return refuse("unknown_key");

  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(apiSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const signed = new TextEncoder().encode(`${headerText}.${payloadText}`);
  if (!(await crypto.subtle.verify("HMAC", key, signature, signed))) {
    return refuse("bad_signature");
  }
  // LiveKit's tokens always carry exp; one without it is treated as expired.
  if (typeof payload.exp !== "number" || payload.exp + LEEWAY_SECONDS < nowSeconds) {
    return refuse("expired");
  }
  if (payload.nbf !== undefined) {
    if (typeof payload.nbf !== "number") return refuse("malformed");
    if (payload.nbf - LEEWAY_SECONDS > nowSeconds) return refuse("not_yet_valid");
  }
  const sip = payload.sip;
  const sipAdmin =
    typeof sip === "object" && sip !== null && (sip as Record<string, unknown>).admin === true;
  return { verdict: "ok", sipAdmin };
}
