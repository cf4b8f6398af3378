import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createWorkspace } from "../helpers/workspaces";

const LIST = "/v1/agents/phone-numbers";

async function expectUnauthorized(response: Response) {
  expect(response.status).toBe(401);
  const body = await response.json<{ error: { code: string }; request_id: string }>();
  expect(body.error.code).toBe("unauthorized");
  expect(body.request_id).toBe(response.headers.get("x-request-id"));
}

describe("API key authentication", () => {
  it("accepts a valid key", async () => {
    const ws = await createWorkspace();
    const response = await call(LIST, { key: ws.key });
    expect(response.status).toBe(200);
  });

  it("rejects a request without Authorization with 401 unauthorized", async () => {
    await expectUnauthorized(await call(LIST));
  });

  it("rejects a malformed Authorization header", async () => {
    const ws = await createWorkspace();
    for (const header of [
      ws.key,
      `Basic ${ws.key}`,
      "Bearer",
      "Bearer sk_short",
      `Bearer ${ws.key}x`,
    ]) {
      await expectUnauthorized(await call(LIST, { headers: { authorization: header } }));
    }
  });

  it("rejects an unknown key", async () => {
    const ws = await createWorkspace();
    const unknown = `sk_${"A".repeat(43)}`;
    expect(unknown).not.toBe(ws.key);
    await expectUnauthorized(await call(LIST, { key: unknown }));
  });

  it("rejects a revoked key", async () => {
    const ws = await createWorkspace();
    expect((await call(LIST, { key: ws.key })).status).toBe(200);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), ws.keyId)
      .run();
    await expectUnauthorized(await call(LIST, { key: ws.key }));
  });

  it("stores only the SHA-256 hash of a key", async () => {
    const ws = await createWorkspace();
    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(ws.keyId).first();
    expect(JSON.stringify(row)).not.toContain(ws.key);
    expect(row?.key_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("requires a key on every route", async () => {
    const id = "phone_01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const requests: [string, string][] = [
      ["GET", LIST],
      ["GET", `${LIST}/available?area_code=415`],
      ["POST", `${LIST}/purchase`],
      ["GET", `${LIST}/${id}`],
      ["PATCH", `${LIST}/${id}`],
      ["DELETE", `${LIST}/${id}`],
    ];
    for (const [method, path] of requests) {
      const json = method === "POST" || method === "PATCH" ? {} : undefined;
      await expectUnauthorized(await call(path, { method, json }));
    }
  });

  it.each([
    ["a body that is not JSON", { "content-type": "application/json" }, "{not json"],
    ["a body that is not application/json", { "content-type": "text/plain" }, "{}"],
    [
      "a body over 16 KiB",
      { "content-type": "application/json" },
      `{"label":"${"x".repeat(17_000)}"}`,
    ],
    ["an invalid body", { "content-type": "application/json" }, '{"e164": 12}'],
  ])(
    "refuses an unknown key before anything else about %s, on purchase and PATCH",
    async (_, headers, body) => {
      for (const [method, path] of [
        ["POST", "/v1/agents/phone-numbers/purchase"],
        ["PATCH", "/v1/agents/phone-numbers/phone_01JD0000000000000000000000"],
      ] as const) {
        const response = await call(path, {
          key: "sk_unknownunknownunknownunknownunknownunknown0",
          method,
          headers,
          body,
        });
        await expectUnauthorized(response);
      }
    },
  );
});
