import { afterEach, describe, expect, it } from "vitest";
import type { PhoneNumber } from "../src/schemas/phone-numbers";
import { BASE, purchase, search } from "./helpers/phone-numbers";
import { twilioStandin } from "./helpers/standin";
import { call, createWorkspace } from "./helpers/workspaces";

/** Sends `total` requests, `inFlight` at a time; their responses' statuses and headers. */
async function flood(
  total: number,
  inFlight: number,
  send: () => Promise<Response>,
): Promise<Response[]> {
  const responses: Response[] = [];
  let sent = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (sent < total) {
        sent++;
        const response = await send();
        await response.arrayBuffer();
        responses.push(response);
      }
    }),
  );
  return responses;
}

describe("a noisy neighbour", () => {
  afterEach(async () => {
    await twilioStandin.setLatency(0);
  });

  it("floods search and gets 429s, never a 5xx, while another workspace's purchases all succeed", async () => {
    // Both on the deployment's defaults: searches 60 a minute (burst 20), writes 30 (burst 10).
    const noisy = await createWorkspace();
    const victim = await createWorkspace();
    const found = await search(victim, "area_code=873&limit=3");
    // Twilio takes a little while, so admitted searches hold the gate's permits.
    await twilioStandin.setLatency(20);
    await twilioStandin.clearRequests();

    const started = Date.now();
    const [floodResponses, bought] = await Promise.all([
      flood(200, 20, () => call(`${BASE}/available?area_code=874&limit=5`, { key: noisy.key })),
      Promise.all(found.map((n) => purchase(victim, { e164: n.e164 }))),
    ]);
    const seconds = (Date.now() - started) / 1000;

    expect(bought.map((r) => r.status)).toEqual([201, 201, 201]);
    const numbers = await Promise.all(bought.map((r) => r.json<PhoneNumber>()));
    const held = await twilioStandin.held();
    for (const number of numbers) expect(held).toContain(number.e164);

    const statuses = floodResponses.map((r) => r.status);
    expect(statuses).toHaveLength(200);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const served = statuses.filter((s) => s === 200).length;
    // The burst, plus one a second for the time the flood took.
    expect(served).toBeGreaterThanOrEqual(20);
    expect(served).toBeLessThanOrEqual(20 + Math.ceil(seconds) + 1);
    for (const refused of floodResponses.filter((r) => r.status === 429)) {
      expect(refused.headers.get("ratelimit-remaining")).toBe("0");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    // Only the searches it was allowed reached Twilio.
    const searches = (await twilioStandin.requests()).filter(
      (r) => r.operation === "search" && r.query.AreaCode === "874",
    );
    expect(searches).toHaveLength(served);
  });
});
