import { describe, expect, it } from "vitest";
import { expectImportInvariant, importNumber, importOk } from "../helpers/imports";
import { livekitStandin } from "../helpers/livekit-standin";
import { BASE, expectError } from "../helpers/phone-numbers";
import { call, createAgent, createWorkspace } from "../helpers/workspaces";

// source livekit: LiveKit sells the number to the platform's project (billed to the platform).

describe("importing a number LiveKit sells", () => {
  it("buys it with the agent's rule; PN_ id; inbound only; DELETE releases it at LiveKit", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id, "Front", "front-agent");
    const number = await importOk(ws, { e164: "+14255550111", source: "livekit", agent_id: agent });
    expect(number).toMatchObject({ source: "livekit", capabilities: ["inbound"], trunk_id: null });
    expect(number.livekit_phone_number_id).toMatch(/^PN_/);
    const route = await livekitStandin.route("+14255550111");
    expect(route.accepted).toBe(true);
    expect(route.matching_rules.map((r) => r.agent_names)).toEqual([["front-agent"]]);
    await expectImportInvariant(ws);
    const deleted = await call(`${BASE}/${number.id}`, { key: ws.key, method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect((await livekitStandin.route("+14255550111")).accepted).toBe(false);
    await expectImportInvariant(ws);
  });

  it("counts against the purchased-number limit: 402 over it", async () => {
    const ws = await createWorkspace({ purchasedNumberLimit: 1 });
    await importOk(ws, { e164: "+14255550112", source: "livekit" });
    const over = await importNumber(ws, { e164: "+14255550113", source: "livekit" });
    await expectError(over, 402, "payment_required");
    await expectImportInvariant(ws);
  });

  it("US only: 400 naming e164", async () => {
    const ws = await createWorkspace();
    const body = await expectError(
      await importNumber(ws, { e164: "+442071838750", source: "livekit" }),
      400,
      "validation_failed",
    );
    expect(body.error.fields).toHaveProperty("e164");
  });

  it("a lost purchase reply is settled by GetPhoneNumber: one number, recorded", async () => {
    const ws = await createWorkspace();
    await livekitStandin.addFault({
      operation: "PurchasePhoneNumber",
      kind: "drop_after",
      times: 1,
    });
    const number = await importOk(ws, { e164: "+14255550114", source: "livekit" });
    expect(number.livekit_phone_number_id).toMatch(/^PN_/);
    await expectImportInvariant(ws);
  });

  it("LiveKit unavailable: 503, nothing bought", async () => {
    const ws = await createWorkspace();
    await livekitStandin.addFault({
      operation: "PurchasePhoneNumber",
      kind: "status",
      code: "unavailable",
      times: 1,
    });
    const response = await importNumber(ws, { e164: "+14255550115", source: "livekit" });
    await expectError(response, 503, "service_unavailable");
    await expectImportInvariant(ws);
  });
});
