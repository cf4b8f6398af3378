// Wire identifiers are `<prefix>_<ULID>`: 26 Crockford base32 characters, a 48-bit
// millisecond timestamp then 80 random bits, so ids sort by creation time.
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ULID_PATTERN = "[0-9A-HJKMNP-TV-Z]{26}";

export type IdPrefix = "phone" | "agent" | "ws" | "key" | "trunk";

export function ulid(now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let tail = "";
  for (const byte of random) tail += CROCKFORD[byte % 32];
  return time + tail;
}

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

const ID_PATTERNS = new Map<IdPrefix, RegExp>();

/** The pattern of a wire id with this prefix, compiled once per prefix. */
export function idPattern(prefix: IdPrefix): RegExp {
  let pattern = ID_PATTERNS.get(prefix);
  if (!pattern) {
    pattern = new RegExp(`^${prefix}_${ULID_PATTERN}$`);
    ID_PATTERNS.set(prefix, pattern);
  }
  return pattern;
}

export function isId(prefix: IdPrefix, value: string): boolean {
  return idPattern(prefix).test(value);
}
