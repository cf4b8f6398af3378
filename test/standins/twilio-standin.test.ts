import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { checkTwilioRequest, checkTwilioResponse } from "../../standins/twilio/openapi-contract";
import type {
  CreatedAccount,
  Fault,
  FaultSpec,
  NewAccountSpec,
  OwnedNumberSummary,
  StandinAccount,
  StandinCallerId,
  StandinTrunk,
  TwilioRequestLogEntry,
} from "../../standins/twilio/types";
import { basicAuth, twilioStandin } from "../helpers/standin";

const ACCOUNT_SID = "AC00000000000000000000000000000000";
const AUTH_TOKEN = "standin-auth-token";
const API_KEY_SID = "SK00000000000000000000000000000000";
const API_KEY_SECRET = "standin-api-key-secret";
const ORIGIN = "https://api.twilio.com";
const ACCOUNT_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}`;
const SEARCH_PATH = `${ACCOUNT_PATH}/AvailablePhoneNumbers/US/Local.json`;
const NUMBERS_PATH = `${ACCOUNT_PATH}/IncomingPhoneNumbers.json`;
const TRUNK_SID = "TK00000000000000000000000000000000";
const RFC_2822 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/;

function standin(): Fetcher {
  const binding = env.TWILIO_UPSTREAM;
  if (!binding) throw new Error("TWILIO_UPSTREAM binding is missing from the test environment");
  return binding;
}

function basic(username: string, password: string): string {
  return `Basic ${btoa(`${username}:${password}`)}`;
}
const ACCOUNT_AUTH = basic(ACCOUNT_SID, AUTH_TOKEN);

interface TwilioRequestOptions {
  form?: Record<string, string>;
  authorization?: string | null;
  signal?: AbortSignal;
}

function twilio(
  method: string,
  pathAndQuery: string,
  options: TwilioRequestOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const authorization = options.authorization === undefined ? ACCOUNT_AUTH : options.authorization;
  if (authorization !== null) headers.Authorization = authorization;
  let body: string | undefined;
  if (options.form) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(options.form).toString();
  }
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = body;
  if (options.signal) init.signal = options.signal;
  return standin().fetch(`${ORIGIN}${pathAndQuery}`, init);
}

async function control<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  const response = await standin().fetch(`${ORIGIN}/__standin/${path}`, init);
  if (!response.ok) {
    throw new Error(`control ${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return (await response.json()) as T;
}

const addFault = (spec: FaultSpec) => control<{ fault: Fault }>("POST", "faults", spec);
const ownedNumbers = async () =>
  (await control<{ numbers: OwnedNumberSummary[] }>("GET", "numbers")).numbers;
const requestLog = async () =>
  (await control<{ requests: TwilioRequestLogEntry[] }>("GET", "requests")).requests;

interface AvailableNumber {
  phone_number: string;
  friendly_name: string;
  region: string;
  locality: string;
  capabilities: Record<string, boolean>;
  [field: string]: unknown;
}
interface AvailableNumberPage {
  available_phone_numbers: AvailableNumber[];
  [field: string]: unknown;
}
interface IncomingNumber {
  sid: string;
  phone_number: string;
  friendly_name: string;
  trunk_sid: string | null;
  capabilities: Record<string, boolean>;
  [field: string]: unknown;
}
interface IncomingNumberPage {
  incoming_phone_numbers: IncomingNumber[];
  next_page_uri: string | null;
  previous_page_uri: string | null;
  [field: string]: unknown;
}

async function search(query: Record<string, string>): Promise<AvailableNumberPage> {
  const response = await twilio("GET", `${SEARCH_PATH}?${new URLSearchParams(query)}`);
  expect(response.status).toBe(200);
  return (await response.json()) as AvailableNumberPage;
}

async function availableIn(areaCode: string): Promise<string[]> {
  const page = await search({ AreaCode: areaCode, PageSize: "1000" });
  return page.available_phone_numbers.map((n) => n.phone_number);
}

async function buy(phoneNumber: string, extra: Record<string, string> = {}): Promise<Response> {
  return twilio("POST", NUMBERS_PATH, { form: { PhoneNumber: phoneNumber, ...extra } });
}

async function buyOk(
  phoneNumber: string,
  extra: Record<string, string> = {},
): Promise<IncomingNumber> {
  const response = await buy(phoneNumber, extra);
  expect(response.status).toBe(201);
  return (await response.json()) as IncomingNumber;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function lookUp(phoneNumber: string): Promise<string[]> {
  const page = await listNumbers(`?PhoneNumber=${encodeURIComponent(phoneNumber)}`);
  return page.incoming_phone_numbers.map((n) => n.phone_number);
}

async function listNumbers(query: string): Promise<IncomingNumberPage> {
  const response = await twilio("GET", `${NUMBERS_PATH}${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as IncomingNumberPage;
}

beforeEach(async () => {
  await control("POST", "reset");
});

describe("authentication", () => {
  it("accepts the account SID with its auth token and an API key with its secret", async () => {
    const withToken = await twilio("GET", NUMBERS_PATH, { authorization: ACCOUNT_AUTH });
    expect(withToken.status).toBe(200);
    const withKey = await twilio("GET", NUMBERS_PATH, {
      authorization: basic(API_KEY_SID, API_KEY_SECRET),
    });
    expect(withKey.status).toBe(200);

    const log = await requestLog();
    expect(log.map((entry) => entry.auth)).toEqual(["account", "api_key"]);
  });

  it("answers a wrong password or no credentials with Twilio's 20003 body", async () => {
    const expected = {
      code: 20003,
      message: "Authenticate",
      more_info: "https://www.twilio.com/docs/errors/20003",
      status: 401,
    };
    for (const authorization of [
      basic(ACCOUNT_SID, "wrong"),
      basic(API_KEY_SID, AUTH_TOKEN),
      null,
      "Bearer x",
    ]) {
      const response = await twilio("POST", NUMBERS_PATH, {
        authorization,
        form: { PhoneNumber: "+15005550006" },
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual(expected);
    }
    expect(await ownedNumbers()).toEqual([]);

    const log = await requestLog();
    expect(log.map((entry) => entry.auth)).toEqual(["invalid", "invalid", "none", "invalid"]);
    // The log must never hold secrets, even the wrong ones.
    const serialized = JSON.stringify(log);
    expect(serialized).not.toContain(AUTH_TOKEN);
    expect(serialized).not.toContain("wrong");
  });

  it("answers another account's path with 404 20404", async () => {
    const response = await twilio(
      "GET",
      "/2010-04-01/Accounts/AC11111111111111111111111111111111/IncomingPhoneNumbers.json",
    );
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 20404, status: 404 });
  });

  it("answers unknown routes with 404 20404 and wrong methods with 405", async () => {
    const unknown = await twilio("GET", `${ACCOUNT_PATH}/Calls.json`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 20404, status: 404 });

    const wrongMethod = await twilio("PUT", NUMBERS_PATH);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("Allow")).toBe("GET, POST");
    expect(await wrongMethod.json()).toMatchObject({ status: 405 });
  });
});

describe("AvailablePhoneNumbers search", () => {
  it("returns at least 50 numbers in the area code, shaped like Twilio's", async () => {
    const page = await search({ AreaCode: "415", VoiceEnabled: "true", SmsEnabled: "true" });
    expect(page.available_phone_numbers.length).toBeGreaterThanOrEqual(50);
    expect(page.uri).toBe(`${SEARCH_PATH}?AreaCode=415&VoiceEnabled=true&SmsEnabled=true`);
    for (const number of page.available_phone_numbers) {
      expect(number.phone_number).toMatch(/^\+1415[2-9]\d{6}$/);
      expect(number.capabilities).toEqual({ voice: true, SMS: true, MMS: true, fax: false });
    }
    const first = page.available_phone_numbers[0];
    const digits = first?.phone_number.slice(2) ?? "";
    expect(first).toEqual({
      friendly_name: `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`,
      phone_number: first?.phone_number,
      lata: "722",
      locality: "San Francisco",
      rate_center: "SNFC CNTRL",
      latitude: "37.770000",
      longitude: "-122.420000",
      region: "CA",
      postal_code: "94103",
      iso_country: "US",
      address_requirements: "none",
      beta: false,
      capabilities: { voice: true, SMS: true, MMS: true, fax: false },
    });
  });

  it("is deterministic per area code and honours PageSize", async () => {
    const once = await availableIn("907");
    const again = await availableIn("907");
    expect(once.length).toBeGreaterThanOrEqual(60);
    expect(again).toEqual(once);
    expect(new Set(once).size).toBe(once.length);
    expect(once.every((n) => /^\+1907[2-9]\d{6}$/.test(n))).toBe(true);

    const small = await search({ AreaCode: "907", PageSize: "5" });
    expect(small.available_phone_numbers.map((n) => n.phone_number)).toEqual(once.slice(0, 5));
    expect(small.page_size).toBe(5);

    const regions = new Set(
      (await search({ AreaCode: "907" })).available_phone_numbers.map((n) => n.region),
    );
    expect(regions.size).toBe(1);
  });

  it("has no numbers in 533 or in invalid area codes, and the magic numbers first in 500", async () => {
    expect(await availableIn("533")).toEqual([]);
    expect(await availableIn("911")).toEqual([]);
    expect(await availableIn("190")).toEqual([]);
    const magic = await availableIn("500");
    expect(magic.slice(0, 3)).toEqual(["+15005550000", "+15005550001", "+15005550006"]);
  });

  it("searches several area codes when none is given", async () => {
    const page = await search({ PageSize: "300" });
    const areaCodes = new Set(page.available_phone_numbers.map((n) => n.phone_number.slice(2, 5)));
    expect(page.available_phone_numbers).toHaveLength(300);
    expect(areaCodes.size).toBeGreaterThan(1);
  });

  it("filters by region and by Contains pattern", async () => {
    const texas = await search({ InRegion: "TX", PageSize: "20" });
    expect(texas.available_phone_numbers).toHaveLength(20);
    expect(texas.available_phone_numbers.every((n) => n.region === "TX")).toBe(true);

    const within = await search({ AreaCode: "415", Contains: "7*7", PageSize: "1000" });
    const all = await availableIn("415");
    const expected = all.filter((n) => /7\d7/.test(n.slice(1)));
    expect(within.available_phone_numbers.map((n) => n.phone_number)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);

    expect((await search({ AreaCode: "415", FaxEnabled: "true" })).available_phone_numbers).toEqual(
      [],
    );
  });

  it("returns an empty list outside the US", async () => {
    const response = await twilio("GET", `${ACCOUNT_PATH}/AvailablePhoneNumbers/GB/Local.json`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as AvailableNumberPage).available_phone_numbers).toEqual([]);
  });
});

describe("buying and releasing", () => {
  it("buys a number, which leaves the inventory until it is released", async () => {
    const before = await availableIn("212");
    const target = before[7] ?? "";

    const bought = await buyOk(target, { FriendlyName: "Support line", TrunkSid: TRUNK_SID });
    expect(bought).toMatchObject({
      account_sid: ACCOUNT_SID,
      phone_number: target,
      friendly_name: "Support line",
      trunk_sid: TRUNK_SID,
      capabilities: { voice: true, sms: true, mms: true, fax: false },
      status: "in-use",
      origin: "twilio",
      api_version: "2010-04-01",
      voice_url: null,
      uri: `${NUMBERS_PATH.replace(".json", "")}/${bought.sid}.json`,
    });
    expect(bought.sid).toMatch(/^PN[0-9a-f]{32}$/);
    expect(bought.date_created).toMatch(RFC_2822);
    expect(bought.date_updated).toBe(bought.date_created);

    const during = await availableIn("212");
    expect(during).toHaveLength(before.length - 1);
    expect(during).not.toContain(target);
    expect(await ownedNumbers()).toEqual([
      {
        sid: bought.sid,
        account_sid: ACCOUNT_SID,
        phone_number: target,
        friendly_name: "Support line",
        trunk_sid: TRUNK_SID,
        voice_url: null,
        voice_application_sid: null,
        date_created: bought.date_created,
        visible_at: null,
      },
    ]);

    const fetched = await twilio("GET", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`);
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(bought);

    const released = await twilio(
      "DELETE",
      `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`,
    );
    expect(released.status).toBe(204);
    expect(await released.text()).toBe("");
    expect(await availableIn("212")).toEqual(before);
    expect(await ownedNumbers()).toEqual([]);

    const again = await twilio("DELETE", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`);
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ code: 20404, status: 404 });
    const gone = await twilio("GET", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ code: 20404, status: 404 });
  });

  it("names a number after itself when no FriendlyName is given", async () => {
    const target = (await availableIn("303"))[0] ?? "";
    const bought = await buyOk(target);
    const digits = target.slice(2);
    expect(bought.friendly_name).toBe(
      `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`,
    );
    expect(bought.trunk_sid).toBeNull();
  });

  it("answers Twilio's magic test numbers", async () => {
    const unavailable = await buy("+15005550000");
    expect(unavailable.status).toBe(400);
    expect(await unavailable.json()).toEqual({
      code: 21422,
      message: "Phone number is not available",
      more_info: "https://www.twilio.com/docs/errors/21422",
      status: 400,
    });
    const invalid = await buy("+15005550001");
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: 21421, status: 400 });
    const available = await buyOk("+15005550006");
    expect(available.phone_number).toBe("+15005550006");
    expect((await ownedNumbers()).map((n) => n.phone_number)).toEqual(["+15005550006"]);
  });

  it("refuses numbers it cannot sell", async () => {
    const target = (await availableIn("617"))[0] ?? "";
    await buyOk(target);
    const owned = await buy(target);
    expect(owned.status).toBe(400);
    expect(await owned.json()).toMatchObject({ code: 21422, status: 400 });

    const notInInventory = await buy("+15335550123");
    expect(notInInventory.status).toBe(400);
    expect(await notInInventory.json()).toMatchObject({ code: 21422 });

    const malformed = await buy("4155550123");
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 21421 });

    const missing = await twilio("POST", NUMBERS_PATH, { form: { FriendlyName: "no number" } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: 21421 });

    const jsonBody = await standin().fetch(`${ORIGIN}${NUMBERS_PATH}`, {
      method: "POST",
      headers: { Authorization: ACCOUNT_AUTH, "Content-Type": "application/json" },
      body: JSON.stringify({ PhoneNumber: (await availableIn("617"))[0] }),
    });
    expect(jsonBody.status).toBe(400);
    expect((await ownedNumbers()).map((n) => n.phone_number)).toEqual([target]);
  });

  it("buys by AreaCode, and 533 has nothing to buy", async () => {
    const first = (await availableIn("512"))[0];
    const byAreaCode = await twilio("POST", NUMBERS_PATH, { form: { AreaCode: "512" } });
    expect(byAreaCode.status).toBe(201);
    expect(((await byAreaCode.json()) as IncomingNumber).phone_number).toBe(first);

    const none = await twilio("POST", NUMBERS_PATH, { form: { AreaCode: "533" } });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ code: 21452 });
  });

  it("sells a number exactly once when 50 buyers race for it", async () => {
    const target = (await availableIn("702"))[3] ?? "";
    const responses = await Promise.all(Array.from({ length: 50 }, () => buy(target)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(49);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { code?: number }[];
    expect(bodies.filter((b) => b.code === 21422)).toHaveLength(49);
    expect((await ownedNumbers()).map((n) => n.phone_number)).toEqual([target]);
  });

  it("updates a number's trunk and name", async () => {
    const bought = await buyOk((await availableIn("404"))[0] ?? "");
    const response = await twilio(
      "POST",
      `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`,
      {
        form: { TrunkSid: TRUNK_SID, FriendlyName: "Renamed" },
      },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ trunk_sid: TRUNK_SID, friendly_name: "Renamed" });
  });
});

describe("IncomingPhoneNumbers list", () => {
  it("filters by exact phone number, whether + arrives as %2B or as a space", async () => {
    const [a, b, c] = (await availableIn("808")).slice(0, 3);
    for (const n of [a, b, c]) await buyOk(n ?? "");

    const encoded = await listNumbers(`?PhoneNumber=${encodeURIComponent(b ?? "")}`);
    expect(encoded.incoming_phone_numbers.map((n) => n.phone_number)).toEqual([b]);
    const literalPlus = await listNumbers(`?PhoneNumber=${b}`);
    expect(literalPlus.incoming_phone_numbers.map((n) => n.phone_number)).toEqual([b]);
    const absent = await listNumbers(`?PhoneNumber=${encodeURIComponent("+18085550000")}`);
    expect(absent.incoming_phone_numbers).toEqual([]);
    expect(absent.next_page_uri).toBeNull();

    const named = await listNumbers(`?FriendlyName=${encodeURIComponent("nobody")}`);
    expect(named.incoming_phone_numbers).toEqual([]);
  });

  it("pages in creation order, and next_page_uri can be followed to the end", async () => {
    const inventory = (await availableIn("206")).slice(0, 7);
    const sids: string[] = [];
    for (const n of inventory) sids.push((await buyOk(n)).sid);

    const first = await listNumbers("?PageSize=3");
    expect(first).toMatchObject({
      page: 0,
      page_size: 3,
      start: 0,
      end: 2,
      previous_page_uri: null,
      first_page_uri: `${NUMBERS_PATH}?PageSize=3&Page=0`,
      uri: `${NUMBERS_PATH}?PageSize=3&Page=0`,
    });
    const seen: string[] = [];
    const pages: IncomingNumberPage[] = [];
    let page: IncomingNumberPage | null = first;
    while (page) {
      pages.push(page);
      seen.push(...page.incoming_phone_numbers.map((n) => n.sid));
      page = page.next_page_uri
        ? await listNumbers(page.next_page_uri.slice(NUMBERS_PATH.length))
        : null;
    }
    expect(pages.map((p) => p.incoming_phone_numbers.length)).toEqual([3, 3, 1]);
    expect(seen).toEqual(sids);
    expect(pages[2]).toMatchObject({ page: 2, start: 6, end: 6, next_page_uri: null });

    const back = pages[2]?.previous_page_uri ?? "";
    const previous = await listNumbers(back.slice(NUMBERS_PATH.length));
    expect(previous.incoming_phone_numbers.map((n) => n.sid)).toEqual(sids.slice(3, 6));
  });

  it("keeps paging stable when a number on an earlier page is released", async () => {
    const inventory = (await availableIn("305")).slice(0, 4);
    const sids: string[] = [];
    for (const n of inventory) sids.push((await buyOk(n)).sid);

    const first = await listNumbers("?PageSize=2");
    expect(first.incoming_phone_numbers.map((n) => n.sid)).toEqual(sids.slice(0, 2));
    await twilio("DELETE", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${sids[0]}.json`);
    const second = await listNumbers((first.next_page_uri ?? "").slice(NUMBERS_PATH.length));
    expect(second.incoming_phone_numbers.map((n) => n.sid)).toEqual(sids.slice(2, 4));
  });

  it("keeps filters in paging URIs", async () => {
    const target = (await availableIn("215"))[0] ?? "";
    await buyOk(target);
    const page = await listNumbers(`?PhoneNumber=${encodeURIComponent(target)}&PageSize=1`);
    expect(page.first_page_uri).toBe(
      `${NUMBERS_PATH}?PhoneNumber=${encodeURIComponent(target)}&PageSize=1&Page=0`,
    );
    expect(page.next_page_uri).toBeNull();
  });
});

describe("faults", () => {
  it("status: answers with the status and a Twilio error body, without buying", async () => {
    await addFault({ operation: "purchase", kind: "status", status: 503, times: 1 });
    const target = (await availableIn("415"))[0] ?? "";

    const failed = await buy(target);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({
      code: 20500,
      message: "Internal Server Error",
      more_info: "https://www.twilio.com/docs/errors/20500",
      status: 503,
    });
    expect(await ownedNumbers()).toEqual([]);
    expect((await control<{ faults: Fault[] }>("GET", "faults")).faults).toEqual([]);

    await buyOk(target);
  });

  it("status 429 carries Retry-After, and custom codes and messages are used", async () => {
    await addFault({ operation: "search", kind: "status", status: 429, times: 1 });
    await addFault({
      operation: "search",
      kind: "status",
      status: 400,
      code: 21452,
      message: "None here",
      times: 1,
    });
    await addFault({ operation: "search", kind: "status", status: 401, times: 1 });

    const throttled = await twilio("GET", `${SEARCH_PATH}?AreaCode=415`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("Retry-After")).toBe("1");
    expect(await throttled.json()).toMatchObject({ code: 20429, status: 429 });

    const custom = await twilio("GET", `${SEARCH_PATH}?AreaCode=415`);
    expect(await custom.json()).toMatchObject({ code: 21452, message: "None here", status: 400 });

    const unauthorized = await twilio("GET", `${SEARCH_PATH}?AreaCode=415`);
    expect(await unauthorized.json()).toMatchObject({ code: 20003, status: 401 });

    const normal = await twilio("GET", `${SEARCH_PATH}?AreaCode=415`);
    expect(normal.status).toBe(200);
  });

  it("applies the first matching fault, counts down `times`, and `any` matches every operation", async () => {
    await addFault({ operation: "release", kind: "status", status: 500 });
    await addFault({ operation: "any", kind: "status", status: 502, times: 2 });
    await addFault({ operation: "lookup", kind: "status", status: 504 });

    expect((await twilio("GET", NUMBERS_PATH)).status).toBe(502);
    expect((await twilio("GET", `${SEARCH_PATH}?AreaCode=415`)).status).toBe(502);
    expect((await twilio("GET", NUMBERS_PATH)).status).toBe(504);
    expect((await twilio("GET", `${SEARCH_PATH}?AreaCode=415`)).status).toBe(200);

    await control("DELETE", "faults");
    expect((await twilio("GET", NUMBERS_PATH)).status).toBe(200);
  });

  it("delay: waits, then performs, without holding up other requests", async () => {
    await addFault({ operation: "search", kind: "delay", delay_ms: 800, times: 1 });
    const started = Date.now();
    const slow = twilio("GET", `${SEARCH_PATH}?AreaCode=415&PageSize=3`);

    const quickStarted = Date.now();
    expect((await twilio("GET", NUMBERS_PATH)).status).toBe(200);
    expect(Date.now() - quickStarted).toBeLessThan(400);

    const response = await slow;
    expect(Date.now() - started).toBeGreaterThanOrEqual(790);
    expect(response.status).toBe(200);
    expect(((await response.json()) as AvailableNumberPage).available_phone_numbers).toHaveLength(
      3,
    );
    const entry = (await requestLog()).find((e) => e.operation === "search");
    expect(entry).toMatchObject({ status: 200, fault: "delay" });
  });

  it("drop: the caller's fetch fails and nothing is bought", async () => {
    await addFault({ operation: "purchase", kind: "drop", times: 1 });
    const target = (await availableIn("415"))[0] ?? "";
    await expect((async () => (await buy(target)).json())()).rejects.toThrow(
      /Network connection lost/,
    );
    expect(await ownedNumbers()).toEqual([]);
    const entry = (await requestLog()).find((e) => e.operation === "purchase");
    expect(entry).toMatchObject({ status: 0, response: null, fault: "drop" });
  });

  it("drop_after: the number is bought but the caller's fetch fails", async () => {
    await addFault({ operation: "purchase", kind: "drop_after", times: 1 });
    const target = (await availableIn("415"))[0] ?? "";
    await expect((async () => (await buy(target)).json())()).rejects.toThrow(
      /Network connection lost/,
    );
    expect((await ownedNumbers()).map((n) => n.phone_number)).toEqual([target]);
    // What a careful client does next: ask whether the account now owns the number.
    const check = await listNumbers(`?PhoneNumber=${encodeURIComponent(target)}`);
    expect(check.incoming_phone_numbers.map((n) => n.phone_number)).toEqual([target]);
  });

  it("drop on release: the number stays owned", async () => {
    const bought = await buyOk((await availableIn("415"))[0] ?? "");
    await addFault({ operation: "release", kind: "drop", times: 1 });
    await expect(
      twilio("DELETE", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`),
    ).rejects.toThrow();
    expect((await ownedNumbers()).map((n) => n.sid)).toEqual([bought.sid]);
  });

  it("succeed_then_timeout: the number is bought while the caller's own timeout fires", async () => {
    await addFault({
      operation: "purchase",
      kind: "succeed_then_timeout",
      delay_ms: 1500,
      times: 1,
    });
    const target = (await availableIn("415"))[0] ?? "";
    const started = Date.now();
    await expect(buy(target).then((r) => r.json())).resolves.toMatchObject({
      phone_number: target,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1490);

    await control("POST", "reset");
    await addFault({
      operation: "purchase",
      kind: "succeed_then_timeout",
      delay_ms: 5000,
      times: 1,
    });
    const timedOut = twilio("POST", NUMBERS_PATH, {
      form: { PhoneNumber: target },
      signal: AbortSignal.timeout(200),
    });
    await expect(timedOut).rejects.toThrow();
    expect((await ownedNumbers()).map((n) => n.phone_number)).toEqual([target]);
  });

  it("rejects malformed fault specs", async () => {
    const bad = [
      { operation: "purchase" },
      { operation: "buy", kind: "drop" },
      { operation: "purchase", kind: "explode" },
      { operation: "purchase", kind: "status" },
      { operation: "purchase", kind: "delay", delay_ms: -1 },
      { operation: "purchase", kind: "drop", times: 0 },
    ];
    for (const spec of bad) {
      const response = await standin().fetch(`${ORIGIN}/__standin/faults`, {
        method: "POST",
        body: JSON.stringify(spec),
      });
      expect(response.status, JSON.stringify(spec)).toBe(400);
    }
    expect((await control<{ faults: Fault[] }>("GET", "faults")).faults).toEqual([]);
  });
});

describe("control API", () => {
  it("plants an orphan number without a Twilio request, which Twilio then reports as owned", async () => {
    const target = (await availableIn("602"))[2] ?? "";
    const planted = await standin().fetch(`${ORIGIN}/__standin/numbers`, {
      method: "POST",
      body: JSON.stringify({ phone_number: target, friendly_name: "orphan" }),
    });
    expect(planted.status).toBe(201);
    const entry = (await planted.json()) as OwnedNumberSummary;
    expect(entry).toMatchObject({ phone_number: target, friendly_name: "orphan", trunk_sid: null });
    expect(entry.sid).toMatch(/^PN[0-9a-f]{32}$/);

    expect(await availableIn("602")).not.toContain(target);
    const listed = await listNumbers(`?PhoneNumber=${encodeURIComponent(target)}`);
    expect(listed.incoming_phone_numbers.map((n) => n.sid)).toEqual([entry.sid]);
    expect((await buy(target)).status).toBe(400);

    const duplicate = await standin().fetch(`${ORIGIN}/__standin/numbers`, {
      method: "POST",
      body: JSON.stringify({ phone_number: target }),
    });
    expect(duplicate.status).toBe(409);
    // Only the Twilio calls are logged, not the control calls.
    expect((await requestLog()).map((e) => e.operation)).toEqual([
      "search",
      "search",
      "lookup",
      "purchase",
    ]);
  });

  it("logs every Twilio request in order, and reset and DELETE clear state", async () => {
    const target = (await availableIn("312"))[0] ?? "";
    await buyOk(target, { FriendlyName: "Main" });
    await twilio("GET", NUMBERS_PATH, { authorization: null });

    const log = await requestLog();
    expect(log).toHaveLength(3);
    expect(log[1]).toEqual({
      operation: "purchase",
      method: "POST",
      path: NUMBERS_PATH,
      query: {},
      form: { PhoneNumber: target, FriendlyName: "Main" },
      content_type: "application/x-www-form-urlencoded",
      auth: "account",
      status: 201,
      response: expect.objectContaining({ phone_number: target }),
      fault: null,
    });
    expect(log[0]).toMatchObject({
      operation: "search",
      method: "GET",
      query: { AreaCode: "312", PageSize: "1000" },
      form: null,
    });
    expect(log[2]).toMatchObject({ operation: "lookup", auth: "none", status: 401 });

    await control("DELETE", "requests");
    expect(await requestLog()).toEqual([]);
    expect(await ownedNumbers()).toHaveLength(1);

    await addFault({ operation: "any", kind: "status", status: 500 });
    await control("POST", "reset");
    expect(await ownedNumbers()).toEqual([]);
    expect((await control<{ faults: Fault[] }>("GET", "faults")).faults).toEqual([]);
    expect(await requestLog()).toEqual([]);
  });

  it("answers unknown control routes with 404", async () => {
    const response = await standin().fetch(`${ORIGIN}/__standin/nope`);
    expect(response.status).toBe(404);
  });
});

describe("OpenAPI contract", () => {
  it("every request and response of a realistic session matches Twilio's spec", async () => {
    const page = await search({
      AreaCode: "415",
      VoiceEnabled: "true",
      SmsEnabled: "true",
      PageSize: "20",
    });
    const [first, second, third] = page.available_phone_numbers.map((n) => n.phone_number);
    await search({ AreaCode: "533" });
    await search({ InRegion: "TX", PageSize: "2" });
    const bought = await buyOk(first ?? "", {
      FriendlyName: "Sales",
      TrunkSid: TRUNK_SID,
      VoiceUrl: "https://example.com/voice",
    });
    await buyOk(second ?? "");
    await buy(second ?? "");
    await buy("+15005550000");
    await buy("+15005550001");
    await buyOk("+15005550006");
    await twilio("POST", NUMBERS_PATH, { form: { AreaCode: "533" } });
    await listNumbers(`?PhoneNumber=${encodeURIComponent(first ?? "")}`);
    const pageOne = await listNumbers("?PageSize=1");
    await listNumbers((pageOne.next_page_uri ?? "").slice(NUMBERS_PATH.length));
    await twilio("GET", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`);
    await twilio("DELETE", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`);
    await twilio("DELETE", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`);
    await twilio("GET", NUMBERS_PATH, { authorization: basic(ACCOUNT_SID, "wrong") });
    await addFault({ operation: "purchase", kind: "status", status: 429, times: 1 });
    await buy(third ?? "");
    await addFault({ operation: "purchase", kind: "drop", times: 1 });
    await buy(third ?? "").catch(() => undefined);

    const log = await requestLog();
    expect(log).toHaveLength(19);
    const problems = log.flatMap((entry) => [
      ...checkTwilioRequest(entry),
      ...checkTwilioResponse(entry),
    ]);
    expect(problems).toEqual([]);
  });

  it("reports requests the spec does not allow", async () => {
    const target = (await availableIn("415"))[0] ?? "";
    await buyOk(target, { Foo: "bar" });
    await twilio("GET", `${SEARCH_PATH}?AreaCode=abc&SmsEnabled=yes`);
    await twilio("GET", `${NUMBERS_PATH}?PhoneNumber=${target}`);
    await standin().fetch(`${ORIGIN}${NUMBERS_PATH}`, {
      method: "POST",
      headers: { Authorization: ACCOUNT_AUTH, "Content-Type": "application/json" },
      body: JSON.stringify({ PhoneNumber: target }),
    });
    await twilio("POST", NUMBERS_PATH, {
      form: { PhoneNumber: target, VoiceMethod: "PUT", VoiceUrl: "not a url" },
    });
    await twilio("GET", NUMBERS_PATH, { authorization: null });
    const [withFoo, badQuery, literalPlus, jsonBody, badValues, noAuth] = (
      await requestLog()
    ).slice(1);

    expect(checkTwilioRequest(withFoo as TwilioRequestLogEntry)).toEqual([
      `POST ${NUMBERS_PATH}: form field Foo is not declared for POST /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json`,
    ]);
    const queryProblems = checkTwilioRequest(badQuery as TwilioRequestLogEntry);
    expect(queryProblems).toHaveLength(2);
    expect(queryProblems[0]).toContain('AreaCode="abc" is not an integer');
    expect(queryProblems[1]).toContain('SmsEnabled="yes" is not true/false');
    expect(checkTwilioRequest(literalPlus as TwilioRequestLogEntry).join()).toContain(
      'a "+" must be sent as %2B',
    );
    const jsonProblems = checkTwilioRequest(jsonBody as TwilioRequestLogEntry);
    expect(jsonProblems.join("\n")).toContain(
      "body must be sent as application/x-www-form-urlencoded, was application/json",
    );
    expect(jsonProblems.join("\n")).toContain("needs one of the form fields PhoneNumber, AreaCode");
    const valueProblems = checkTwilioRequest(badValues as TwilioRequestLogEntry).join("\n");
    expect(valueProblems).toContain("VoiceMethod");
    expect(valueProblems).toContain('VoiceUrl="not a url" is not an absolute URI');
    expect(checkTwilioRequest(noAuth as TwilioRequestLogEntry).join()).toContain(
      "without Basic credentials",
    );

    expect(
      checkTwilioRequest({
        method: "GET",
        path: `${ACCOUNT_PATH}/Nope.json`,
        query: {},
        form: null,
        content_type: null,
        status: 404,
        response: null,
      }),
    ).toEqual([`GET ${ACCOUNT_PATH}/Nope.json: no path in the Twilio spec matches`]);
  });

  it("reports responses with missing, mistyped or malformed fields", async () => {
    const bought = await buyOk((await availableIn("415"))[0] ?? "");
    const purchase = (await requestLog()).find(
      (e) => e.operation === "purchase",
    ) as TwilioRequestLogEntry;
    expect(checkTwilioResponse(purchase)).toEqual([]);

    const { trunk_sid: _dropped, ...missingTrunk } = bought;
    expect(checkTwilioResponse({ ...purchase, response: missingTrunk }).join()).toMatch(
      /trunk_sid/,
    );
    expect(
      checkTwilioResponse({ ...purchase, response: { ...bought, beta: "false" } }).join(),
    ).toMatch(/beta/);
    expect(
      checkTwilioResponse({ ...purchase, response: { ...bought, sid: "PN123" } }).join(),
    ).toMatch(/sid/);
    expect(
      checkTwilioResponse({
        ...purchase,
        response: { ...bought, date_created: "2015-07-30T23:19:04Z" },
      }).join(),
    ).toMatch(/date_created/);
    expect(
      checkTwilioResponse({ ...purchase, response: { ...bought, capabilities: { voice: true } } }),
    ).not.toEqual([]);

    const search = (await requestLog()).find(
      (e) => e.operation === "search",
    ) as TwilioRequestLogEntry;
    const body = search.response as AvailableNumberPage;
    const [item] = body.available_phone_numbers;
    const { uri: _uri, ...withoutUri } = body;
    expect(checkTwilioResponse({ ...search, response: withoutUri }).join()).toMatch(/uri/);
    // Live Twilio sends no paging fields with a search, so their absence is not a problem.
    const { page: _page, next_page_uri: _next, ...unpaged } = body;
    expect(checkTwilioResponse({ ...search, response: unpaged })).toEqual([]);
    expect(
      checkTwilioResponse({
        ...search,
        response: { ...body, available_phone_numbers: [{ ...item, phone_number: "4155550123" }] },
      }).join(),
    ).toMatch(/phone_number/);

    expect(
      checkTwilioResponse({ ...purchase, status: 400, response: { code: "21422", message: "x" } }),
    ).not.toEqual([]);
    expect(checkTwilioResponse({ ...purchase, status: 200 }).join()).toContain(
      "documents only 201",
    );
  });
});

describe("latency setting", () => {
  it("holds every reply for the set time, after the work is done, until reset", async () => {
    await control("POST", "latency", { ms: 300 });
    const started = Date.now();
    await search({ AreaCode: "907" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    await control("POST", "reset");
    const again = Date.now();
    await search({ AreaCode: "907" });
    expect(Date.now() - again).toBeLessThan(250);
  });
});

describe("concurrency count", () => {
  it("counts Twilio requests in flight and the most at once, until reset", async () => {
    // Replies still held by earlier tests' faults are in flight, but not in the new window.
    const held = (await control<{ in_flight: number }>("GET", "concurrency")).in_flight;
    await control("POST", "latency", { ms: 200 });
    await control("DELETE", "concurrency");
    const searches = [0, 1, 2].map(() => search({ AreaCode: "907" }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const during = await control<{ in_flight: number; peak: number }>("GET", "concurrency");
    expect(during.peak).toBe(3);
    expect(during.in_flight).toBeGreaterThanOrEqual(3);
    expect(during.in_flight).toBeLessThanOrEqual(3 + held);
    await Promise.all(searches);
    expect((await control("GET", "concurrency")).peak).toBe(3);
    await control("DELETE", "concurrency");
    expect((await control("GET", "concurrency")).peak).toBe(0);
    await search({ AreaCode: "907" });
    expect((await control("GET", "concurrency")).peak).toBe(1);
    await control("POST", "reset");
    expect((await control("GET", "concurrency")).peak).toBe(0);
  });
});

describe("what production Twilio does", () => {
  it("status_then_complete: a 5xx now, and the purchase shows up only later", async () => {
    await addFault({
      operation: "purchase",
      kind: "status_then_complete",
      status: 504,
      complete_after_ms: 500,
      times: 1,
    });
    const target = (await availableIn("415"))[0] ?? "";
    const failed = await buy(target);
    expect(failed.status).toBe(504);
    expect(await failed.json()).toEqual({
      code: 20500,
      message: "Internal Server Error",
      more_info: "https://www.twilio.com/docs/errors/20500",
      status: 504,
    });

    // Bought behind the edge: no longer for sale, but Twilio does not show it yet.
    expect(await availableIn("415")).not.toContain(target);
    const second = await buy(target);
    expect(await second.json()).toMatchObject({ code: 21422, status: 400 });
    expect(await lookUp(target)).toEqual([]);
    expect((await listNumbers("")).incoming_phone_numbers).toEqual([]);
    const [owned] = await ownedNumbers();
    expect(owned?.phone_number).toBe(target);
    const path = `${ACCOUNT_PATH}/IncomingPhoneNumbers/${owned?.sid}.json`;
    expect((await twilio("GET", path)).status).toBe(404);
    const early = await twilio("DELETE", path);
    expect(early.status).toBe(404);
    expect((await ownedNumbers()).map((n) => n.phone_number)).toEqual([target]);

    await sleep(550);
    expect(await lookUp(target)).toEqual([target]);
    expect((await twilio("GET", path)).status).toBe(200);
    const entry = (await requestLog()).find((e) => e.operation === "purchase");
    expect(entry).toMatchObject({ status: 504, fault: "status_then_complete" });
  });

  it("status_then_complete: a purchase that cannot happen stays undone", async () => {
    await addFault({ operation: "purchase", kind: "status_then_complete", status: 502 });
    expect((await buy("+15005550000")).status).toBe(502);
    expect((await buy("+15335550123")).status).toBe(502);
    expect(await ownedNumbers()).toEqual([]);
    const fault = (await control<{ faults: Fault[] }>("GET", "faults")).faults[0];
    expect(fault).toMatchObject({ status: 502, complete_after_ms: 1000, retry_after: null });
  });

  it("list lag: a bought number is listed only after the lag, though the POST returns it", async () => {
    await control("POST", "list-lag", { ms: 500 });
    expect(await control("GET", "settings")).toEqual({
      latency_ms: 0,
      list_lag_ms: 500,
      release_hold_ms: 0,
      domain_reservation_ms: 0,
    });
    const target = (await availableIn("212"))[0] ?? "";
    const bought = await buyOk(target);
    expect(bought.phone_number).toBe(target);
    expect(await lookUp(target)).toEqual([]);
    expect((await listNumbers("")).incoming_phone_numbers).toEqual([]);
    expect(await availableIn("212")).not.toContain(target);

    await sleep(550);
    expect(await lookUp(target)).toEqual([target]);
    expect((await listNumbers("")).incoming_phone_numbers.map((n) => n.sid)).toEqual([bought.sid]);

    await control("POST", "reset");
    expect(await control("GET", "settings")).toEqual({
      latency_ms: 0,
      list_lag_ms: 0,
      release_hold_ms: 0,
      domain_reservation_ms: 0,
    });
    const next = (await availableIn("212"))[1] ?? "";
    await buyOk(next);
    expect(await lookUp(next)).toEqual([next]);
  });

  it("429 without Retry-After, and Retry-After on any status fault", async () => {
    await addFault({
      operation: "search",
      kind: "status",
      status: 429,
      retry_after: null,
      times: 1,
    });
    await addFault({ operation: "search", kind: "status", status: 503, retry_after: 7, times: 1 });
    await addFault({ operation: "search", kind: "status", status: 429, times: 1 });

    const bare = await twilio("GET", `${SEARCH_PATH}?AreaCode=415`);
    expect(bare.status).toBe(429);
    expect(bare.headers.get("Retry-After")).toBeNull();
    expect(await bare.json()).toMatchObject({ code: 20429, status: 429 });

    const unavailable = await twilio("GET", `${SEARCH_PATH}?AreaCode=415`);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get("Retry-After")).toBe("7");

    const usual = await twilio("GET", `${SEARCH_PATH}?AreaCode=415`);
    expect(usual.headers.get("Retry-After")).toBe("1");
  });

  it("a 5xx from the edge with an HTML page instead of Twilio's JSON", async () => {
    await addFault({ operation: "purchase", kind: "status", status: 502, body: "html", times: 1 });
    const target = (await availableIn("415"))[0] ?? "";
    const failed = await buy(target);
    expect(failed.status).toBe(502);
    expect(failed.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    const page = await failed.text();
    expect(page).toContain("<title>502 Bad Gateway</title>");
    expect(() => JSON.parse(page)).toThrow();
    expect(await ownedNumbers()).toEqual([]);

    const entry = (await requestLog()).find((e) => e.operation === "purchase");
    expect(entry).toMatchObject({ status: 502, response: page, fault: "status" });
    // Twilio's spec knows no such body, but production sends it: the contract check lets it be.
    expect(checkTwilioResponse(entry as TwilioRequestLogEntry)).toEqual([]);
  });

  it("a release answered 404 while the number is still held", async () => {
    const target = (await availableIn("415"))[0] ?? "";
    const bought = await buyOk(target);
    await addFault({ operation: "release", kind: "status", status: 404, code: 20404, times: 1 });
    const path = `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`;
    const released = await twilio("DELETE", path);
    expect(released.status).toBe(404);
    expect(await released.json()).toEqual({
      code: 20404,
      message: `The requested resource ${path} was not found`,
      more_info: "https://www.twilio.com/docs/errors/20404",
      status: 404,
    });
    // Still owned, still billed: only a lookup by PhoneNumber tells the truth.
    expect((await ownedNumbers()).map((n) => n.sid)).toEqual([bought.sid]);
    expect(await lookUp(target)).toEqual([target]);
    expect(await availableIn("415")).not.toContain(target);
  });

  it("release hold: a released number is off sale until the hold ends", async () => {
    await control("POST", "release-hold", { ms: 500 });
    const target = (await availableIn("617"))[0] ?? "";
    const bought = await buyOk(target);
    const path = `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`;
    expect((await twilio("DELETE", path)).status).toBe(204);
    expect(await ownedNumbers()).toEqual([]);
    expect(await lookUp(target)).toEqual([]);
    expect(await availableIn("617")).not.toContain(target);
    const again = await buy(target);
    expect(await again.json()).toMatchObject({ code: 21422, status: 400 });
    const byAreaCode = await twilio("POST", NUMBERS_PATH, { form: { AreaCode: "617" } });
    expect(((await byAreaCode.json()) as IncomingNumber).phone_number).not.toBe(target);

    await sleep(550);
    expect(await availableIn("617")).toContain(target);
    await buyOk(target);
  });

  it("plants a number bought long ago, with Twilio's RFC 2822 date", async () => {
    const target = (await availableIn("602"))[0] ?? "";
    const planted = await standin().fetch(`${ORIGIN}/__standin/numbers`, {
      method: "POST",
      body: JSON.stringify({ phone_number: target, date_created: "2019-03-04T05:06:07Z" }),
    });
    expect(planted.status).toBe(201);
    const entry = (await planted.json()) as OwnedNumberSummary;
    expect(entry.date_created).toBe("Mon, 04 Mar 2019 05:06:07 +0000");
    expect((await ownedNumbers())[0]?.date_created).toBe("Mon, 04 Mar 2019 05:06:07 +0000");

    const [listed] = (await listNumbers("")).incoming_phone_numbers;
    expect(listed).toMatchObject({
      date_created: "Mon, 04 Mar 2019 05:06:07 +0000",
      date_updated: "Mon, 04 Mar 2019 05:06:07 +0000",
    });

    for (const date_created of ["yesterday", "2019-03-04", 20190304]) {
      const bad = await standin().fetch(`${ORIGIN}/__standin/numbers`, {
        method: "POST",
        body: JSON.stringify({ phone_number: "+16025550111", date_created }),
      });
      expect(bad.status, String(date_created)).toBe(400);
    }
  });

  it("odd_item: a search or a list page holds one item without phone_number", async () => {
    await addFault({ operation: "search", kind: "odd_item", times: 1 });
    const page = await search({ AreaCode: "415", PageSize: "5" });
    expect(page.available_phone_numbers).toHaveLength(5);
    const [odd, ...rest] = page.available_phone_numbers;
    expect(odd).toMatchObject({ phone_number: null, iso_country: null, region: "CA" });
    expect(rest.every((n) => /^\+1415\d{7}$/.test(n.phone_number))).toBe(true);
    expect((await search({ AreaCode: "415", PageSize: "5" })).available_phone_numbers[0]).toEqual(
      rest[0],
    );

    const target = rest[0]?.phone_number ?? "";
    await buyOk(target);
    await addFault({ operation: "lookup", kind: "odd_item", times: 1 });
    const listed = await listNumbers(`?PhoneNumber=${encodeURIComponent(target)}`);
    expect(listed.incoming_phone_numbers.map((n) => n.phone_number)).toEqual([null, target]);
    expect(await lookUp(target)).toEqual([target]);

    const log = await requestLog();
    expect(log.filter((e) => e.fault === "odd_item")).toHaveLength(2);
    const problems = log.flatMap((e) => [...checkTwilioRequest(e), ...checkTwilioResponse(e)]);
    expect(problems).toEqual([]);
  });

  it("rejects malformed options of the new faults", async () => {
    const bad = [
      { operation: "search", kind: "status_then_complete", status: 502 },
      { operation: "purchase", kind: "status_then_complete", status: 429 },
      { operation: "purchase", kind: "status_then_complete" },
      { operation: "purchase", kind: "status", status: 500, complete_after_ms: 10 },
      { operation: "purchase", kind: "status", status: 429, body: "html" },
      { operation: "purchase", kind: "status", status: 502, body: "xml" },
      { operation: "purchase", kind: "delay", retry_after: 3 },
      { operation: "purchase", kind: "status", status: 429, retry_after: -1 },
      { operation: "purchase", kind: "odd_item" },
    ];
    for (const spec of bad) {
      const response = await standin().fetch(`${ORIGIN}/__standin/faults`, {
        method: "POST",
        body: JSON.stringify(spec),
      });
      expect(response.status, JSON.stringify(spec)).toBe(400);
    }
    for (const path of ["list-lag", "release-hold"]) {
      const response = await standin().fetch(`${ORIGIN}/__standin/${path}`, {
        method: "POST",
        body: JSON.stringify({ ms: -5 }),
      });
      expect(response.status, path).toBe(400);
    }
    expect((await control<{ faults: Fault[] }>("GET", "faults")).faults).toEqual([]);
  });
});

describe("several accounts", () => {
  const createAccount = (spec: NewAccountSpec = {}) =>
    control<CreatedAccount>("POST", "accounts", spec);
  const accountPath = (sid: string) => `/2010-04-01/Accounts/${sid}`;
  const asAccount = (account: CreatedAccount) => basic(account.account_sid, account.auth_token);

  it("creates accounts, each with its own SID and auth token", async () => {
    const created = await createAccount({ friendly_name: "Customer A", type: "Trial" });
    expect(created.account_sid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(created.auth_token).toMatch(/^[0-9a-f]{32}$/);
    const other = await createAccount();
    expect(other.account_sid).not.toBe(created.account_sid);

    const { accounts } = await control<{ accounts: StandinAccount[] }>("GET", "accounts");
    expect(accounts.map((a) => a.sid)).toEqual([
      ACCOUNT_SID,
      created.account_sid,
      other.account_sid,
    ]);
    expect(accounts[0]).toMatchObject({ auth_token: AUTH_TOKEN, type: "Full", status: "active" });
    expect(accounts[1]).toMatchObject({
      auth_token: created.auth_token,
      friendly_name: "Customer A",
      type: "Trial",
      status: "active",
    });
    expect(accounts[1]?.date_created).toMatch(RFC_2822);

    await control("POST", "reset");
    const afterReset = await control<{ accounts: StandinAccount[] }>("GET", "accounts");
    expect(afterReset.accounts.map((a) => a.sid)).toEqual([ACCOUNT_SID]);
  });

  it("GET Accounts/{AC}.json answers with the account, its auth token included", async () => {
    const customer = await createAccount({ friendly_name: "Customer B", status: "suspended" });
    const path = `${accountPath(customer.account_sid)}.json`;
    const response = await twilio("GET", path, { authorization: asAccount(customer) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      sid: customer.account_sid,
      owner_account_sid: customer.account_sid,
      auth_token: customer.auth_token,
      friendly_name: "Customer B",
      status: "suspended",
      type: "Full",
      uri: path,
    });
    expect(body.date_created).toMatch(RFC_2822);
    expect(body.date_updated).toBe(body.date_created);

    const master = await twilio("GET", `${ACCOUNT_PATH}.json`);
    expect(await master.json()).toMatchObject({ sid: ACCOUNT_SID, status: "active", type: "Full" });

    // The request log keeps the field but never the token.
    const log = await requestLog();
    expect(log.map((e) => e.operation)).toEqual(["account", "account"]);
    expect(log[0]?.response).toMatchObject({ auth_token: "[redacted]" });
    expect(JSON.stringify(log)).not.toContain(customer.auth_token);
    expect(JSON.stringify(log)).not.toContain(AUTH_TOKEN);
    const problems = log.flatMap((e) => [...checkTwilioRequest(e), ...checkTwilioResponse(e)]);
    expect(problems).toEqual([]);
  });

  it("refuses another account's credentials and another account's path", async () => {
    const customer = await createAccount();
    const customerPath = `${accountPath(customer.account_sid)}.json`;
    const wrongToken = await twilio("GET", customerPath, {
      authorization: basic(customer.account_sid, AUTH_TOKEN),
    });
    expect(wrongToken.status).toBe(401);
    expect(await wrongToken.json()).toMatchObject({ code: 20003, status: 401 });

    const masterOnCustomer = await twilio("GET", customerPath);
    expect(masterOnCustomer.status).toBe(404);
    expect(await masterOnCustomer.json()).toMatchObject({ code: 20404, status: 404 });
    const customerOnMaster = await twilio("GET", NUMBERS_PATH, {
      authorization: asAccount(customer),
    });
    expect(customerOnMaster.status).toBe(404);
    const apiKeyOnCustomer = await twilio("GET", customerPath, {
      authorization: basic(API_KEY_SID, API_KEY_SECRET),
    });
    expect(apiKeyOnCustomer.status).toBe(404);

    // The log names who tried when the path does not, and never holds a secret.
    const log = await requestLog();
    expect(log.map((e) => [e.auth, e.username])).toEqual([
      ["invalid", undefined],
      ["account", ACCOUNT_SID],
      ["account", customer.account_sid],
      ["api_key", API_KEY_SID],
    ]);
    const serialized = JSON.stringify(log);
    for (const secret of [customer.auth_token, AUTH_TOKEN, API_KEY_SECRET]) {
      expect(serialized).not.toContain(secret);
    }
  });

  it("keeps each account's numbers apart, though a number is for sale to nobody once owned", async () => {
    const customer = await createAccount();
    const customerNumbers = `${accountPath(customer.account_sid)}/IncomingPhoneNumbers.json`;
    const [mine, theirs] = (await availableIn("512")).slice(0, 2);
    const boughtByCustomer = await twilio("POST", customerNumbers, {
      authorization: asAccount(customer),
      form: { PhoneNumber: theirs ?? "" },
    });
    expect(boughtByCustomer.status).toBe(201);
    const theirNumber = (await boughtByCustomer.json()) as IncomingNumber;
    expect(theirNumber).toMatchObject({
      account_sid: customer.account_sid,
      uri: `${accountPath(customer.account_sid)}/IncomingPhoneNumbers/${theirNumber.sid}.json`,
    });
    const myNumber = await buyOk(mine ?? "");

    expect((await listNumbers("")).incoming_phone_numbers.map((n) => n.sid)).toEqual([
      myNumber.sid,
    ]);
    const theirList = await twilio("GET", `${customerNumbers}?PhoneNumber=${theirs}`, {
      authorization: asAccount(customer),
    });
    expect(
      ((await theirList.json()) as IncomingNumberPage).incoming_phone_numbers.map((n) => n.sid),
    ).toEqual([theirNumber.sid]);
    expect(await availableIn("512")).not.toContain(theirs);
    expect(await (await buy(theirs ?? "")).json()).toMatchObject({ code: 21422 });
    // The master account cannot see, change or release the customer's number through its path.
    const viaMaster = `${ACCOUNT_PATH}/IncomingPhoneNumbers/${theirNumber.sid}.json`;
    expect((await twilio("GET", viaMaster)).status).toBe(404);
    expect((await twilio("DELETE", viaMaster)).status).toBe(404);

    expect(
      (await ownedNumbers()).map((n) => [n.account_sid, n.phone_number, n.visible_at]),
    ).toEqual([
      [customer.account_sid, theirs, null],
      [ACCOUNT_SID, mine, null],
    ]);
  });

  it("a suspended or closed account reads its status and nothing else", async () => {
    for (const status of ["suspended", "closed"] as const) {
      const customer = await createAccount({ status });
      const fetched = await twilio("GET", `${accountPath(customer.account_sid)}.json`, {
        authorization: asAccount(customer),
      });
      expect(await fetched.json()).toMatchObject({ status });
      const searched = await twilio(
        "GET",
        `${accountPath(customer.account_sid)}/AvailablePhoneNumbers/US/Local.json?AreaCode=415`,
        { authorization: asAccount(customer) },
      );
      expect(searched.status).toBe(401);
      expect(await searched.json()).toMatchObject({ code: 20005, status: 401 });
    }
  });

  it("plants numbers with an account, a voice URL or application, and updates them", async () => {
    const customer = await createAccount();
    const planted = await control<OwnedNumberSummary>("POST", "numbers", {
      phone_number: "+16175550123",
      account_sid: customer.account_sid,
      voice_url: "https://example.com/voice",
      voice_application_sid: "AP00000000000000000000000000000001",
    });
    expect(planted).toMatchObject({
      account_sid: customer.account_sid,
      voice_url: "https://example.com/voice",
      voice_application_sid: "AP00000000000000000000000000000001",
      trunk_sid: null,
      visible_at: null,
    });
    const path = `${accountPath(customer.account_sid)}/IncomingPhoneNumbers/${planted.sid}.json`;
    const auth = { authorization: asAccount(customer) };
    expect(await (await twilio("GET", path, auth)).json()).toMatchObject({
      account_sid: customer.account_sid,
      voice_url: "https://example.com/voice",
      voice_application_sid: "AP00000000000000000000000000000001",
    });

    // A trunk and a voice application exclude each other; the voice URL stays as it was.
    const onTrunk = await twilio("POST", path, { ...auth, form: { TrunkSid: TRUNK_SID } });
    expect(await onTrunk.json()).toMatchObject({
      trunk_sid: TRUNK_SID,
      voice_application_sid: null,
      voice_url: "https://example.com/voice",
    });
    const onApp = await twilio("POST", path, {
      ...auth,
      form: {
        VoiceApplicationSid: "AP00000000000000000000000000000002",
        VoiceUrl: "https://example.com/other",
      },
    });
    expect(await onApp.json()).toMatchObject({
      trunk_sid: null,
      voice_application_sid: "AP00000000000000000000000000000002",
      voice_url: "https://example.com/other",
    });
    expect((await ownedNumbers())[0]).toMatchObject({
      voice_application_sid: "AP00000000000000000000000000000002",
      voice_url: "https://example.com/other",
    });

    for (const body of [
      { phone_number: "+16175550124", account_sid: "AC99999999999999999999999999999999" },
      { phone_number: "+16175550124", voice_url: 5 },
    ]) {
      const response = await standin().fetch(`${ORIGIN}/__standin/numbers`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      expect(response.status, JSON.stringify(body)).toBe(body.voice_url ? 400 : 404);
    }
  });

  it("verified caller ids: OutgoingCallerIds.json?PhoneNumber= per account", async () => {
    const customer = await createAccount();
    const added = await control<StandinCallerId>("POST", "caller-ids", {
      account_sid: customer.account_sid,
      phone_number: "+14155550100",
      friendly_name: "Front desk",
    });
    expect(added).toMatchObject({
      account_sid: customer.account_sid,
      phone_number: "+14155550100",
      friendly_name: "Front desk",
    });
    expect(added.sid).toMatch(/^PN[0-9a-f]{32}$/);
    await control("POST", "caller-ids", { phone_number: "+14155550100" });
    expect(
      (await control<{ caller_ids: StandinCallerId[] }>("GET", "caller-ids")).caller_ids.map(
        (c) => c.account_sid,
      ),
    ).toEqual([customer.account_sid, ACCOUNT_SID]);

    const path = `${accountPath(customer.account_sid)}/OutgoingCallerIds.json`;
    const auth = { authorization: asAccount(customer) };
    const found = await twilio("GET", `${path}?PhoneNumber=%2B14155550100`, auth);
    expect(found.status).toBe(200);
    const page = (await found.json()) as { outgoing_caller_ids: Record<string, unknown>[] };
    expect(page.outgoing_caller_ids).toEqual([
      {
        account_sid: customer.account_sid,
        date_created: expect.stringMatching(RFC_2822),
        date_updated: expect.stringMatching(RFC_2822),
        friendly_name: "Front desk",
        phone_number: "+14155550100",
        sid: added.sid,
        uri: `${accountPath(customer.account_sid)}/OutgoingCallerIds/${added.sid}.json`,
      },
    ]);
    const literalPlus = await twilio("GET", `${path}?PhoneNumber=+14155550100`, auth);
    expect(
      ((await literalPlus.json()) as typeof page).outgoing_caller_ids.map((c) => c.sid),
    ).toEqual([added.sid]);
    // Exact match only: a prefix finds nothing.
    const partial = await twilio("GET", `${path}?PhoneNumber=%2B1415555`, auth);
    expect(((await partial.json()) as typeof page).outgoing_caller_ids).toEqual([]);

    // The literal "+" (a space once decoded) is the one request the spec would not allow.
    const problems = (await requestLog())
      .filter((e) => e.query.PhoneNumber !== " 14155550100")
      .flatMap((e) => [...checkTwilioRequest(e), ...checkTwilioResponse(e)]);
    expect(problems).toEqual([]);

    const duplicate = await standin().fetch(`${ORIGIN}/__standin/caller-ids`, {
      method: "POST",
      body: JSON.stringify({ account_sid: customer.account_sid, phone_number: "+14155550100" }),
    });
    expect(duplicate.status).toBe(409);
  });

  it("rejects malformed account and caller id specs", async () => {
    const cases: [string, unknown, number][] = [
      ["accounts", { type: "Enterprise" }, 400],
      ["accounts", { status: "gone" }, 400],
      ["accounts", { friendly_name: 3 }, 400],
      ["caller-ids", {}, 400],
      ["caller-ids", { phone_number: "4155550100" }, 400],
      ["caller-ids", { phone_number: "+14155550100", account_sid: "AC123" }, 404],
    ];
    for (const [path, body, status] of cases) {
      const response = await standin().fetch(`${ORIGIN}/__standin/${path}`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(status);
    }
  });
});

describe("SIP credential lists", () => {
  const LISTS_PATH = `${ACCOUNT_PATH}/SIP/CredentialLists.json`;
  const listPath = (sid: string) => `${ACCOUNT_PATH}/SIP/CredentialLists/${sid}`;
  const STRONG = "IWasAtSignal2018";

  async function createList(name: string): Promise<Record<string, unknown> & { sid: string }> {
    const response = await twilio("POST", LISTS_PATH, { form: { FriendlyName: name } });
    expect(response.status).toBe(201);
    return (await response.json()) as Record<string, unknown> & { sid: string };
  }

  it("creates, lists, renames and deletes credential lists", async () => {
    const list = await createList("Office PBX");
    expect(list.sid).toMatch(/^CL[0-9a-f]{32}$/);
    expect(list).toEqual({
      account_sid: ACCOUNT_SID,
      date_created: expect.stringMatching(RFC_2822),
      date_updated: expect.stringMatching(RFC_2822),
      friendly_name: "Office PBX",
      sid: list.sid,
      subresource_uris: { credentials: `${listPath(list.sid)}/Credentials.json` },
      uri: `${listPath(list.sid)}.json`,
    });
    const second = await createList("Branch");

    const listed = await twilio("GET", LISTS_PATH);
    const page = (await listed.json()) as { credential_lists: { sid: string }[] };
    expect(page.credential_lists.map((l) => l.sid)).toEqual([list.sid, second.sid]);

    const renamed = await twilio("POST", `${listPath(list.sid)}.json`, {
      form: { FriendlyName: "Head office" },
    });
    expect(await renamed.json()).toMatchObject({ friendly_name: "Head office" });
    expect(await (await twilio("GET", `${listPath(list.sid)}.json`)).json()).toMatchObject({
      friendly_name: "Head office",
    });

    expect((await twilio("DELETE", `${listPath(list.sid)}.json`)).status).toBe(204);
    const gone = await twilio("GET", `${listPath(list.sid)}.json`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ code: 20404 });
    expect((await twilio("DELETE", `${listPath(list.sid)}.json`)).status).toBe(404);

    const unnamed = await twilio("POST", LISTS_PATH, { form: {} });
    expect(unnamed.status).toBe(400);
    expect(await unnamed.json()).toEqual({
      code: 20001,
      message: "Missing required parameter FriendlyName in the post body",
      more_info: "https://www.twilio.com/docs/errors/20001",
      status: 400,
    });
    const tooLong = await twilio("POST", LISTS_PATH, { form: { FriendlyName: "x".repeat(65) } });
    expect(tooLong.status).toBe(400);
  });

  it("credentials: a username once per list, strong passwords only, never shown or logged", async () => {
    const list = await createList("Office PBX");
    const credentialsPath = `${listPath(list.sid)}/Credentials.json`;
    const created = await twilio("POST", credentialsPath, {
      form: { Username: "alice", Password: STRONG },
    });
    expect(created.status).toBe(201);
    const credential = (await created.json()) as Record<string, unknown> & { sid: string };
    expect(credential).toEqual({
      sid: expect.stringMatching(/^CR[0-9a-f]{32}$/),
      account_sid: ACCOUNT_SID,
      credential_list_sid: list.sid,
      username: "alice",
      date_created: expect.stringMatching(RFC_2822),
      date_updated: expect.stringMatching(RFC_2822),
      uri: `${listPath(list.sid)}/Credentials/${credential.sid}.json`,
    });

    const weak = ["Short1aA", "nodigitsHereAtAll", "alllowercase123", "ALLUPPERCASE123"];
    for (const password of weak) {
      const refused = await twilio("POST", credentialsPath, {
        form: { Username: "bob", Password: password },
      });
      expect(refused.status, password).toBe(400);
      expect(await refused.json()).toMatchObject({ code: 21240, status: 400 });
    }
    const duplicate = await twilio("POST", credentialsPath, {
      form: { Username: "alice", Password: "AnotherStrong123" },
    });
    expect(duplicate.status).toBe(400);
    expect(await duplicate.json()).toMatchObject({ code: 21240 });
    const missing = await twilio("POST", credentialsPath, { form: { Username: "carol" } });
    expect(await missing.json()).toMatchObject({ code: 20001, status: 400 });
    const updatedWeak = await twilio(
      "POST",
      `${listPath(list.sid)}/Credentials/${credential.sid}.json`,
      {
        form: { Password: "weak" },
      },
    );
    expect(await updatedWeak.json()).toMatchObject({ code: 21240 });
    const updated = await twilio(
      "POST",
      `${listPath(list.sid)}/Credentials/${credential.sid}.json`,
      {
        form: { Password: "ChangedPassword9" },
      },
    );
    expect(updated.status).toBe(200);

    const listed = await twilio("GET", credentialsPath);
    expect(
      ((await listed.json()) as { credentials: { username: string }[] }).credentials.map(
        (c) => c.username,
      ),
    ).toEqual(["alice"]);

    const log = await requestLog();
    const serialized = JSON.stringify(log);
    for (const password of [STRONG, ...weak, "AnotherStrong123", "ChangedPassword9"]) {
      expect(serialized).not.toContain(password);
    }
    expect(log.find((e) => e.form?.Username === "alice")?.form).toEqual({
      Username: "alice",
      Password: "[redacted]",
    });
    // Carol's request, without a Password, is the one the spec does not allow.
    const problems = log
      .filter((e) => e.form?.Username !== "carol")
      .flatMap((e) => [...checkTwilioRequest(e), ...checkTwilioResponse(e)]);
    expect(problems).toEqual([]);

    expect(
      (await twilio("DELETE", `${listPath(list.sid)}/Credentials/${credential.sid}.json`)).status,
    ).toBe(204);
    expect(
      (await twilio("GET", `${listPath(list.sid)}/Credentials/${credential.sid}.json`)).status,
    ).toBe(404);
  });

  it("belong to their account", async () => {
    const list = await createList("Office PBX");
    const customer = await control<CreatedAccount>("POST", "accounts", {});
    const customerAuth = basic(customer.account_sid, customer.auth_token);
    const theirPath = `/2010-04-01/Accounts/${customer.account_sid}/SIP/CredentialLists`;
    const foreign = await twilio("GET", `${theirPath}/${list.sid}.json`, {
      authorization: customerAuth,
    });
    expect(foreign.status).toBe(404);
    const theirLists = await twilio("GET", `${theirPath}.json`, { authorization: customerAuth });
    expect(((await theirLists.json()) as { credential_lists: unknown[] }).credential_lists).toEqual(
      [],
    );
  });
});

describe("trunking v1", () => {
  const TRUNKING = "https://trunking.twilio.com";
  const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
  type Resource = Record<string, unknown> & { sid: string };
  interface V1Page {
    meta: Record<string, unknown> & { next_page_url: string | null };
    [key: string]: unknown;
  }

  function trunking(
    method: string,
    path: string,
    options: TwilioRequestOptions = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    const authorization =
      options.authorization === undefined ? ACCOUNT_AUTH : options.authorization;
    if (authorization !== null) headers.Authorization = authorization;
    const init: RequestInit = { method, headers };
    if (options.form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = new URLSearchParams(options.form).toString();
    }
    return standin().fetch(`${TRUNKING}/v1${path}`, init);
  }

  async function createTrunk(
    form: Record<string, string> = {},
    authorization?: string,
  ): Promise<Resource> {
    const response = await trunking("POST", "/Trunks", { form, authorization });
    expect(response.status, JSON.stringify(await response.clone().json())).toBe(201);
    return (await response.json()) as Resource;
  }

  async function errorOf(response: Response): Promise<[number, number]> {
    const body = (await response.json()) as { code: number; status: number };
    expect(body.status).toBe(response.status);
    return [response.status, body.code];
  }

  const newAccount = (spec: NewAccountSpec = {}) =>
    control<CreatedAccount>("POST", "accounts", spec);
  const authOf = (account: CreatedAccount) => basic(account.account_sid, account.auth_token);

  it("creates, lists, fetches, updates and deletes trunks, with ISO 8601 dates", async () => {
    const trunk = await createTrunk({
      FriendlyName: "Main trunk",
      DomainName: "acme.pstn.twilio.com",
    });
    expect(trunk.sid).toMatch(/^TK[0-9a-f]{32}$/);
    const url = `${TRUNKING}/v1/Trunks/${trunk.sid}`;
    expect(trunk).toEqual({
      account_sid: ACCOUNT_SID,
      domain_name: "acme.pstn.twilio.com",
      disaster_recovery_method: "POST",
      disaster_recovery_url: null,
      friendly_name: "Main trunk",
      secure: false,
      recording: { mode: "do-not-record", trim: "do-not-trim" },
      transfer_mode: "disable-all",
      transfer_caller_id: "from-transferee",
      cnam_lookup_enabled: false,
      auth_type: "",
      symmetric_rtp_enabled: false,
      auth_type_set: [],
      date_created: expect.stringMatching(ISO_8601),
      date_updated: expect.stringMatching(ISO_8601),
      sid: trunk.sid,
      url,
      links: {
        origination_urls: `${url}/OriginationUrls`,
        credential_lists: `${url}/CredentialLists`,
        ip_access_control_lists: `${url}/IpAccessControlLists`,
        phone_numbers: `${url}/PhoneNumbers`,
      },
    });

    const listed = (await (await trunking("GET", "/Trunks")).json()) as V1Page;
    expect(listed).toEqual({
      trunks: [trunk],
      meta: {
        page: 0,
        page_size: 50,
        first_page_url: `${TRUNKING}/v1/Trunks?PageSize=50&Page=0`,
        previous_page_url: null,
        url: `${TRUNKING}/v1/Trunks?PageSize=50&Page=0`,
        next_page_url: null,
        key: "trunks",
      },
    });

    const updated = await trunking("POST", `/Trunks/${trunk.sid}`, {
      form: { FriendlyName: "Renamed", Secure: "true", TransferMode: "sip-only" },
    });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({
      friendly_name: "Renamed",
      secure: true,
      transfer_mode: "sip-only",
      domain_name: "acme.pstn.twilio.com",
    });
    expect(await (await trunking("GET", `/Trunks/${trunk.sid}`)).json()).toMatchObject({
      friendly_name: "Renamed",
    });
    const badUpdate = await trunking("POST", `/Trunks/${trunk.sid}`, { form: { Secure: "maybe" } });
    expect(await errorOf(badUpdate)).toEqual([400, 20001]);

    expect((await trunking("DELETE", `/Trunks/${trunk.sid}`)).status).toBe(204);
    expect(await errorOf(await trunking("GET", `/Trunks/${trunk.sid}`))).toEqual([404, 20404]);
    expect(await errorOf(await trunking("DELETE", `/Trunks/${trunk.sid}`))).toEqual([404, 20404]);
    expect(await errorOf(await trunking("PUT", "/Trunks"))).toEqual([405, 20004]);
    expect(await errorOf(await trunking("GET", "/Trunks/TK1/Recordings"))).toEqual([404, 20404]);
  });

  it("pages trunks the v1 way, next_page_url to the end", async () => {
    const sids: string[] = [];
    for (let i = 0; i < 5; i++) sids.push((await createTrunk({ FriendlyName: `T${i}` })).sid);
    const seen: string[] = [];
    let next: string | null = "/Trunks?PageSize=2";
    const pages: V1Page[] = [];
    while (next) {
      const page = (await (await trunking("GET", next)).json()) as V1Page;
      pages.push(page);
      seen.push(...(page.trunks as Resource[]).map((t) => t.sid));
      next = page.meta.next_page_url?.slice(`${TRUNKING}/v1`.length) ?? null;
    }
    expect(seen).toEqual(sids);
    expect(pages.map((p) => (p.trunks as unknown[]).length)).toEqual([2, 2, 1]);
    expect(pages[2]?.meta).toMatchObject({ page: 2, page_size: 2, next_page_url: null });
    expect(pages[2]?.meta.previous_page_url).toMatch(/PageToken=PB/);
  });

  it("a domain name is unique across accounts, and reserved after a delete when asked", async () => {
    const customer = await newAccount();
    const mine = await createTrunk({ DomainName: "acme.pstn.twilio.com" });
    const taken = await trunking("POST", "/Trunks", {
      authorization: authOf(customer),
      form: { DomainName: "ACME.pstn.twilio.com" },
    });
    expect(await taken.json()).toEqual({
      code: 21248,
      message: "Trunk Domain already taken",
      more_info: "https://www.twilio.com/docs/errors/21248",
      status: 400,
    });
    for (const DomainName of ["acme.example.com", "pstn.twilio.com", "a_b.pstn.twilio.com"]) {
      const invalid = await trunking("POST", "/Trunks", { form: { DomainName } });
      expect(await errorOf(invalid), DomainName).toEqual([400, 20001]);
    }
    const other = await createTrunk({ DomainName: "other.pstn.twilio.com" });
    const rename = await trunking("POST", `/Trunks/${other.sid}`, {
      form: { DomainName: "acme.pstn.twilio.com" },
    });
    expect(await errorOf(rename)).toEqual([400, 21248]);
    // Renaming a trunk to its own name is no conflict.
    const same = await trunking("POST", `/Trunks/${mine.sid}`, {
      form: { DomainName: "acme.pstn.twilio.com" },
    });
    expect(same.status).toBe(200);

    await control("POST", "domain-reservation", { ms: 500 });
    expect((await trunking("DELETE", `/Trunks/${mine.sid}`)).status).toBe(204);
    const reserved = await trunking("POST", "/Trunks", {
      authorization: authOf(customer),
      form: { DomainName: "acme.pstn.twilio.com" },
    });
    expect(await errorOf(reserved)).toEqual([400, 21248]);
    const reservedForMeToo = await trunking("POST", "/Trunks", {
      form: { DomainName: "acme.pstn.twilio.com" },
    });
    expect(await errorOf(reservedForMeToo)).toEqual([400, 21248]);
    await sleep(550);
    const theirs = await createTrunk({ DomainName: "acme.pstn.twilio.com" }, authOf(customer));
    expect(theirs.account_sid).toBe(customer.account_sid);

    // Without a reservation (the default), a deleted trunk's name is free at once.
    await control("POST", "domain-reservation", { ms: 0 });
    expect((await trunking("DELETE", `/Trunks/${other.sid}`)).status).toBe(204);
    await createTrunk({ DomainName: "other.pstn.twilio.com" });
  });

  it("allows 1 trunk on a Trial account and 100 on a Full one", async () => {
    const trial = await newAccount({ type: "Trial" });
    await createTrunk({}, authOf(trial));
    const second = await trunking("POST", "/Trunks", { authorization: authOf(trial) });
    expect(await errorOf(second)).toEqual([400, 10002]);

    const full = await newAccount();
    for (let i = 0; i < 100; i++) await createTrunk({}, authOf(full));
    const tooMany = await trunking("POST", "/Trunks", { authorization: authOf(full) });
    expect(await errorOf(tooMany)).toEqual([400, 20001]);
    // The master account's limit is its own.
    await createTrunk();
  });

  it("origination URLs: all five fields required, then listed, updated and deleted", async () => {
    const trunk = await createTrunk();
    const path = `/Trunks/${trunk.sid}/OriginationUrls`;
    const complete = {
      SipUrl: "sip:pbx.example.com:5060",
      Priority: "10",
      Weight: "20",
      Enabled: "true",
      FriendlyName: "PBX",
    };
    for (const name of Object.keys(complete)) {
      const form: Record<string, string> = { ...complete };
      delete form[name];
      const response = await trunking("POST", path, { form });
      expect(await response.json()).toEqual({
        code: 20001,
        message: `Missing required parameter ${name} in the post body`,
        more_info: "https://www.twilio.com/docs/errors/20001",
        status: 400,
      });
    }
    for (const bad of [
      { SipUrl: "https://pbx.example.com" },
      { Priority: "-1" },
      { Weight: "70000" },
      { Enabled: "yes" },
    ]) {
      const response = await trunking("POST", path, { form: { ...complete, ...bad } });
      expect(await errorOf(response), JSON.stringify(bad)).toEqual([400, 20001]);
    }

    const created = await trunking("POST", path, { form: complete });
    expect(created.status).toBe(201);
    const origination = (await created.json()) as Resource;
    expect(origination).toEqual({
      account_sid: ACCOUNT_SID,
      sid: expect.stringMatching(/^OU[0-9a-f]{32}$/),
      trunk_sid: trunk.sid,
      weight: 20,
      enabled: true,
      sip_url: "sip:pbx.example.com:5060",
      friendly_name: "PBX",
      priority: 10,
      date_created: expect.stringMatching(ISO_8601),
      date_updated: expect.stringMatching(ISO_8601),
      url: `${TRUNKING}/v1${path}/${origination.sid}`,
    });
    const listed = (await (await trunking("GET", path)).json()) as V1Page;
    expect(listed.origination_urls).toEqual([origination]);
    expect(listed.meta.key).toBe("origination_urls");

    const updated = await trunking("POST", `${path}/${origination.sid}`, {
      form: { Priority: "1", Enabled: "false" },
    });
    expect(await updated.json()).toMatchObject({ priority: 1, enabled: false, weight: 20 });
    expect(await (await trunking("GET", `${path}/${origination.sid}`)).json()).toMatchObject({
      priority: 1,
    });
    expect((await trunking("DELETE", `${path}/${origination.sid}`)).status).toBe(204);
    expect(await errorOf(await trunking("GET", `${path}/${origination.sid}`))).toEqual([
      404, 20404,
    ]);
  });

  it("a number on a trunk: trunk_sid set, voice application cleared, voice URL kept", async () => {
    const trunk = await createTrunk({ FriendlyName: "Voice" });
    const planted = await control<OwnedNumberSummary>("POST", "numbers", {
      phone_number: "+14155550142",
      voice_url: "https://example.com/voice",
      voice_application_sid: "AP00000000000000000000000000000001",
    });
    const path = `/Trunks/${trunk.sid}/PhoneNumbers`;
    const added = await trunking("POST", path, { form: { PhoneNumberSid: planted.sid } });
    expect(added.status).toBe(201);
    const onTrunk = (await added.json()) as Resource;
    expect(onTrunk).toMatchObject({
      sid: planted.sid,
      account_sid: ACCOUNT_SID,
      phone_number: "+14155550142",
      trunk_sid: trunk.sid,
      voice_application_sid: null,
      voice_url: "https://example.com/voice",
      capabilities: { voice: true, sms: true, mms: true, fax: false },
      url: `${TRUNKING}/v1${path}/${planted.sid}`,
      links: {
        phone_number: `https://api.twilio.com${ACCOUNT_PATH}/IncomingPhoneNumbers/${planted.sid}`,
      },
    });
    expect(onTrunk.date_created).toMatch(ISO_8601);
    expect(onTrunk.date_updated).toMatch(ISO_8601);

    const viaApi = await twilio("GET", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${planted.sid}.json`);
    expect(await viaApi.json()).toMatchObject({
      trunk_sid: trunk.sid,
      voice_application_sid: null,
      voice_url: "https://example.com/voice",
    });
    expect((await ownedNumbers())[0]).toMatchObject({
      trunk_sid: trunk.sid,
      voice_application_sid: null,
    });

    // A number bought with TrunkSid is on the trunk too.
    const target = (await availableIn("206"))[0] ?? "";
    const bought = await buyOk(target, { TrunkSid: trunk.sid });
    const listed = (await (await trunking("GET", path)).json()) as V1Page;
    expect((listed.phone_numbers as Resource[]).map((n) => n.sid)).toEqual([
      planted.sid,
      bought.sid,
    ]);
    expect(await (await trunking("GET", `${path}/${planted.sid}`)).json()).toEqual(onTrunk);

    expect(await errorOf(await trunking("POST", path, { form: {} }))).toEqual([400, 20001]);
    const unknown = await trunking("POST", path, {
      form: { PhoneNumberSid: "PN00000000000000000000000000000000" },
    });
    expect(await errorOf(unknown)).toEqual([404, 20404]);
    const customer = await newAccount();
    const theirs = await control<OwnedNumberSummary>("POST", "numbers", {
      phone_number: "+14155550143",
      account_sid: customer.account_sid,
    });
    const foreign = await trunking("POST", path, { form: { PhoneNumberSid: theirs.sid } });
    expect(await errorOf(foreign)).toEqual([404, 20404]);

    expect((await trunking("DELETE", `${path}/${planted.sid}`)).status).toBe(204);
    expect(await errorOf(await trunking("GET", `${path}/${planted.sid}`))).toEqual([404, 20404]);
    const offTrunk = await twilio(
      "GET",
      `${ACCOUNT_PATH}/IncomingPhoneNumbers/${planted.sid}.json`,
    );
    expect(await offTrunk.json()).toMatchObject({
      trunk_sid: null,
      voice_url: "https://example.com/voice",
    });

    // Deleting the trunk takes the remaining number off it; the number stays owned.
    expect((await trunking("DELETE", `/Trunks/${trunk.sid}`)).status).toBe(204);
    const kept = await twilio("GET", `${ACCOUNT_PATH}/IncomingPhoneNumbers/${bought.sid}.json`);
    expect(await kept.json()).toMatchObject({ trunk_sid: null, phone_number: target });
  });

  it("credential lists on a trunk make its auth_type CREDENTIAL_LIST", async () => {
    const trunk = await createTrunk();
    const sipList = await twilio("POST", `${ACCOUNT_PATH}/SIP/CredentialLists.json`, {
      form: { FriendlyName: "PBX users" },
    });
    const list = (await sipList.json()) as Resource;
    const path = `/Trunks/${trunk.sid}/CredentialLists`;
    const added = await trunking("POST", path, { form: { CredentialListSid: list.sid } });
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({
      account_sid: ACCOUNT_SID,
      sid: list.sid,
      trunk_sid: trunk.sid,
      friendly_name: "PBX users",
      date_created: expect.stringMatching(ISO_8601),
      date_updated: expect.stringMatching(ISO_8601),
      url: `${TRUNKING}/v1${path}/${list.sid}`,
    });
    expect(await (await trunking("GET", `/Trunks/${trunk.sid}`)).json()).toMatchObject({
      auth_type: "CREDENTIAL_LIST",
      auth_type_set: ["CREDENTIAL_LIST"],
    });
    const again = await trunking("POST", path, { form: { CredentialListSid: list.sid } });
    expect(await errorOf(again)).toEqual([400, 20001]);
    const unknown = await trunking("POST", path, {
      form: { CredentialListSid: "CL00000000000000000000000000000000" },
    });
    expect(await errorOf(unknown)).toEqual([404, 20404]);
    const listed = (await (await trunking("GET", path)).json()) as V1Page;
    expect((listed.credential_lists as Resource[]).map((l) => l.sid)).toEqual([list.sid]);

    expect((await trunking("DELETE", `${path}/${list.sid}`)).status).toBe(204);
    expect(await (await trunking("GET", `/Trunks/${trunk.sid}`)).json()).toMatchObject({
      auth_type: "",
      auth_type_set: [],
    });
    // Deleting the SIP list takes it off every trunk.
    await trunking("POST", path, { form: { CredentialListSid: list.sid } });
    await twilio("DELETE", `${ACCOUNT_PATH}/SIP/CredentialLists/${list.sid}.json`);
    expect(((await (await trunking("GET", path)).json()) as V1Page).credential_lists).toEqual([]);
  });

  it("a trunk belongs to the account whose credentials created it", async () => {
    const mine = await createTrunk();
    const customer = await newAccount();
    const theirs = await createTrunk({ FriendlyName: "Theirs" }, authOf(customer));
    expect(theirs.account_sid).toBe(customer.account_sid);

    const foreign = await trunking("GET", `/Trunks/${mine.sid}`, {
      authorization: authOf(customer),
    });
    expect(await errorOf(foreign)).toEqual([404, 20404]);
    const theirList = (await (
      await trunking("GET", "/Trunks", { authorization: authOf(customer) })
    ).json()) as V1Page;
    expect((theirList.trunks as Resource[]).map((t) => t.sid)).toEqual([theirs.sid]);
    expect(await errorOf(await trunking("GET", "/Trunks", { authorization: null }))).toEqual([
      401, 20003,
    ]);
    const wrong = await trunking("GET", "/Trunks", {
      authorization: basic(customer.account_sid, AUTH_TOKEN),
    });
    expect(await errorOf(wrong)).toEqual([401, 20003]);
    const apiKey = await trunking("GET", "/Trunks", {
      authorization: basic(API_KEY_SID, API_KEY_SECRET),
    });
    expect(((await apiKey.json()) as V1Page).trunks).toEqual([mine]);

    const suspended = await newAccount({ status: "suspended" });
    const refused = await trunking("GET", "/Trunks", { authorization: authOf(suspended) });
    expect(await errorOf(refused)).toEqual([401, 20005]);

    // The log names the account (the path does not), and holds no secret.
    const log = await requestLog();
    expect(log.every((e) => e.operation === "trunking")).toBe(true);
    expect(log[0]).toMatchObject({ username: ACCOUNT_SID, auth: "account" });
    const serialized = JSON.stringify(log);
    for (const secret of [AUTH_TOKEN, customer.auth_token, API_KEY_SECRET]) {
      expect(serialized).not.toContain(secret);
    }
  });

  it("GET /__standin/trunks shows every account's trunks and what hangs on them", async () => {
    const trunk = await createTrunk({ FriendlyName: "Main", DomainName: "main.pstn.twilio.com" });
    await trunking("POST", `/Trunks/${trunk.sid}/OriginationUrls`, {
      form: {
        SipUrl: "sip:pbx.example.com",
        Priority: "1",
        Weight: "1",
        Enabled: "true",
        FriendlyName: "PBX",
      },
    });
    const planted = await control<OwnedNumberSummary>("POST", "numbers", {
      phone_number: "+14155550150",
      trunk_sid: trunk.sid,
    });
    const sipList = (await (
      await twilio("POST", `${ACCOUNT_PATH}/SIP/CredentialLists.json`, {
        form: { FriendlyName: "Users" },
      })
    ).json()) as Resource;
    await trunking("POST", `/Trunks/${trunk.sid}/CredentialLists`, {
      form: { CredentialListSid: sipList.sid },
    });
    const customer = await newAccount();
    const theirs = await createTrunk({}, authOf(customer));

    const { trunks } = await control<{ trunks: StandinTrunk[] }>("GET", "trunks");
    expect(trunks).toEqual([
      {
        sid: trunk.sid,
        account_sid: ACCOUNT_SID,
        friendly_name: "Main",
        domain_name: "main.pstn.twilio.com",
        date_created: trunk.date_created,
        origination_urls: [
          {
            sid: expect.stringMatching(/^OU/),
            sip_url: "sip:pbx.example.com",
            priority: 1,
            weight: 1,
            enabled: true,
            friendly_name: "PBX",
          },
        ],
        phone_numbers: [{ sid: planted.sid, phone_number: "+14155550150" }],
        credential_lists: [{ sid: sipList.sid, friendly_name: "Users" }],
      },
      {
        sid: theirs.sid,
        account_sid: customer.account_sid,
        friendly_name: null,
        domain_name: null,
        date_created: theirs.date_created,
        origination_urls: [],
        phone_numbers: [],
        credential_lists: [],
      },
    ]);
    await control("POST", "reset");
    expect((await control<{ trunks: StandinTrunk[] }>("GET", "trunks")).trunks).toEqual([]);
  });

  it("every trunking exchange of a realistic session matches Twilio's trunking spec", async () => {
    const trunk = await createTrunk({
      FriendlyName: "Main",
      DomainName: "contract.pstn.twilio.com",
      DisasterRecoveryUrl: "https://example.com/fallback",
      DisasterRecoveryMethod: "GET",
      CnamLookupEnabled: "true",
    });
    await trunking("GET", "/Trunks?PageSize=1");
    await trunking("GET", `/Trunks/${trunk.sid}`);
    await trunking("POST", `/Trunks/${trunk.sid}`, {
      form: { FriendlyName: "Renamed", TransferCallerId: "from-transferor" },
    });
    await trunking("POST", "/Trunks", { form: { DomainName: "contract.pstn.twilio.com" } });
    const originations = `/Trunks/${trunk.sid}/OriginationUrls`;
    const origination = (await (
      await trunking("POST", originations, {
        form: {
          SipUrl: "sip:pbx.example.com:5060",
          Priority: "1",
          Weight: "10",
          Enabled: "true",
          FriendlyName: "PBX",
        },
      })
    ).json()) as Resource;
    await trunking("GET", originations);
    await trunking("POST", `${originations}/${origination.sid}`, { form: { Weight: "5" } });
    await trunking("GET", `${originations}/${origination.sid}`);
    const planted = await control<OwnedNumberSummary>("POST", "numbers", {
      phone_number: "+14155550160",
      voice_url: "https://example.com/voice",
    });
    const numbers = `/Trunks/${trunk.sid}/PhoneNumbers`;
    await trunking("POST", numbers, { form: { PhoneNumberSid: planted.sid } });
    await trunking("GET", numbers);
    await trunking("GET", `${numbers}/${planted.sid}`);
    const sipList = (await (
      await twilio("POST", `${ACCOUNT_PATH}/SIP/CredentialLists.json`, {
        form: { FriendlyName: "Users" },
      })
    ).json()) as Resource;
    const lists = `/Trunks/${trunk.sid}/CredentialLists`;
    await trunking("POST", lists, { form: { CredentialListSid: sipList.sid } });
    await trunking("GET", lists);
    await trunking("GET", `${lists}/${sipList.sid}`);
    await trunking("GET", `/Trunks/${trunk.sid}`);
    await trunking("DELETE", `${lists}/${sipList.sid}`);
    await trunking("DELETE", `${numbers}/${planted.sid}`);
    await trunking("DELETE", `${originations}/${origination.sid}`);
    await trunking("DELETE", `/Trunks/${trunk.sid}`);
    await trunking("GET", `/Trunks/${trunk.sid}`);
    await trunking("GET", "/Trunks", { authorization: basic(ACCOUNT_SID, "wrong") });

    const log = (await requestLog()).filter((e) => e.operation === "trunking");
    expect(log).toHaveLength(22);
    const problems = log.flatMap((e) => [...checkTwilioRequest(e), ...checkTwilioResponse(e)]);
    expect(problems).toEqual([]);
  });

  it("reports trunking requests and replies the spec does not allow (the check can fail)", async () => {
    const trunk = await createTrunk({ DomainName: "check.pstn.twilio.com" });
    await trunking("POST", "/Trunks", { form: { FriendlyName: "x", Colour: "blue" } });
    await trunking("POST", `/Trunks/${trunk.sid}/OriginationUrls`, {
      form: { SipUrl: "sip:pbx.example.com", Priority: "1", Enabled: "yes", FriendlyName: "P" },
    });
    await trunking("GET", "/Trunks/TK1");
    await trunking("GET", "/Trunks?PageSize=0");
    const [create, withColour, origination, shortSid, pageSize] = await requestLog();

    expect(checkTwilioRequest(withColour as TwilioRequestLogEntry)).toEqual([
      "POST /v1/Trunks: form field Colour is not declared for POST /v1/Trunks",
    ]);
    const originationProblems = checkTwilioRequest(origination as TwilioRequestLogEntry).join("\n");
    expect(originationProblems).toContain('Enabled="yes" is not true/false');
    expect(originationProblems).toContain("required form field Weight is missing");
    expect(checkTwilioRequest(shortSid as TwilioRequestLogEntry).join()).toMatch(/path Sid="TK1"/);
    expect(checkTwilioRequest(pageSize as TwilioRequestLogEntry).join()).toMatch(/PageSize/);

    const created = create as TwilioRequestLogEntry;
    expect(checkTwilioRequest(created)).toEqual([]);
    expect(checkTwilioResponse(created)).toEqual([]);
    const body = created.response as Resource;
    expect(
      checkTwilioResponse({
        ...created,
        response: { ...body, date_created: "Thu, 30 Jul 2015 23:19:04 +0000" },
      }).join(),
    ).toMatch(/date_created/);
    const { domain_name: _domain, ...withoutDomain } = body;
    expect(checkTwilioResponse({ ...created, response: withoutDomain }).join()).toMatch(
      /domain_name/,
    );
    expect(checkTwilioResponse({ ...created, response: { ...body, sid: "PN123" } }).join()).toMatch(
      /sid/,
    );
    expect(checkTwilioResponse({ ...created, status: 200 }).join()).toContain("documents only 201");

    const listed = await trunking("GET", "/Trunks");
    const list = (await requestLog()).at(-1) as TwilioRequestLogEntry;
    expect(checkTwilioResponse(list)).toEqual([]);
    const page = (await listed.json()) as V1Page;
    const { meta: _meta, ...withoutMeta } = page;
    expect(checkTwilioResponse({ ...list, response: withoutMeta }).join()).toMatch(/meta/);
    expect(
      checkTwilioResponse({
        ...list,
        response: { ...page, meta: { ...page.meta, page: "0" } },
      }).join(),
    ).toMatch(/page/);
  });
});

describe("test/helpers/standin.ts", () => {
  it("drives accounts, caller ids, numbers, settings and trunks for other tests", async () => {
    const customer = await twilioStandin.createAccount({ friendly_name: "Helper", type: "Trial" });
    expect((await twilioStandin.accounts()).map((a) => [a.sid, a.type])).toEqual([
      [ACCOUNT_SID, "Full"],
      [customer.account_sid, "Trial"],
    ]);
    const fetched = await twilio("GET", `/2010-04-01/Accounts/${customer.account_sid}.json`, {
      authorization: basicAuth(customer),
    });
    expect(await fetched.json()).toMatchObject({ type: "Trial", friendly_name: "Helper" });

    await twilioStandin.addCallerId({
      account_sid: customer.account_sid,
      phone_number: "+15125550100",
    });
    expect((await twilioStandin.callerIds()).map((c) => c.phone_number)).toEqual(["+15125550100"]);

    const planted = await twilioStandin.plantNumber({
      phone_number: "+15125550101",
      account_sid: customer.account_sid,
      date_created: "2020-01-31T12:00:00Z",
    });
    expect(planted).toMatchObject({
      account_sid: customer.account_sid,
      date_created: "Fri, 31 Jan 2020 12:00:00 +0000",
    });

    await twilioStandin.setListLag(1000);
    await twilioStandin.setReleaseHold(2000);
    await twilioStandin.setDomainReservation(3000);
    await twilioStandin.setLatency(0);
    expect(await twilioStandin.settings()).toEqual({
      latency_ms: 0,
      list_lag_ms: 1000,
      release_hold_ms: 2000,
      domain_reservation_ms: 3000,
    });

    const created = await standin().fetch("https://trunking.twilio.com/v1/Trunks", {
      method: "POST",
      headers: {
        Authorization: basicAuth(customer),
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "FriendlyName=Helper",
    });
    expect(created.status).toBe(201);
    expect((await twilioStandin.trunks()).map((t) => [t.account_sid, t.friendly_name])).toEqual([
      [customer.account_sid, "Helper"],
    ]);

    await twilioStandin.reset();
    expect(await twilioStandin.trunks()).toEqual([]);
    expect(await twilioStandin.numbers()).toEqual([]);
  });
});
