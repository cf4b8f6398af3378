import { exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { describe, expect, it } from "vitest";
import type { AppType } from "../src/index";
import { createAgent, createWorkspace } from "./helpers/workspaces";

describe("the typed client", () => {
  it("searches and buys a number through hc<AppType>()", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id);
    const client = hc<AppType>("http://localhost", {
      fetch: (input: RequestInfo | URL, init?: RequestInit) =>
        exports.default.fetch(new Request(input, init)),
      headers: { authorization: `Bearer ${ws.key}` },
    });
    const numbers = client.v1.agents["phone-numbers"];

    const search = await numbers.available.$get({ query: { area_code: "212", limit: "2" } });
    expect(search.status).toBe(200);
    if (search.status !== 200) return;
    const found = await search.json();
    const e164 = found.numbers[0]?.e164 ?? "";

    const bought = await numbers.purchase.$post({
      json: { e164, label: "Typed", agent_id: agent },
    });
    expect(bought.status).toBe(201);
    if (bought.status !== 201) return;
    const number = await bought.json();
    expect(number).toMatchObject({
      e164,
      label: "Typed",
      agent_id: agent,
      source: "twilio_purchased",
    });

    const fetched = await numbers[":id"].$get({ param: { id: number.id } });
    expect(await fetched.json()).toEqual(number);
  });
});
