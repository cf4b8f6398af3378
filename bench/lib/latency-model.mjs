// The latency model of `npm run bench -- --regions` (bench/README.md, "Latency model"): each
// route's recorded trips (the X-IO-Trace of the instrumented build) replayed against the round
// trips of bench/regions.mjs, from each client region, for our deployment and for a single-region
// deployment of the same code. Pure functions: no I/O, no clock.
import { CLIENT_REGIONS, HINT_REGIONS, PLACES, RTT_PAIRS, rttTable } from "../regions.mjs";

/** The read budget: what a read may take beyond the client's own trip to Cloudflare, in ms. */
export const READ_LIMIT_MS = 30;
/** Reads held to READ_LIMIT_MS. Search is not one of them: it waits on Twilio (see README). */
export const READ_ROUTES = ["list", "get"];
/** Cross-region trips a purchase from the farthest client region may make before Twilio. */
export const PURCHASE_CROSS_REGION_LIMIT = 1;

/**
 * One trip of an X-IO-Trace (bench/instrumented/io-counters.ts): `d1:primary`, `d1:replica`,
 * `do`, `do@<hint>`, `twilio`, `livekit`, the object's own prefixed `obj:`, `+` first when it
 * overlapped another trip of its side.
 */
export function parseTrip(token) {
  const match = /^(\+)?(obj:)?(d1:primary|d1:replica|do(?:@[a-z-]+)?|twilio|livekit)$/.exec(token);
  if (!match) throw new Error(`not a trip of X-IO-Trace: "${token}"`);
  const [, overlapped, object, what] = match;
  const [kind, rest] = what.startsWith("d1:") ? what.split(":") : what.split("@");
  return {
    side: object ? "object" : "worker",
    kind,
    d1: kind === "d1" ? rest : null,
    hint: kind === "do" ? (rest ?? null) : null,
    overlapped: Boolean(overlapped),
  };
}

/** The trips of an X-IO-Trace header (`-`: none). */
export function parseTrace(text) {
  const trimmed = text.trim();
  return trimmed === "-" || trimmed === "" ? [] : trimmed.split(/\s+/).map(parseTrip);
}

/** The region of a Cloudflare location hint, or an error naming the hints that have figures. */
export function hintRegion(hint) {
  const region = HINT_REGIONS[hint];
  if (!region) {
    throw new Error(
      `no round-trip figures for location hint "${hint}" (bench/regions.mjs has ${Object.keys(HINT_REGIONS).join(", ")})`,
    );
  }
  return region;
}

/**
 * The fixed places of the model: the D1 primary (a location hint), Twilio, LiveKit, the round
 * trips. Defaults: bench/regions.mjs.
 */
export function topology({
  d1PrimaryHint = PLACES.d1PrimaryHint,
  twilio = PLACES.twilio,
  livekit = PLACES.livekit,
  pairs = RTT_PAIRS,
} = {}) {
  const primary = hintRegion(d1PrimaryHint);
  return {
    d1PrimaryHint,
    primary,
    twilio,
    livekit: livekit ?? primary,
    rtt: rttTable(pairs),
  };
}

const round = (ms) => Math.round(ms * 10) / 10;

/**
 * One request's modeled latency, from `client`'s region, beyond the client's own trip to its
 * nearest Cloudflare location: the sum of the round trips of its `trips` (parseTrace), one after
 * another, each from where it starts to where it goes.
 *
 * deployment "ours": the Worker runs in the client's region; a replica-eligible read goes to the
 * client region's replica (D1 has one in every region); the workspace object sits in the region
 * of the location hint it was asked for with, or, without one, in the client's region (created
 * near the first request, taken to come from the same region as this one).
 * deployment "single": the same code with everything in the primary's region: one trip from the
 * client's region to it first (the "entry"), then the Worker there, the object there too unless
 * it was given a hint.
 *
 * An object's own trips start from the object's region: D1 (its primary trips to the primary,
 * its replica reads to its region's replica), Twilio, LiveKit. Trips that overlapped are added up
 * all the same: `modeled_ms` is then an upper bound (`overlapped` says how many).
 */
export function modelRequest(trips, client, deployment, places) {
  const { rtt, primary } = places;
  const rttOf = (from, to) => {
    const ms = rtt[from]?.[to];
    if (ms === undefined) throw new Error(`no round-trip figure from ${from} to ${to}`);
    return ms;
  };
  const worker = deployment === "single" ? primary : client;
  const objectAt = (hint) => (hint ? hintRegion(hint) : worker);
  // The object's region, from the first call that named one (every call names the same hint).
  const hinted = trips.find((trip) => trip.kind === "do" && trip.hint);
  const object = objectAt(hinted?.hint ?? null);

  const legs = [];
  if (deployment === "single") legs.push({ name: "entry", from: client, to: primary });
  for (const trip of trips) {
    const from = trip.side === "object" ? object : worker;
    const to =
      trip.kind === "do"
        ? object
        : trip.kind === "twilio"
          ? places.twilio
          : trip.kind === "livekit"
            ? places.livekit
            : trip.d1 === "replica"
              ? from
              : primary;
    const name = `${trip.side === "object" ? "obj:" : ""}${trip.kind === "d1" ? `d1:${trip.d1}` : trip.kind}`;
    legs.push({ name, from, to, kind: trip.kind });
  }
  let ms = 0;
  let cross = 0;
  let crossBeforeTwilio = null;
  for (const leg of legs) {
    if (leg.kind === "twilio" && crossBeforeTwilio === null) crossBeforeTwilio = cross;
    leg.ms = rttOf(leg.from, leg.to);
    ms += leg.ms;
    if (leg.from !== leg.to) cross++;
  }
  return {
    modeled_ms: round(ms),
    cross_region_trips: cross,
    cross_region_trips_before_twilio: crossBeforeTwilio,
    overlapped_trips: trips.filter((trip) => trip.overlapped).length,
    object_region: trips.some((trip) => trip.kind === "do") ? object : null,
    legs: legs.map((leg) => `${leg.name} ${leg.from}>${leg.to} ${leg.ms}`).join(" + "),
  };
}

/**
 * Every route from every client region, ours and single-region. `traces` maps a route to its
 * X-IO-Trace (null when its request failed: its figures are then null).
 */
export function modelRoutes(traces, places, clients = CLIENT_REGIONS) {
  const regions = {};
  const single = {};
  for (const client of clients) {
    regions[client] = {};
    single[client] = {};
    for (const [route, trace] of Object.entries(traces)) {
      if (trace === null) {
        regions[client][route] = { modeled_ms: null };
        single[client][route] = { modeled_ms: null };
        continue;
      }
      const trips = parseTrace(trace);
      const ours = modelRequest(trips, client, "ours", places);
      const central = modelRequest(trips, client, "single", places);
      regions[client][route] = {
        ...ours,
        saved_vs_single_ms: round(central.modeled_ms - ours.modeled_ms),
      };
      single[client][route] = central;
    }
  }
  return { regions, regions_single: single };
}

/** The client region farthest (by round trip) from the D1 primary. */
export function farthestRegion(places, clients = CLIENT_REGIONS) {
  return clients.reduce((far, client) =>
    places.rtt[client][places.primary] > places.rtt[far][places.primary] ? client : far,
  );
}

/**
 * The budgets of the model: every read route (READ_ROUTES) from every client region within
 * READ_LIMIT_MS, ours; a purchase from the farthest client region with at most
 * PURCHASE_CROSS_REGION_LIMIT cross-region trips before Twilio is called. A figure that could not
 * be modeled is null and fails.
 */
export function modelBudgets({ regions }, places, clients = CLIENT_REGIONS) {
  const reads = clients.flatMap((client) =>
    READ_ROUTES.map((route) => ({
      client,
      route,
      ms: regions[client]?.[route]?.modeled_ms ?? null,
    })),
  );
  const worst = reads.some((r) => r.ms === null) ? null : Math.max(...reads.map((r) => r.ms));
  const far = farthestRegion(places, clients);
  const before = regions[far]?.purchase?.cross_region_trips_before_twilio ?? null;
  return {
    read_beyond_client_ms: {
      limit: `<= ${READ_LIMIT_MS} ms for ${READ_ROUTES.join(", ")}, from every client region (ours)`,
      value: worst,
      pass: worst !== null && worst <= READ_LIMIT_MS,
      missed: reads
        .filter((r) => r.ms === null || r.ms > READ_LIMIT_MS)
        .map((r) => `${r.route} from ${r.client}: ${r.ms} ms`),
    },
    purchase_cross_region_before_twilio: {
      limit: `<= ${PURCHASE_CROSS_REGION_LIMIT} from the farthest client region (${far}, ours)`,
      value: before,
      pass: before !== null && before <= PURCHASE_CROSS_REGION_LIMIT,
    },
  };
}

/** The model's results as printed: one row per route, ours / single-region per client region. */
export function regionsTable({ regions, regions_single, regions_budgets }, places, clients) {
  const routes = Object.keys(regions[clients[0]] ?? {});
  const ms = (v) => (v === null || v === undefined ? "-" : `${v}`);
  const header = [
    "route",
    ...clients.map((c) => `${c}: ours / single (ms)`),
    "cross-region before Twilio, ours / single",
  ];
  const far = farthestRegion(places, clients);
  const rows = routes.map((route) => {
    const bound = clients.some((c) => (regions[c][route].overlapped_trips ?? 0) > 0);
    const before = (x) => x?.cross_region_trips_before_twilio;
    return [
      `${route}${READ_ROUTES.includes(route) ? " (read)" : ""}${bound ? " (upper bound)" : ""}`,
      ...clients.map(
        (c) => `${ms(regions[c][route].modeled_ms)} / ${ms(regions_single[c][route].modeled_ms)}`,
      ),
      before(regions[far][route]) === null || before(regions[far][route]) === undefined
        ? ""
        : `${before(regions[far][route])} / ${before(regions_single[far][route])} (from ${far})`,
    ];
  });
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  const verdict = (b) => `${b.pass ? "pass" : "FAIL"}: ${b.value} (${b.limit})`;
  return [
    `Latency model: D1 primary ${places.d1PrimaryHint} (${places.primary}), Twilio ${places.twilio}, LiveKit ${places.livekit}; ms beyond the client's trip to its nearest Cloudflare location, compute left out`,
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
    `reads: ${verdict(regions_budgets.read_beyond_client_ms)}`,
    `purchase: ${verdict(regions_budgets.purchase_cross_region_before_twilio)}`,
  ].join("\n");
}
