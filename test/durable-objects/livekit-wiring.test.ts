import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { ageLedger, runAlarmNow, unfinished } from "../helpers/ledger";
import { livekitStandin } from "../helpers/livekit-standin";
import { BASE, expectError, purchase, search } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { expectWiringInvariant } from "../helpers/wiring";
import { call, createAgent, createWorkspace, type TestWorkspace } from "../helpers/workspaces";

// Numbers that ring the agent: every purchased number is wired into LiveKit, every change and
// release carried there, under LiveKit's faults as under Twilio's.

const patch = (ws: TestWorkspace, id: string, json: unknown, headers = {}) =>
  call(`${BASE}/${id}`, { key: ws.key, method: "PATCH", json, headers });
const release = (ws: TestWorkspace, id: string) =>
  call(`${BASE}/${id}`, { key: ws.key, method: "DELETE" });

async function buy(ws: TestWorkspace, area: string, body: Record<string, unknown> = {}) {
  const [found] = await search(ws, `area_code=${area}`);
  const response = await purchase(ws, { e164: found?.e164, ...body });
  expect(response.status, await response.clone().text()).toBe(201);
  return response.json<PhoneNumber>();
}

describe("wiring a purchased number", () => {
  it("a number bought with an agent: accepted by LiveKit, one rule naming the agent's LiveKit name", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id, "Reception", "reception-agent");
    const number = await buy(ws, "701", { agent_id: agent });
    const route = await livekitStandin.route(number.e164);
    expect(route.accepted).toBe(true);
    expect(route.matching_rules.map((r) => r.agent_names)).toEqual([["reception-agent"]]);
    await expectWiringInvariant(ws, ["701"]);
  });

  it("a number bought without an agent: accepted, no rule; the agent's id is its default name", async () => {
    const ws = await createWorkspace();
    const number = await buy(ws, "702");
    expect((await livekitStandin.route(number.e164)).matching_rules).toEqual([]);
    const agent = await createAgent(ws.id);
    expect((await patch(ws, number.id, { agent_id: agent })).status).toBe(200);
    const route = await livekitStandin.route(number.e164);
    expect(route.matching_rules.map((r) => r.agent_names)).toEqual([[agent]]);
    await expectWiringInvariant(ws, ["702"]);
  });

  it("numbers of one workspace share one outbound trunk and trunk_id; another workspace has its own", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const a1 = await buy(a, "703");
    const [, second] = await search(a, "area_code=703");
    const a2 = await (await purchase(a, { e164: second?.e164 })).json<PhoneNumber>();
    const b1 = await buy(b, "704");
    expect(a1.trunk_id).toMatch(/^trunk_/);
    expect(a2.trunk_id).toBe(a1.trunk_id);
    expect(b1.trunk_id).not.toBe(a1.trunk_id);
    const outbound = (await livekitStandin.state()).outbound_trunks;
    const ofA = outbound.find((t) => (t.numbers as string[]).includes(a1.e164));
    expect([...((ofA?.numbers as string[] | undefined) ?? [])].sort()).toEqual(
      [a1.e164, a2.e164].sort(),
    );
    expect(ofA?.address).toBe(env.TWILIO_TERMINATION_DOMAIN);
    await expectWiringInvariant(a, ["703"]);
    await expectWiringInvariant(b, ["704"]);
  });

  it("binding, rebinding and unbinding move the rule", async () => {
    const ws = await createWorkspace();
    const first = await createAgent(ws.id, "First", "first-agent");
    const second = await createAgent(ws.id, "Second", "second-agent");
    const number = await buy(ws, "705", { agent_id: first });
    expect((await patch(ws, number.id, { agent_id: second })).status).toBe(200);
    let route = await livekitStandin.route(number.e164);
    expect(route.matching_rules.map((r) => r.agent_names)).toEqual([["second-agent"]]);
    await expectWiringInvariant(ws, ["705"]);
    expect((await patch(ws, number.id, { clear_agent_id: true })).status).toBe(200);
    route = await livekitStandin.route(number.e164);
    expect(route.accepted).toBe(true);
    expect(route.matching_rules).toEqual([]);
    expect((await patch(ws, number.id, { agent_id: first })).status).toBe(200);
    expect((await patch(ws, number.id, { agent_id: null })).status).toBe(200);
    expect((await livekitStandin.route(number.e164)).matching_rules).toEqual([]);
    await expectWiringInvariant(ws, ["705"]);
  });

  it("release removes the rule and the trunk entries, then releases at Twilio", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id);
    const number = await buy(ws, "706", { agent_id: agent });
    await livekitStandin.clearRequests();
    await twilioStandin.clearRequests();
    expect((await release(ws, number.id)).status).toBe(204);
    const route = await livekitStandin.route(number.e164);
    expect(route.accepted).toBe(false);
    expect(route.matching_rules).toEqual([]);
    const methods = (await livekitStandin.requests()).map((r) => r.method);
    expect(methods).toEqual(["DeleteSIPDispatchRule", "DeleteSIPTrunk", "DeleteSIPTrunk"]);
    expect((await twilioStandin.requests()).map((r) => r.operation)).toEqual(["release"]);
    await expectWiringInvariant(ws, ["706"]);
  });

  it("answers 503 without Retry-After when LiveKit is not configured, and buys nothing", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=707");
    await twilioStandin.clearRequests();
    const response = await app.fetch(
      new Request(`http://localhost${BASE}/purchase`, {
        method: "POST",
        headers: { authorization: `Bearer ${ws.key}`, "content-type": "application/json" },
        body: JSON.stringify({ e164: found?.e164 }),
      }),
      { ...env, LIVEKIT_API_SECRET: "" },
    );
    await expectError(response, 503, "service_unavailable");
    expect(response.headers.get("retry-after")).toBeNull();
    expect(await twilioStandin.requests()).toEqual([]);
  });
});

// Each LiveKit step of a purchase, under each fault: what the client hears, then (after the
// alarm) the invariant across Twilio, D1 and LiveKit.
const STEPS = ["CreateSIPOutboundTrunk", "CreateSIPInboundTrunk", "CreateSIPDispatchRule"] as const;
const FAULTS = [
  { name: "refusal", fault: { kind: "status", code: "invalid_argument" } },
  { name: "5xx", fault: { kind: "status", code: "unavailable" } },
  { name: "timeout before the change", fault: { kind: "delay", delay_ms: 1_500 } },
  { name: "lost reply after the change", fault: { kind: "drop_after" } },
  { name: "timeout after the change", fault: { kind: "succeed_then_timeout", delay_ms: 1_500 } },
] as const;

describe("purchases under LiveKit faults", () => {
  let area = 740;
  for (const step of STEPS) {
    for (const { name, fault } of FAULTS) {
      const code = String(area++);
      it(`${step}, ${name}: 503 or 201, then wired exactly once`, async () => {
        const ws = await createWorkspace();
        const agent = await createAgent(ws.id, "Agent", `agent-${code}`);
        const [found] = await search(ws, `area_code=${code}`);
        await livekitStandin.addFault({ operation: step, times: 1, ...fault } as never);
        const response = await purchase(
          ws,
          { e164: found?.e164, agent_id: agent },
          { "idempotency-key": `lk-${code}` },
        );
        await livekitStandin.clearFaults();
        expect([201, 503]).toContain(response.status);
        if (response.status === 503) {
          // Bought, not wired yet: the number is held, not shown, and the alarm finishes it.
          expect((await unfinished(ws)).map((r) => r.state)).toEqual(["bought"]);
          await new Promise((resolve) => setTimeout(resolve, 1_600));
          await runAlarmNow(ws);
          const retried = await purchase(
            ws,
            { e164: found?.e164, agent_id: agent },
            { "idempotency-key": `lk-${code}` },
          );
          expect(retried.status).toBe(201);
        }
        await expectWiringInvariant(ws, [code]);
      });
    }
  }

  it("a purchase that cannot be wired by the deadline is undone at LiveKit and Twilio", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id);
    const [found] = await search(ws, "area_code=730");
    await livekitStandin.addFault({
      operation: "CreateSIPDispatchRule",
      kind: "status",
      code: "invalid_argument",
    } as never);
    await expectError(
      await purchase(ws, { e164: found?.e164, agent_id: agent }),
      503,
      "service_unavailable",
    );
    await ageLedger(ws, 2 * 60 * 60 * 1000);
    await runAlarmNow(ws);
    await livekitStandin.clearFaults();
    expect(await twilioStandin.held()).not.toContain(found?.e164);
    expect((await livekitStandin.route(found?.e164 ?? "")).accepted).toBe(false);
    await expectWiringInvariant(ws, ["730"]);
  });
});

describe("changes and releases under LiveKit faults", () => {
  it.each([
    ["UpdateSIPDispatchRule", { kind: "status", code: "unavailable" }, "731"],
    ["UpdateSIPDispatchRule", { kind: "drop_after" }, "732"],
    ["DeleteSIPDispatchRule", { kind: "status", code: "unavailable" }, "737"],
  ])(
    "a PATCH whose %s fails (%o): 200 at once, LiveKit follows with the alarm",
    async (step, fault, area) => {
      const ws = await createWorkspace();
      const first = await createAgent(ws.id, "First", "first");
      const second = await createAgent(ws.id, "Second", "second");
      const number = await buy(ws, area, { agent_id: first });
      await livekitStandin.addFault({ operation: step, times: 1, ...fault } as never);
      const body = step === "DeleteSIPDispatchRule" ? { agent_id: null } : { agent_id: second };
      const response = await patch(ws, number.id, body);
      await livekitStandin.clearFaults();
      expect(response.status).toBe(200);
      await runAlarmNow(ws);
      await expectWiringInvariant(ws, [area]);
    },
  );

  it.each(["DeleteSIPDispatchRule", "DeleteSIPTrunk", "UpdateSIPOutboundTrunk"])(
    "a release whose %s fails: 503, still held and shown, then finished by the alarm",
    async (step) => {
      const ws = await createWorkspace();
      const agent = await createAgent(ws.id);
      const area = { DeleteSIPDispatchRule: "733", DeleteSIPTrunk: "734" }[step] ?? "735";
      const number = await buy(ws, area, { agent_id: agent });
      // A second number keeps the outbound trunk (the last one deletes it instead).
      const [, other] = await search(ws, `area_code=${area}`);
      expect((await purchase(ws, { e164: other?.e164 })).status).toBe(201);
      await livekitStandin.addFault({
        operation: step,
        kind: "status",
        code: "unavailable",
        times: 1,
      } as never);
      await expectError(await release(ws, number.id), 503, "service_unavailable");
      await livekitStandin.clearFaults();
      expect(await twilioStandin.held()).toContain(number.e164);
      expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(200);
      await runAlarmNow(ws);
      expect((await call(`${BASE}/${number.id}`, { key: ws.key })).status).toBe(404);
      await expectWiringInvariant(ws, [area]);
    },
  );
});

describe("a 200-way race of PATCH bind and unbind on one number", () => {
  it("ends with exactly the rule GET shows, or none", { timeout: 60_000 }, async () => {
    // The race is about serialization, not the write limit: the workspace may write freely.
    const ws = await createWorkspace({ writeRatePerMinute: 60_000 });
    const agents = [
      await createAgent(ws.id, "A", "race-a"),
      await createAgent(ws.id, "B", "race-b"),
    ];
    const number = await buy(ws, "736");
    const bodies = Array.from({ length: 200 }, (_, i) =>
      i % 3 === 0 ? { clear_agent_id: true } : { agent_id: agents[i % 2] },
    );
    const responses = await Promise.all(bodies.map((body) => patch(ws, number.id, body)));
    expect(responses.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    await runAlarmNow(ws);
    const shown = await (await call(`${BASE}/${number.id}`, { key: ws.key })).json<PhoneNumber>();
    const route = await livekitStandin.route(number.e164);
    const expected =
      shown.agent_id === null ? [] : [[shown.agent_id === agents[0] ? "race-a" : "race-b"]];
    expect(route.matching_rules.map((r) => r.agent_names)).toEqual(expected);
    await expectWiringInvariant(ws, ["736"]);
  });
});
