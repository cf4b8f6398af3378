import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { reconcileTwilioNumbers } from "../../src/reconcile";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { expectLedgerInvariant, runAlarmNow, unfinished } from "../helpers/ledger";
import { BASE, expectError, purchase, search } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { call, createWorkspace } from "../helpers/workspaces";

// What Twilio really answers, beyond the stand-in's kind defaults: a release's 404 that proves
// nothing, refusals that are permanent, and what each leaves behind.

async function buy(area: string, purchasedNumberLimit = 3) {
  const ws = await createWorkspace({ purchasedNumberLimit });
  const [found] = await search(ws, `area_code=${area}`);
  const response = await purchase(ws, { e164: found?.e164 });
  expect(response.status).toBe(201);
  return { ws, number: await response.json<PhoneNumber>() };
}

const release = (ws: { key: string }, id: string, headers: Record<string, string> = {}) =>
  call(`${BASE}/${id}`, { key: ws.key, method: "DELETE", headers });

function errorLines(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>);
}

describe("a release answered 404", () => {
  it("is not trusted while Twilio still holds the number: kept held, then finished", async () => {
    const { ws, number } = await buy("251", 1);
    await twilioStandin.addFault({
      operation: "release",
      kind: "status",
      status: 404,
      code: 20404,
      times: 1,
    });
    await expectError(await release(ws, number.id), 503, "service_unavailable");
    // Still billed, so still shown and still counted against the cap.
    expect(await twilioStandin.held()).toContain(number.e164);
    expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(200);
    const [other] = (await search(ws, "area_code=252")).slice(1);
    await expectError(await purchase(ws, { e164: other?.e164 }), 422, "conflict");
    // The alarm finishes the release, for real this time.
    await runAlarmNow(ws);
    expect(await twilioStandin.held()).not.toContain(number.e164);
    expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(404);
    await expectLedgerInvariant(ws, "251", 1);
  });

  it("is a release when a lookup by number confirms Twilio no longer holds it", async () => {
    const { ws, number } = await buy("253");
    // Released behind our back (in Twilio's Console, say): Twilio's 404 is then the truth.
    const sid = (await twilioStandin.numbers()).find((n) => n.phone_number === number.e164)?.sid;
    await env.TWILIO_UPSTREAM?.fetch(
      `https://api.twilio.com/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}/IncomingPhoneNumbers/${sid}.json`,
      {
        method: "DELETE",
        headers: {
          authorization: `Basic ${btoa(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`)}`,
        },
      },
    );
    await twilioStandin.clearRequests();
    expect((await release(ws, number.id)).status).toBe(204);
    const operations = (await twilioStandin.requests()).map((r) => r.operation);
    expect(operations).toEqual(["release", "lookup"]);
    await expectLedgerInvariant(ws, "253", 3);
  });
});

describe("permanent refusals", () => {
  it("a release refused with a 4xx: handed to an operator, not retried, listed by reconcile", async () => {
    const { ws, number } = await buy("254");
    const errors = vi.spyOn(console, "error");
    await twilioStandin.addFault({
      operation: "release",
      kind: "status",
      status: 400,
      code: 21608,
      message: "This number cannot be released",
      times: 1,
    });
    const response = await release(ws, number.id, { "idempotency-key": "release-254" });
    const body = await expectError(response, 503, "service_unavailable");
    expect(response.headers.get("retry-after")).toBeNull();
    expect(body.error.message).toMatch(/refused to release/);
    expect(body.error.message).not.toMatch(/search again/i);
    expect(errorLines(errors).map((l) => l.event)).toContain("needs_operator");
    errors.mockRestore();

    // Still held and shown; the alarm leaves it alone (no Twilio call), whatever time passes.
    expect(await twilioStandin.held()).toContain(number.e164);
    expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(200);
    await twilioStandin.clearRequests();
    await runAlarmNow(ws);
    expect(await twilioStandin.requests()).toEqual([]);
    expect((await unfinished(ws)).map((r) => r.state)).toEqual(["needs_operator"]);
    // A retry of the release says the same, without asking Twilio again.
    await expectError(await release(ws, number.id), 503, "service_unavailable");
    expect(await twilioStandin.requests()).toEqual([]);

    const report = await reconcileTwilioNumbers(env, { fix: false });
    expect(report.needs_operator).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: number.id, workspace_id: ws.id, e164: number.e164 }),
      ]),
    );
  });

  it.each([
    [21631, "an address"],
    [21649, "a regulatory bundle"],
    [21404, "a trial account's limit"],
  ])(
    "a purchase refused with %i (%s): 503 without Retry-After, nothing held, an error log with the code",
    async (code) => {
      const ws = await createWorkspace({ purchasedNumberLimit: 1 });
      const area = String(255 + (code % 3));
      const [found] = await search(ws, `area_code=${area}`);
      const errors = vi.spyOn(console, "error");
      await twilioStandin.addFault({ operation: "purchase", kind: "status", status: 400, code });
      const response = await purchase(ws, { e164: found?.e164 });
      await twilioStandin.clearFaults();
      const body = await expectError(response, 503, "service_unavailable");
      expect(response.headers.get("retry-after")).toBeNull();
      expect(body.error.message).toMatch(/unavailable/);
      expect(body.error.message).toMatch(/nothing was bought/);
      const logged = errorLines(errors).find((l) => l.event === "carrier_refused_platform");
      expect(logged?.carrier_code).toBe(code);
      errors.mockRestore();
      await expectLedgerInvariant(ws, area, 1);
    },
  );

  it("a number-specific refusal stays a 400 that says to pick another number", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=258");
    await twilioStandin.addFault({
      operation: "purchase",
      kind: "status",
      status: 400,
      code: 21422,
      times: 1,
    });
    const body = await expectError(await purchase(ws, { e164: found?.e164 }), 400, "bad_request");
    expect(body.error.message).toMatch(/nothing was bought/);
    await expectLedgerInvariant(ws, "258", 3);
  });
});
