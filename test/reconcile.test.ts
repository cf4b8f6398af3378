import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { reconcileTwilioNumbers } from "../src/reconcile";
import type { PhoneNumber } from "../src/schemas/phone-numbers";
import {
  customerWithNumbers,
  importOk,
  makeStoredTokenStale,
  twilioImport,
} from "./helpers/imports";
import { ledgerRows } from "./helpers/ledger";
import { livekitStandin, twirpOk } from "./helpers/livekit-standin";
import { BASE, expectError, purchase, search, searchAndBuy } from "./helpers/phone-numbers";
import { basicAuth, twilioStandin } from "./helpers/standin";
import { call, createAgent, createWorkspace } from "./helpers/workspaces";

const HOUR = 60 * 60 * 1000;
const STRAY_NUMBER = "phone_01JD0000000000000000000000";

describe("reconciliation of the master Twilio account against D1", () => {
  it("reports orphans and lost records, and fixes them with --fix", async () => {
    await twilioStandin.reset();
    const ws = await createWorkspace({ purchasedNumberLimit: 3 });
    const kept = await searchAndBuy(ws, "601", { index: 0 });
    const lost = await searchAndBuy(ws, "601", { index: 1 });
    const forgotten = await searchAndBuy(ws, "601", { index: 2 });
    // An orphan we bought: its record is gone (as after a disaster), its journal entry is not.
    await env.DB.prepare("DELETE FROM phone_numbers WHERE id = ?").bind(forgotten.id).run();
    // Numbers on the account that this service never bought (Console, port, another system),
    // bought years ago: their age must not be what protects them. One is even on our trunk.
    const foreign = await twilioStandin.plantNumber({
      phone_number: "+16015550199",
      date_created: "2019-03-04T05:06:07Z",
    });
    await twilioStandin.plantNumber({
      phone_number: "+16015550198",
      date_created: "2019-03-04T05:06:07Z",
      trunk_sid: env.TWILIO_TRUNK_SID,
    });
    // Lost: Twilio no longer has a recorded number.
    const lostSid = (await twilioStandin.numbers()).find((n) => n.phone_number === lost.e164)?.sid;
    await env.TWILIO_UPSTREAM?.fetch(
      `https://api.twilio.com/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}/IncomingPhoneNumbers/${lostSid}.json`,
      {
        method: "DELETE",
        headers: {
          authorization: `Basic ${btoa(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`)}`,
        },
      },
    );

    const report = await reconcileTwilioNumbers(env, { fix: false });
    expect(report.twilio_numbers).toBe(4);
    expect(report.orphans).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ e164: forgotten.e164, ours: true, action: "none" }),
        expect.objectContaining({ sid: foreign.sid, e164: "+16015550199", ours: false }),
        expect.objectContaining({ e164: "+16015550198", ours: false }),
      ]),
    );
    expect(report.orphans).toHaveLength(3);
    expect(report.lost).toEqual([
      expect.objectContaining({ id: lost.id, workspace_id: ws.id, action: "none" }),
    ]);
    // A report alone changes nothing.
    expect(await twilioStandin.held()).toEqual(
      expect.arrayContaining(["+16015550199", forgotten.e164]),
    );

    // A young orphan may be a purchase still being recorded: --fix keeps it.
    const young = await reconcileTwilioNumbers(env, { fix: true });
    const byE164 = (r: typeof young, e164: string) => r.orphans.find((o) => o.e164 === e164);
    expect(byE164(young, forgotten.e164)?.action).toBe("kept_recent");
    expect(byE164(young, "+16015550199")?.action).toBe("not_ours");
    expect(byE164(young, "+16015550198")?.action).toBe("not_ours");
    expect(young.lost[0]?.action).toBe("marked_released");
    expect((await call(`${BASE}/${lost.id}`, { key: ws.key })).status).toBe(404);
    // The lost number no longer counts against the cap of 3 (kept + forgotten's ledger row).
    const [another] = await search(ws, "area_code=602");
    expect((await purchase(ws, { e164: another?.e164 })).status).toBe(201);

    // Hours later: ours is released; the foreign number is still never touched.
    const later = await reconcileTwilioNumbers(env, { fix: true, now: Date.now() + 2 * HOUR });
    expect(byE164(later, forgotten.e164)?.action).toBe("released");
    expect(byE164(later, "+16015550199")?.action).toBe("not_ours");
    expect(byE164(later, "+16015550198")?.action).toBe("not_ours");
    expect(await twilioStandin.held()).not.toContain(forgotten.e164);
    expect(await twilioStandin.held()).toEqual(
      expect.arrayContaining(["+16015550199", "+16015550198"]),
    );
    const clean = await reconcileTwilioNumbers(env, { fix: false });
    expect(clean.orphans.map((o) => o.e164).sort()).toEqual(["+16015550198", "+16015550199"]);
    expect(clean.lost).toEqual([]);
    const list = await (await call(BASE, { key: ws.key })).json<{ numbers: PhoneNumber[] }>();
    expect(list.numbers.map((n) => n.id)).toContain(kept.id);
    expect((await ledgerRows(ws)).map((r) => r.id)).toContain(kept.id);
  });

  it("follows Twilio's pages", async () => {
    await twilioStandin.reset();
    for (let i = 0; i < 7; i++) await twilioStandin.buyDirectly(`+1603555010${i}`);
    await twilioStandin.clearRequests();
    const report = await reconcileTwilioNumbers(env, { fix: false, pageSize: 3 });
    expect(report.orphans).toHaveLength(7);
    const pages = (await twilioStandin.requests()).filter((r) => r.method === "GET");
    expect(pages).toHaveLength(3);
  });

  it("serves POST /internal/reconcile only with the admin token", async () => {
    await expectError(await call("/internal/reconcile", { method: "POST" }), 401, "unauthorized");
    await expectError(
      await call("/internal/reconcile", { method: "POST", key: "wrong" }),
      401,
      "unauthorized",
    );
    const response = await call("/internal/reconcile", {
      method: "POST",
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ fix: false, orphans: expect.any(Array) });
  });

  it("compares LiveKit with D1: strays for numbers nobody holds, held numbers not routed as recorded", async () => {
    // The stand-ins are shared with other test files (D1 is not): only this workspace's
    // numbers and this test's stray are looked at.
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id, "Reception", "reception");
    const routed = await searchAndBuy(ws, "604", { agent_id: agent });
    const unrouted = await searchAndBuy(ws, "604", { index: 1, agent_id: agent });
    const mine = (report: Awaited<ReturnType<typeof reconcileTwilioNumbers>>) => ({
      unwired: report.livekit?.unwired.filter((u) => u.workspace_id === ws.id),
      strays: report.livekit?.strays.filter((u) => u.number_id === STRAY_NUMBER),
    });
    expect(mine(await reconcileTwilioNumbers(env, { fix: false }))).toEqual({
      unwired: [],
      strays: [],
    });

    // Someone deletes one number's rule in LiveKit's console; a rule is left for a number we
    // do not hold (say, released while LiveKit was down and then lost track of).
    const { items } = await twirpOk<{
      items: { sip_dispatch_rule_id: string; metadata: string }[];
    }>("ListSIPDispatchRule", {});
    const ruleOf = (id: string) =>
      items.find((rule) => JSON.parse(rule.metadata).number_id === id)?.sip_dispatch_rule_id;
    await twirpOk("DeleteSIPDispatchRule", { sip_dispatch_rule_id: ruleOf(unrouted.id) });
    const stray = await twirpOk<{ sip_dispatch_rule_id: string }>("CreateSIPDispatchRule", {
      dispatch_rule: {
        name: "stray",
        trunk_ids: ["ST_nothere"],
        rule: { dispatch_rule_individual: { room_prefix: "call-" } },
        metadata: JSON.stringify({ number_id: STRAY_NUMBER }),
      },
    });

    expect(mine(await reconcileTwilioNumbers(env, { fix: false }))).toEqual({
      unwired: [{ id: unrouted.id, workspace_id: ws.id, e164: unrouted.e164, problem: "no_rule" }],
      strays: [
        { kind: "dispatch_rule", livekit_id: stray.sip_dispatch_rule_id, number_id: STRAY_NUMBER },
      ],
    });
    // A report, not a fix: the routed number is untouched.
    expect((await livekitStandin.route(routed.e164)).matching_rules).toHaveLength(1);
  });
});

describe("reconciliation of imported numbers", () => {
  /** A Twilio call made as the customer (what the customer does in its own console). */
  const asCustomer = (
    account: { account_sid: string; auth_token: string },
    method: string,
    url: string,
    form?: Record<string, string>,
  ) =>
    env.TWILIO_UPSTREAM?.fetch(url, {
      method,
      headers: {
        authorization: basicAuth(account),
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });

  it("reports what customers' accounts and LiveKit no longer agree with, and --fix changes none of it", async () => {
    const ws = await createWorkspace();
    const agent = await createAgent(ws.id, "Front", "front-desk");
    const stamp = String(Date.now()).slice(-4);
    const [kept, offTrunk, gone] = ["1", "2", "3"].map((d) => `+1633${d}55${stamp}`) as [
      string,
      string,
      string,
    ];
    const account = await customerWithNumbers([kept, offTrunk, gone]);
    const keptNumber = await importOk(ws, twilioImport(account, kept, { agent_id: agent }));
    const offNumber = await importOk(ws, twilioImport(account, offTrunk));
    const goneNumber = await importOk(ws, twilioImport(account, gone));
    const lkE164 = `+1719555${String(100 + Math.floor(Math.random() * 90)).padStart(4, "0")}`;
    const lkNumber = await importOk(ws, { e164: lkE164, source: "livekit", agent_id: agent });

    const mine = (report: Awaited<ReturnType<typeof reconcileTwilioNumbers>>) => ({
      numbers: report.customer_accounts.numbers.filter((n) => n.workspace_id === ws.id),
      stray_trunks: report.customer_accounts.stray_trunks.filter(
        (t) => t.account_sid === account.account_sid,
      ),
      unreadable: report.customer_accounts.unreadable.filter((u) => u.workspace_id === ws.id),
      unwired: report.livekit?.unwired.filter((u) => u.workspace_id === ws.id),
      stray_numbers: report.livekit?.stray_numbers.filter((n) => n.e164.startsWith("+1719")),
    });
    expect(mine(await reconcileTwilioNumbers(env, { fix: false }))).toEqual({
      numbers: [],
      stray_trunks: [],
      unreadable: [],
      unwired: [],
      stray_numbers: [],
    });

    // The customer takes one number off our trunk and releases another; someone makes a trunk
    // named like ours on the account; LiveKit's console deletes the kept number's rule,
    // releases our LiveKit number and buys one nobody recorded.
    const trunk = (await twilioStandin.trunks()).find((t) => t.account_sid === account.account_sid);
    const sidOf = async (e164: string) =>
      (await twilioStandin.numbers()).find((n) => n.phone_number === e164)?.sid ?? "";
    await asCustomer(
      account,
      "DELETE",
      `https://trunking.twilio.com/v1/Trunks/${trunk?.sid}/PhoneNumbers/${await sidOf(offTrunk)}`,
    );
    await asCustomer(
      account,
      "DELETE",
      `https://api.twilio.com/2010-04-01/Accounts/${account.account_sid}/IncomingPhoneNumbers/${await sidOf(gone)}.json`,
    );
    const strayDomain = "trunk-01jd0000000000000000000000.pstn.twilio.com";
    const created = await asCustomer(account, "POST", "https://trunking.twilio.com/v1/Trunks", {
      DomainName: strayDomain,
      FriendlyName: "not ours any more",
    });
    expect(created?.status).toBe(201);
    const strayTrunk = (await created?.json<{ sid: string }>())?.sid;
    const { items } = await twirpOk<{
      items: { sip_dispatch_rule_id: string; metadata: string }[];
    }>("ListSIPDispatchRule", {});
    const ruleOf = (id: string) =>
      items.find((rule) => JSON.parse(rule.metadata).number_id === id)?.sip_dispatch_rule_id;
    await twirpOk("DeleteSIPDispatchRule", { sip_dispatch_rule_id: ruleOf(keptNumber.id) });
    await twirpOk("ReleasePhoneNumbers", { ids: [lkNumber.livekit_phone_number_id] });
    const strayE164 = lkE164 === "+17195550199" ? "+17195550198" : "+17195550199";
    const bought = await twirpOk<{ phone_numbers: { id: string }[] }>("PurchasePhoneNumber", {
      phone_numbers: [strayE164],
    });

    const expected = {
      numbers: expect.arrayContaining([
        {
          id: offNumber.id,
          workspace_id: ws.id,
          e164: offTrunk,
          account_sid: account.account_sid,
          problem: "not_on_our_trunk",
        },
        {
          id: goneNumber.id,
          workspace_id: ws.id,
          e164: gone,
          account_sid: account.account_sid,
          problem: "not_on_account",
        },
      ]),
      stray_trunks: [
        { account_sid: account.account_sid, trunk_sid: strayTrunk, domain_name: strayDomain },
      ],
      unreadable: [],
      unwired: expect.arrayContaining([
        { id: keptNumber.id, workspace_id: ws.id, e164: kept, problem: "no_rule" },
        { id: lkNumber.id, workspace_id: ws.id, e164: lkE164, problem: "livekit_number_gone" },
      ]),
      stray_numbers: [{ livekit_id: bought.phone_numbers[0]?.id, e164: strayE164 }],
    };
    const report = mine(await reconcileTwilioNumbers(env, { fix: false }));
    expect(report).toEqual(expected);
    expect(report.numbers).toHaveLength(2);
    expect(report.unwired).toHaveLength(2);

    // --fix touches neither the customer's account nor LiveKit's numbers.
    expect(mine(await reconcileTwilioNumbers(env, { fix: true }))).toEqual(expected);
    expect((await twilioStandin.trunks()).map((t) => t.sid)).toContain(strayTrunk);
    const off = (await twilioStandin.numbers()).find((n) => n.phone_number === offTrunk);
    expect(off).toMatchObject({ account_sid: account.account_sid, trunk_sid: null });
    expect((await livekitStandin.route(strayE164)).phone_number_id).toBe(
      bought.phone_numbers[0]?.id,
    );
    await twirpOk("ReleasePhoneNumbers", { ids: [bought.phone_numbers[0]?.id] });
  });

  it("a stored token that no longer works is reported, not an error", async () => {
    const ws = await createWorkspace();
    const e164 = `+1634555${String(Date.now()).slice(-4)}`;
    const account = await customerWithNumbers([e164]);
    const number = await importOk(ws, twilioImport(account, e164));
    await makeStoredTokenStale(number.trunk_id ?? "");
    const report = await reconcileTwilioNumbers(env, { fix: false });
    expect(report.customer_accounts.unreadable.filter((u) => u.workspace_id === ws.id)).toEqual([
      {
        trunk_id: number.trunk_id,
        workspace_id: ws.id,
        account_sid: account.account_sid,
        problem: "credentials_rejected",
      },
    ]);
    expect(report.customer_accounts.numbers.filter((n) => n.workspace_id === ws.id)).toEqual([]);
  });
});

describe("the hourly reconcile (Cron Trigger)", () => {
  it("reports orphans at error level and fixes nothing", async () => {
    const orphan = await twilioStandin.plantNumber({
      phone_number: "+16055550177",
      date_created: "2020-01-01T00:00:00Z",
    });
    const errors = vi.spyOn(console, "error");
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const events = errors.mock.calls.map((call) => JSON.parse(String(call[0])));
    errors.mockRestore();
    expect(events).toContainEqual(
      expect.objectContaining({ event: "orphan_number", twilio_sid: orphan.sid, action: "none" }),
    );
    expect(await twilioStandin.held()).toContain("+16055550177");
  });
});
