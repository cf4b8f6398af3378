// Runs in the vitest project "gate" (vitest.config.ts): the Worker with TWILIO_MAX_CONCURRENCY=2,
// TWILIO_GATE_MAX_WAIT_MS=1000 and TWILIO_TIMEOUT_MS=5000. What is in flight at Twilio is
// measured at the stand-in (its concurrency count), not by the gate itself.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE, expectError, purchase, search } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { call, createWorkspace } from "../helpers/workspaces";

function concurrentSearches(count: number, areaCode: string): Promise<Response[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const ws = await createWorkspace();
      return call(`${BASE}/available?area_code=${areaCode}&limit=2`, { key: ws.key });
    }),
  );
}

const searchesSent = async () =>
  (await twilioStandin.requests()).filter((r) => r.operation === "search").length;

describe("the Twilio gate", () => {
  beforeEach(async () => {
    await twilioStandin.reset();
  });

  afterEach(async () => {
    await twilioStandin.setLatency(0);
  });

  it("runs with the settings of this project", () => {
    expect(env.TWILIO_MAX_CONCURRENCY as string).toBe("2");
  });

  it("never lets more than 2 Twilio calls be in flight, however many workspaces search at once", async () => {
    await twilioStandin.setLatency(100);
    await twilioStandin.resetConcurrency();
    const started = Date.now();
    const responses = await concurrentSearches(8, "870");
    const elapsed = Date.now() - started;
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const { peak } = await twilioStandin.concurrency();
    expect(peak).toBeLessThanOrEqual(2);
    // And it does use both: 8 calls of 100 ms, two at a time, take four rounds.
    expect(peak).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(await searchesSent()).toBe(8);
  });

  it("refuses a call that would wait past TWILIO_GATE_MAX_WAIT_MS as Twilio's 20429, unsent: 503 with Retry-After", async () => {
    // Rounds of 400 ms: the 7th and 8th calls would start after 1200 ms of waiting.
    await twilioStandin.setLatency(400);
    await twilioStandin.resetConcurrency();
    const responses = await concurrentSearches(8, "871");
    const statuses = responses.map((r) => r.status);
    const served = statuses.filter((s) => s === 200).length;
    const refused = responses.filter((r) => r.status === 503);
    expect(served + refused.length).toBe(8);
    expect(served).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const response of refused) {
      await expectError(response, 503, "service_unavailable");
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    // The refused calls never reached Twilio.
    expect(await searchesSent()).toBe(served);
    expect((await twilioStandin.concurrency()).peak).toBeLessThanOrEqual(2);
  });

  it("retries Twilio's own 20429 with backoff, through the gate, and buys once", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=872");
    await twilioStandin.addFault({
      operation: "purchase",
      kind: "status",
      status: 429,
      retry_after: null,
      times: 2,
    });
    await twilioStandin.clearRequests();
    const response = await purchase(ws, { e164: found?.e164 });
    expect(response.status).toBe(201);
    const buys = (await twilioStandin.requests()).filter((r) => r.operation === "purchase");
    expect(buys.map((r) => r.status)).toEqual([429, 429, 201]);
    expect(await twilioStandin.held()).toContain(found?.e164);
  });
});
