import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import {
  type CustomerAccount,
  customerWithNumbers,
  expectImportInvariant,
  importOk,
  twilioImport,
} from "../helpers/imports";
import { runAlarmNow, unfinished } from "../helpers/ledger";
import { livekitStandin } from "../helpers/livekit-standin";
import { BASE } from "../helpers/phone-numbers";
import { call, createAgent, createWorkspace, type TestWorkspace } from "../helpers/workspaces";

// PATCH of an imported number's agent reaches LiveKit: a `twilio` or `byoc` number through the
// rule on its own inbound trunk, a `livekit` number through the rule it is assigned to at
// LiveKit's PhoneNumberService. Bound: a call matches exactly one rule, naming the agent;
// unbound: none.

const patch = (ws: TestWorkspace, id: string, json: unknown) =>
  call(`${BASE}/${id}`, { key: ws.key, method: "PATCH", json });
const release = (ws: TestWorkspace, id: string) =>
  call(`${BASE}/${id}`, { key: ws.key, method: "DELETE" });

let next = 0;
const fresh = (npa: string) =>
  `+1${npa}${String(5_000_000 + ++next * 47 + Math.floor(Math.random() * 40))}`;

/** A number LiveKit's stand-in sells (555-01XX) in an area code no other test file buys in. */
let lastLiveKit = 0;
const livekitNumber = () => `+1707555${String(100 + lastLiveKit++).padStart(4, "0")}`;

async function createTrunk(workspaceId: string): Promise<string> {
  const response = await exports.default.fetch(
    new Request("http://localhost/internal/trunks", {
      method: "POST",
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ workspace_id: workspaceId, address: "sip.carrier.example" }),
    }),
  );
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json<{ id: string }>()).id;
}

/** The agents a call to the number reaches: one list per matching rule. */
async function agentsOf(e164: string): Promise<string[][]> {
  return (await livekitStandin.route(e164)).matching_rules.map((rule) => rule.agent_names);
}

type Source = {
  name: "twilio" | "byoc" | "livekit";
  /** Imports a fresh number of this source, with the agent (or none). */
  importWith(ws: TestWorkspace, agent: string | null): Promise<PhoneNumber>;
};

const accounts: CustomerAccount[] = [];

const SOURCES: Source[] = [
  {
    name: "twilio",
    async importWith(ws, agent) {
      const e164 = fresh("631");
      const account = await customerWithNumbers([e164]);
      accounts.push(account);
      return importOk(ws, twilioImport(account, e164, agent ? { agent_id: agent } : {}));
    },
  },
  {
    name: "byoc",
    async importWith(ws, agent) {
      const trunkId = await createTrunk(ws.id);
      return importOk(ws, {
        e164: fresh("632"),
        source: "byoc",
        trunk_id: trunkId,
        ...(agent ? { agent_id: agent } : {}),
      });
    },
  },
  {
    name: "livekit",
    async importWith(ws, agent) {
      return importOk(ws, {
        e164: livekitNumber(),
        source: "livekit",
        ...(agent ? { agent_id: agent } : {}),
      });
    },
  },
];

describe.each(SOURCES)("the agent of an imported $name number", (source) => {
  it("bind, rebind, unbind and bind again move LiveKit's routing: one rule when bound, none when not", async () => {
    const ws = await createWorkspace();
    const first = await createAgent(ws.id, "First", `first-${source.name}`);
    const second = await createAgent(ws.id, "Second", `second-${source.name}`);
    const number = await source.importWith(ws, null);
    expect(await agentsOf(number.e164)).toEqual([]);

    expect((await patch(ws, number.id, { agent_id: first })).status).toBe(200);
    expect(await agentsOf(number.e164)).toEqual([[`first-${source.name}`]]);
    expect((await livekitStandin.route(number.e164)).accepted).toBe(true);

    expect((await patch(ws, number.id, { agent_id: second })).status).toBe(200);
    expect(await agentsOf(number.e164)).toEqual([[`second-${source.name}`]]);

    expect((await patch(ws, number.id, { clear_agent_id: true })).status).toBe(200);
    expect(await agentsOf(number.e164)).toEqual([]);

    expect((await patch(ws, number.id, { agent_id: first })).status).toBe(200);
    expect(await agentsOf(number.e164)).toEqual([[`first-${source.name}`]]);
    expect(await unfinished(ws)).toEqual([]);
    await expectImportInvariant(ws, accounts);

    expect((await release(ws, number.id)).status).toBe(204);
    expect(await agentsOf(number.e164)).toEqual([]);
    await expectImportInvariant(ws, accounts);
  });

  it("a number imported with an agent is rebound and unbound", async () => {
    const ws = await createWorkspace();
    const first = await createAgent(ws.id, "First", `a-${source.name}`);
    const second = await createAgent(ws.id, "Second", `b-${source.name}`);
    const number = await source.importWith(ws, first);
    expect(await agentsOf(number.e164)).toEqual([[`a-${source.name}`]]);
    expect((await patch(ws, number.id, { agent_id: second })).status).toBe(200);
    expect(await agentsOf(number.e164)).toEqual([[`b-${source.name}`]]);
    expect((await patch(ws, number.id, { agent_id: null })).status).toBe(200);
    expect(await agentsOf(number.e164)).toEqual([]);
    await expectImportInvariant(ws, accounts);
  });

  it("LiveKit failing during the PATCH: 200, recorded; the alarm carries the agent", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id, "Late", `late-${source.name}`);
    const number = await source.importWith(ws, null);
    await livekitStandin.addFault({
      operation: "CreateSIPDispatchRule",
      kind: "drop_after",
      times: 1,
    });
    const response = await patch(ws, number.id, { agent_id: agent });
    expect(response.status).toBe(200);
    expect((await response.json<PhoneNumber>()).agent_id).toBe(agent);
    expect((await unfinished(ws)).map((row) => [row.id, row.state, row.route_dirty])).toEqual([
      [number.id, "updating", 1],
    ]);
    await livekitStandin.clearFaults();
    await runAlarmNow(ws);
    // The lost create is found by its tags and kept: still exactly one rule.
    expect(await agentsOf(number.e164)).toEqual([[`late-${source.name}`]]);
    expect(await unfinished(ws)).toEqual([]);
    await expectImportInvariant(ws, accounts);
  });
});

describe("a livekit number's assignment", () => {
  it("failing after the rule is made: the alarm assigns the number, one rule", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id, "Assign", "assign-agent");
    const number = await importOk(ws, {
      e164: livekitNumber(),
      source: "livekit",
    });
    await livekitStandin.addFault({
      operation: "UpdatePhoneNumber",
      kind: "status",
      code: "unavailable",
      times: 1,
    });
    expect((await patch(ws, number.id, { agent_id: agent })).status).toBe(200);
    expect(await agentsOf(number.e164)).toEqual([]);
    await livekitStandin.clearFaults();
    await runAlarmNow(ws);
    expect(await agentsOf(number.e164)).toEqual([["assign-agent"]]);
    const rules = (await livekitStandin.state()).dispatch_rules.filter((rule) =>
      String(rule.metadata).includes(number.id),
    );
    expect(rules).toHaveLength(1);
    await expectImportInvariant(ws);
  });
});
