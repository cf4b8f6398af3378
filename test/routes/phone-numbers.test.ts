import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { runAlarmNow, unfinished } from "../helpers/ledger";
import { BASE, expectError, purchase, search, searchAndBuy } from "../helpers/phone-numbers";
import { expectMatchesSpec } from "../helpers/speechify-spec";
import { twilioStandin } from "../helpers/standin";
import { call, createAgent, createWorkspace } from "../helpers/workspaces";

const ITEM = "/v1/agents/phone-numbers/{id}";
const LIST = "/v1/agents/phone-numbers";

function patch(key: string, id: string, json: unknown) {
  return call(`${BASE}/${id}`, { key, method: "PATCH", json });
}

describe("GET /v1/agents/phone-numbers", () => {
  it("lists the workspace's active numbers, newest first", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: 5 });
    const first = await searchAndBuy(ws, "801", { index: 0 });
    const second = await searchAndBuy(ws, "801", { index: 1 });
    const response = await call(BASE, { key: ws.key });
    expect(response.status).toBe(200);
    const body = await response.json<{ numbers: PhoneNumber[] }>();
    expectMatchesSpec(LIST, "GET", 200, body);
    expect(body.numbers.map((n) => n.id)).toEqual([second.id, first.id]);
  });

  it("returns an empty list for a workspace without numbers", async () => {
    const ws = await createWorkspace();
    const response = await call(BASE, { key: ws.key });
    expect(await response.json()).toEqual({ numbers: [] });
  });

  it("returns at most 100 numbers", async () => {
    const ws = await createWorkspace();
    const now = Date.now();
    await env.DB.batch(
      Array.from({ length: 101 }, (_, i) =>
        env.DB.prepare(
          `INSERT INTO phone_numbers (id, workspace_id, e164, source, capabilities, status, created_at, updated_at)
           VALUES (?, ?, ?, 'byoc', '["inbound","outbound"]', 'active', ?, ?)`,
        ).bind(
          `phone_01ARZ3NDEKTSV4RRFFQ69H${String(i).padStart(4, "0")}`,
          ws.id,
          `+1888555${String(i).padStart(4, "0")}`,
          new Date(now + i).toISOString(),
          new Date(now + i).toISOString(),
        ),
      ),
    );
    const body = await (await call(BASE, { key: ws.key })).json<{ numbers: PhoneNumber[] }>();
    expect(body.numbers).toHaveLength(100);
    expect(body.numbers[0]?.e164).toBe("+18885550100");
  });
});

describe("GET /v1/agents/phone-numbers/{id}", () => {
  it("returns the number", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "602");
    const response = await call(`${BASE}/${number.id}`, { key: ws.key });
    expect(response.status).toBe(200);
    const body = await response.json();
    expectMatchesSpec(ITEM, "GET", 200, body);
    expect(body).toEqual(number);
  });

  it.each([
    "phone_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "3f1c0a52-7a43-4b55-9f0e-2f6f3d1e9d11",
    "phone_123",
    "phone_01arz3ndektsv4rrffq69g5fav",
    "agent_01ARZ3NDEKTSV4RRFFQ69G5FAV",
  ])("answers 404 not_found for %s", async (id) => {
    const ws = await createWorkspace();
    const body = await expectError(await call(`${BASE}/${id}`, { key: ws.key }), 404, "not_found");
    expectMatchesSpec(ITEM, "GET", 404, body);
  });
});

describe("PATCH /v1/agents/phone-numbers/{id}", () => {
  it("sets and clears the label", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "503", { label: "Old" });
    const renamed = await patch(ws.key, number.id, { label: "New" });
    expect(renamed.status).toBe(200);
    const body = await renamed.json<PhoneNumber>();
    expectMatchesSpec(ITEM, "PATCH", 200, body);
    expect(body.label).toBe("New");
    expect(body.updated_at >= number.updated_at).toBe(true);
    const cleared = await (await patch(ws.key, number.id, { label: "" })).json<PhoneNumber>();
    expect(cleared.label).toBeNull();
    const fetched = await (await call(`${BASE}/${number.id}`, { key: ws.key })).json<PhoneNumber>();
    expect(fetched.label).toBeNull();
  });

  it("binds and unbinds an agent; clear_agent_id wins over agent_id", async () => {
    const ws = await createWorkspace();
    const agentA = await createAgent(ws.id, "A");
    const agentB = await createAgent(ws.id, "B");
    const number = await searchAndBuy(ws, "504");
    const bound = await (await patch(ws.key, number.id, { agent_id: agentA })).json<PhoneNumber>();
    expect(bound.agent_id).toBe(agentA);
    const cleared = await (
      await patch(ws.key, number.id, { agent_id: agentB, clear_agent_id: true })
    ).json<PhoneNumber>();
    expect(cleared.agent_id).toBeNull();
    await patch(ws.key, number.id, { agent_id: agentB });
    const nulled = await (await patch(ws.key, number.id, { agent_id: null })).json<PhoneNumber>();
    expect(nulled.agent_id).toBeNull();
  });

  it("leaves fields that are not sent unchanged", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id);
    const number = await searchAndBuy(ws, "505", { label: "Keep", agent_id: agent });
    const body = await (await patch(ws.key, number.id, {})).json<PhoneNumber>();
    expect(body).toMatchObject({ label: "Keep", agent_id: agent });
    const onlyFlag = await (
      await patch(ws.key, number.id, { clear_agent_id: false })
    ).json<PhoneNumber>();
    expect(onlyFlag.agent_id).toBe(agent);
  });

  it("rejects an unknown agent with 422 not_found and changes nothing", async () => {
    const ws = await createWorkspace();
    const other = await createWorkspace();
    const number = await searchAndBuy(ws, "507", { label: "Same" });
    for (const agentId of ["agent_01ARZ3NDEKTSV4RRFFQ69G5FAV", await createAgent(other.id)]) {
      await expectError(
        await patch(ws.key, number.id, { agent_id: agentId, label: "Changed" }),
        422,
        "not_found",
      );
    }
    const fetched = await (await call(`${BASE}/${number.id}`, { key: ws.key })).json<PhoneNumber>();
    expect(fetched.label).toBe("Same");
  });

  it.each([
    [{ e164: "+14155550123" }, "e164", "cannot be changed"],
    [{ source: "byoc" }, "source", "cannot be changed"],
    [{ label: 5 }, "label", ""],
    [{ agent_id: "agent_bad" }, "agent_id", ""],
    [{ clear_agent_id: "yes" }, "clear_agent_id", ""],
  ])("rejects %j with 400 validation_failed naming %s", async (json, field, message) => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "508");
    const body = await expectError(await patch(ws.key, number.id, json), 400, "validation_failed");
    expect(body.error.fields?.[field]).toContain(message);
    expectMatchesSpec(ITEM, "PATCH", 400, body);
  });

  it("answers 404 for a number that does not exist", async () => {
    const ws = await createWorkspace();
    const body = await expectError(
      await patch(ws.key, "phone_01ARZ3NDEKTSV4RRFFQ69G5FAV", { label: "x" }),
      404,
      "not_found",
    );
    expectMatchesSpec(ITEM, "PATCH", 404, body);
  });
});

describe("DELETE /v1/agents/phone-numbers/{id}", () => {
  it("releases the number at Twilio, hides it and frees the purchased slot", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: 1 });
    const number = await searchAndBuy(ws, "509");
    expect(await twilioStandin.held()).toContain(number.e164);

    const response = await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");

    expect(await twilioStandin.held()).not.toContain(number.e164);
    await expectError(await call(`${BASE}/${number.id}`, { key: ws.key }), 404, "not_found");
    const list = await (await call(BASE, { key: ws.key })).json<{ numbers: PhoneNumber[] }>();
    expect(list.numbers).toEqual([]);
    // The number is back in inventory, and the slot is free for another purchase.
    const again = await search(ws, "area_code=509");
    expect(again.map((n) => n.e164)).toContain(number.e164);
    expect((await purchase(ws, { e164: again[1]?.e164 })).status).toBe(201);
  });

  it("counts a number Twilio no longer has as released", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "510");
    const owned = (await twilioStandin.numbers()).find((n) => n.phone_number === number.e164);
    // Someone released it at Twilio behind our back.
    await env.TWILIO_UPSTREAM?.fetch(
      `https://api.twilio.com/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}/IncomingPhoneNumbers/${owned?.sid}.json`,
      {
        method: "DELETE",
        headers: {
          authorization: `Basic ${btoa(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`)}`,
        },
      },
    );
    const response = await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" });
    expect(response.status).toBe(204);
  });

  it("keeps the number, and answers 503, when Twilio fails to release it", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "512", { index: 3 });
    await twilioStandin.addFault({ operation: "release", kind: "status", status: 500, times: 1 });
    const response = await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" });
    await expectError(response, 503, "service_unavailable");
    // Still billed, so still shown.
    expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(200);
    expect(await twilioStandin.held()).toContain(number.e164);
    // A retry finishes the release.
    expect((await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" })).status).toBe(
      204,
    );
    expect(await twilioStandin.held()).not.toContain(number.e164);
  });

  it("releases a number of another source without calling Twilio", async () => {
    const ws = await createWorkspace();
    const now = new Date().toISOString();
    const id = "phone_01ARZ3NDEKTSV4RRFFQ69J0000";
    await env.DB.prepare(
      `INSERT INTO phone_numbers (id, workspace_id, e164, source, capabilities, trunk_id, status, created_at, updated_at)
       VALUES (?, ?, '+17775550000', 'byoc', '["inbound","outbound"]', 'trunk_x', 'active', ?, ?)`,
    )
      .bind(id, ws.id, now, now)
      .run();
    await twilioStandin.clearRequests();
    expect((await call(`${BASE}/${id}`, { key: ws.key, method: "DELETE" })).status).toBe(204);
    expect((await twilioStandin.requests()).filter((r) => r.operation === "release")).toEqual([]);
    expect((await call(`${BASE}/${id}`, { key: ws.key })).status).toBe(404);
  });

  it.each(["phone_01ARZ3NDEKTSV4RRFFQ69G5FAV", "3f1c0a52-7a43-4b55-9f0e-2f6f3d1e9d11", "nope"])(
    "answers 404 for %s",
    async (id) => {
      const ws = await createWorkspace();
      const body = await expectError(
        await call(`${BASE}/${id}`, { key: ws.key, method: "DELETE" }),
        404,
        "not_found",
      );
      expectMatchesSpec(ITEM, "DELETE", 404, body);
    },
  );
});

describe("workspace isolation", () => {
  it("hides one workspace's numbers and agents from another on every route", async () => {
    const owner = await createWorkspace();
    const stranger = await createWorkspace();
    const ownersAgent = await createAgent(owner.id);
    const number = await searchAndBuy(owner, "513", { agent_id: ownersAgent });

    const list = await (await call(BASE, { key: stranger.key })).json<{ numbers: PhoneNumber[] }>();
    expect(list.numbers).toEqual([]);
    await expectError(await call(`${BASE}/${number.id}`, { key: stranger.key }), 404, "not_found");
    await expectError(
      await patch(stranger.key, number.id, { label: "mine now" }),
      404,
      "not_found",
    );
    await expectError(
      await call(`${BASE}/${number.id}`, { key: stranger.key, method: "DELETE" }),
      404,
      "not_found",
    );
    // The stranger cannot buy a number only the owner searched, nor bind the owner's agent.
    const ownersSearch = await search(owner, "area_code=514");
    await expectError(
      await purchase(stranger, { e164: ownersSearch[0]?.e164 }),
      400,
      "bad_request",
    );
    const [strangerFound] = await search(stranger, "area_code=515");
    await expectError(
      await purchase(stranger, { e164: strangerFound?.e164, agent_id: ownersAgent }),
      422,
      "not_found",
    );
    // The owner's number is untouched.
    const still = await (
      await call(`${BASE}/${number.id}`, { key: owner.key })
    ).json<PhoneNumber>();
    expect(still).toEqual(number);
    expect(await twilioStandin.held()).toContain(number.e164);
  });
});

describe("request ids and unknown routes", () => {
  it("echoes a sane X-Request-ID and replaces an unsafe one", async () => {
    const ws = await createWorkspace();
    const echoed = await call(BASE, { key: ws.key, headers: { "x-request-id": "req-abc_123" } });
    expect(echoed.headers.get("x-request-id")).toBe("req-abc_123");
    const replaced = await call(BASE, {
      key: ws.key,
      headers: { "x-request-id": "bad id <script>" },
    });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[\w-]+$/);
    expect(replaced.headers.get("x-request-id")).not.toBe("bad id <script>");
  });

  it("answers unknown paths with 404 and unsupported methods with 405 in the envelope", async () => {
    const ws = await createWorkspace();
    await expectError(await call("/v2/nothing", { key: ws.key }), 404, "not_found");
    const response = await call(`${BASE}/purchase`, { key: ws.key, method: "PUT", json: {} });
    await expectError(response, 405, "method_not_allowed");
    expect(response.headers.get("allow")).toContain("POST");
  });

  it("offers only GET on /available, whose path no number id can match", async () => {
    const ws = await createWorkspace();
    const response = await call(`${BASE}/available`, { key: ws.key, method: "POST", json: {} });
    await expectError(response, 405, "method_not_allowed");
    expect(response.headers.get("allow")).toBe("GET");
  });

  it.each(["POST", "PUT", "DELETE"])(
    "answers %s /openapi.json with 405 in the envelope, with a request id",
    async (method) => {
      const response = await call("/openapi.json", { method });
      await expectError(response, 405, "method_not_allowed");
      expect(response.headers.get("allow")).toBe("GET");
    },
  );

  it("serves GET /openapi.json without an API key", async () => {
    const response = await call("/openapi.json");
    expect(response.status).toBe(200);
    expect((await response.json<{ openapi: string }>()).openapi).toMatch(/^3\.1/);
  });
});

describe("labels", () => {
  it.each([
    ["NUL", "Front\u0000desk"],
    ["CR/LF", "Front\r\nX-Injected: 1"],
    ["a right-to-left override", "Invoice \u202Egnp.exe"],
    ["a bidi isolate", "Front \u2066desk\u2069"],
  ])("refuses a label with %s, on purchase and on PATCH, naming label", async (_, label) => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "430");
    const [found] = (await search(ws, "area_code=431")).slice(1);
    const bought = await expectError(
      await purchase(ws, { e164: found?.e164, label }),
      400,
      "validation_failed",
    );
    expect(Object.keys(bought.error.fields ?? {})).toEqual(["label"]);
    const patched = await expectError(
      await call(`${BASE}/${number.id}`, { key: ws.key, method: "PATCH", json: { label } }),
      400,
      "validation_failed",
    );
    expect(Object.keys(patched.error.fields ?? {})).toEqual(["label"]);
  });

  it("keeps emoji and accents", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "432", { label: "Réception 📞" });
    expect(number.label).toBe("Réception 📞");
  });

  it("carries a PATCHed label to Twilio as the number's FriendlyName", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "433", { label: "Front desk" });
    const patched = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "PATCH",
      json: { label: "Support line" },
    });
    expect(patched.status).toBe(200);
    const atTwilio = (await twilioStandin.numbers()).find((n) => n.phone_number === number.e164);
    expect(atTwilio?.friendly_name).toBe("Support line");
  });

  it("retries the FriendlyName with the alarm when Twilio fails; the PATCH itself succeeds", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "434", { label: "Front desk" });
    await twilioStandin.addFault({ operation: "any", kind: "status", status: 503, times: 1 });
    const patched = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "PATCH",
      json: { label: "Support line" },
    });
    expect(patched.status).toBe(200);
    expect((await patched.json<PhoneNumber>()).label).toBe("Support line");
    const before = (await twilioStandin.numbers()).find((n) => n.phone_number === number.e164);
    expect(before?.friendly_name).toBe("Front desk");
    expect((await unfinished(ws)).map((r) => r.state)).toEqual(["updating"]);
    await runAlarmNow(ws);
    const after = (await twilioStandin.numbers()).find((n) => n.phone_number === number.e164);
    expect(after?.friendly_name).toBe("Support line");
    expect(await unfinished(ws)).toEqual([]);
  });
});
