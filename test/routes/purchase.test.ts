import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { runAlarmNow } from "../helpers/ledger";
import { BASE, expectError, purchase, search, searchAndBuy } from "../helpers/phone-numbers";
import { expectMatchesSpec } from "../helpers/speechify-spec";
import { twilioStandin } from "../helpers/standin";
import { call, createAgent, createWorkspace, platformTrunkOf } from "../helpers/workspaces";

const PURCHASE = "/v1/agents/phone-numbers/purchase";

async function heldAtStandin(e164s: string[]): Promise<string[]> {
  const owned = new Set(await twilioStandin.held());
  return e164s.filter((e) => owned.has(e));
}

async function activeRows(workspaceId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM phone_numbers WHERE workspace_id = ? AND status = 'active'",
  )
    .bind(workspaceId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

describe("POST /v1/agents/phone-numbers/purchase", () => {
  it("buys a searched number and returns it with 201", async () => {
    const ws = await createWorkspace();
    const agentId = await createAgent(ws.id);
    const [first] = await search(ws, "area_code=415");
    const response = await purchase(ws, {
      e164: first?.e164,
      label: "Front desk",
      agent_id: agentId,
    });
    expect(response.status).toBe(201);
    const number = await response.json<PhoneNumber>();
    expectMatchesSpec(PURCHASE, "POST", 201, number);
    expect(number).toMatchObject({
      e164: first?.e164,
      source: "twilio_purchased",
      capabilities: ["inbound", "outbound"],
      label: "Front desk",
      agent_id: agentId,
      trunk_id: await platformTrunkOf(ws.id),
      livekit_phone_number_id: null,
    });
    expect(number.trunk_id).toMatch(/^trunk_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(number.id).toMatch(/^phone_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(new Date(number.created_at).toISOString()).toBe(number.created_at);
    expect(new Date(number.updated_at).toISOString()).toBe(number.updated_at);

    // Bought at Twilio, wired to the trunk, and recorded in D1.
    const owned = (await twilioStandin.numbers()).find((n) => n.phone_number === first?.e164);
    expect(owned?.friendly_name).toBe("Front desk");
    expect(owned?.trunk_sid).toBe(env.TWILIO_TRUNK_SID);
    const row = await env.DB.prepare("SELECT * FROM phone_numbers WHERE id = ?")
      .bind(number.id)
      .first();
    expect(row).toMatchObject({ status: "active", twilio_sid: owned?.sid, workspace_id: ws.id });
  });

  it("sends Twilio PhoneNumber, TrunkSid and FriendlyName, form-encoded", async () => {
    const ws = await createWorkspace();
    await twilioStandin.clearRequests();
    const number = await searchAndBuy(ws, "720", { label: "Sales" });
    const sent = (await twilioStandin.requests()).find((r) => r.operation === "purchase");
    expect(sent?.content_type).toMatch(/^application\/x-www-form-urlencoded/);
    expect(sent?.form).toEqual({
      PhoneNumber: number.e164,
      FriendlyName: "Sales",
      TrunkSid: env.TWILIO_TRUNK_SID,
    });
  });

  it("returns null for empty optional fields", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "512", { label: "" });
    expect(number).toMatchObject({ label: null, agent_id: null, livekit_phone_number_id: null });
    expectMatchesSpec(PURCHASE, "POST", 201, number);
  });

  it.each([
    [{}, "e164"],
    [{ e164: 14155550123 }, "e164"],
    [{ e164: "4155550123" }, "e164"],
    [{ e164: "+1 415 555 0123" }, "e164"],
    [{ e164: "+14155550123", label: 7 }, "label"],
    [{ e164: "+14155550123", label: "x".repeat(65) }, "label"],
    [{ e164: "+14155550123", agent_id: "agent_123" }, "agent_id"],
    [{ e164: "+14155550123", agent_id: "3f1c0a52-7a43-4b55-9f0e-2f6f3d1e9d11" }, "agent_id"],
    [{ e164: "+14155550123", colour: "blue" }, "colour"],
  ])("rejects %j with 400 validation_failed naming %s", async (body, field) => {
    const ws = await createWorkspace();
    const error = await expectError(await purchase(ws, body), 400, "validation_failed");
    expect(Object.keys(error.error.fields ?? {})).toContain(field);
    expectMatchesSpec(PURCHASE, "POST", 400, error);
  });

  it("rejects a body that is not JSON with 400 bad_request", async () => {
    const ws = await createWorkspace();
    for (const body of ["{", "e164=+14155550123", "", "[1]", "null", '"+14155550123"']) {
      const response = await call(`${BASE}/purchase`, {
        key: ws.key,
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      await expectError(response, 400, "bad_request");
    }
  });

  it("rejects a number that no search in this workspace returned with 400 bad_request", async () => {
    const ws = await createWorkspace();
    const other = await createWorkspace();
    const [found] = await search(other, "area_code=415");
    const error = await expectError(await purchase(ws, { e164: found?.e164 }), 400, "bad_request");
    expect(error.error.message).toMatch(/search/i);
    expect(await heldAtStandin([found?.e164 ?? ""])).toEqual([]);
  });

  it("forgets searched numbers after the configured window", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=808");
    // Age the remembered search past its window inside the workspace's Durable Object.
    const stub = env.WORKSPACE_NUMBERS.getByName(ws.id);
    await stub.rememberSearch([found?.e164 ?? ""], -1);
    await expectError(await purchase(ws, { e164: found?.e164 }), 400, "bad_request");
  });

  it("rejects an agent that is not in this workspace with 422 not_found", async () => {
    const ws = await createWorkspace();
    const other = await createWorkspace();
    const othersAgent = await createAgent(other.id);
    const [found] = await search(ws, "area_code=617");
    for (const agentId of [othersAgent, "agent_01ARZ3NDEKTSV4RRFFQ69G5FAV"]) {
      const error = await expectError(
        await purchase(ws, { e164: found?.e164, agent_id: agentId }),
        422,
        "not_found",
      );
      expect(error.error.fields).toHaveProperty("agent_id");
      expectMatchesSpec(PURCHASE, "POST", 422, error);
    }
    expect(await heldAtStandin([found?.e164 ?? ""])).toEqual([]);
  });

  it("checks recency before the agent", async () => {
    const ws = await createWorkspace();
    const response = await purchase(ws, {
      e164: "+14155550123",
      agent_id: "agent_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    });
    await expectError(response, 400, "bad_request");
  });

  it("refuses a purchase over the workspace's purchased-number limit with 422 conflict", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: 2 });
    const found = await search(ws, "area_code=702");
    for (const n of found.slice(0, 2))
      expect((await purchase(ws, { e164: n.e164 })).status).toBe(201);
    const error = await expectError(await purchase(ws, { e164: found[2]?.e164 }), 422, "conflict");
    expect(error.error.message).toContain("purchased-number limit of 2");
    expect(await heldAtStandin(found.map((n) => n.e164))).toHaveLength(2);
  });

  it("applies the deployment default limit of 3 when the workspace sets none", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: null });
    const found = await search(ws, "area_code=703");
    for (const n of found.slice(0, 3))
      expect((await purchase(ws, { e164: n.e164 })).status).toBe(201);
    const error = await expectError(await purchase(ws, { e164: found[3]?.e164 }), 422, "conflict");
    expect(error.error.message).toContain("limit of 3");
  });

  it("refuses a purchase when the workspace holds 100 numbers of any source", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: 50 });
    const now = new Date().toISOString();
    const statements = Array.from({ length: 100 }, (_, i) =>
      env.DB.prepare(
        `INSERT INTO phone_numbers (id, workspace_id, e164, source, capabilities, status, created_at, updated_at)
         VALUES (?, ?, ?, 'byoc', '["inbound","outbound"]', 'active', ?, ?)`,
      ).bind(
        `phone_01ARZ3NDEKTSV4RRFFQ69G${String(i).padStart(4, "0")}`,
        ws.id,
        `+1999555${String(i).padStart(4, "0")}`,
        now,
        now,
      ),
    );
    await env.DB.batch(statements);
    const [found] = await search(ws, "area_code=704");
    const error = await expectError(await purchase(ws, { e164: found?.e164 }), 422, "conflict");
    expect(error.error.message).toContain("limit of 100");
    expect(await heldAtStandin([found?.e164 ?? ""])).toEqual([]);
  });

  it("buys exactly the limit under 50 concurrent purchases in one workspace", async () => {
    // The caps are under test, not the write limit: a rate that lets all 50 through at once.
    const ws = await createWorkspace({ purchasedNumberLimit: 3, writeRatePerMinute: 6000 });
    const found = await search(ws, "area_code=206&limit=50");
    expect(found).toHaveLength(50);
    const responses = await Promise.all(found.map((n) => purchase(ws, { e164: n.e164 })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 422)).toHaveLength(47);
    expect(await heldAtStandin(found.map((n) => n.e164))).toHaveLength(3);
    expect(await activeRows(ws.id)).toBe(3);
  });

  it("lets only one of two workspaces buy the same number", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const [found] = await search(a, "area_code=305");
    await search(b, "area_code=305");
    const [ra, rb] = await Promise.all([
      purchase(a, { e164: found?.e164 }),
      purchase(b, { e164: found?.e164 }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([201, 400]);
    expect(await heldAtStandin([found?.e164 ?? ""])).toHaveLength(1);
  });

  it.each([
    ["+15005550000", "not available"],
    ["+15005550001", "invalid"],
  ])("maps Twilio's refusal of %s (%s) to 400 bad_request", async (e164) => {
    const ws = await createWorkspace();
    const found = await search(ws, "area_code=500");
    expect(found.map((n) => n.e164)).toContain(e164);
    const error = await expectError(await purchase(ws, { e164 }), 400, "bad_request");
    expect(error.error.message).toMatch(/search again/i);
    expect(await activeRows(ws.id)).toBe(0);
    // The failed purchase does not hold a slot.
    const ok = await purchase(ws, { e164: "+15005550006" });
    expect(ok.status).toBe(201);
    const { id } = await ok.json<PhoneNumber>();
    expect((await call(`${BASE}/${id}`, { key: ws.key, method: "DELETE" })).status).toBe(204);
  });

  it.each([
    { status: 429, times: 10, retryAfter: true, slotFreed: "at once" },
    { status: 401, times: 1, retryAfter: false, slotFreed: "at once" },
    { status: 500, times: 1, retryAfter: true, slotFreed: "once the purchase settles" },
    { status: 503, times: 1, retryAfter: true, slotFreed: "once the purchase settles" },
  ])(
    "answers 503 when Twilio answers $status, and holds nothing; the slot is free $slotFreed",
    async ({ status, times, retryAfter, slotFreed }) => {
      const ws = await createWorkspace({ purchasedNumberLimit: 1 });
      const [found] = await search(ws, "area_code=919");
      await twilioStandin.addFault({ operation: "purchase", kind: "status", status, times });
      const response = await purchase(ws, { e164: found?.e164 });
      const body = await expectError(response, 503, "service_unavailable");
      // A lasting refusal of the platform's account is not worth retrying (no Retry-After).
      if (retryAfter) expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      else expect(response.headers.get("retry-after")).toBeNull();
      expectMatchesSpec(PURCHASE, "POST", 503, body);
      expect(JSON.stringify(body)).not.toMatch(/standin-auth-token|AC0{32}|more_info|20003|20500/);
      expect(await heldAtStandin([found?.e164 ?? ""])).toEqual([]);
      expect(await activeRows(ws.id)).toBe(0);
      await twilioStandin.clearFaults();
      if (slotFreed !== "at once") {
        // A 5xx may come from Twilio's edge while the purchase completes behind it: the number
        // counts against the cap until lookups over the settle window say it was not bought.
        await expectError(await purchase(ws, { e164: found?.e164 }), 422, "conflict");
        await runAlarmNow(ws);
      }
      // Nothing was bought, so the slot is free again.
      expect((await purchase(ws, { e164: found?.e164 })).status).toBe(201);
    },
  );

  it("answers 503 without Retry-After when purchasing is not configured", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=415");
    const response = await app.fetch(
      new Request(`http://localhost${PURCHASE}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ws.key}`, "content-type": "application/json" },
        body: JSON.stringify({ e164: found?.e164 }),
      }),
      { ...env, TWILIO_TRUNK_SID: "" },
    );
    await expectError(response, 503, "service_unavailable");
    expect(response.headers.get("retry-after")).toBeNull();
  });
});
