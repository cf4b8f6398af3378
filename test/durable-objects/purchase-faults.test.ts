import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import {
  ageLedger,
  alarmOf,
  expectLedgerInvariant,
  failD1Writes,
  ledgerRows,
  runAlarmNow,
  unfinished,
} from "../helpers/ledger";
import { BASE, expectError, purchase, search } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { call, createWorkspace } from "../helpers/workspaces";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Each fault: what the client hears, then (after the alarm where work was left) the invariant
// "numbers held at Twilio == active rows in D1, per workspace, none over the cap".
describe("purchases under Twilio, D1 and Durable Object faults", () => {
  it.each([429, 401])("Twilio %i on purchase: 503, nothing held", async (status) => {
    const ws = await createWorkspace({ purchasedNumberLimit: 1 });
    const area = String(200 + (status % 100));
    const [found] = await search(ws, `area_code=${area}`);
    // 429 is retried within the request's budget: a lasting one is what reaches the client.
    await twilioStandin.addFault({ operation: "purchase", kind: "status", status, times: 10 });
    await expectError(await purchase(ws, { e164: found?.e164 }), 503, "service_unavailable");
    await twilioStandin.clearFaults();
    await expectLedgerInvariant(ws, area, 1);
  });

  it.each([500, 503])(
    "Twilio %i on purchase: 503; held against the cap until lookups settle it, then freed",
    async (status) => {
      const ws = await createWorkspace({ purchasedNumberLimit: 1 });
      const area = String(200 + (status % 100));
      const [found] = await search(ws, `area_code=${area}`);
      await twilioStandin.addFault({ operation: "purchase", kind: "status", status, times: 1 });
      await expectError(await purchase(ws, { e164: found?.e164 }), 503, "service_unavailable");
      expect((await unfinished(ws)).map((r) => r.state)).toEqual(["buying"]);
      await runAlarmNow(ws);
      await expectLedgerInvariant(ws, area, 1);
    },
  );

  it("timeout before the buy (Twilio buys later): 503, then the alarm records the number", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=231");
    // Twilio takes 1.5 s, past our 0.5 s timeout, then buys the number.
    await twilioStandin.addFault({
      operation: "purchase",
      kind: "delay",
      delay_ms: 1_500,
      times: 1,
    });
    const response = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "slow" });
    await expectError(response, 503, "service_unavailable");
    expect(response.headers.get("retry-after")).not.toBeNull();
    // The claim still holds the slot while the outcome is unknown.
    expect((await unfinished(ws)).map((r) => r.state)).toEqual(["buying"]);
    await sleep(1_300);
    await runAlarmNow(ws);
    await expectLedgerInvariant(ws, "231", 3);
    // The client's retry with its key learns the outcome.
    const retried = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "slow" });
    expect(retried.status).toBe(201);
    expect((await retried.json<PhoneNumber>()).e164).toBe(found?.e164);
  });

  it("connection dropped before the buy: 503, then the alarm clears the claim", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=232");
    await twilioStandin.addFault({ operation: "purchase", kind: "drop", times: 1 });
    await expectError(await purchase(ws, { e164: found?.e164 }), 503, "service_unavailable");
    await runAlarmNow(ws);
    await expectLedgerInvariant(ws, "232", 3);
    expect(await ledgerRows(ws)).toEqual([]);
  });

  it.each(["succeed_then_timeout", "drop_after"] as const)(
    "bought at Twilio but the reply is lost (%s): settled by a lookup, 201",
    async (kind) => {
      const ws = await createWorkspace();
      const area = kind === "drop_after" ? "233" : "234";
      const [found] = await search(ws, `area_code=${area}`);
      await twilioStandin.addFault({ operation: "purchase", kind, delay_ms: 2_000, times: 1 });
      const response = await purchase(ws, { e164: found?.e164 });
      expect(response.status).toBe(201);
      expect((await response.json<PhoneNumber>()).e164).toBe(found?.e164);
      await expectLedgerInvariant(ws, area, 3);
    },
  );

  it("the reply is lost and the lookup fails too: 503, then the alarm records the number", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=235");
    await twilioStandin.addFault({ operation: "purchase", kind: "drop_after", times: 1 });
    await twilioStandin.addFault({ operation: "lookup", kind: "status", status: 503, times: 1 });
    await expectError(await purchase(ws, { e164: found?.e164 }), 503, "service_unavailable");
    await runAlarmNow(ws);
    await expectLedgerInvariant(ws, "235", 3);
  });

  it("the alarm is armed only while work is left: not after a purchase that finished", async () => {
    const ws = await createWorkspace();
    const [first, second] = await search(ws, "area_code=246");
    expect((await purchase(ws, { e164: first?.e164 })).status).toBe(201);
    // Nothing for it to do: a wake-up would only start the object again, billed, for nothing.
    expect(await alarmOf(ws)).toBeNull();
    await twilioStandin.addFault({ operation: "purchase", kind: "drop_after", times: 1 });
    await twilioStandin.addFault({ operation: "lookup", kind: "status", status: 503, times: 1 });
    await expectError(await purchase(ws, { e164: second?.e164 }), 503, "service_unavailable");
    expect(await alarmOf(ws)).not.toBeNull();
    await runAlarmNow(ws);
    await expectLedgerInvariant(ws, "246", 3);
    expect(await alarmOf(ws)).toBeNull();
  });

  it("D1 fails after the buy: 503, a retry with the key gets 201 for the same number", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=236");
    const restore = await failD1Writes("fail_activation_236", "activation");
    const response = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "d1" });
    await expectError(response, 503, "service_unavailable");
    // Bought and not yet shown, but never forgotten: the ledger has it with its SID.
    const [pending] = await unfinished(ws);
    expect(pending?.state).toBe("bought");
    expect(pending?.twilio_sid).toMatch(/^PN/);
    await restore();
    const retried = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "d1" });
    expect(retried.status).toBe(201);
    const number = await retried.json<PhoneNumber>();
    expect(number.id).toBe(pending?.id);
    await expectLedgerInvariant(ws, "236", 3);
    expect(
      (await twilioStandin.requests()).filter(
        (r) => r.operation === "purchase" && r.form?.PhoneNumber === found?.e164,
      ),
    ).toHaveLength(1);
  });

  it("D1 fails after the buy and the object is evicted: the alarm records the number", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=237");
    const restore = await failD1Writes("fail_activation_237", "activation");
    await expectError(await purchase(ws, { e164: found?.e164 }), 503, "service_unavailable");
    await evictDurableObject(env.WORKSPACE_NUMBERS.getByName(ws.id));
    await restore();
    await runAlarmNow(ws);
    await expectLedgerInvariant(ws, "237", 3);
    const list = await (await call(BASE, { key: ws.key })).json<{ numbers: PhoneNumber[] }>();
    expect(list.numbers.map((n) => n.e164)).toEqual([found?.e164]);
  });

  it("the object is reset after Twilio bought, before it replied: 503, then the alarm records the number", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=238");
    // Twilio buys at once and replies 300 ms later; the object dies in between.
    await twilioStandin.addFault({
      operation: "purchase",
      kind: "succeed_then_timeout",
      delay_ms: 300,
      times: 1,
    });
    const pending = purchase(ws, { e164: found?.e164 });
    await sleep(100);
    await abortAllDurableObjects();
    const response = await pending;
    await expectError(response, 503, "service_unavailable");
    expect((await unfinished(ws)).map((r) => [r.state, r.twilio_sid])).toEqual([["buying", null]]);
    await runAlarmNow(ws);
    await expectLedgerInvariant(ws, "238", 3);
    expect(await twilioStandin.held()).toContain(found?.e164);
  });

  it("gives up after the deadline: releases the number at Twilio and logs an error", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=239");
    const restore = await failD1Writes("fail_activation_239", "activation");
    await expectError(await purchase(ws, { e164: found?.e164 }), 503, "service_unavailable");
    expect(await twilioStandin.held()).toContain(found?.e164);
    await ageLedger(ws, 2 * 60 * 60 * 1000);
    const errors = vi.spyOn(console, "error");
    await runAlarmNow(ws);
    await restore();
    expect(errors.mock.calls.map((c) => String(c[0])).join("\n")).toContain("purchase_given_up");
    errors.mockRestore();
    await expectLedgerInvariant(ws, "239", 3);
    expect(await twilioStandin.held()).not.toContain(found?.e164);
  });
});

describe("releases under faults", () => {
  async function buy(area: string) {
    const ws = await createWorkspace();
    const [found] = await search(ws, `area_code=${area}`);
    const number = await (await purchase(ws, { e164: found?.e164 })).json<PhoneNumber>();
    return { ws, number };
  }

  it("Twilio fails the release: 503, still shown; the alarm finishes it", async () => {
    const { ws, number } = await buy("240");
    await twilioStandin.addFault({ operation: "release", kind: "status", status: 503, times: 1 });
    await expectError(
      await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" }),
      503,
      "service_unavailable",
    );
    expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(200);
    await runAlarmNow(ws);
    expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(404);
    await expectLedgerInvariant(ws, "240", 3);
  });

  it("released at Twilio but D1 fails: 503; the alarm records the release", async () => {
    const { ws, number } = await buy("241");
    const restore = await failD1Writes("fail_release_241", "release");
    await expectError(
      await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" }),
      503,
      "service_unavailable",
    );
    expect(await twilioStandin.held()).not.toContain(number.e164);
    await restore();
    await runAlarmNow(ws);
    expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(404);
    await expectLedgerInvariant(ws, "241", 3);
  });

  it("the release slot frees only once Twilio confirms", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: 1 });
    const found = await search(ws, "area_code=242");
    const number = await (await purchase(ws, { e164: found[0]?.e164 })).json<PhoneNumber>();
    await twilioStandin.addFault({ operation: "release", kind: "status", status: 500, times: 1 });
    await expectError(
      await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" }),
      503,
      "service_unavailable",
    );
    await expectError(await purchase(ws, { e164: found[1]?.e164 }), 422, "conflict");
    await runAlarmNow(ws);
    expect((await purchase(ws, { e164: found[1]?.e164 })).status).toBe(201);
  });
});
