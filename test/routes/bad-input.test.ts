import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ErrorCodeSchema } from "../../src/schemas/error-body";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { BASE, expectError, searchAndBuy } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { call, createAgent, createWorkspace, type TestWorkspace } from "../helpers/workspaces";

const RUNS = 400;

let ws: TestWorkspace;
let number: PhoneNumber;

/** Everything a request could change: D1's phone numbers, and what Twilio holds. */
async function snapshot(): Promise<string> {
  const { results } = await env.DB.prepare(
    "SELECT id, status, label, agent_id, updated_at FROM phone_numbers ORDER BY id",
  ).all();
  const held = (await twilioStandin.numbers()).map((n) => n.sid).sort();
  return JSON.stringify({ results, held });
}

/** No 5xx; every refusal is the Error envelope; a refused request writes nothing. */
async function expectRefusedCleanly(send: () => Promise<Response>): Promise<void> {
  const before = await snapshot();
  const response = await send();
  expect(response.status).toBeLessThan(500);
  if (response.status >= 400) {
    const body = await response.json<{
      error: { code: string; message: string };
      request_id: string;
    }>();
    expect(ErrorCodeSchema.safeParse(body.error.code).success).toBe(true);
    expect(typeof body.error.message).toBe("string");
    expect(body.request_id).toBe(response.headers.get("x-request-id"));
    expect(await snapshot()).toBe(before);
  } else {
    await response.arrayBuffer();
  }
}

const headerValue = fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s));
const pathId = fc
  .oneof(
    fc.string({ maxLength: 40 }),
    fc.uuid(),
    fc.stringMatching(/^phone_[0-9A-Za-z]{20,30}$/),
    fc.constant("phone_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
  )
  .filter((s) => s.length > 0)
  .map((s) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return "x";
    }
  });
const anyBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc
    .record(
      {
        e164: fc.oneof(fc.string(), fc.integer(), fc.constant("+14155550123"), fc.constant(null)),
        label: fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.constant(null)),
        agent_id: fc.oneof(
          fc.string(),
          fc.constant(null),
          fc.constant("agent_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        ),
        clear_agent_id: fc.oneof(fc.boolean(), fc.string(), fc.constant(null)),
        source: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const contentType = fc.oneof(
  fc.constant("application/json"),
  fc.constant("application/json; charset=utf-8"),
  fc.constant("text/plain"),
  fc.constant("application/x-www-form-urlencoded"),
  headerValue,
);

// Thousands of requests: give the properties time on a loaded 2-core machine.
describe("random input to every route", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    ws = await createWorkspace({ purchasedNumberLimit: 5 });
    await createAgent(ws.id);
    number = await searchAndBuy(ws, "650");
  });

  it("search: random query strings", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom("country", "area_code", "limit", "page", "x"),
          fc.oneof(fc.string({ maxLength: 8 }), fc.integer().map(String)),
        ),
        async (query) => {
          const qs = new URLSearchParams(query).toString();
          await expectRefusedCleanly(() => call(`${BASE}/available?${qs}`, { key: ws.key }));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("purchase: random bodies, content types and Idempotency-Keys", async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, contentType, fc.option(headerValue), async (body, type, key) => {
        const headers: Record<string, string> = { "content-type": type };
        if (key !== null) headers["idempotency-key"] = key;
        await expectRefusedCleanly(() =>
          call(`${BASE}/purchase`, { key: ws.key, method: "POST", body, headers }),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it("get and delete: random path ids", async () => {
    await fc.assert(
      fc.asyncProperty(pathId, fc.constantFrom("GET", "DELETE"), async (id, method) => {
        await expectRefusedCleanly(() => call(`${BASE}/${id}`, { key: ws.key, method }));
      }),
      { numRuns: RUNS },
    );
  });

  it("patch: random bodies to a real number and to random ids", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(pathId, fc.constant(number.id)),
        anyBody,
        contentType,
        async (id, body, type) => {
          await expectRefusedCleanly(() =>
            call(`${BASE}/${id}`, {
              key: ws.key,
              method: "PATCH",
              body,
              headers: { "content-type": type },
            }),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("every route: random Authorization headers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          headerValue,
          headerValue.map((v) => `Bearer ${v}`),
          fc.constant(`Bearer sk_${"A".repeat(43)}`),
        ),
        fc.constantFrom(
          ["GET", `${BASE}`],
          ["GET", `${BASE}/available`],
          ["POST", `${BASE}/purchase`],
          ["GET", `${BASE}/${number.id}`],
          ["PATCH", `${BASE}/${number.id}`],
          ["DELETE", `${BASE}/${number.id}`],
        ),
        async (authorization, [method, path]) => {
          const response = await call(path, {
            method,
            headers: { authorization, "content-type": "application/json" },
            body: method === "POST" || method === "PATCH" ? "{}" : undefined,
          });
          await expectError(response, 401, "unauthorized");
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("bodies the API does not take", () => {
  it("refuses a body over 16 KiB with 413 payload_too_large", async () => {
    const owner = await createWorkspace();
    const body = JSON.stringify({ e164: "+14155550123", label: "x".repeat(17 * 1024) });
    await expectError(
      await call(`${BASE}/purchase`, {
        key: owner.key,
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      }),
      413,
      "payload_too_large",
    );
  });

  it("refuses a body that is not application/json with 415 unsupported_media_type", async () => {
    const owner = await createWorkspace();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonp"]) {
      await expectError(
        await call(`${BASE}/purchase`, {
          key: owner.key,
          method: "POST",
          body: "e164=%2B14155550123",
          headers: { "content-type": type },
        }),
        415,
        "unsupported_media_type",
      );
    }
    await expectError(
      await call(`${BASE}/phone_01ARZ3NDEKTSV4RRFFQ69G5FAV`, {
        key: owner.key,
        method: "PATCH",
        body: "{}",
      }),
      415,
      "unsupported_media_type",
    );
  });

  it("names a field called __proto__ in fields", async () => {
    const ws = await createWorkspace();
    const response = await call(`${BASE}/purchase`, {
      key: ws.key,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"e164": "+14155550100", "__proto__": {"x": 1}}',
    });
    const body = await expectError(response, 400, "validation_failed");
    expect(Object.keys(body.error.fields ?? {})).toEqual(["__proto__"]);
  });
});
