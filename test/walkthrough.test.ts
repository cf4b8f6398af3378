import { describe, expect, it } from "vitest";
import type { AvailablePhoneNumber, PhoneNumber } from "../src/schemas/phone-numbers";
import { BASE } from "./helpers/phone-numbers";
import { expectMatchesSpec } from "./helpers/speechify-spec";
import { call, createAgent, createWorkspace } from "./helpers/workspaces";

// The README's walk-through, step by step, with every response body checked against the
// published spec's schema for its path, method and status.
describe("the README walk-through", () => {
  it("searches, buys, lists, fetches, patches and releases a number, all per the spec", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id, "Reception");
    const key = ws.key;

    const step = async (
      specPath: string,
      method: string,
      path: string,
      status: number,
      json?: unknown,
      headers?: Record<string, string>,
    ) => {
      const response = await call(path, { key, method, json, headers });
      const text = await response.text();
      expect(response.status, text).toBe(status);
      const body = text === "" ? undefined : JSON.parse(text);
      if (body !== undefined) expectMatchesSpec(specPath, method, status, body);
      return body;
    };

    const searched = (await step(
      "/v1/agents/phone-numbers/available",
      "GET",
      `${BASE}/available?country=US&area_code=415&limit=5`,
      200,
    )) as { numbers: AvailablePhoneNumber[] };
    expect(searched.numbers).toHaveLength(5);

    const one = (await step(
      "/v1/agents/phone-numbers/available",
      "GET",
      `${BASE}/available?area_code=415&limit=1`,
      200,
    )) as { numbers: AvailablePhoneNumber[] };
    const e164 = one.numbers[0]?.e164;

    const bought = (await step(
      "/v1/agents/phone-numbers/purchase",
      "POST",
      `${BASE}/purchase`,
      201,
      { e164, label: "Front desk", agent_id: agent },
      { "idempotency-key": "buy-front-desk-1" },
    )) as PhoneNumber;
    expect(bought).toMatchObject({ e164, label: "Front desk", agent_id: agent });

    const listed = (await step("/v1/agents/phone-numbers", "GET", BASE, 200)) as {
      numbers: PhoneNumber[];
    };
    expect(listed.numbers).toEqual([bought]);

    const fetched = await step("/v1/agents/phone-numbers/{id}", "GET", `${BASE}/${bought.id}`, 200);
    expect(fetched).toEqual(bought);

    const patched = (await step(
      "/v1/agents/phone-numbers/{id}",
      "PATCH",
      `${BASE}/${bought.id}`,
      200,
      { label: "Support line", clear_agent_id: true },
    )) as PhoneNumber;
    expect(patched).toMatchObject({ label: "Support line", agent_id: null });

    await step("/v1/agents/phone-numbers/{id}", "DELETE", `${BASE}/${bought.id}`, 204);
    await step("/v1/agents/phone-numbers/{id}", "GET", `${BASE}/${bought.id}`, 404);
  });
});
