import { describe, expect, it } from "vitest";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { BASE, expectError, purchase, search } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { call, createWorkspace } from "../helpers/workspaces";

async function purchasesSent(e164: string): Promise<number> {
  return (await twilioStandin.requests()).filter(
    (r) => r.operation === "purchase" && r.form?.PhoneNumber === e164,
  ).length;
}

describe("Idempotency-Key", () => {
  it("replays a purchase with the same key and body without calling Twilio again", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=401");
    const body = { e164: found?.e164, label: "Main" };
    const first = await purchase(ws, body, { "idempotency-key": "k-1" });
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const original = await first.json<PhoneNumber>();

    const again = await purchase(ws, body, { "idempotency-key": "k-1" });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(original);
    expect(await purchasesSent(found?.e164 ?? "")).toBe(1);
  });

  it("refuses the same key with a different body with 409 conflict", async () => {
    const ws = await createWorkspace();
    const found = await search(ws, "area_code=402");
    expect(
      (await purchase(ws, { e164: found[0]?.e164 }, { "idempotency-key": "k-2" })).status,
    ).toBe(201);
    await expectError(
      await purchase(ws, { e164: found[1]?.e164 }, { "idempotency-key": "k-2" }),
      409,
      "conflict",
    );
    await expectError(
      await purchase(ws, { e164: found[0]?.e164, label: "other" }, { "idempotency-key": "k-2" }),
      409,
      "conflict",
    );
  });

  it("buys exactly one number for 50 concurrent requests with one key", async () => {
    // The key is under test, not the write limit: a rate that lets all 50 through at once.
    const ws = await createWorkspace({ purchasedNumberLimit: 10, writeRatePerMinute: 6000 });
    const [found] = await search(ws, "area_code=406");
    // Twilio takes 400 ms (under our 500 ms timeout), so most requests arrive while it runs.
    await twilioStandin.addFault({ operation: "purchase", kind: "delay", delay_ms: 400, times: 1 });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        purchase(ws, { e164: found?.e164 }, { "idempotency-key": "same" }),
      ),
    );
    // One request buys; the others hear 409 while it runs, or (on a loaded machine, arriving
    // after it finished) the replay of its answer: never a second purchase.
    const bought = responses.filter(
      (r) => r.status === 201 && r.headers.get("idempotent-replayed") === null,
    );
    expect(bought).toHaveLength(1);
    const boughtId = (await bought[0]?.clone().json<PhoneNumber>())?.id;
    for (const r of responses.filter((r) => r.status !== 201)) {
      await expectError(r, 409, "conflict");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    for (const r of responses.filter((r) => r.headers.get("idempotent-replayed") === "true")) {
      expect((await r.json<PhoneNumber>()).id).toBe(boughtId);
    }
    expect(await purchasesSent(found?.e164 ?? "")).toBe(1);
    // Once finished, the key replays the purchase.
    const replay = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "same" });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });

  it("lets a request that failed before buying be retried with its key", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=407");
    // Refused without buying (rejected credentials, fixed since): nothing to settle.
    await twilioStandin.addFault({ operation: "purchase", kind: "status", status: 401, times: 1 });
    await expectError(
      await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "retry-me" }),
      503,
      "service_unavailable",
    );
    const retried = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "retry-me" });
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
  });

  it("scopes keys to the workspace", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const [fa] = await search(a, "area_code=408");
    const [, fb] = await search(b, "area_code=408");
    expect((await purchase(a, { e164: fa?.e164 }, { "idempotency-key": "shared" })).status).toBe(
      201,
    );
    const other = await purchase(b, { e164: fb?.e164 }, { "idempotency-key": "shared" });
    expect(other.status).toBe(201);
    expect(other.headers.get("idempotent-replayed")).toBeNull();
    expect((await other.json<PhoneNumber>()).e164).toBe(fb?.e164);
  });

  it("replays a release with the same key", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=409");
    const number = await (await purchase(ws, { e164: found?.e164 })).json<PhoneNumber>();
    const sid = (await twilioStandin.numbers()).find((n) => n.phone_number === number.e164)?.sid;
    expect(sid).toBeDefined();
    const first = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "DELETE",
      headers: { "idempotency-key": "del-1" },
    });
    expect(first.status).toBe(204);
    const again = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "DELETE",
      headers: { "idempotency-key": "del-1" },
    });
    expect(again.status).toBe(204);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const releases = (await twilioStandin.requests()).filter(
      (r) => r.operation === "release" && r.path.includes(sid ?? "-"),
    );
    expect(releases).toHaveLength(1);
  });

  it.each(["", "x".repeat(256), "tab\there", "ünïcode"])(
    "rejects the malformed key %j with 400 validation_failed",
    async (key) => {
      const ws = await createWorkspace();
      const [found] = await search(ws, "area_code=410");
      const response = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": key });
      const body = await expectError(response, 400, "validation_failed");
      expect(body.error.fields).toHaveProperty("Idempotency-Key");
    },
  );

  it("keeps a purchase's stored answer after a keyless DELETE of the number", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=471");
    const bought = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "K" });
    expect(bought.status).toBe(201);
    const number = await bought.json<PhoneNumber>();
    expect((await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" })).status).toBe(
      204,
    );
    const replay = await purchase(ws, { e164: found?.e164 }, { "idempotency-key": "K" });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json<PhoneNumber>()).toEqual(number);
  });

  it("replays 204 for a release key whose release another request finished", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=412");
    const number = await (await purchase(ws, { e164: found?.e164 })).json<PhoneNumber>();
    await twilioStandin.addFault({ operation: "release", kind: "status", status: 500, times: 1 });
    const first = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "DELETE",
      headers: { "idempotency-key": "K2" },
    });
    await expectError(first, 503, "service_unavailable");
    // Another request, with its own key, finishes the release.
    const other = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "DELETE",
      headers: { "idempotency-key": "K3" },
    });
    expect(other.status).toBe(204);
    const replay = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "DELETE",
      headers: { "idempotency-key": "K2" },
    });
    expect(replay.status).toBe(204);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });

  it("tells a keyless client to look at its numbers, not to retry with a key", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=413");
    await twilioStandin.addFault({ operation: "purchase", kind: "status", status: 502, times: 1 });
    const keyless = await expectError(
      await purchase(ws, { e164: found?.e164 }),
      503,
      "service_unavailable",
    );
    expect(keyless.error.message).not.toMatch(/Idempotency-Key/);
    expect(keyless.error.message).toMatch(/list your phone numbers/i);
    const [other] = (await search(ws, "area_code=414")).slice(1);
    await twilioStandin.addFault({ operation: "purchase", kind: "status", status: 502, times: 1 });
    const keyed = await expectError(
      await purchase(ws, { e164: other?.e164 }, { "idempotency-key": "K3" }),
      503,
      "service_unavailable",
    );
    expect(keyed.error.message).toMatch(/same Idempotency-Key/);
  });
});
