import { describe, expect, it } from "vitest";
import { signSipAdminToken, sipAdminToken, TOKEN_TTL_SECONDS } from "../../src/livekit/token";

const credentials = { apiKey: "APIkey123", apiSecret: "a-secret-of-at-least-thirty-two-chars!" };

function base64UrlDecode(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function decodePart(text: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64UrlDecode(text))) as Record<string, unknown>;
}

async function verify(token: string, secret: string): Promise<boolean> {
  const [header, payload, signature] = token.split(".");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  return crypto.subtle.verify(
    "HMAC",
    key,
    base64UrlDecode(signature ?? ""),
    new TextEncoder().encode(`${header}.${payload}`),
  );
}

describe("LiveKit access tokens", () => {
  it("are HS256 JWTs with iss, nbf, exp and the sip.admin grant, signed with the secret", async () => {
    const now = 1_800_000_000;
    const { token, expiresAt } = await signSipAdminToken(credentials, { now });
    const parts = token.split(".");
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePart(parts[0] ?? "")).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = decodePart(parts[1] ?? "");
    expect(claims).toEqual({
      iss: "APIkey123",
      nbf: now - 30,
      exp: now + TOKEN_TTL_SECONDS,
      sip: { admin: true },
    });
    expect(expiresAt).toBe(now + TOKEN_TTL_SECONDS);
    expect(TOKEN_TTL_SECONDS).toBeLessThanOrEqual(600);
    expect(await verify(token, credentials.apiSecret)).toBe(true);
    expect(await verify(token, "another-secret-of-thirty-two-characters")).toBe(false);
  });

  it("carry sub when asked", async () => {
    const { token } = await signSipAdminToken(credentials, { subject: "phone-numbers" });
    expect(decodePart(token.split(".")[1] ?? "").sub).toBe("phone-numbers");
  });

  it("are reused while valid, and never across secrets", async () => {
    const first = await sipAdminToken(credentials);
    expect(await sipAdminToken(credentials)).toBe(first);
    const rotated = await sipAdminToken({ ...credentials, apiSecret: `${credentials.apiSecret}2` });
    expect(rotated).not.toBe(first);
    expect(await verify(rotated, `${credentials.apiSecret}2`)).toBe(true);
    const claims = decodePart(first.split(".")[1] ?? "");
    const now = Math.floor(Date.now() / 1000);
    expect(claims.nbf).toBeLessThanOrEqual(now);
    expect(claims.exp).toBeGreaterThan(now + 60);
  });
});
