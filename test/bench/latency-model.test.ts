// The latency model of `npm run bench -- --regions` (bench/lib/latency-model.mjs), with
// hand-written traces: today's (what test/bench/io-counters.test.ts records), and those of the
// change that is coming (reads through D1 sessions, the object created near the primary), which
// no route records yet. Pure functions: it runs in the "bench" project only to share its runner.
import { describe, expect, it } from "vitest";
import {
  farthestRegion,
  modelBudgets,
  modelRequest,
  modelRoutes,
  parseTrace,
  parseTrip,
  regionsTable,
  topology,
} from "../../bench/lib/latency-model.mjs";
import { CLIENT_REGIONS, RTT_PAIRS, rttTable } from "../../bench/regions.mjs";

const places = topology();
const rtt = rttTable();
const model = (trace: string, client: string, deployment: "ours" | "single" = "ours") =>
  modelRequest(parseTrace(trace), client, deployment, places);

/** The traces today's code records (test/bench/io-counters.test.ts, the bench's I/O phase). */
const TODAY = {
  list: "d1:primary",
  get: "d1:primary",
  search: "d1:primary twilio do",
  purchase: "d1:primary do obj:d1:primary obj:twilio obj:d1:primary",
};

/**
 * The same routes once authenticated reads go through `withSession("first-unconstrained")` (or a
 * bookmark: the counters record both as `d1:replica`) and the object is created with
 * `{ locationHint: "enam" }`, near the primary.
 */
const COMING = {
  list: "d1:replica",
  get: "d1:replica",
  search: "d1:replica twilio do@enam",
  purchase: "d1:replica do@enam obj:d1:primary obj:twilio obj:d1:primary",
};

describe("the latency model", () => {
  it("reads the trips of an X-IO-Trace", () => {
    expect(parseTrace("-")).toEqual([]);
    expect(parseTrace("d1:primary +d1:replica do@enam obj:twilio +obj:livekit")).toEqual([
      { side: "worker", kind: "d1", d1: "primary", hint: null, overlapped: false },
      { side: "worker", kind: "d1", d1: "replica", hint: null, overlapped: true },
      { side: "worker", kind: "do", d1: null, hint: "enam", overlapped: false },
      { side: "object", kind: "twilio", d1: null, hint: null, overlapped: false },
      { side: "object", kind: "livekit", d1: null, hint: null, overlapped: true },
    ]);
    expect(() => parseTrip("d1")).toThrow(/not a trip/);
    expect(() => parseTrip("obj:do:primary")).toThrow(/not a trip/);
  });

  it("uses the D1 primary in ENAM, Twilio in US1 (Virginia), LiveKit with the primary", () => {
    expect(places).toMatchObject({
      d1PrimaryHint: "enam",
      primary: "us-east",
      twilio: "us-east",
      livekit: "us-east",
    });
    // Every pair of modeled regions has a figure, a region with itself included (never 0).
    const regions = ["us-east", "us-west", "eu-west", "ap-southeast"];
    for (const a of regions) {
      for (const b of regions) expect(rtt[a]?.[b], `${a} to ${b}`).toBeGreaterThan(0);
    }
    expect(new Set(RTT_PAIRS.map((p) => p.source))).toEqual(new Set(["azure"]));
    expect(farthestRegion(places)).toBe("ap-southeast");
  });

  it("models today's reads at the primary: one trip from the client's region to it", () => {
    for (const client of CLIENT_REGIONS) {
      expect(model(TODAY.list, client).modeled_ms).toBe(rtt[client]?.["us-east"]);
    }
    expect(model(TODAY.get, "ap-southeast")).toMatchObject({
      modeled_ms: 224,
      cross_region_trips: 1,
      cross_region_trips_before_twilio: null,
      object_region: null,
      legs: "d1:primary ap-southeast>us-east 224",
    });
  });

  it("models a single-region deployment: one trip to the primary's region, the rest there", () => {
    expect(model(TODAY.list, "eu-west", "single")).toMatchObject({
      modeled_ms: 78 + 8.5,
      legs: "entry eu-west>us-east 78 + d1:primary us-east>us-east 8.5",
    });
    expect(model(TODAY.purchase, "ap-southeast", "single")).toMatchObject({
      modeled_ms: 224 + 5 * 8.5,
      cross_region_trips: 1,
      cross_region_trips_before_twilio: 1,
      object_region: "us-east",
    });
  });

  it("models reads counted as replica trips at the client region's replica (the coming change)", () => {
    // A bookmark read may wait for the replica to catch up: modeled as a replica trip all the same.
    expect(CLIENT_REGIONS.map((client) => model(COMING.list, client).modeled_ms)).toEqual([
      8.5, 11, 36,
    ]);
    const coming = modelRoutes(COMING, places);
    const budgets = modelBudgets(coming, places);
    // The APAC replica's city is not published: at Hong Kong's 36 ms, ap-southeast misses 30 ms.
    expect(budgets.read_beyond_client_ms).toMatchObject({
      value: 36,
      pass: false,
      missed: ["list from ap-southeast: 36 ms", "get from ap-southeast: 36 ms"],
    });
    // With the replica near Singapore (Southeast Asia - Malaysia West, 8.5 ms) every read passes.
    const nearSingapore = topology({
      pairs: RTT_PAIRS.map((p) =>
        p.a === "ap-southeast" && p.b === "ap-southeast" ? { ...p, ms: 8.5 } : p,
      ),
    });
    const near = modelRoutes(COMING, nearSingapore);
    expect(modelBudgets(near, nearSingapore).read_beyond_client_ms).toMatchObject({
      value: 11,
      pass: true,
      missed: [],
    });
  });

  it("counts a purchase's cross-region trips before Twilio: 2 today, 1 with the coming change", () => {
    // Today from Singapore: the key at the primary, then the object, created near the client,
    // claims the number at the primary: two ocean crossings before Twilio is called.
    expect(model(TODAY.purchase, "ap-southeast")).toMatchObject({
      modeled_ms: 224 + 36 + 224 + 224 + 224,
      cross_region_trips: 4,
      cross_region_trips_before_twilio: 2,
      object_region: "ap-southeast",
    });
    // Coming: the key at the nearby replica, then one crossing to the object near the primary,
    // whose claim, Twilio call and activation stay in its region.
    expect(model(COMING.purchase, "ap-southeast")).toMatchObject({
      modeled_ms: 36 + 224 + 3 * 8.5,
      cross_region_trips: 1,
      cross_region_trips_before_twilio: 1,
      object_region: "us-east",
      legs: "d1:replica ap-southeast>ap-southeast 36 + do ap-southeast>us-east 224 + obj:d1:primary us-east>us-east 8.5 + obj:twilio us-east>us-east 8.5 + obj:d1:primary us-east>us-east 8.5",
    });
    const today = modelBudgets(modelRoutes(TODAY, places), places);
    expect(today.purchase_cross_region_before_twilio).toMatchObject({ value: 2, pass: false });
    const coming = modelBudgets(modelRoutes(COMING, places), places);
    expect(coming.purchase_cross_region_before_twilio).toMatchObject({ value: 1, pass: true });
  });

  it("says what the single-region deployment costs against ours, route by route", () => {
    const { regions, regions_single } = modelRoutes(COMING, places);
    expect(regions_single["eu-west"]?.list?.modeled_ms).toBe(78 + 8.5);
    expect(regions["eu-west"]?.list).toMatchObject({ modeled_ms: 11, saved_vs_single_ms: 75.5 });
    // A search calls Twilio from the Worker: from Singapore that is an ocean crossing, and the
    // object near the primary is another one.
    expect(regions["ap-southeast"]?.search).toMatchObject({
      modeled_ms: 36 + 224 + 224,
      saved_vs_single_ms: 224 + 3 * 8.5 - (36 + 224 + 224),
    });
  });

  it("adds up trips that overlapped: an upper bound, and says so", () => {
    expect(model("d1:primary +d1:primary", "eu-west")).toMatchObject({
      modeled_ms: 156,
      overlapped_trips: 1,
    });
    const { regions, regions_single } = modelRoutes({ list: "d1:replica +d1:replica" }, places);
    const regions_budgets = modelBudgets({ regions }, places);
    expect(
      regionsTable({ regions, regions_single, regions_budgets }, places, CLIENT_REGIONS),
    ).toMatch(/list \(read\) \(upper bound\)/);
  });

  it("leaves a route it could not measure unmodeled, and its budget failed", () => {
    const { regions } = modelRoutes({ ...TODAY, purchase: null }, places);
    expect(regions["us-east"]?.purchase).toEqual({ modeled_ms: null });
    expect(modelBudgets({ regions }, places).purchase_cross_region_before_twilio).toMatchObject({
      value: null,
      pass: false,
    });
  });

  it("places an object by its location hint, and refuses a hint it has no figures for", () => {
    expect(model("do@weur", "us-east").legs).toBe("do us-east>eu-west 78");
    expect(() => model("do@oc", "us-east")).toThrow(/no round-trip figures for location hint "oc"/);
    expect(() => topology({ d1PrimaryHint: "sam" })).toThrow(/"sam"/);
    // A primary in WNAM: Twilio stays in Virginia, so the object near the primary calls it across
    // the continent.
    const west = topology({ d1PrimaryHint: "wnam" });
    expect(
      modelRequest(parseTrace(COMING.purchase.replace("enam", "wnam")), "us-east", "ours", west),
    ).toMatchObject({
      modeled_ms: 8.5 + 68 + 24 + 68 + 24,
      cross_region_trips_before_twilio: 1,
    });
  });
});
