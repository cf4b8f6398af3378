// The LiveKit stand-in's catalogue of US numbers for sale: a pure function of the area code, so
// every run, test and developer sees the same numbers. What the project holds is subtracted by
// the caller, never stored here.
//
// Every LiveKit number is in the 555-01XX block (555-0100 to 555-0199, set aside for fiction), so
// it can never be one of the Twilio stand-in's numbers, which are scattered over other exchanges:
// a test checks the two catalogues are disjoint.

export const NUMBERS_PER_NPA = 100;
const EXCHANGE = "555";

/** Searched, in this order, when a search names no area code. */
export const DEFAULT_SEARCH_NPAS = ["415", "212", "312", "206", "512", "617"] as const;

/** Toll-free codes: LiveKit sells local numbers only. */
const TOLL_FREE_NPAS = new Set(["800", "833", "844", "855", "866", "877", "888"]);

/** +1 area codes outside the United States (Canada, the Caribbean): not sold. */
const NON_US_NPAS = new Set([
  "204",
  "226",
  "236",
  "249",
  "250",
  "263",
  "289",
  "306",
  "343",
  "354",
  "365",
  "367",
  "368",
  "382",
  "403",
  "416",
  "418",
  "428",
  "431",
  "437",
  "438",
  "450",
  "460",
  "468",
  "474",
  "506",
  "514",
  "519",
  "548",
  "579",
  "581",
  "584",
  "587",
  "604",
  "613",
  "639",
  "647",
  "672",
  "683",
  "705",
  "709",
  "742",
  "753",
  "778",
  "780",
  "782",
  "807",
  "819",
  "825",
  "867",
  "873",
  "879",
  "902",
  "905",
  "242",
  "246",
  "264",
  "268",
  "284",
  "345",
  "441",
  "473",
  "649",
  "658",
  "664",
  "721",
  "758",
  "767",
  "784",
  "809",
  "829",
  "849",
  "868",
  "869",
  "876",
]);

interface Place {
  locality: string;
  region: string;
}

const KNOWN_PLACES: Readonly<Record<string, Place>> = {
  "202": { locality: "Washington", region: "DC" },
  "206": { locality: "Seattle", region: "WA" },
  "212": { locality: "New York", region: "NY" },
  "213": { locality: "Los Angeles", region: "CA" },
  "303": { locality: "Denver", region: "CO" },
  "305": { locality: "Miami", region: "FL" },
  "312": { locality: "Chicago", region: "IL" },
  "404": { locality: "Atlanta", region: "GA" },
  "415": { locality: "San Francisco", region: "CA" },
  "503": { locality: "Portland", region: "OR" },
  "512": { locality: "Austin", region: "TX" },
  "602": { locality: "Phoenix", region: "AZ" },
  "617": { locality: "Boston", region: "MA" },
  "702": { locality: "Las Vegas", region: "NV" },
  "907": { locality: "Anchorage", region: "AK" },
};

const FALLBACK_PLACES: readonly Place[] = [
  { locality: "Columbus", region: "OH" },
  { locality: "Kansas City", region: "MO" },
  { locality: "Omaha", region: "NE" },
  { locality: "Raleigh", region: "NC" },
  { locality: "Boise", region: "ID" },
  { locality: "Tulsa", region: "OK" },
];

/** A North American area code: [2-9][0-8][0-9], not N11. */
export function isValidNpa(npa: string): boolean {
  return /^[2-9][0-8][0-9]$/.test(npa) && npa.slice(1) !== "11";
}

/** Whether a +1 number's area code is a United States one (LiveKit sells only those). */
export function isUsNpa(npa: string): boolean {
  return isValidNpa(npa) && !NON_US_NPAS.has(npa);
}

/** Every number the catalogue holds in this area code, in a fixed order. */
export function catalogueForNpa(npa: string): string[] {
  if (!isUsNpa(npa) || TOLL_FREE_NPAS.has(npa)) return [];
  return Array.from(
    { length: NUMBERS_PER_NPA },
    (_, line) => `+1${npa}${EXCHANGE}01${String(line).padStart(2, "0")}`,
  );
}

/** Whether the catalogue holds this number (held by the project or not). */
export function isCatalogued(e164: string): boolean {
  const match = /^\+1(\d{3})55501\d{2}$/.exec(e164);
  return match?.[1] !== undefined && catalogueForNpa(match[1]).length > 0;
}

export function placeForNpa(npa: string): Place {
  const known = KNOWN_PLACES[npa];
  if (known) return known;
  const index = Number(npa) % FALLBACK_PLACES.length;
  return FALLBACK_PLACES[index] ?? { locality: "", region: "" };
}
