// Secrets of customers (a Twilio auth token, the SIP password of a trunk we created for them),
// encrypted at rest with AES-256-GCM (Web Crypto): a random 96-bit IV per write, the record's
// identity as additional data (a ciphertext moved to another record does not decrypt), and the
// key's version beside the ciphertext, so that keys can rotate: new writes use the current key,
// older ciphertexts decrypt with the key of their version for as long as the keyring holds it.
//
// The stored form is one string: `v<version>.<base64 iv>.<base64 ciphertext+tag>`.

export type Keyring = {
  /** The version new writes use. */
  current: string;
  /** Raw 32-byte keys by version (the current one included). */
  keys: Map<string, Uint8Array>;
};

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialsError";
  }
}

const VERSION = /^[A-Za-z0-9_-]{1,32}$/;

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function keyBytes(base64: string, version: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(base64.trim());
  } catch {
    throw new CredentialsError(`credentials key ${version} is not base64`);
  }
  if (bytes.length !== 32) throw new CredentialsError(`credentials key ${version} is not 32 bytes`);
  return bytes;
}

/**
 * The keyring from the Worker's settings: `CREDENTIALS_KEY` (base64, 32 bytes) is the key of
 * version `CREDENTIALS_KEY_VERSION` (default "1"); `CREDENTIALS_OLD_KEYS`, a JSON object of
 * version -> base64 key, holds the retired keys still needed to read older ciphertexts.
 * Null when no key is set (importing with credentials is then not configured).
 */
export function keyringFromEnv(env: Partial<Record<string, unknown>>): Keyring | null {
  const key = typeof env.CREDENTIALS_KEY === "string" ? env.CREDENTIALS_KEY.trim() : "";
  if (key === "") return null;
  const version =
    typeof env.CREDENTIALS_KEY_VERSION === "string" && env.CREDENTIALS_KEY_VERSION.trim() !== ""
      ? env.CREDENTIALS_KEY_VERSION.trim()
      : "1";
  const keys = new Map<string, Uint8Array>();
  const old = typeof env.CREDENTIALS_OLD_KEYS === "string" ? env.CREDENTIALS_OLD_KEYS.trim() : "";
  if (old !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(old);
    } catch {
      throw new CredentialsError("CREDENTIALS_OLD_KEYS is not a JSON object");
    }
    for (const [v, k] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
      if (VERSION.test(v) && typeof k === "string") keys.set(v, keyBytes(k, v));
    }
  }
  if (!VERSION.test(version)) throw new CredentialsError("CREDENTIALS_KEY_VERSION is malformed");
  keys.set(version, keyBytes(key, version));
  return { current: version, keys };
}

async function importKey(raw: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, [usage]);
}

/** Encrypts `plaintext` bound to `aad` (the identity of the record that stores it). */
export async function sealSecret(
  keyring: Keyring,
  plaintext: string,
  aad: string,
): Promise<string> {
  const raw = keyring.keys.get(keyring.current);
  if (!raw) throw new CredentialsError("the current credentials key is missing");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(aad) },
    await importKey(raw, "encrypt"),
    new TextEncoder().encode(plaintext),
  );
  return `v${keyring.current}.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

/** The version of the key a stored secret was sealed with (for rotation sweeps). */
export function sealedVersion(sealed: string): string | null {
  const match = /^v([A-Za-z0-9_-]{1,32})\./.exec(sealed);
  return match?.[1] ?? null;
}

/**
 * Decrypts a stored secret sealed for `aad`. Throws CredentialsError when the key of its
 * version is unknown, or it was tampered with, or it belongs to another record.
 */
export async function openSecret(keyring: Keyring, sealed: string, aad: string): Promise<string> {
  const parts = sealed.split(".");
  const version = sealedVersion(sealed);
  if (parts.length !== 3 || version === null) {
    throw new CredentialsError("stored secret is malformed");
  }
  const raw = keyring.keys.get(version);
  if (!raw) throw new CredentialsError(`no credentials key of version ${version}`);
  try {
    const opened = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: fromBase64(parts[1] ?? ""),
        additionalData: new TextEncoder().encode(aad),
      },
      await importKey(raw, "decrypt"),
      fromBase64(parts[2] ?? ""),
    );
    return new TextDecoder().decode(opened);
  } catch {
    throw new CredentialsError("stored secret does not decrypt (tampered, or another record's)");
  }
}

/** SHA-256 hex of a secret: what a request hash holds instead of the secret. */
export async function secretDigest(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
