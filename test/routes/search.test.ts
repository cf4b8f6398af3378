import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import { BASE, expectError, search } from "../helpers/phone-numbers";
import { expectMatchesSpec } from "../helpers/speechify-spec";
import { twilioStandin } from "../helpers/standin";
import { call, createWorkspace } from "../helpers/workspaces";

describe("GET /v1/agents/phone-numbers/available", () => {
  it("returns voice-enabled US numbers of the area code, 20 by default", async () => {
    const ws = await createWorkspace();
    const response = await call(`${BASE}/available?country=US&area_code=415`, { key: ws.key });
    expect(response.status).toBe(200);
    const body = await response.json<{ numbers: { e164: string; iso_country: string }[] }>();
    expectMatchesSpec("/v1/agents/phone-numbers/available", "GET", 200, body);
    expect(body.numbers).toHaveLength(20);
    for (const number of body.numbers) {
      expect(number.e164).toMatch(/^\+1415\d{7}$/);
      expect(number.iso_country).toBe("US");
    }
    expect(Object.keys(body.numbers[0] ?? {}).sort()).toEqual(
      ["e164", "friendly_name", "iso_country", "locality", "region"].sort(),
    );
  });

  it("asks Twilio for voice-enabled local numbers with the area code and limit", async () => {
    const ws = await createWorkspace();
    await twilioStandin.clearRequests();
    await search(ws, "area_code=212&limit=7");
    const sent = (await twilioStandin.requests()).filter((r) => r.operation === "search");
    expect(sent.at(-1)?.path).toMatch(/\/AvailablePhoneNumbers\/US\/Local\.json$/);
    expect(sent.at(-1)?.query).toMatchObject({
      AreaCode: "212",
      VoiceEnabled: "true",
      PageSize: "7",
    });
  });

  it("honours limit and caps it at 50", async () => {
    const ws = await createWorkspace();
    expect(await search(ws, "area_code=646&limit=5")).toHaveLength(5);
    expect(await search(ws, "area_code=646&limit=50")).toHaveLength(50);
    expect(await search(ws, "area_code=646&limit=500")).toHaveLength(50);
  });

  it("defaults country to US and accepts a search without area code", async () => {
    const ws = await createWorkspace();
    const numbers = await search(ws, "");
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers.every((n) => n.e164.startsWith("+1"))).toBe(true);
  });

  it("returns an empty list when the area code has no inventory", async () => {
    const ws = await createWorkspace();
    expect(await search(ws, "area_code=533")).toEqual([]);
  });

  it.each([
    ["country=CA", "country"],
    ["country=us", "country"],
    ["area_code=41", "area_code"],
    ["area_code=4155", "area_code"],
    ["area_code=115", "area_code"],
    ["area_code=abc", "area_code"],
    ["limit=0", "limit"],
    ["limit=-1", "limit"],
    ["limit=2.5", "limit"],
    ["limit=ten", "limit"],
  ])("rejects %s with 400 validation_failed naming %s", async (query, field) => {
    const ws = await createWorkspace();
    const response = await call(`${BASE}/available?${query}`, { key: ws.key });
    const body = await expectError(response, 400, "validation_failed");
    expect(Object.keys(body.error.fields ?? {})).toContain(field);
    expectMatchesSpec("/v1/agents/phone-numbers/available", "GET", 400, body);
  });

  it("answers 503 with Retry-After when Twilio fails for a while", async () => {
    const ws = await createWorkspace();
    for (const status of [500, 503, 429]) {
      await twilioStandin.addFault({ operation: "search", kind: "status", status, times: 10 });
      const response = await call(`${BASE}/available?area_code=303`, { key: ws.key });
      await expectError(response, 503, "service_unavailable");
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      await twilioStandin.clearFaults();
    }
  });

  it("answers 503 without Retry-After when Twilio rejects the platform's credentials", async () => {
    const ws = await createWorkspace();
    await twilioStandin.addFault({ operation: "search", kind: "status", status: 401, times: 1 });
    const response = await call(`${BASE}/available?area_code=303`, { key: ws.key });
    await expectError(response, 503, "service_unavailable");
    expect(response.headers.get("retry-after")).toBeNull();
  });

  it("answers 503 when Twilio does not reply in time", async () => {
    const ws = await createWorkspace();
    await twilioStandin.addFault({ operation: "search", kind: "delay", delay_ms: 2_000, times: 1 });
    const response = await call(`${BASE}/available?area_code=303`, { key: ws.key });
    await expectError(response, 503, "service_unavailable");
  });

  it("answers 503 without Retry-After when Twilio is not configured", async () => {
    const ws = await createWorkspace();
    const unconfigured = { ...env, TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "" };
    const response = await app.fetch(
      new Request(`http://localhost${BASE}/available?area_code=415`, {
        headers: { authorization: `Bearer ${ws.key}` },
      }),
      unconfigured,
    );
    const body = await expectError(response, 503, "service_unavailable");
    expect(response.headers.get("retry-after")).toBeNull();
    expect(JSON.stringify(body)).not.toContain("standin-auth-token");
  });

  it("maps Twilio's 21451 (an unassigned area code) to 400 validation_failed naming area_code", async () => {
    const ws = await createWorkspace();
    await twilioStandin.addFault({
      operation: "search",
      kind: "status",
      status: 400,
      code: 21451,
      times: 1,
    });
    const response = await call(`${BASE}/available?area_code=299`, { key: ws.key });
    const body = await expectError(response, 400, "validation_failed");
    expect(Object.keys(body.error.fields ?? {})).toEqual(["area_code"]);
  });
});
