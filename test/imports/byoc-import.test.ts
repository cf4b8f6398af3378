import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectImportInvariant, expectNowhere, importNumber, importOk } from "../helpers/imports";
import { livekitStandin } from "../helpers/livekit-standin";
import { BASE, expectError } from "../helpers/phone-numbers";
import { call, createAgent, createWorkspace, type TestWorkspace } from "../helpers/workspaces";

// source byoc: a number of a SIP trunk an operator registered for the workspace.

async function createTrunk(
  workspaceId: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const response = await exports.default.fetch(
    new Request("http://localhost/internal/trunks", {
      method: "POST",
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ workspace_id: workspaceId, address: "sip.carrier.example", ...extra }),
    }),
  );
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json<{ id: string }>()).id;
}

const release = (ws: TestWorkspace, id: string) =>
  call(`${BASE}/${id}`, { key: ws.key, method: "DELETE" });

let next = 0;
const fresh = () => `+1629${String(3_000_000 + ++next * 41 + Math.floor(Math.random() * 40))}`;

describe("importing a byoc number", () => {
  it("registers it against the workspace's trunk: inbound, the trunk's caller ids, the agent's rule", async () => {
    const ws = await createWorkspace();
    const password = "Carrier-Pass-0123456789";
    const trunkId = await createTrunk(ws.id, { username: "acme", password });
    const agent = await createAgent(ws.id, "Sales", "sales-agent");
    const [a, b] = [fresh(), fresh()];
    const first = await importOk(ws, {
      e164: a,
      source: "byoc",
      trunk_id: trunkId,
      agent_id: agent,
    });
    expect(first).toMatchObject({
      source: "byoc",
      trunk_id: trunkId,
      agent_id: agent,
      capabilities: ["inbound", "outbound"],
    });
    const second = await importOk(ws, { e164: b, source: "byoc", trunk_id: trunkId });
    const outbound = (await livekitStandin.state()).outbound_trunks.filter((t) =>
      String(t.metadata).includes(trunkId),
    );
    expect(outbound).toHaveLength(1);
    expect(outbound[0]?.address).toBe("sip.carrier.example");
    expect(outbound[0]?.auth_username).toBe("acme");
    expect([...((outbound[0]?.numbers as string[] | undefined) ?? [])].sort()).toEqual(
      [a, b].sort(),
    );
    expect((await livekitStandin.route(a)).matching_rules.map((r) => r.agent_names)).toEqual([
      ["sales-agent"],
    ]);
    await expectImportInvariant(ws);
    const stored = await env.DB.prepare("SELECT sealed_credentials FROM trunks WHERE id = ?")
      .bind(trunkId)
      .first<{ sealed_credentials: string }>();
    await expectNowhere(password, [stored?.sealed_credentials ?? ""]);

    expect((await release(ws, first.id)).status).toBe(204);
    await expectImportInvariant(ws);
    expect((await release(ws, second.id)).status).toBe(204);
    expect((await livekitStandin.route(b)).accepted).toBe(false);
    await expectImportInvariant(ws);
  });

  it("a trunk_id that is not a trunk of this workspace: 400 naming trunk_id", async () => {
    const ws = await createWorkspace();
    const other = await createWorkspace();
    const theirs = await createTrunk(other.id);
    const body = await expectError(
      await importNumber(ws, { e164: fresh(), source: "byoc", trunk_id: theirs }),
      400,
      "bad_request",
    );
    expect(body.error.fields).toHaveProperty("trunk_id");
    await expectImportInvariant(ws);
  });

  it("LiveKit unavailable: 503 with Retry-After, nothing left behind", async () => {
    const ws = await createWorkspace();
    const trunkId = await createTrunk(ws.id);
    await livekitStandin.addFault({
      operation: "CreateSIPInboundTrunk",
      kind: "status",
      code: "unavailable",
      times: 1,
    });
    const response = await importNumber(ws, { e164: fresh(), source: "byoc", trunk_id: trunkId });
    await expectError(response, 503, "service_unavailable");
    expect(response.headers.get("retry-after")).not.toBeNull();
    await livekitStandin.clearFaults();
    await expectImportInvariant(ws);
  });
});
