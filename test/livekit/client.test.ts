import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveKitClient } from "../../src/livekit/client";
import { type LiveKitConfig, livekitConfig } from "../../src/livekit/config";
import { LiveKitError, TWIRP_CODE_KINDS } from "../../src/livekit/failures";
import { checkLiveKitRequest, checkLiveKitResponse } from "../../standins/livekit/proto-contract";
import type { TwirpCode } from "../../standins/livekit/twirp";
import { LIVEKIT_STANDIN_SECRET, livekitStandin, twirpOk } from "../helpers/livekit-standin";

const SIP_PASSWORD = "sip-password-do-not-log-9f3a";

/** The test env with some settings replaced (vars are typed as their literal values). */
const withSettings = (settings: Record<string, string>) =>
  ({ ...env, ...settings }) as unknown as Env;

function client(config: LiveKitConfig = livekitConfig(env)): LiveKitClient {
  return LiveKitClient.fromConfig(config, { request_id: "req_test" });
}

async function failure(promise: Promise<unknown>): Promise<LiveKitError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LiveKitError);
  return error as LiveKitError;
}

beforeEach(async () => {
  await livekitStandin.reset();
});

describe("LiveKit configuration", () => {
  it("reads the project, its credentials, the SIP URI and the master trunk's termination", () => {
    const config = livekitConfig(env);
    expect(config).toMatchObject({
      url: "http://localhost:8789",
      credentials: { apiKey: "devkey-livekit-standin", apiSecret: LIVEKIT_STANDIN_SECRET },
      sipUri: "sip:phone-numbers-dev.sip.livekit.cloud",
      termination: {
        domain: "phone-numbers-dev.pstn.twilio.com",
        username: "livekit-dev",
        password: "dev-sip-password-not-secret",
      },
      timeoutMs: 500,
    });
    expect(config.fetcher).not.toBeNull();
  });

  it("is not configured without a URL, a key or a secret", () => {
    expect(livekitConfig(withSettings({ LIVEKIT_API_SECRET: "" })).credentials).toBeNull();
    expect(livekitConfig(withSettings({ LIVEKIT_API_KEY: " " })).credentials).toBeNull();
    expect(livekitConfig(withSettings({ TWILIO_SIP_PASSWORD: "" })).termination).toBeNull();
    const unset: Record<string, string>[] = [{ LIVEKIT_URL: "" }, { LIVEKIT_API_SECRET: "" }];
    for (const settings of unset) {
      expect(() => client(livekitConfig(withSettings(settings)))).toThrow(
        expect.objectContaining({ kind: "not_configured" }),
      );
    }
    expect(livekitConfig(withSettings({ LIVEKIT_TIMEOUT_MS: "soon" })).timeoutMs).toBe(8000);
  });
});

describe("the LiveKit client", () => {
  it("signs a token the project accepts, granting sip.admin", async () => {
    expect(await client().listInboundTrunks()).toEqual([]);
    const [entry] = await livekitStandin.requests();
    expect(entry).toMatchObject({ auth: "ok", sip_admin: true, status: 200 });
  });

  it("reaches a wss:// project URL over https", async () => {
    const config = livekitConfig(withSettings({ LIVEKIT_URL: "wss://project.livekit.cloud" }));
    expect(await client(config).listOutboundTrunks()).toEqual([]);
  });

  it("reports rejected credentials when the secret is wrong, without the secret", async () => {
    const config = livekitConfig(
      withSettings({ LIVEKIT_API_SECRET: "wrong-secret-wrong-secret-wrong-secret" }),
    );
    const error = await failure(client(config).listInboundTrunks());
    expect(error).toMatchObject({
      kind: "rejected_credentials",
      httpStatus: 401,
      twirpCode: "unauthenticated",
      operation: "ListSIPInboundTrunk",
      notFound: false,
    });
    expect(error.message).not.toContain("wrong-secret");
  });

  it("creates, lists, changes and deletes inbound trunks", async () => {
    const lk = client();
    const trunk = await lk.createInboundTrunk({
      name: "ws_1 +14155550100",
      numbers: ["+14155550100"],
      metadata: '{"workspace_id":"ws_1"}',
    });
    expect(trunk).toEqual({
      id: expect.stringMatching(/^ST_/),
      name: "ws_1 +14155550100",
      metadata: '{"workspace_id":"ws_1"}',
      numbers: ["+14155550100"],
      allowedNumbers: [],
      allowedAddresses: [],
      hasAuth: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await lk.listInboundTrunks({ numbers: ["+14155550100"] })).toEqual([trunk]);
    expect(await lk.listInboundTrunks({ numbers: ["+14155550999"] })).toEqual([]);
    expect(await lk.listInboundTrunks({ trunkIds: ["ST_missing00000", trunk.id] })).toEqual([
      trunk,
    ]);
    expect(await lk.getInboundTrunk(trunk.id)).toEqual(trunk);

    const grown = await lk.updateInboundTrunkNumbers(trunk.id, { add: ["+14155550101"] });
    expect(grown.numbers).toEqual(["+14155550100", "+14155550101"]);
    const shrunk = await lk.updateInboundTrunkNumbers(trunk.id, { remove: ["+14155550100"] });
    expect(shrunk.numbers).toEqual(["+14155550101"]);
    const set = await lk.updateInboundTrunkNumbers(trunk.id, { set: ["+14155550102"] });
    expect(set.numbers).toEqual(["+14155550102"]);
    const replaced = await lk.replaceInboundTrunk(trunk.id, {
      name: "replaced",
      numbers: ["+14155550103"],
      allowedNumbers: ["+12125550001"],
    });
    expect(replaced).toMatchObject({
      name: "replaced",
      metadata: "",
      allowedNumbers: ["+12125550001"],
    });

    expect(await lk.deleteTrunk(trunk.id)).toBe("deleted");
    expect(await lk.deleteTrunk(trunk.id)).toBe("not_found");
    expect(await lk.getInboundTrunk(trunk.id)).toBeNull();
  });

  it("refuses a conflicting inbound trunk as LiveKit does", async () => {
    const lk = client();
    await lk.createInboundTrunk({ name: "a", numbers: ["+14155550100"] });
    const error = await failure(lk.createInboundTrunk({ name: "b", numbers: ["+14155550100"] }));
    expect(error).toMatchObject({
      kind: "refused",
      httpStatus: 400,
      twirpCode: "invalid_argument",
      notFound: false,
    });
    expect(error.message).toContain("Conflicting inbound SIP Trunks");
  });

  it("creates an outbound trunk to the termination domain, and changes its numbers", async () => {
    const lk = client();
    const config = livekitConfig(env);
    const trunk = await lk.createOutboundTrunk({
      name: "master",
      address: config.termination?.domain ?? "",
      numbers: ["+14155550100"],
      authUsername: "livekit",
      authPassword: SIP_PASSWORD,
      transport: "tcp",
    });
    expect(trunk).toEqual({
      id: expect.stringMatching(/^ST_/),
      name: "master",
      metadata: "",
      address: "phone-numbers-dev.pstn.twilio.com",
      transport: "tcp",
      numbers: ["+14155550100"],
      authUsername: "livekit",
      hasAuthPassword: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(JSON.stringify(trunk)).not.toContain(SIP_PASSWORD);
    const updated = await lk.updateOutboundTrunkNumbers(trunk.id, {
      add: ["+14155550101"],
      remove: ["+14155550100"],
    });
    expect(updated.numbers).toEqual(["+14155550101"]);
    expect(await lk.listOutboundTrunks({ numbers: ["+14155550101"] })).toEqual([updated]);
    expect(await lk.getOutboundTrunk(trunk.id)).toEqual(updated);
    expect(await lk.getInboundTrunk(trunk.id)).toBeNull();
    expect(await lk.deleteTrunk(trunk.id)).toBe("deleted");
  });

  it("creates, lists, replaces and deletes dispatch rules, which route calls to the agent", async () => {
    const lk = client();
    const trunk = await lk.createInboundTrunk({ name: "t", numbers: ["+14155550100"] });
    const spec = {
      name: "ws_1 +14155550100",
      trunkIds: [trunk.id],
      numbers: ["+14155550100"],
      agentName: "support-agent",
      roomPrefix: "call-",
      metadata: '{"number_id":"pn_1"}',
      attributes: { workspace_id: "ws_1" },
    };
    const rule = await lk.createDispatchRule(spec);
    expect(rule).toEqual({
      id: expect.stringMatching(/^SDR_/),
      name: "ws_1 +14155550100",
      metadata: '{"number_id":"pn_1"}',
      trunkIds: [trunk.id],
      numbers: ["+14155550100"],
      inboundNumbers: [],
      kind: "individual",
      roomPrefix: "call-",
      roomName: null,
      pin: null,
      agentNames: ["support-agent"],
      attributes: { workspace_id: "ws_1" },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const route = await livekitStandin.route("+14155550100");
    expect(route).toMatchObject({ accepted: true, inbound_trunk_id: trunk.id });
    expect(route.matching_rules.map((r) => [r.sip_dispatch_rule_id, r.agent_names])).toEqual([
      [rule.id, ["support-agent"]],
    ]);

    expect(await lk.listDispatchRules({ trunkIds: [trunk.id] })).toEqual([rule]);
    expect(await lk.listDispatchRules({ ruleIds: [rule.id, "SDR_missing00000"] })).toEqual([rule]);
    const moved = await lk.updateDispatchRule(rule.id, { ...spec, agentName: "sales-agent" });
    expect(moved).toMatchObject({ id: rule.id, agentNames: ["sales-agent"] });
    expect((await livekitStandin.route("+14155550100")).matching_rules[0]?.agent_names).toEqual([
      "sales-agent",
    ]);
    expect(await lk.deleteDispatchRule(rule.id)).toBe("deleted");
    expect(await lk.deleteDispatchRule(rule.id)).toBe("not_found");
  });

  it("searches, buys, reads, reassigns, lists and releases LiveKit numbers", async () => {
    const lk = client();
    const available = await lk.searchPhoneNumbers({ areaCode: "415", limit: 3 });
    expect(available).toHaveLength(3);
    expect(available[0]).toEqual({
      e164: "+14155550100",
      countryCode: "US",
      areaCode: "415",
      numberType: "local",
      locality: "San Francisco",
      region: "CA",
      capabilities: ["voice"],
    });
    const rule = await lk.createDispatchRule({
      name: "r",
      trunkIds: [],
      numbers: [],
      agentName: "a",
      roomPrefix: "call-",
    });
    const bought = await lk.purchasePhoneNumber("+14155550100", rule.id);
    expect(bought).toMatchObject({
      id: expect.stringMatching(/^PN_/),
      e164: "+14155550100",
      status: "active",
      dispatchRuleIds: [rule.id],
      releasedAt: null,
    });
    expect(await lk.getPhoneNumber({ id: bought.id })).toEqual(bought);
    expect(await lk.getPhoneNumber({ phoneNumber: "+14155550100" })).toEqual(bought);
    expect(await lk.getPhoneNumber({ phoneNumber: "+14155550199" })).toBeNull();

    const plain = await lk.purchasePhoneNumber("+14155550101");
    expect(plain).toMatchObject({ status: "offline", dispatchRuleIds: [] });
    const assigned = await lk.setPhoneNumberDispatchRule({ phoneNumber: plain.e164 }, rule.id);
    expect(assigned).toMatchObject({ status: "active", dispatchRuleIds: [rule.id] });
    const unassigned = await lk.setPhoneNumberDispatchRule({ id: plain.id }, null);
    expect(unassigned.status).toBe("offline");

    expect((await lk.listPhoneNumbers()).map((n) => n.e164)).toEqual([
      "+14155550100",
      "+14155550101",
    ]);
    expect((await lk.listPhoneNumbers({ statuses: ["active"] })).map((n) => n.id)).toEqual([
      bought.id,
    ]);
    expect(await lk.releasePhoneNumbers({ ids: [bought.id] })).toBe("released");
    expect(await lk.releasePhoneNumbers({ phoneNumbers: [plain.e164] })).toBe("released");
    expect(await lk.releasePhoneNumbers({ ids: [bought.id] })).toBe("not_found");
    expect((await lk.getPhoneNumber({ id: bought.id }))?.status).toBe("released");
    expect(await lk.listPhoneNumbers()).toEqual([]);

    const refused = await failure(lk.purchasePhoneNumber("+442071838750"));
    expect(refused).toMatchObject({ kind: "refused", twirpCode: "invalid_argument" });
    const gone = await failure(lk.purchasePhoneNumber("+14155559999"));
    expect(gone).toMatchObject({ kind: "refused", twirpCode: "not_found", notFound: true });
  });

  it("follows the pages of ListPhoneNumbers", async () => {
    const line = (i: number) => String(100 + i);
    // Bought straight at the stand-in: every number of 212, and five of 213.
    await twirpOk("PurchasePhoneNumber", {
      phone_numbers: Array.from({ length: 100 }, (_, i) => `+1212555${line(i).padStart(4, "0")}`),
    });
    await twirpOk("PurchasePhoneNumber", {
      phone_numbers: Array.from({ length: 5 }, (_, i) => `+1213555${line(i).padStart(4, "0")}`),
    });
    const listed = await client().listPhoneNumbers();
    expect(listed).toHaveLength(105);
    expect(new Set(listed.map((n) => n.e164)).size).toBe(105);
    const pages = (await livekitStandin.requests()).filter((e) => e.method === "ListPhoneNumbers");
    expect(pages).toHaveLength(2);
  });
});

describe("LiveKit failures", () => {
  const table: [TwirpCode, LiveKitError["kind"], number][] = [
    ["invalid_argument", "refused", 400],
    ["already_exists", "refused", 409],
    ["failed_precondition", "refused", 412],
    ["not_found", "refused", 404],
    ["unauthenticated", "rejected_credentials", 401],
    ["permission_denied", "rejected_credentials", 403],
    ["resource_exhausted", "throttled", 429],
    ["unavailable", "unknown", 503],
    ["internal", "unknown", 500],
    ["deadline_exceeded", "unknown", 408],
    ["unknown", "unknown", 500],
  ];

  it("maps each Twirp code by one table", async () => {
    const lk = client();
    for (const [code, kind, status] of table) {
      expect(TWIRP_CODE_KINDS[code]).toBe(kind);
      await livekitStandin.addFault({
        operation: "CreateSIPInboundTrunk",
        kind: "status",
        code,
        times: 1,
      });
      const error = await failure(lk.createInboundTrunk({ name: "t", numbers: ["+14155550100"] }));
      expect(error, code).toMatchObject({
        kind,
        httpStatus: status,
        twirpCode: code,
        notFound: code === "not_found",
        operation: "CreateSIPInboundTrunk",
      });
      if (kind === "throttled") expect(error.retryAfterSeconds).toBe(1);
    }
    expect((await livekitStandin.state()).inbound_trunks).toEqual([]);
  });

  it("judges replies without a Twirp body by their HTTP status", async () => {
    const lk = client();
    await livekitStandin.addFault({
      operation: "any",
      kind: "status",
      raw_body: "<html>502 Bad Gateway</html>",
      status: 502,
      times: 1,
    });
    expect(await failure(lk.listInboundTrunks())).toMatchObject({
      kind: "unknown",
      httpStatus: 502,
      twirpCode: null,
    });
    await livekitStandin.addFault({
      operation: "any",
      kind: "status",
      raw_body: "<html>404 Not Found</html>",
      status: 404,
      times: 1,
    });
    expect(await failure(lk.listInboundTrunks())).toMatchObject({
      kind: "refused",
      httpStatus: 404,
      notFound: false,
    });
  });

  it("treats a dropped connection, before or after the work, as an unknown outcome", async () => {
    const lk = client();
    await livekitStandin.addFault({ operation: "CreateSIPDispatchRule", kind: "drop", times: 1 });
    const spec = { name: "r", trunkIds: [], numbers: [], agentName: "a", roomPrefix: "call-" };
    expect(await failure(lk.createDispatchRule(spec))).toMatchObject({
      kind: "unknown",
      httpStatus: null,
    });
    await livekitStandin.addFault({
      operation: "CreateSIPDispatchRule",
      kind: "drop_after",
      times: 1,
    });
    expect(await failure(lk.createDispatchRule(spec))).toMatchObject({ kind: "unknown" });
    // The second one took effect: only asking again tells.
    expect(await lk.listDispatchRules()).toHaveLength(1);
  });

  it("times out every call, and a timed-out call may have taken effect", async () => {
    const lk = client();
    await livekitStandin.addFault({
      operation: "PurchasePhoneNumber",
      kind: "succeed_then_timeout",
      delay_ms: 3_000,
      times: 1,
    });
    const started = Date.now();
    const error = await failure(lk.purchasePhoneNumber("+16175550100"));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toMatchObject({ kind: "unknown", httpStatus: null });
    expect(error.message).toMatch(/no reply from LiveKit/);
    // Settled by asking:
    expect((await lk.getPhoneNumber({ phoneNumber: "+16175550100" }))?.status).toBe("offline");

    await livekitStandin.addFault({ operation: "any", kind: "delay", delay_ms: 2_000, times: 1 });
    expect(await failure(lk.listOutboundTrunks())).toMatchObject({ kind: "unknown" });
  });

  it("treats a reply it cannot read as an unknown outcome", async () => {
    const replies = [
      new Response("not json", { status: 200 }),
      Response.json({ trunk: { name: "no id" } }),
      Response.json({ items: [{ sip_trunk_id: 7 }] }),
    ];
    const fetcher = { fetch: async () => replies.shift() ?? new Response("", { status: 500 }) };
    const lk = client({ ...livekitConfig(env), fetcher: fetcher as unknown as Fetcher });
    expect(await failure(lk.createInboundTrunk({ name: "t", numbers: [] }))).toMatchObject({
      kind: "unknown",
      httpStatus: 200,
    });
    expect(await failure(lk.getInboundTrunk("ST_x"))).toMatchObject({ kind: "unknown" });
    expect(await failure(lk.listInboundTrunks())).toMatchObject({ kind: "unknown" });
    expect(await failure(lk.listInboundTrunks())).toMatchObject({
      kind: "unknown",
      httpStatus: 500,
    });
  });
});

describe("secrets", () => {
  const lines: string[] = [];

  beforeEach(() => {
    lines.length = 0;
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("never reach a log line or an error, even when LiveKit echoes them", async () => {
    const config = livekitConfig(env);
    const lk = client(config);
    const errors: LiveKitError[] = [];
    await lk.createOutboundTrunk({
      name: "master",
      address: "phone-numbers-dev.pstn.twilio.com",
      numbers: ["+14155550100"],
      authUsername: "livekit",
      authPassword: SIP_PASSWORD,
    });
    await livekitStandin.addFault({
      operation: "CreateSIPOutboundTrunk",
      kind: "status",
      code: "invalid_argument",
      message: `bad credentials ${SIP_PASSWORD} for ${LIVEKIT_STANDIN_SECRET}`,
      times: 1,
    });
    errors.push(
      await failure(
        lk.createOutboundTrunk({
          name: "again",
          address: "phone-numbers-dev.pstn.twilio.com",
          numbers: ["+14155550100"],
          authUsername: "livekit",
          authPassword: SIP_PASSWORD,
        }),
      ),
    );
    const wrong = livekitConfig(
      withSettings({ LIVEKIT_API_SECRET: "wrong-secret-0123456789abcdef" }),
    );
    errors.push(await failure(client(wrong).listOutboundTrunks()));
    await livekitStandin.addFault({ operation: "any", kind: "drop", times: 1 });
    errors.push(await failure(lk.listOutboundTrunks()));

    expect(lines.length).toBeGreaterThanOrEqual(4);
    const everything = [...lines, ...errors.map((e) => `${e.message} ${JSON.stringify(e)}`)].join(
      "\n",
    );
    expect(errors[0]?.message).toContain("[redacted]");
    for (const secret of [
      SIP_PASSWORD,
      LIVEKIT_STANDIN_SECRET,
      "wrong-secret-0123456789abcdef",
      config.termination?.password ?? "",
    ]) {
      expect(everything).not.toContain(secret);
    }
    // No token either: a JWT's header always starts with eyJ.
    expect(everything).not.toContain("eyJ");
    expect(lines.every((line) => JSON.parse(line).event === "livekit_call")).toBe(true);
  });
});

describe("the LiveKit contract", () => {
  it("sends only requests the protos allow, and gets only replies they describe", async () => {
    const lk = client();
    const inbound = await lk.createInboundTrunk({
      name: "t",
      numbers: ["+14155550100"],
      metadata: "{}",
      allowedNumbers: ["+12125550001"],
      authUsername: "u",
      authPassword: SIP_PASSWORD,
    });
    await lk.listInboundTrunks({ numbers: ["+14155550100"], trunkIds: [inbound.id] });
    await lk.getInboundTrunk(inbound.id);
    await lk.updateInboundTrunkNumbers(inbound.id, { add: ["+14155550101"], remove: [] });
    await lk.updateInboundTrunkNumbers(inbound.id, { set: [] }).catch(() => undefined);
    await lk.replaceInboundTrunk(inbound.id, { name: "t2", numbers: ["+14155550102"] });
    const outbound = await lk.createOutboundTrunk({
      name: "o",
      address: "x.pstn.twilio.com",
      numbers: ["+14155550100"],
      authUsername: "u",
      authPassword: SIP_PASSWORD,
      transport: "tls",
      metadata: "{}",
    });
    await lk.listOutboundTrunks({ trunkIds: [outbound.id] });
    await lk.getOutboundTrunk(outbound.id);
    await lk.updateOutboundTrunkNumbers(outbound.id, { remove: ["+14155550100"], add: ["+1"] });
    const spec = {
      name: "r",
      trunkIds: [inbound.id],
      numbers: ["+14155550102"],
      agentName: "a",
      roomPrefix: "call-",
      metadata: "{}",
      attributes: { a: "b" },
      pin: "1234",
    };
    const rule = await lk.createDispatchRule(spec);
    await lk.listDispatchRules({ trunkIds: [inbound.id], ruleIds: [rule.id] });
    await lk.updateDispatchRule(rule.id, { ...spec, pin: undefined });
    await lk.searchPhoneNumbers({ areaCode: "212", limit: 2 });
    await lk.searchPhoneNumbers();
    const bought = await lk.purchasePhoneNumber("+12125550100", rule.id);
    await lk.getPhoneNumber({ id: bought.id });
    await lk.getPhoneNumber({ phoneNumber: bought.e164 });
    await lk.setPhoneNumberDispatchRule({ id: bought.id }, null);
    await lk.listPhoneNumbers({ statuses: ["active", "offline"], dispatchRuleId: rule.id });
    await lk.releasePhoneNumbers({ phoneNumbers: [bought.e164] });
    await lk.releasePhoneNumbers({ ids: [bought.id] });
    await lk.deleteDispatchRule(rule.id);
    await lk.deleteTrunk(inbound.id);
    await lk.deleteTrunk(outbound.id);

    const log = await livekitStandin.requests();
    expect(new Set(log.map((entry) => entry.method)).size).toBe(19);
    const problems = log.flatMap((entry) => [
      ...checkLiveKitRequest(entry),
      ...checkLiveKitResponse(entry),
    ]);
    expect(problems).toEqual([]);
  });
});
