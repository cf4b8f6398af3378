import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { ledgerRows } from "../helpers/ledger";
import { BASE, expectError, purchase, search, searchAndBuy } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { call, createWorkspace, type TestWorkspace } from "../helpers/workspaces";

function workspaceObject(ws: TestWorkspace) {
  return env.WORKSPACE_NUMBERS.getByName(ws.id);
}

/** Everything in the workspace's object storage: ledger, recent searches, keys, rate limits. */
function objectStorage(ws: TestWorkspace): Promise<string> {
  return runInDurableObject(workspaceObject(ws), (_instance, state) => {
    const sql = state.storage.sql;
    const tables = ["ledger", "recent_searches", "idempotency_keys", "rate_limit_buckets"];
    return JSON.stringify(
      Object.fromEntries(
        tables.map((t) => [t, sql.exec(`SELECT * FROM ${t} ORDER BY 1`).toArray()]),
      ),
    );
  });
}

/** The workspace's rows in D1: its numbers (any status) and its purchase journal. */
async function d1Rows(ws: TestWorkspace): Promise<string> {
  const [numbers, journal] = await env.DB.batch([
    env.DB.prepare("SELECT * FROM phone_numbers WHERE workspace_id = ? ORDER BY id").bind(ws.id),
    env.DB.prepare("SELECT * FROM purchase_journal WHERE workspace_id = ? ORDER BY 1").bind(ws.id),
  ]);
  return JSON.stringify([numbers?.results, journal?.results]);
}

/** Lets `ms` pass for the workspace's rate limits (their state moved back in time). */
function passTime(ws: TestWorkspace, ms: number): Promise<void> {
  return runInDurableObject(workspaceObject(ws), (_instance, state) => {
    state.storage.sql.exec("UPDATE rate_limit_buckets SET tat = tat - ?", ms);
  });
}

function rateLimitHeaders(response: Response) {
  return {
    limit: response.headers.get("ratelimit-limit"),
    remaining: response.headers.get("ratelimit-remaining"),
    reset: response.headers.get("ratelimit-reset"),
  };
}

function searchCall(ws: TestWorkspace, areaCode: string): Promise<Response> {
  return call(`${BASE}/available?area_code=${areaCode}&limit=3`, { key: ws.key });
}

const sentToTwilio = async (operation: string) =>
  (await twilioStandin.requests()).filter((r) => r.operation === operation).length;

describe("rate limits: search", () => {
  it("tells where the workspace stands on every search, and refuses one over the limit with 429 before Twilio", async () => {
    // 6 a minute scales the default burst (20 at 60 a minute) to 2.
    const ws = await createWorkspace({ searchRatePerMinute: 6 });
    await twilioStandin.clearRequests();

    const first = await searchCall(ws, "860");
    expect(first.status).toBe(200);
    expect(rateLimitHeaders(first)).toEqual({ limit: "2", remaining: "1", reset: "10" });
    const second = await searchCall(ws, "860");
    expect(second.status).toBe(200);
    expect(rateLimitHeaders(second)).toEqual({ limit: "2", remaining: "0", reset: "20" });
    expect(await sentToTwilio("search")).toBe(2);

    const storedBefore = await objectStorage(ws);
    const refused = await searchCall(ws, "861");
    const body = await expectError(refused, 429, "rate_limited");
    expect(body.error.message).toMatch(/searches/);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(rateLimitHeaders(refused)).toEqual({ limit: "2", remaining: "0", reset: "20" });
    // Nothing sent to Twilio, nothing remembered or counted in the object.
    expect(await sentToTwilio("search")).toBe(2);
    expect(await objectStorage(ws)).toBe(storedBefore);

    // Once Retry-After has passed, the next search goes through.
    await passTime(ws, 10_000);
    const later = await searchCall(ws, "861");
    expect(later.status).toBe(200);
    expect(rateLimitHeaders(later).remaining).toBe("0");
  });

  it("uses the deployment's defaults for a workspace without rates of its own", async () => {
    const ws = await createWorkspace();
    const response = await searchCall(ws, "862");
    expect(response.status).toBe(200);
    expect(rateLimitHeaders(response)).toEqual({ limit: "20", remaining: "19", reset: "1" });
  });

  it("carries the headers on a search Twilio refuses, which counts too", async () => {
    const ws = await createWorkspace({ searchRatePerMinute: 6 });
    await twilioStandin.addFault({ operation: "search", kind: "status", status: 503, times: 1 });
    const response = await searchCall(ws, "863");
    await expectError(response, 503, "service_unavailable");
    expect(rateLimitHeaders(response)).toEqual({ limit: "2", remaining: "1", reset: "10" });
  });

  it("takes a change of the workspace's own rate at its next request", async () => {
    const ws = await createWorkspace({ searchRatePerMinute: 1 });
    expect((await searchCall(ws, "864")).status).toBe(200);
    await expectError(await searchCall(ws, "864"), 429, "rate_limited");
    await env.DB.prepare("UPDATE workspaces SET search_rate_per_minute = 600 WHERE id = ?")
      .bind(ws.id)
      .run();
    const raised = await searchCall(ws, "864");
    expect(raised.status).toBe(200);
    expect(rateLimitHeaders(raised).limit).toBe("200");
    // Back to the default (NULL), the default applies again.
    await env.DB.prepare("UPDATE workspaces SET search_rate_per_minute = NULL WHERE id = ?")
      .bind(ws.id)
      .run();
    expect(rateLimitHeaders(await searchCall(ws, "864")).limit).toBe("20");
  });

  it("is not affected by another workspace reaching its own limit", async () => {
    const noisy = await createWorkspace({ searchRatePerMinute: 1 });
    const quiet = await createWorkspace();
    expect((await searchCall(noisy, "865")).status).toBe(200);
    await expectError(await searchCall(noisy, "865"), 429, "rate_limited");
    const response = await searchCall(quiet, "865");
    expect(response.status).toBe(200);
    expect(rateLimitHeaders(response).remaining).toBe("19");
  });
});

describe("rate limits: purchases, changes and releases", () => {
  it("refuses a purchase over the write limit with 429: nothing sent to Twilio, nothing written", async () => {
    // 3 a minute scales the default burst (10 at 30 a minute) to 1.
    const ws = await createWorkspace({ writeRatePerMinute: 3 });
    const found = await search(ws, "area_code=866");
    const bought = await purchase(ws, { e164: found[0]?.e164 });
    expect(bought.status).toBe(201);
    expect(rateLimitHeaders(bought)).toEqual({ limit: "1", remaining: "0", reset: "20" });

    await twilioStandin.clearRequests();
    const [d1Before, storedBefore, ledgerBefore] = [
      await d1Rows(ws),
      await objectStorage(ws),
      await ledgerRows(ws),
    ];
    const refused = await purchase(ws, { e164: found[1]?.e164 }, { "idempotency-key": "k-866" });
    const body = await expectError(refused, 429, "rate_limited");
    expect(body.error.message).toMatch(/purchases, changes and releases/);
    expect(refused.headers.get("retry-after")).toBe("20");
    expect(rateLimitHeaders(refused)).toEqual({ limit: "1", remaining: "0", reset: "20" });
    expect(await twilioStandin.requests()).toEqual([]);
    expect(await d1Rows(ws)).toBe(d1Before);
    expect(await ledgerRows(ws)).toEqual(ledgerBefore);
    // Not even the Idempotency-Key is kept: the same key may be used once the limit allows.
    expect(await objectStorage(ws)).toBe(storedBefore);
    expect(await twilioStandin.held()).not.toContain(found[1]?.e164);

    await passTime(ws, 20_000);
    const retried = await purchase(ws, { e164: found[1]?.e164 }, { "idempotency-key": "k-866" });
    expect(retried.status).toBe(201);
  });

  it("counts PATCH and DELETE as writes; a refused release leaves the number held", async () => {
    // 6 a minute: a burst of 2.
    const ws = await createWorkspace({ writeRatePerMinute: 6 });
    const number = await searchAndBuy(ws, "867");
    const changed = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "PATCH",
      json: { label: "Sales" },
    });
    expect(changed.status).toBe(200);
    expect(rateLimitHeaders(changed)).toEqual({ limit: "2", remaining: "0", reset: "20" });

    await twilioStandin.clearRequests();
    const refusedChange = await call(`${BASE}/${number.id}`, {
      key: ws.key,
      method: "PATCH",
      json: { label: "Support" },
    });
    await expectError(refusedChange, 429, "rate_limited");
    const refusedRelease = await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" });
    await expectError(refusedRelease, 429, "rate_limited");
    expect(Number(refusedRelease.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await twilioStandin.requests()).toEqual([]);
    expect(await twilioStandin.held()).toContain(number.e164);
    const listed = await call(`${BASE}/${number.id}`, { key: ws.key });
    expect((await listed.json<PhoneNumber>()).label).toBe("Sales");

    await passTime(ws, 10_000);
    const released = await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" });
    expect(released.status).toBe(204);
    expect(rateLimitHeaders(released).remaining).toBe("0");
  });

  it("carries the headers on the object's refusals, which count too", async () => {
    const ws = await createWorkspace();
    // Never searched: refused by the workspace's own rules, after the limiter counted it.
    const response = await purchase(ws, { e164: "+18685550100" });
    await expectError(response, 400, "bad_request");
    expect(rateLimitHeaders(response)).toEqual({ limit: "10", remaining: "9", reset: "2" });
    const unknown = await call(`${BASE}/phone_01ARZ3NDEKTSV4RRFFQ69G5FAV`, {
      key: ws.key,
      method: "DELETE",
    });
    await expectError(unknown, 404, "not_found");
    expect(rateLimitHeaders(unknown).remaining).toBe("8");
  });

  it("keeps the search and write limits apart", async () => {
    const searches = await createWorkspace({ searchRatePerMinute: 1 });
    const [found] = await search(searches, "area_code=869");
    await expectError(await searchCall(searches, "869"), 429, "rate_limited");
    // Its searches are spent; its writes are not.
    expect((await purchase(searches, { e164: found?.e164 })).status).toBe(201);

    const writes = await createWorkspace({ writeRatePerMinute: 1 });
    const more = await search(writes, "area_code=869&limit=5");
    expect((await purchase(writes, { e164: more[1]?.e164 })).status).toBe(201);
    await expectError(await purchase(writes, { e164: more[2]?.e164 }), 429, "rate_limited");
    // Its writes are spent; its searches are not.
    expect((await searchCall(writes, "869")).status).toBe(200);
  });

  it("does not answer with the headers before the limiter is reached", async () => {
    const ws = await createWorkspace();
    const malformed = await call(`${BASE}/available?area_code=12`, { key: ws.key });
    await expectError(malformed, 400, "validation_failed");
    expect(malformed.headers.get("ratelimit-limit")).toBeNull();
    const listed = await call(BASE, { key: ws.key });
    expect(listed.headers.get("ratelimit-limit")).toBeNull();
  });
});
