import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import {
  customerVoiceUrl,
  customerWithNumbers,
  expectImportInvariant,
  expectNowhere,
  importNumber,
  importOk,
  twilioImport,
} from "../helpers/imports";
import { livekitStandin } from "../helpers/livekit-standin";
import { BASE, expectError } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { call, createAgent, createWorkspace, type TestWorkspace } from "../helpers/workspaces";

// source twilio: the customer's own number, put on the trunk we keep on its account.

const release = (ws: TestWorkspace, id: string) =>
  call(`${BASE}/${id}`, { key: ws.key, method: "DELETE" });

let next = 0;
/** A fresh number in the 628 area code for each test. */
function fresh(): string {
  next += 1;
  return `+1628${String(2_000_000 + next * 37 + Math.floor(Math.random() * 30)).padStart(7, "0")}`;
}

describe("importing a number from the customer's Twilio account", () => {
  it("puts it on our trunk, wires LiveKit, binds the agent; DELETE restores what it had", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id, "Reception", "reception-agent");
    const e164 = fresh();
    const account = await customerWithNumbers([e164]);
    const number = await importOk(
      ws,
      twilioImport(account, e164, { agent_id: agent, label: "Main" }),
    );
    expect(number).toMatchObject({
      e164,
      source: "twilio",
      label: "Main",
      agent_id: agent,
      capabilities: ["inbound", "outbound"],
      livekit_phone_number_id: null,
    });
    expect(number.trunk_id).toMatch(/^trunk_/);

    const [trunk] = (await twilioStandin.trunks()).filter(
      (t) => t.account_sid === account.account_sid,
    );
    expect(trunk?.domain_name).toBe(
      `${number.trunk_id?.toLowerCase().replace("_", "-")}.pstn.twilio.com`,
    );
    expect(trunk?.origination_urls.map((u) => u.sip_url)).toEqual([env.LIVEKIT_SIP_URI]);
    const route = await livekitStandin.route(e164);
    expect(route.accepted).toBe(true);
    expect(route.matching_rules.map((r) => r.agent_names)).toEqual([["reception-agent"]]);
    const outbound = (await livekitStandin.state()).outbound_trunks.find((t) =>
      String(t.metadata).includes(number.trunk_id ?? "-"),
    );
    expect(outbound?.address).toBe(trunk?.domain_name);
    expect(outbound?.numbers).toEqual([e164]);
    await expectImportInvariant(ws, [account]);

    expect((await release(ws, number.id)).status).toBe(204);
    const after = (await twilioStandin.numbers()).find((n) => n.phone_number === e164);
    expect(after?.account_sid).toBe(account.account_sid);
    expect(after?.trunk_sid).toBeNull();
    expect(after?.voice_url).toBe(customerVoiceUrl(e164));
    expect(
      (await twilioStandin.trunks()).filter((t) => t.account_sid === account.account_sid),
    ).toEqual([]);
    expect((await livekitStandin.route(e164)).accepted).toBe(false);
    await expectImportInvariant(ws, [account]);
  });

  it("a second number of the account rides the same trunk; the trunk goes with the last", async () => {
    const ws = await createWorkspace();
    const [a, b] = [fresh(), fresh()];
    const account = await customerWithNumbers([a, b]);
    const first = await importOk(ws, twilioImport(account, a));
    const second = await importOk(ws, twilioImport(account, b));
    expect(second.trunk_id).toBe(first.trunk_id);
    expect(
      (await twilioStandin.trunks()).filter((t) => t.account_sid === account.account_sid),
    ).toHaveLength(1);
    await expectImportInvariant(ws, [account]);
    expect((await release(ws, first.id)).status).toBe(204);
    await expectImportInvariant(ws, [account]);
    expect((await release(ws, second.id)).status).toBe(204);
    await expectImportInvariant(ws, [account]);
  });

  it("never holds the token in a response, a stand-in log or LiveKit", async () => {
    const ws = await createWorkspace();
    const e164 = fresh();
    const account = await customerWithNumbers([e164]);
    const response = await importNumber(ws, twilioImport(account, e164));
    const text = await response.text();
    expect(response.status).toBe(201);
    const number = JSON.parse(text) as PhoneNumber;
    const listed = await (await call(BASE, { key: ws.key })).text();
    const deleted = await release(ws, number.id);
    expect(deleted.status).toBe(204);
    const stored = await env.DB.prepare("SELECT sealed_credentials FROM trunks WHERE id = ?")
      .bind(number.trunk_id)
      .first<{ sealed_credentials: string }>();
    expect(stored?.sealed_credentials).toMatch(/^v1\./);
    await expectNowhere(account.auth_token, [text, listed, stored?.sealed_credentials ?? ""]);
  });
});

describe("refusals", () => {
  it("wrong credentials: 400 naming twilio.auth_token, nothing left behind", async () => {
    const ws = await createWorkspace();
    const e164 = fresh();
    const account = await customerWithNumbers([e164]);
    const response = await importNumber(
      ws,
      twilioImport({ ...account, auth_token: "0".repeat(32) }, e164),
    );
    const body = await expectError(response, 400, "bad_request");
    expect(Object.keys(body.error.fields ?? {})).toEqual(["twilio.auth_token"]);
    await expectImportInvariant(ws, [account]);
  });

  it("a number that is not on the account: 400 naming e164", async () => {
    const ws = await createWorkspace();
    const account = await customerWithNumbers([]);
    const body = await expectError(
      await importNumber(ws, twilioImport(account, fresh())),
      400,
      "bad_request",
    );
    expect(body.error.fields).toHaveProperty("e164");
    await expectImportInvariant(ws, [account]);
  });

  it("a number on someone else's trunk: 400, never taken over", async () => {
    const ws = await createWorkspace();
    const e164 = fresh();
    const account = await twilioStandin.createAccount();
    await twilioStandin.plantNumber({
      phone_number: e164,
      account_sid: account.account_sid,
      trunk_sid: "TK11111111111111111111111111111111",
    });
    await expectError(await importNumber(ws, twilioImport(account, e164)), 400, "bad_request");
    const after = (await twilioStandin.numbers()).find((n) => n.phone_number === e164);
    expect(after?.trunk_sid).toBe("TK11111111111111111111111111111111");
    expect(
      (await twilioStandin.trunks()).filter((t) => t.account_sid === account.account_sid),
    ).toEqual([]);
  });

  it("the same number held by another workspace: 409 before any upstream call", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const e164 = fresh();
    const account = await customerWithNumbers([e164]);
    await importOk(a, twilioImport(account, e164));
    await twilioStandin.clearRequests();
    await livekitStandin.clearRequests();
    await expectError(await importNumber(b, twilioImport(account, e164)), 409, "conflict");
    expect(await twilioStandin.requests()).toEqual([]);
    expect(await livekitStandin.requests()).toEqual([]);
    await expectImportInvariant(b, [account]);
  });

  it("source verified_caller_id or twilio_purchased from the client: 400", async () => {
    const ws = await createWorkspace();
    for (const source of ["verified_caller_id", "twilio_purchased"]) {
      const body = await expectError(
        await importNumber(ws, { e164: fresh(), source }),
        400,
        "validation_failed",
      );
      expect(body.error.fields).toHaveProperty("source");
    }
    const missing = await expectError(
      await importNumber(ws, { e164: fresh(), source: "twilio" }),
      400,
      "validation_failed",
    );
    expect(missing.error.fields).toHaveProperty("twilio");
  });
});
