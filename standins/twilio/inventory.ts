// The stand-in's catalogue of numbers Twilio could sell. It is a pure function of the area code
// so every run, test and developer sees the same numbers; what the account owns is subtracted
// by the caller, never stored here.

/** Twilio's test-credential numbers: purchase outcomes are fixed whatever the inventory says. */
export const MAGIC_UNAVAILABLE = "+15005550000";
export const MAGIC_INVALID = "+15005550001";
export const MAGIC_AVAILABLE = "+15005550006";
const MAGIC_NUMBERS = [MAGIC_UNAVAILABLE, MAGIC_INVALID, MAGIC_AVAILABLE] as const;

/** Twilio's test area code that never has numbers. */
export const EMPTY_NPA = "533";

export const NUMBERS_PER_NPA = 100;

/** Searched, in this order, when a search names no area code and no location filter. */
export const DEFAULT_SEARCH_NPAS = ["415", "212", "312", "206", "512", "617"] as const;

export interface NumberLocation {
  locality: string;
  region: string;
  lata: string;
  rate_center: string;
  /** Decimal strings with six places, as the live API sends them (the spec says number). */
  latitude: string;
  longitude: string;
  postal_code: string;
}

interface Place {
  locality: string;
  region: string;
  lata: string;
  rateCenter: string;
  latitude: number;
  longitude: number;
  postalCode: string;
}

function place(
  locality: string,
  region: string,
  lata: string,
  rateCenter: string,
  latitude: number,
  longitude: number,
  postalCode: string,
): Place {
  return { locality, region, lata, rateCenter, latitude, longitude, postalCode };
}

// Real homes for the area codes people are likely to type, so demos look plausible.
const KNOWN_NPA_PLACES: Readonly<Record<string, Place>> = {
  "202": place("Washington", "DC", "236", "WASHINGTON", 38.9, -77.04, "20001"),
  "206": place("Seattle", "WA", "674", "SEATTLE", 47.61, -122.33, "98101"),
  "212": place("New York", "NY", "132", "NWYRCYZN01", 40.71, -74.01, "10001"),
  "213": place("Los Angeles", "CA", "730", "LSAN DA 01", 34.05, -118.24, "90012"),
  "215": place("Philadelphia", "PA", "228", "PHLA", 39.95, -75.17, "19102"),
  "303": place("Denver", "CO", "656", "DENVER", 39.74, -104.99, "80202"),
  "305": place("Miami", "FL", "460", "MIAMI", 25.76, -80.19, "33101"),
  "312": place("Chicago", "IL", "358", "CHICAGO", 41.88, -87.63, "60601"),
  "404": place("Atlanta", "GA", "438", "ATLANTA", 33.75, -84.39, "30303"),
  "415": place("San Francisco", "CA", "722", "SNFC CNTRL", 37.77, -122.42, "94103"),
  "500": place("Washington", "DC", "236", "WASHINGTON", 38.9, -77.04, "20001"),
  "503": place("Portland", "OR", "672", "PORTLAND", 45.52, -122.68, "97201"),
  "504": place("New Orleans", "LA", "490", "NWORLEANS", 29.95, -90.07, "70112"),
  "512": place("Austin", "TX", "558", "AUSTIN", 30.27, -97.74, "78701"),
  "602": place("Phoenix", "AZ", "666", "PHOENIX", 33.45, -112.07, "85003"),
  "612": place("Minneapolis", "MN", "628", "MINNEAPOLS", 44.98, -93.27, "55401"),
  "615": place("Nashville", "TN", "468", "NASHVILLE", 36.16, -86.78, "37201"),
  "617": place("Boston", "MA", "128", "BOSTON", 42.36, -71.06, "02108"),
  "702": place("Las Vegas", "NV", "721", "LAS VEGAS", 36.17, -115.14, "89101"),
  "801": place("Salt Lake City", "UT", "660", "SALT LAKE", 40.76, -111.89, "84101"),
  "808": place("Hilo", "HI", "834", "HILO", 19.72, -155.09, "96720"),
};

// Other area codes borrow one of these, picked by a hash of the area code.
const FALLBACK_PLACES: readonly Place[] = [
  place("Columbus", "OH", "324", "COLUMBUS", 39.96, -83.0, "43215"),
  place("Kansas City", "MO", "524", "KSCYMO", 39.1, -94.58, "64105"),
  place("Albuquerque", "NM", "664", "ALBUQUERQE", 35.08, -106.65, "87102"),
  place("Omaha", "NE", "644", "OMAHA", 41.26, -95.94, "68102"),
  place("Raleigh", "NC", "426", "RALEIGH", 35.78, -78.64, "27601"),
  place("Boise", "ID", "652", "BOISE", 43.62, -116.2, "83702"),
  place("Louisville", "KY", "462", "LOUISVILLE", 38.25, -85.76, "40202"),
  place("Madison", "WI", "354", "MADISON", 43.07, -89.4, "53703"),
  place("Richmond", "VA", "248", "RICHMOND", 37.54, -77.44, "23219"),
  place("Tulsa", "OK", "538", "TULSA", 36.15, -95.99, "74103"),
  place("Sacramento", "CA", "726", "SACRAMENTO", 38.58, -121.49, "95814"),
  place("Buffalo", "NY", "140", "BUFFALO", 42.89, -78.88, "14202"),
];

/** A North American area code Twilio could hold numbers in: [2-9][0-8][0-9], not N11. */
export function isValidNpa(npa: string): boolean {
  return /^[2-9][0-8][0-9]$/.test(npa) && npa.slice(1) !== "11";
}

export const ALL_NPAS: readonly string[] = (() => {
  const npas: string[] = [];
  for (let n = 200; n <= 999; n++) {
    const npa = String(n);
    if (isValidNpa(npa)) npas.push(npa);
  }
  return npas;
})();

// mulberry32: tiny, fast and good enough to scatter exchange and line digits.
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const numbersByNpa = new Map<string, readonly string[]>();

/** Every number the catalogue holds in this area code, in a fixed order. */
export function catalogueForNpa(npa: string): readonly string[] {
  const cached = numbersByNpa.get(npa);
  if (cached) return cached;
  const numbers: string[] = [];
  if (isValidNpa(npa) && npa !== EMPTY_NPA) {
    const seen = new Set<string>();
    if (npa === "500") {
      for (const magic of MAGIC_NUMBERS) {
        numbers.push(magic);
        seen.add(magic);
      }
    }
    const random = seededRandom(Number(npa) * 2654435761);
    while (numbers.length < NUMBERS_PER_NPA + (npa === "500" ? MAGIC_NUMBERS.length : 0)) {
      const exchange = 200 + Math.floor(random() * 800);
      // N11 exchanges are service codes (411, 911...), never assigned to subscribers.
      if (exchange % 100 === 11) continue;
      const line = String(Math.floor(random() * 10000)).padStart(4, "0");
      const e164 = `+1${npa}${exchange}${line}`;
      if (seen.has(e164)) continue;
      seen.add(e164);
      numbers.push(e164);
    }
  }
  numbersByNpa.set(npa, numbers);
  return numbers;
}

/** Whether the catalogue holds this number (owned or not). */
export function isCatalogued(e164: string): boolean {
  const match = /^\+1(\d{3})\d{7}$/.exec(e164);
  if (!match?.[1]) return false;
  return catalogueForNpa(match[1]).includes(e164);
}

export function isMagicNumber(e164: string): boolean {
  return (MAGIC_NUMBERS as readonly string[]).includes(e164);
}

function hashNpa(npa: string): number {
  let hash = 2166136261;
  for (const char of npa) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash;
}

export function locationForNpa(npa: string): NumberLocation {
  const home =
    KNOWN_NPA_PLACES[npa] ??
    FALLBACK_PLACES[hashNpa(npa) % FALLBACK_PLACES.length] ??
    FALLBACK_PLACES[0];
  if (!home) throw new Error("FALLBACK_PLACES is empty");
  return {
    locality: home.locality,
    region: home.region,
    lata: home.lata,
    rate_center: home.rateCenter,
    latitude: home.latitude.toFixed(6),
    longitude: home.longitude.toFixed(6),
    postal_code: home.postalCode,
  };
}

/** "+14155550123" -> "(415) 555-0123", Twilio's default friendly name for US numbers. */
export function nationalFormat(e164: string): string {
  const match = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  if (!match) return e164;
  return `(${match[1]}) ${match[2]}-${match[3]}`;
}
