import { describe, expect, it } from "vitest";
import {
  CredentialsError,
  keyringFromEnv,
  openSecret,
  sealedVersion,
  sealSecret,
} from "../../src/crypto/credentials";

const KEY_1 = btoa(String.fromCharCode(...new Uint8Array(32).fill(1)));
const KEY_2 = btoa(String.fromCharCode(...new Uint8Array(32).fill(2)));

function ring(env: Record<string, string>) {
  const keyring = keyringFromEnv(env);
  if (!keyring) throw new Error("no keyring");
  return keyring;
}

describe("credentials at rest (AES-256-GCM)", () => {
  it("round-trips, with a fresh IV per write and the version beside the ciphertext", async () => {
    const keyring = ring({ CREDENTIALS_KEY: KEY_1 });
    const a = await sealSecret(keyring, "token-123", "trunk_A");
    const b = await sealSecret(keyring, "token-123", "trunk_A");
    expect(a).not.toBe(b);
    expect(a).not.toContain("token-123");
    expect(sealedVersion(a)).toBe("1");
    expect(await openSecret(keyring, a, "trunk_A")).toBe("token-123");
  });

  it("refuses a tampered ciphertext", async () => {
    const keyring = ring({ CREDENTIALS_KEY: KEY_1 });
    const sealed = await sealSecret(keyring, "token-123", "trunk_A");
    const [v, iv, ct] = sealed.split(".") as [string, string, string];
    const bytes = Uint8Array.from(atob(ct), (c) => c.charCodeAt(0));
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    const tampered = `${v}.${iv}.${btoa(String.fromCharCode(...bytes))}`;
    await expect(openSecret(keyring, tampered, "trunk_A")).rejects.toBeInstanceOf(CredentialsError);
    await expect(openSecret(keyring, "garbage", "trunk_A")).rejects.toBeInstanceOf(
      CredentialsError,
    );
  });

  it("refuses another record's ciphertext (wrong additional data)", async () => {
    const keyring = ring({ CREDENTIALS_KEY: KEY_1 });
    const sealed = await sealSecret(keyring, "token-123", "trunk_A");
    await expect(openSecret(keyring, sealed, "trunk_B")).rejects.toBeInstanceOf(CredentialsError);
  });

  it("rotates: new writes use the new key, old ciphertexts open with the retired one", async () => {
    const before = ring({ CREDENTIALS_KEY: KEY_1, CREDENTIALS_KEY_VERSION: "1" });
    const old = await sealSecret(before, "old-token", "trunk_A");
    const after = ring({
      CREDENTIALS_KEY: KEY_2,
      CREDENTIALS_KEY_VERSION: "2",
      CREDENTIALS_OLD_KEYS: JSON.stringify({ "1": KEY_1 }),
    });
    expect(await openSecret(after, old, "trunk_A")).toBe("old-token");
    const fresh = await sealSecret(after, "new-token", "trunk_A");
    expect(sealedVersion(fresh)).toBe("2");
    await expect(openSecret(before, fresh, "trunk_A")).rejects.toBeInstanceOf(CredentialsError);
    const retired = ring({ CREDENTIALS_KEY: KEY_2, CREDENTIALS_KEY_VERSION: "2" });
    await expect(openSecret(retired, old, "trunk_A")).rejects.toBeInstanceOf(CredentialsError);
  });

  it("refuses malformed keys, and is not configured without one", () => {
    expect(keyringFromEnv({})).toBeNull();
    expect(() => keyringFromEnv({ CREDENTIALS_KEY: btoa("short") })).toThrow(CredentialsError);
  });
});
