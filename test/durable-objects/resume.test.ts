import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/durable-objects/sqlite-ledger";
import { newId } from "../../src/ids";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { expectLedgerInvariant, ledgerRows } from "../helpers/ledger";
import { expectError, purchase, search } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { createWorkspace, type TestWorkspace } from "../helpers/workspaces";

const KEY = "resume-key";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Leaves the workspace's object exactly as a purchase request leaves it when it dies right
 * after its reservation, before the D1 claim: a `reserved` ledger row with the limits it was
 * reserved under, and the request's Idempotency-Key bound to it.
 */
async function reservationOfDeadRequest(ws: TestWorkspace, e164: string, purchasedLimit: number) {
  const requestHash = await sha256Hex(
    JSON.stringify({ operation: "purchase", e164, label: null, agent_id: null }),
  );
  const id = newId("phone");
  const now = Date.now();
  const at = new Date(now).toISOString();
  await runInDurableObject(env.WORKSPACE_NUMBERS.getByName(ws.id), (_instance, state) => {
    const ledger = new SqliteLedger(state.storage);
    ledger.insert({
      id,
      e164,
      source: "twilio_purchased",
      state: "reserved",
      twilio_sid: null,
      record: JSON.stringify({
        id,
        workspace_id: ws.id,
        e164,
        source: "twilio_purchased",
        capabilities: ["inbound", "outbound"],
        label: null,
        trunk_id: null,
        agent_id: null,
        livekit_phone_number_id: null,
        twilio_sid: null,
        created_at: at,
        updated_at: at,
      }),
      purchased_limit: purchasedLimit,
      total_limit: 100,
      agent_name: null,
      started_at: now,
      next_attempt_at: now + 60_000,
    });
    ledger.bindKey(KEY, requestHash, id, "purchase", now);
  });
  return id;
}

describe("a purchase resumed by a retry with its Idempotency-Key", () => {
  it("finishes a request that died between reservation and claim, buying once", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: 1 });
    const [found] = await search(ws, "area_code=281");
    const e164 = found?.e164 ?? "";
    const id = await reservationOfDeadRequest(ws, e164, 1);
    await twilioStandin.clearRequests();

    const response = await purchase(ws, { e164 }, { "idempotency-key": KEY });
    expect(response.status).toBe(201);
    const number = await response.json<PhoneNumber>();
    expect(number.id).toBe(id);
    const buys = (await twilioStandin.requests()).filter((r) => r.operation === "purchase");
    expect(buys).toHaveLength(1);
    await expectLedgerInvariant(ws, "281", 1);
  });

  it("enforces the caps on that path with the limit the row was reserved under", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: 1 });
    const [found, other] = await search(ws, "area_code=282");
    const e164 = found?.e164 ?? "";
    await reservationOfDeadRequest(ws, e164, 1);
    // Meanwhile the workspace came to hold a purchased number that its ledger never saw.
    const seeded = await twilioStandin.buyDirectly(other?.e164 ?? "");
    const at = new Date().toISOString();
    await env.DB.prepare(
      `INSERT INTO phone_numbers (id, workspace_id, e164, source, capabilities, twilio_sid, status,
         created_at, updated_at)
       VALUES (?, ?, ?, 'twilio_purchased', '["inbound","outbound"]', ?, 'active', ?, ?)`,
    )
      .bind(newId("phone"), ws.id, seeded.phone_number, seeded.sid, at, at)
      .run();
    await twilioStandin.clearRequests();

    const refused = await expectError(
      await purchase(ws, { e164 }, { "idempotency-key": KEY }),
      422,
      "conflict",
    );
    expect(refused.error.message).toContain("purchased-number limit of 1");
    expect(await twilioStandin.requests()).toEqual([]);
    expect(await ledgerRows(ws)).toEqual([]);
  });
});
