// The places and round-trip times of the latency model (bench/lib/latency-model.mjs, run by
// `npm run bench -- --regions`; see bench/README.md, "Latency model"). Every figure is a median
// round trip in milliseconds between two regions, with its source. Change a figure here, with its
// source, and the model follows.
//
// Sources:
// [azure] Microsoft, "Azure network round-trip latency statistics",
//   https://learn.microsoft.com/en-us/azure/networking/azure-network-latency: monthly P50 (median)
//   round trips between Azure regions over Microsoft's backbone, 1-minute probes, 30-day window
//   ending July 30, 2026 (the page has also been published with P95 tables for the same window, a
//   few ms higher; the P50 ones are used). Directional: where the two directions differ, the mean
//   is used. Azure's backbone stands in for Cloudflare's, which publishes no such table: over these
//   distances the fibre path, not the operator, sets the round trip.
// [ibm] IBM Cloud VPC documentation, inter-region latency averages, 18 Oct - 16 Nov 2025
//   (github.com/ibm-cloud-docs/vpc, _include-segments/network-latency.md): a cross-check of the
//   transatlantic figure (Washington DC - London 75 and 76 ms against Azure's 78 ms).
// [d1-replicas] Cloudflare, "Global read replication",
//   https://developers.cloudflare.com/d1/best-practices/read-replication/#read-replica-locations:
//   "D1 automatically creates a read replica in every supported region, including the region
//   where the primary database instance is located": ENAM, WNAM, WEUR, EEUR, APAC, OC. Which data
//   centre of a region holds its replica is not published ("subject to change at Cloudflare's
//   discretion").
// [do-location] Cloudflare, "Durable Objects: Data location",
//   https://developers.cloudflare.com/durable-objects/reference/data-location/: "By default, a
//   Durable Object is instantiated in a data center close to where the initial get() request is
//   made"; a locationHint (wnam, enam, weur, apac, ...) places it near that region instead, and
//   objects do not move once created.
// [twilio] Twilio, "Legacy Regions",
//   https://www.twilio.com/docs/global-infrastructure/edge-locations/legacy-regions: the default
//   Region US1 is "US East Coast (Virginia)"; api.twilio.com is processed there, whichever edge
//   the request enters by ("Understanding Edge Locations",
//   https://www.twilio.com/docs/global-infrastructure/understanding-edge-locations: "you select a
//   processing region by using the appropriate hostname"). Other processing Regions (IE1 Dublin,
//   AU1 Sydney, JP1 Tokyo) exist, but "Regions operate in isolation" and not every product is in
//   each ("Regional product availability", https://www.twilio.com/docs/global-infrastructure/
//   regional-product-and-feature-availability): the model keeps Twilio in US1.

/** The client regions: each client reaches the Cloudflare location nearest to it, in its region. */
export const CLIENT_REGIONS = ["us-east", "eu-west", "ap-southeast"];

/**
 * Every region the model knows: the client regions and us-west (for a primary or an object in
 * WNAM). `city` is where the region's figures are taken from; `azure` the region standing for it
 * in [azure].
 */
export const REGIONS = {
  "us-east": { city: "Ashburn, Virginia (IAD)", azure: "East US" },
  "us-west": { city: "San Jose, California (SJC)", azure: "West US" },
  "eu-west": { city: "London (LHR)", azure: "UK South" },
  "ap-southeast": { city: "Singapore (SIN)", azure: "Southeast Asia" },
};

/**
 * Cloudflare's location hints (D1's and Durable Objects' alike) of the modeled regions. The other
 * hints (sam, eeur, oc, afr, me, apac-ne) have no figures here.
 */
export const HINT_REGIONS = {
  enam: "us-east",
  wnam: "us-west",
  weur: "eu-west",
  // APAC is one D1 region from India to Japan; its data centre is not published [d1-replicas].
  apac: "ap-southeast",
  "apac-se": "ap-southeast",
};

/** Where the fixed parties are. */
export const PLACES = {
  /**
   * The D1 primary: created with location hint "enam", near Twilio's US1 so that the workspace
   * object, placed near the primary, calls Twilio in its own region. `--d1-primary wnam` models
   * the other choice.
   */
  d1PrimaryHint: "enam",
  /** api.twilio.com: Region US1, Virginia [twilio]. */
  twilio: "us-east",
  /** The LiveKit project: assumed in the D1 primary's region (`null`: wherever the primary is). */
  livekit: null,
};

/**
 * Round trips between regions, in ms, each way the same. A region with itself is a trip to
 * another data centre of the same region (a client's Cloudflare location to its region's D1
 * replica, an object to the primary near it): never 0.
 */
export const RTT_PAIRS = [
  // Same region, another data centre.
  // [azure] East US <-> East US 2 (both Virginia): 8 and 9.
  { a: "us-east", b: "us-east", ms: 8.5, source: "azure" },
  // [azure] West US (California) <-> West US 2 (Washington): 24 and 24.
  { a: "us-west", b: "us-west", ms: 24, source: "azure" },
  // [azure] UK South (London) <-> West Europe (Amsterdam): 11 and 11.
  { a: "eu-west", b: "eu-west", ms: 11, source: "azure" },
  // [azure] Southeast Asia (Singapore) <-> East Asia (Hong Kong): 36 and 36. The APAC replica's
  // city is not published [d1-replicas]: 8.5 if it is near Singapore (Southeast Asia <-> Malaysia
  // West: 8 and 9), 72 if in Tokyo (Southeast Asia <-> Japan East: 72 and 72). Hong Kong, between
  // the two, is the figure used: the soft spot of the model (see bench/README.md).
  { a: "ap-southeast", b: "ap-southeast", ms: 36, source: "azure" },

  // Across regions.
  // [azure] East US <-> UK South: 78 and 78. [ibm] Washington DC <-> London: 75 and 76.
  { a: "us-east", b: "eu-west", ms: 78, source: "azure" },
  // [azure] East US <-> Southeast Asia: 224 and 224.
  { a: "us-east", b: "ap-southeast", ms: 224, source: "azure" },
  // [azure] East US <-> West US: 69 and 67.
  { a: "us-east", b: "us-west", ms: 68, source: "azure" },
  // [azure] UK South <-> Southeast Asia: 167 and 167.
  { a: "eu-west", b: "ap-southeast", ms: 167, source: "azure" },
  // [azure] UK South <-> West US: 140 and 140.
  { a: "eu-west", b: "us-west", ms: 140, source: "azure" },
  // [azure] Southeast Asia <-> West US: 170 and 170.
  { a: "ap-southeast", b: "us-west", ms: 170, source: "azure" },
];

/** The sources of RTT_PAIRS, by key, as cited above. */
export const SOURCES = {
  azure:
    "Microsoft, Azure network round-trip latency statistics, P50, 30 days to 2026-07-30: https://learn.microsoft.com/en-us/azure/networking/azure-network-latency",
  ibm: "IBM Cloud VPC docs, inter-region latency averages, 2025-10-18 to 2025-11-16: https://github.com/ibm-cloud-docs/vpc (_include-segments/network-latency.md)",
  "d1-replicas":
    "Cloudflare D1, Global read replication, read replica locations: https://developers.cloudflare.com/d1/best-practices/read-replication/#read-replica-locations",
  "do-location":
    "Cloudflare Durable Objects, Data location, location hints: https://developers.cloudflare.com/durable-objects/reference/data-location/",
  twilio:
    "Twilio, Legacy Regions (US1 = US East Coast, Virginia): https://www.twilio.com/docs/global-infrastructure/edge-locations/legacy-regions",
};

/** RTT_PAIRS as a lookup: rttTable()[a][b] in ms. */
export function rttTable(pairs = RTT_PAIRS) {
  const table = {};
  for (const { a, b, ms } of pairs) {
    table[a] ??= {};
    table[b] ??= {};
    table[a][b] = ms;
    table[b][a] = ms;
  }
  return table;
}
