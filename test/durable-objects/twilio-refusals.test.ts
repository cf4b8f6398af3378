import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { reconcileTwilioNumbers } from "../../src/reconcile";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import {
  expectLedgerInvariant,
  runAlarmBeforeSettling,
  runAlarmNow,
  unfinished,
} from "../helpers/ledger";
import { BASE, expectError, purchase, search } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { waitFor } from "../helpers/wait";
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

describe("answers that prove nothing yet", () => {
  it.each([502, 503, 504])(
    "a %i while Twilio completes the purchase later: held, looked up again, then recorded",
    async (status) => {
      const ws = await createWorkspace({ purchasedNumberLimit: 1 });
      const area = String(261 + (status % 10));
      const [found, other] = await search(ws, `area_code=${area}`);
      await twilioStandin.addFault({
        operation: "purchase",
        kind: "status_then_complete",
        status,
        complete_after_ms: 1_200,
        times: 1,
      });
      const response = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "late" });
      await expectError(response, 503, "service_unavailable");
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      // Not found yet, but not concluded either: the number still counts against the cap.
      await runAlarmBeforeSettling(ws);
      expect((await unfinished(ws)).map((r) => r.state)).toEqual(["buying"]);
      await expectError(await purchase(ws, { e164: other?.e164 }), 422, "conflict");
      // Twilio finishes behind its edge; the next lookup finds the number and records it.
      await waitFor(async () =>
        (await twilioStandin.numbers()).some(
          (n) => n.phone_number === found?.e164 && !n.visible_at,
        ),
      );
      await runAlarmBeforeSettling(ws);
      await expectLedgerInvariant(ws, area, 1);
      const retried = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "late" });
      expect(retried.status).toBe(201);
    },
  );

  it("a lost reply while Twilio's list lags: looked up until the number shows", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=275");
    await twilioStandin.setListLag(1_200);
    await twilioStandin.addFault({ operation: "purchase", kind: "drop_after", times: 1 });
    await expectError(await purchase(ws, { e164: found?.e164 }), 503, "service_unavailable");
    await runAlarmBeforeSettling(ws);
    expect((await unfinished(ws)).map((r) => r.state)).toEqual(["buying"]);
    await waitFor(async () =>
      (await twilioStandin.numbers()).some((n) => n.phone_number === found?.e164 && !n.visible_at),
    );
    await twilioStandin.setListLag(0);
    await runAlarmBeforeSettling(ws);
    await expectLedgerInvariant(ws, "275", 3);
  });

  it("a 429 without Retry-After: sent again with jittered backoff, and bought once", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=276");
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
    await expectLedgerInvariant(ws, "276", 3);
  });

  it("a lasting 429 without Retry-After: 503 with a Retry-After of our own, nothing held", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=277");
    await twilioStandin.addFault({
      operation: "purchase",
      kind: "status",
      status: 429,
      retry_after: null,
      times: 20,
    });
    const response = await purchase(ws, { e164: found?.e164 });
    await twilioStandin.clearFaults();
    await expectError(response, 503, "service_unavailable");
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await expectLedgerInvariant(ws, "277", 3);
  });

  it("a 5xx with an HTML body: a search answers 503, a purchase settles by lookup", async () => {
    const ws = await createWorkspace();
    await twilioStandin.addFault({
      operation: "search",
      kind: "status",
      status: 502,
      body: "html",
      times: 1,
    });
    await expectError(
      await call(`${BASE}/available?area_code=278`, { key: ws.key }),
      503,
      "service_unavailable",
    );
    const [found] = await search(ws, "area_code=278");
    await twilioStandin.addFault({
      operation: "purchase",
      kind: "status",
      status: 503,
      body: "html",
      times: 1,
    });
    await expectError(await purchase(ws, { e164: found?.e164 }), 503, "service_unavailable");
    await runAlarmNow(ws);
    await expectLedgerInvariant(ws, "278", 3);
  });

  it("one odd item (no phone_number) is skipped and logged, not a 503", async () => {
    const ws = await createWorkspace();
    const warnings = vi.spyOn(console, "warn");
    await twilioStandin.addFault({ operation: "search", kind: "odd_item", times: 1 });
    const response = await call(`${BASE}/available?area_code=279&limit=5`, { key: ws.key });
    expect(response.status).toBe(200);
    const { numbers } = await response.json<{ numbers: { e164: string }[] }>();
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers.every((n) => /^\+1279/.test(n.e164))).toBe(true);
    expect(errorLines(warnings).map((l) => l.event)).toContain("twilio_items_skipped");
    warnings.mockRestore();
  });

  it("one odd item in Twilio's list does not abort reconcile", async () => {
    await twilioStandin.addFault({ operation: "lookup", kind: "odd_item", times: 1 });
    const report = await reconcileTwilioNumbers(env, { fix: false });
    expect(report.twilio_numbers).toBeGreaterThanOrEqual(0);
  });
});
