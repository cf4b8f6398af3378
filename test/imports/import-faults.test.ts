import { describe, expect, it } from "vitest";
import {
  customerWithNumbers,
  expectBackOnCustomerAccount,
  expectImportInvariant,
  importNumber,
  importOk,
  twilioImport,
} from "../helpers/imports";
import { ledgerRows, runAlarmNow } from "../helpers/ledger";
import { livekitStandin } from "../helpers/livekit-standin";
import { expectError } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { createAgent, createWorkspace } from "../helpers/workspaces";

// Faults at each upstream step of a twilio import: the client hears 503 with Retry-After, and
// nothing is left on the customer's account, at LiveKit or in D1 that the records do not explain.

let next = 0;
const fresh = () => `+1630${String(4_000_000 + ++next * 43 + Math.floor(Math.random() * 40))}`;

type Step = { name: string; fault: () => Promise<unknown> };

const twilioFault =
  (operation: string, kind = "status") =>
  () =>
    twilioStandin.addFault({ operation, kind, status: 503, times: 1 } as never);
const livekitFault =
  (operation: string, kind: "status" | "drop_after" = "status") =>
  () =>
    livekitStandin.addFault({ operation, kind, code: "unavailable", times: 1 } as never);

const STEPS: Step[] = [
  { name: "the account check", fault: twilioFault("account") },
  { name: "the number lookup", fault: twilioFault("lookup") },
  { name: "trunking (the trunk)", fault: twilioFault("trunking") },
  { name: "the credential list", fault: twilioFault("sip") },
  { name: "a trunking reply lost", fault: twilioFault("trunking", "drop_after") },
  { name: "a SIP reply lost", fault: twilioFault("sip", "drop_after") },
  { name: "LiveKit's outbound trunk", fault: livekitFault("CreateSIPOutboundTrunk") },
  {
    name: "LiveKit's outbound trunk, reply lost",
    fault: livekitFault("CreateSIPOutboundTrunk", "drop_after"),
  },
  { name: "LiveKit's inbound trunk", fault: livekitFault("CreateSIPInboundTrunk") },
  {
    name: "LiveKit's inbound trunk, reply lost",
    fault: livekitFault("CreateSIPInboundTrunk", "drop_after"),
  },
  { name: "the dispatch rule", fault: livekitFault("CreateSIPDispatchRule") },
  {
    name: "the dispatch rule, reply lost",
    fault: livekitFault("CreateSIPDispatchRule", "drop_after"),
  },
];

describe("faults during a twilio import", () => {
  for (const step of STEPS) {
    it(`${step.name}: 503 with Retry-After, nothing left; a retry imports it`, async () => {
      const ws = await createWorkspace();
      const agent = await createAgent(ws.id, "Agent", "fault-agent");
      const e164 = fresh();
      const account = await customerWithNumbers([e164]);
      await step.fault();
      const response = await importNumber(ws, twilioImport(account, e164, { agent_id: agent }));
      await twilioStandin.clearFaults();
      await livekitStandin.clearFaults();
      await expectError(response, 503, "service_unavailable");
      expect(response.headers.get("retry-after")).not.toBeNull();
      await runAlarmNow(ws);
      await expectImportInvariant(ws, [account]);
      const number = await importOk(ws, twilioImport(account, e164, { agent_id: agent }));
      expect(number.source).toBe("twilio");
      await expectImportInvariant(ws, [account]);
    });
  }

  it("the alarm undoes an import whose request died", async () => {
    const ws = await createWorkspace();
    const e164 = fresh();
    const account = await customerWithNumbers([e164]);
    // The inbound trunk's reply is held far past the timeout: the request gives up with a 503
    // and undoes; a leftover would be found by the invariant.
    await livekitStandin.addFault({
      operation: "CreateSIPInboundTrunk",
      kind: "succeed_then_timeout",
      delay_ms: 2000,
      times: 1,
    });
    const response = await importNumber(ws, twilioImport(account, e164));
    await expectError(response, 503, "service_unavailable");
    await runAlarmNow(ws);
    await expectImportInvariant(ws, [account]);
  });
});

describe("verified caller ids", () => {
  it("a caller id of an account already imported from: outbound only, rides the trunk, no agent", async () => {
    const ws = await createWorkspace();
    const [own, callerId] = [fresh(), fresh()];
    const account = await customerWithNumbers([own]);
    await twilioStandin.addCallerId({ phone_number: callerId, account_sid: account.account_sid });
    const agent = await createAgent(ws.id);

    // Without an earlier full-number import from the account: 400.
    const early = await expectError(
      await importNumber(ws, twilioImport(account, callerId)),
      400,
      "bad_request",
    );
    expect(early.error.fields).toHaveProperty("e164");
    await expectImportInvariant(ws, [account]);

    const first = await importOk(ws, twilioImport(account, own));
    const withAgent = await expectError(
      await importNumber(ws, twilioImport(account, callerId, { agent_id: agent })),
      400,
      "bad_request",
    );
    expect(withAgent.error.fields).toHaveProperty("agent_id");
    const number = await importOk(ws, twilioImport(account, callerId));
    expect(number).toMatchObject({
      source: "verified_caller_id",
      capabilities: ["outbound"],
      trunk_id: first.trunk_id,
    });
    const outbound = (await livekitStandin.state()).outbound_trunks.find((t) =>
      String(t.metadata).includes(first.trunk_id ?? "-"),
    );
    expect([...((outbound?.numbers as string[]) ?? [])].sort()).toEqual([own, callerId].sort());
    expect((await livekitStandin.route(callerId)).accepted).toBe(false);
    const { call } = await import("../helpers/workspaces");
    const patch = await call(`/v1/agents/phone-numbers/${number.id}`, {
      key: ws.key,
      method: "PATCH",
      json: { agent_id: agent },
    });
    await expectError(patch, 400, "bad_request");
    // The caller id itself is left alone on release.
    const deleted = await call(`/v1/agents/phone-numbers/${number.id}`, {
      key: ws.key,
      method: "DELETE",
    });
    expect(deleted.status).toBe(204);
    expect((await twilioStandin.callerIds()).map((c) => c.phone_number)).toContain(callerId);
  });
});

describe("credentials", () => {
  it("a token rotated at Twilio: DELETE answers 503 and keeps the number; a re-import refreshes it", async () => {
    const ws = await createWorkspace();
    const e164 = fresh();
    const account = await customerWithNumbers([e164]);
    const number = await importOk(ws, twilioImport(account, e164));
    // The customer rotates the token: the stand-in's account gets a new one (a new account with
    // the same SID cannot be made, so the stored token is made wrong instead).
    const { env } = await import("cloudflare:workers");
    const { sealSecret, keyringFromEnv } = await import("../../src/crypto/credentials");
    const keyring = keyringFromEnv(env as never);
    if (!keyring) throw new Error("no keyring");
    const row = await env.DB.prepare("SELECT sealed_credentials FROM trunks WHERE id = ?")
      .bind(number.trunk_id)
      .first<{ sealed_credentials: string }>();
    const { openSecret } = await import("../../src/crypto/credentials");
    const opened = JSON.parse(
      await openSecret(keyring, row?.sealed_credentials ?? "", number.trunk_id ?? ""),
    );
    const stale = await sealSecret(
      keyring,
      JSON.stringify({ ...opened, auth_token: "f".repeat(32) }),
      number.trunk_id ?? "",
    );
    await env.DB.prepare("UPDATE trunks SET sealed_credentials = ? WHERE id = ?")
      .bind(stale, number.trunk_id)
      .run();

    const { call } = await import("../helpers/workspaces");
    const del = () =>
      call(`/v1/agents/phone-numbers/${number.id}`, { key: ws.key, method: "DELETE" });
    const refused = await expectError(await del(), 503, "service_unavailable");
    expect(refused.error.message).toMatch(/credentials .*were rejected/);
    expect((await call(`/v1/agents/phone-numbers/${number.id}`, { key: ws.key })).status).toBe(200);
    await expectImportInvariant(ws, [account]);

    // A re-import with the working token replaces the stored one; then DELETE works.
    const again = await importOk(ws, twilioImport(account, e164));
    expect(again.id).toBe(number.id);
    expect((await del()).status).toBe(204);
    await expectImportInvariant(ws, [account]);
  });

  it("an undo the customer's account refuses (token rotated meanwhile) goes to an operator, not retried forever", async () => {
    const { env } = await import("cloudflare:workers");
    const { reconcileTwilioNumbers } = await import("../../src/reconcile");
    const ws = await createWorkspace();
    const e164 = fresh();
    const account = await customerWithNumbers([e164]);
    // The import fails at LiveKit's inbound trunk; its undo cannot finish while LiveKit refuses
    // to delete the outbound trunk.
    await livekitStandin.addFault({
      operation: "CreateSIPInboundTrunk",
      kind: "status",
      code: "unavailable",
      times: 1,
    } as never);
    await livekitStandin.addFault({
      operation: "DeleteSIPTrunk",
      kind: "status",
      code: "unavailable",
    } as never);
    await expectError(
      await importNumber(ws, twilioImport(account, e164)),
      503,
      "service_unavailable",
    );
    const [row] = await ledgerRows(ws);
    expect(row?.state).toBe("import_undoing");

    // The customer rotates its token; LiveKit comes back; the alarm meets the rejected token.
    await twilioStandin.rotateToken(account.account_sid);
    await livekitStandin.clearFaults();
    await runAlarmNow(ws);
    expect((await ledgerRows(ws)).map((r) => [r.id, r.state])).toEqual([
      [row?.id, "needs_operator"],
    ]);
    const flagged = await env.DB.prepare(
      "SELECT status, operator_attention FROM phone_numbers WHERE id = ?",
    )
      .bind(row?.id)
      .first<{ status: string; operator_attention: string | null }>();
    expect(flagged?.operator_attention).toMatch(/customer's Twilio account refused us/);
    const report = await reconcileTwilioNumbers(env, { fix: false });
    expect(report.needs_operator.filter((n) => n.workspace_id === ws.id)).toEqual([
      expect.objectContaining({ id: row?.id, e164 }),
    ]);

    // Not retried: the alarm leaves it alone.
    await twilioStandin.clearRequests();
    await runAlarmNow(ws);
    expect((await ledgerRows(ws)).map((r) => r.state)).toEqual(["needs_operator"]);
    const mine = (await twilioStandin.requests()).filter(
      (r) => r.path.includes(account.account_sid) || r.username === account.account_sid,
    );
    expect(mine).toEqual([]);
    // The customer's number was given back before the token changed.
    const number = (await twilioStandin.numbers()).find((n) => n.phone_number === e164);
    expect(number).toMatchObject({ account_sid: account.account_sid, trunk_sid: null });
  });
});

describe("releasing an imported twilio number", () => {
  for (const kind of ["status", "drop_after"] as const) {
    it(`Twilio failing while the number leaves our trunk (${kind}): 503, still listed, the alarm finishes it; the number stays the customer's with its voice URL`, async () => {
      const { call } = await import("../helpers/workspaces");
      const ws = await createWorkspace();
      const e164 = fresh();
      const account = await customerWithNumbers([e164]);
      const number = await importOk(ws, twilioImport(account, e164));
      await twilioStandin.addFault({ operation: "trunking", kind, status: 503, times: 1 });
      const url = `/v1/agents/phone-numbers/${number.id}`;
      const response = await call(url, { key: ws.key, method: "DELETE" });
      await expectError(response, 503, "service_unavailable");
      expect(response.headers.get("retry-after")).not.toBeNull();
      expect((await call(url, { key: ws.key })).status).toBe(200);

      await twilioStandin.clearFaults();
      await runAlarmNow(ws);
      expect((await call(url, { key: ws.key })).status).toBe(404);
      await expectBackOnCustomerAccount(account, e164);
      expect(
        (await twilioStandin.trunks()).filter((t) => t.account_sid === account.account_sid),
      ).toEqual([]);
      await expectImportInvariant(ws, [account]);
    });
  }

  it("Twilio failing while the number's voice URL is restored: 503, still listed; the alarm restores it and finishes", async () => {
    const { call } = await import("../helpers/workspaces");
    const ws = await createWorkspace();
    const e164 = fresh();
    const account = await customerWithNumbers([e164]);
    const number = await importOk(ws, twilioImport(account, e164));
    // The number has left our trunk when the restore (POST IncomingPhoneNumbers/{sid}) fails.
    await twilioStandin.addFault({ operation: "update", kind: "status", status: 503, times: 1 });
    const url = `/v1/agents/phone-numbers/${number.id}`;
    const response = await call(url, { key: ws.key, method: "DELETE" });
    await expectError(response, 503, "service_unavailable");
    expect((await call(url, { key: ws.key })).status).toBe(200);
    const meanwhile = (await twilioStandin.numbers()).find((n) => n.phone_number === e164);
    expect(meanwhile).toMatchObject({ account_sid: account.account_sid, trunk_sid: null });
    // The stand-in's log is shared with other test files: this number's updates only.
    const restores = (await twilioStandin.requests()).filter(
      (r) => r.operation === "update" && r.path.includes(meanwhile?.sid ?? "?"),
    );
    expect(restores.map((r) => r.status)).toEqual([503]);

    await twilioStandin.clearFaults();
    await runAlarmNow(ws);
    expect((await call(url, { key: ws.key })).status).toBe(404);
    await expectBackOnCustomerAccount(account, e164);
    await expectImportInvariant(ws, [account]);
  });

  it("a new import of another number with a rotated token replaces the stored one; DELETE of the first then works", async () => {
    const { call } = await import("../helpers/workspaces");
    const ws = await createWorkspace();
    const [first, second] = [fresh(), fresh()];
    const account = await customerWithNumbers([first, second]);
    const a = await importOk(ws, twilioImport(account, first));
    const rotated = await twilioStandin.rotateToken(account.account_sid);
    expect(rotated.auth_token).not.toBe(account.auth_token);
    // The old token is refused now: the import with it is a 400, the stored one is unchanged.
    await expectError(await importNumber(ws, twilioImport(account, second)), 400, "bad_request");
    const b = await importOk(ws, twilioImport(rotated, second));
    expect(b.trunk_id).toBe(a.trunk_id);

    await twilioStandin.clearRequests();
    const deleted = await call(`/v1/agents/phone-numbers/${a.id}`, {
      key: ws.key,
      method: "DELETE",
    });
    expect(deleted.status).toBe(204);
    const used = (await twilioStandin.requests()).filter((r) => r.auth !== "account");
    expect(used, "every call made with a working token").toEqual([]);
    const after = (await twilioStandin.numbers()).find((n) => n.phone_number === first);
    expect(after).toMatchObject({ account_sid: account.account_sid, trunk_sid: null });
    await expectImportInvariant(ws, [rotated]);
  });
});
