import { beforeEach, describe, expect, it } from "vitest";
import agentDispatchProto from "../../spec/livekit/livekit_agent_dispatch.proto?raw";
import phoneNumberProto from "../../spec/livekit/livekit_phone_number.proto?raw";
import roomProto from "../../spec/livekit/livekit_room.proto?raw";
import sipProto from "../../spec/livekit/livekit_sip.proto?raw";
import { catalogueForNpa, isValidNpa } from "../../standins/livekit/inventory";
import supplementProto from "../../standins/livekit/models-supplement.proto?raw";
import { checkLiveKitRequest, checkLiveKitResponse } from "../../standins/livekit/proto-contract";
import { PROTO_SCHEMA, readMessage } from "../../standins/livekit/proto-json";
import { parseProtoFiles } from "../../standins/livekit/proto-parse";
import { PROTO_SOURCES } from "../../standins/livekit/proto-sources";
import type { LiveKitRequestLogEntry } from "../../standins/livekit/types";
import { catalogueForNpa as twilioCatalogueForNpa } from "../../standins/twilio/inventory";
import {
  LIVEKIT_STANDIN_SECRET,
  livekitStandin,
  signToken,
  twirp,
  twirpError,
  twirpOk,
} from "../helpers/livekit-standin";

type Info = Record<string, unknown>;
const ST_ID = /^ST_[0-9A-Za-z]{12}$/;
const SDR_ID = /^SDR_[0-9A-Za-z]{12}$/;
const PN_ID = /^PN_[0-9A-Za-z]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const createInbound = (trunk: Info) => twirpOk("CreateSIPInboundTrunk", { trunk });
const createOutbound = (trunk: Info) => twirpOk("CreateSIPOutboundTrunk", { trunk });
const createRule = (dispatchRule: Info) =>
  twirpOk("CreateSIPDispatchRule", { dispatch_rule: dispatchRule });

/** A dispatch rule for an agent: one room per caller, prefixed. */
function agentRule(options: {
  trunkIds?: string[];
  numbers?: string[];
  agent: string;
  pin?: string;
}): Info {
  const individual: Info = { room_prefix: `call-${options.agent}-` };
  if (options.pin) individual.pin = options.pin;
  return {
    name: `rule for ${options.agent}`,
    trunk_ids: options.trunkIds ?? [],
    numbers: options.numbers ?? [],
    rule: { dispatch_rule_individual: individual },
    room_config: { agents: [{ agent_name: options.agent }] },
  };
}

beforeEach(async () => {
  await livekitStandin.reset();
});

describe("the schema and the inventory", () => {
  it("proto-schema.json is what `npm run livekit-schema` writes from the protos today", () => {
    const text: Record<string, string> = {
      "spec/livekit/livekit_agent_dispatch.proto": agentDispatchProto,
      "spec/livekit/livekit_room.proto": roomProto,
      "spec/livekit/livekit_sip.proto": sipProto,
      "spec/livekit/livekit_phone_number.proto": phoneNumberProto,
      "standins/livekit/models-supplement.proto": supplementProto,
    };
    expect(Object.keys(text)).toEqual([...PROTO_SOURCES]);
    // Run `npm run livekit-schema` when this fails.
    expect(parseProtoFiles(text)).toEqual(PROTO_SCHEMA);
  });

  it("knows every message the two services use, and marks secret fields", () => {
    for (const service of ["livekit.SIP", "livekit.PhoneNumberService"]) {
      for (const { input, output } of Object.values(PROTO_SCHEMA.services[service] ?? {})) {
        expect(PROTO_SCHEMA.messages[input], input).toBeDefined();
        expect(PROTO_SCHEMA.messages[output], output).toBeDefined();
      }
    }
    expect(PROTO_SCHEMA.messages["livekit.ListUpdate"]?.fields.add?.label).toBe("repeated");
    expect(
      PROTO_SCHEMA.messages["livekit.SIPOutboundTrunkInfo"]?.fields.auth_password?.secret,
    ).toBe(true);
    expect(PROTO_SCHEMA.messages["livekit.SIPDispatchRule"]?.oneofs.rule).toEqual([
      "dispatch_rule_direct",
      "dispatch_rule_individual",
      "dispatch_rule_callee",
    ]);
  });

  it("sells numbers the Twilio stand-in never offers", () => {
    let checked = 0;
    for (let n = 200; n <= 999; n++) {
      const npa = String(n);
      if (!isValidNpa(npa)) continue;
      const twilio = new Set(twilioCatalogueForNpa(npa));
      for (const number of catalogueForNpa(npa)) {
        expect(twilio.has(number), number).toBe(false);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50_000);
  });
});

describe("authentication", () => {
  it("accepts a token signed with the project's secret that grants sip.admin", async () => {
    const response = await twirp("ListSIPInboundTrunk", {});
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    const [entry] = await livekitStandin.requests();
    expect(entry).toMatchObject({ auth: "ok", sip_admin: true, method: "ListSIPInboundTrunk" });
  });

  it("answers unauthenticated (401) to a missing, forged, foreign, expired or future token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string | null, string][] = [
      [null, "missing"],
      ["not-a-jwt", "malformed"],
      [await signToken({}, "another-secret-of-thirty-two-characters"), "bad_signature"],
      [await signToken({ iss: "another-key" }), "unknown_key"],
      [await signToken({ exp: now - 600 }), "expired"],
      [await signToken({ exp: undefined }), "expired"],
      [await signToken({ nbf: now + 600 }), "not_yet_valid"],
      [await signToken({}, LIVEKIT_STANDIN_SECRET, { alg: "none" }), "malformed"],
    ];
    for (const [token, verdict] of cases) {
      const error = await twirpError(
        "CreateSIPInboundTrunk",
        { trunk: { numbers: ["+14155550100"] } },
        { token },
      );
      expect(error, verdict).toMatchObject({ status: 401, code: "unauthenticated" });
    }
    expect((await livekitStandin.state()).inbound_trunks).toEqual([]);
    const log = await livekitStandin.requests();
    expect(log.map((entry) => entry.auth)).toEqual(cases.map(([, verdict]) => verdict));
    // The log never holds a token or the secret.
    const serialized = JSON.stringify(log);
    expect(serialized).not.toContain(LIVEKIT_STANDIN_SECRET);
    expect(serialized).not.toContain("eyJ");
  });

  it("tolerates a minute of clock skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    const skewed = await signToken({ nbf: now + 30, exp: now - 30 });
    expect((await twirp("ListSIPInboundTrunk", {}, { token: skewed })).status).toBe(200);
  });

  it("answers permission_denied (403) to a valid token without sip.admin", async () => {
    for (const sip of [undefined, { call: true }, { admin: false }]) {
      const error = await twirpError(
        "ListSIPInboundTrunk",
        {},
        { token: await signToken({ sip, video: { roomAdmin: true } }) },
      );
      expect(error).toMatchObject({ status: 403, code: "permission_denied" });
    }
    const log = await livekitStandin.requests();
    expect(log.every((entry) => entry.auth === "ok" && !entry.sip_admin)).toBe(true);
  });
});

describe("Twirp routing and decoding", () => {
  it("answers bad_route (404) to other methods, paths, services and content types", async () => {
    const unknown = await twirpError("CreateSIPTrunkPlease", {});
    expect(unknown).toMatchObject({
      status: 404,
      code: "bad_route",
      meta: { twirp_invalid_route: "POST /twirp/livekit.SIP/CreateSIPTrunkPlease" },
    });
    const otherService = await twirpError(
      "CreateRoom",
      { name: "r" },
      { service: "livekit.RoomService" },
    );
    expect(otherService).toMatchObject({ status: 404, code: "bad_route" });
    const get = await twirpError("ListSIPInboundTrunk", {}, { httpMethod: "GET" });
    expect(get).toMatchObject({ status: 404, code: "bad_route" });
    expect(get.msg).toContain("only POST");
    const form = await twirpError("ListSIPInboundTrunk", {}, { contentType: "text/plain" });
    expect(form).toMatchObject({ status: 404, code: "bad_route" });
  });

  it("answers malformed (400) to a body that is not JSON or not the message", async () => {
    const notJson = await twirpError("ListSIPInboundTrunk", {}, { rawBody: "{trunk:" });
    expect(notJson).toMatchObject({ status: 400, code: "malformed" });
    const wrongType = await twirpError("CreateSIPInboundTrunk", {
      trunk: { numbers: "+14155550100" },
    });
    expect(wrongType).toMatchObject({ status: 400, code: "malformed" });
    expect(wrongType.meta?.cause).toContain("trunk.numbers");
    const twoOneofs = await twirpError("UpdateSIPInboundTrunk", {
      sip_trunk_id: "ST_x",
      replace: {},
      update: {},
    });
    expect(twoOneofs).toMatchObject({ status: 400, code: "malformed" });
    const log = await livekitStandin.requests();
    expect(log[0]?.body_text).toBe("{trunk:");
  });

  it("ignores unknown fields and accepts JSON names, as protojson does", async () => {
    const trunk = await twirpOk("CreateSIPInboundTrunk", {
      trunk: { name: "lenient", numbers: ["+14155550100"], colour: "blue", allowedNumbers: ["+1"] },
    });
    expect(trunk).toMatchObject({ name: "lenient", allowed_numbers: ["+1"] });
    expect(trunk).not.toHaveProperty("colour");
    // Only a field's own default is left out: "0" is a string like any other.
    const zeros = await createInbound({
      name: "0",
      numbers: ["+14155550199"],
      krisp_enabled: false,
      include_headers: 0,
    });
    expect(zeros.name).toBe("0");
    expect(zeros).not.toHaveProperty("krisp_enabled");
    expect(zeros).not.toHaveProperty("include_headers");
  });

  it("answers unimplemented (501) to the protos' rpcs it does not play", async () => {
    const error = await twirpError("CreateSIPParticipant", { sip_trunk_id: "ST_x" });
    expect(error).toMatchObject({ status: 501, code: "unimplemented" });
  });
});

describe("inbound trunks", () => {
  it("creates, gets, lists, updates and deletes one", async () => {
    const created = await createInbound({
      sip_trunk_id: "ST_ignored",
      name: "Support line",
      metadata: '{"workspace":"ws_1"}',
      numbers: ["+14155550100"],
      auth_username: "",
      krisp_enabled: false,
    });
    expect(created.sip_trunk_id).toMatch(ST_ID);
    expect(created.created_at).toMatch(ISO);
    expect(created.updated_at).toBe(created.created_at);
    // Defaults are left out, consistently.
    expect(created).toEqual({
      sip_trunk_id: created.sip_trunk_id,
      name: "Support line",
      metadata: '{"workspace":"ws_1"}',
      numbers: ["+14155550100"],
      created_at: created.created_at,
      updated_at: created.updated_at,
    });
    const id = created.sip_trunk_id as string;

    expect(await twirpOk("GetSIPInboundTrunk", { sip_trunk_id: id })).toEqual({ trunk: created });
    expect(await twirpOk("ListSIPInboundTrunk", {})).toEqual({ items: [created] });

    const added = await twirpOk("UpdateSIPInboundTrunk", {
      sip_trunk_id: id,
      update: { numbers: { add: ["+14155550101", "+14155550100"] }, name: "Support lines" },
    });
    expect(added).toMatchObject({
      numbers: ["+14155550100", "+14155550101"],
      name: "Support lines",
      metadata: '{"workspace":"ws_1"}',
      created_at: created.created_at,
    });
    const removed = await twirpOk("UpdateSIPInboundTrunk", {
      sip_trunk_id: id,
      update: { numbers: { remove: ["+14155550100"] }, metadata: "" },
    });
    expect(removed.numbers).toEqual(["+14155550101"]);
    expect(removed).not.toHaveProperty("metadata");
    const set = await twirpOk("UpdateSIPInboundTrunk", {
      sip_trunk_id: id,
      update: { numbers: { set: ["+14155550102"] } },
    });
    expect(set.numbers).toEqual(["+14155550102"]);

    const replaced = await twirpOk("UpdateSIPInboundTrunk", {
      sip_trunk_id: id,
      replace: { name: "Replaced", numbers: ["+14155550103"], allowed_numbers: ["+12125550199"] },
    });
    expect(replaced).toEqual({
      sip_trunk_id: id,
      name: "Replaced",
      numbers: ["+14155550103"],
      allowed_numbers: ["+12125550199"],
      created_at: created.created_at,
      updated_at: replaced.updated_at,
    });

    const deleted = await twirpOk("DeleteSIPTrunk", { sip_trunk_id: id });
    expect(deleted).toEqual({
      sip_trunk_id: id,
      kind: "TRUNK_INBOUND",
      name: "Replaced",
      outbound_number: "+14155550103",
      inbound_numbers: ["+12125550199"],
    });
    for (const [method, body] of [
      ["GetSIPInboundTrunk", { sip_trunk_id: id }],
      ["DeleteSIPTrunk", { sip_trunk_id: id }],
      ["UpdateSIPInboundTrunk", { sip_trunk_id: id, update: { name: "x" } }],
    ] as const) {
      expect(await twirpError(method, body)).toMatchObject({ status: 404, code: "not_found" });
    }
  });

  it("refuses a trunk that would accept any call from anywhere, and bad list updates", async () => {
    const open = await twirpError("CreateSIPInboundTrunk", { trunk: { name: "open" } });
    expect(open).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(open.msg).toContain("for security");
    expect(await twirpError("CreateSIPInboundTrunk", {})).toMatchObject({
      code: "invalid_argument",
    });
    const { sip_trunk_id: id } = await createInbound({ numbers: ["+14155550100"] });
    for (const numbers of [
      { set: ["+1"], add: ["+2"] },
      { clear: true, add: ["+2"] },
      { add: [""] },
      { add: ["+2"], remove: ["+2"] },
    ]) {
      const error = await twirpError("UpdateSIPInboundTrunk", {
        sip_trunk_id: id,
        update: { numbers },
      });
      expect(error, JSON.stringify(numbers)).toMatchObject({ code: "invalid_argument" });
    }
    const noAction = await twirpError("UpdateSIPInboundTrunk", { sip_trunk_id: id });
    expect(noAction).toMatchObject({ code: "invalid_argument" });
    // Clearing the numbers of a trunk with no other protection is refused too.
    const cleared = await twirpError("UpdateSIPInboundTrunk", {
      sip_trunk_id: id,
      update: { numbers: { clear: true } },
    });
    expect(cleared.msg).toContain("for security");
  });

  it("lists by trunk_ids in the order asked (an empty item for a missing one) and by numbers", async () => {
    const a = await createInbound({ name: "a", numbers: ["+14155550100"] });
    const b = await createInbound({ name: "b", numbers: ["+14155550101"] });
    const wildcard = await createInbound({ name: "any", auth_username: "u", auth_password: "p" });
    const byIds = await twirpOk("ListSIPInboundTrunk", {
      trunk_ids: [b.sip_trunk_id, "ST_missing00000", a.sip_trunk_id],
    });
    expect(byIds).toEqual({ items: [b, {}, a] });
    const byNumber = await twirpOk<{ items: Info[] }>("ListSIPInboundTrunk", {
      numbers: ["+14155550101"],
    });
    expect(byNumber.items.map((t) => t.name)).toEqual(["b", "any"]);
    const paged = await twirpOk<{ items: Info[] }>("ListSIPInboundTrunk", { page: { limit: 2 } });
    expect(paged.items).toHaveLength(2);
    const sorted = [a, b, wildcard].map((t) => t.sip_trunk_id as string).sort();
    expect(paged.items.map((t) => t.sip_trunk_id)).toEqual(sorted.slice(0, 2));
    const rest = await twirpOk<{ items: Info[] }>("ListSIPInboundTrunk", {
      page: { after_id: sorted[1] },
    });
    expect(rest.items.map((t) => t.sip_trunk_id)).toEqual(sorted.slice(2));
  });
});

describe("LiveKit's conflict rules", () => {
  it("refuses a second inbound trunk claiming the same number", async () => {
    const first = await createInbound({ name: "first", numbers: ["+14155550100", "+14155550101"] });
    const error = await twirpError("CreateSIPInboundTrunk", {
      trunk: { name: "second", numbers: ["+1 (415) 555-0101"] },
    });
    expect(error).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(error.msg).toContain("Conflicting inbound SIP Trunks");
    expect(error.msg).toContain(first.sip_trunk_id as string);

    // Different allowed_numbers tell two trunks for the same number apart.
    await createInbound({ numbers: ["+14155550102"], allowed_numbers: ["+12125550001"] });
    await createInbound({ numbers: ["+14155550102"], allowed_numbers: ["+12125550002"] });
    const third = await twirpError("CreateSIPInboundTrunk", {
      trunk: { numbers: ["+14155550102"], allowed_numbers: ["+12125550002"] },
    });
    expect(third.msg).toContain("Conflicting inbound SIP Trunks");

    // An update into a conflict is refused and changes nothing.
    const other = await createInbound({ name: "other", numbers: ["+14155550103"] });
    const update = await twirpError("UpdateSIPInboundTrunk", {
      sip_trunk_id: other.sip_trunk_id,
      update: { numbers: { add: ["+14155550100"] } },
    });
    expect(update.code).toBe("invalid_argument");
    const after = await twirpOk<{ trunk: Info }>("GetSIPInboundTrunk", {
      sip_trunk_id: other.sip_trunk_id,
    });
    expect(after.trunk.numbers).toEqual(["+14155550103"]);
    // Two wildcard trunks conflict too.
    await createInbound({ auth_username: "a", auth_password: "b" });
    const wildcard = await twirpError("CreateSIPInboundTrunk", {
      trunk: { allowed_addresses: ["10.0.0.0/8"] },
    });
    expect(wildcard.msg).toContain("Conflicting inbound SIP Trunks");
  });

  it("refuses a duplicate dispatch rule for the same trunk, number and PIN", async () => {
    const trunk = await createInbound({ numbers: ["+14155550100", "+14155550101"] });
    const trunkId = trunk.sip_trunk_id as string;
    const first = await createRule(
      agentRule({ trunkIds: [trunkId], numbers: ["+14155550100"], agent: "a" }),
    );
    expect(first.sip_dispatch_rule_id).toMatch(SDR_ID);
    const duplicate = await twirpError("CreateSIPDispatchRule", {
      dispatch_rule: agentRule({ trunkIds: [trunkId], numbers: ["+14155550100"], agent: "b" }),
    });
    expect(duplicate).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(duplicate.msg).toContain("Conflicting SIP Dispatch Rules");

    // Another number, another PIN or another trunk is no conflict.
    await createRule(agentRule({ trunkIds: [trunkId], numbers: ["+14155550101"], agent: "b" }));
    await createRule(
      agentRule({ trunkIds: [trunkId], numbers: ["+14155550100"], agent: "c", pin: "1234" }),
    );
    await createRule(agentRule({ numbers: ["+14155550100"], agent: "wildcard" }));
    // Two rules for every trunk and number do conflict.
    await createRule(agentRule({ agent: "catch-all" }));
    const second = await twirpError("CreateSIPDispatchRule", {
      dispatch_rule: agentRule({ agent: "catch-all-2" }),
    });
    expect(second.code).toBe("invalid_argument");
    expect((await livekitStandin.state()).dispatch_rules).toHaveLength(5);
  });

  it("checks against what trunks and rules claim now: after an update or a delete", async () => {
    const trunk = await createInbound({ name: "moving", numbers: ["+14155550110"] });
    const trunkId = trunk.sip_trunk_id as string;
    // The trunk moves to another number: its old one is free, its new one taken.
    await twirpOk("UpdateSIPInboundTrunk", {
      sip_trunk_id: trunkId,
      update: { numbers: { set: ["+14155550111"] } },
    });
    await createInbound({ name: "takes the old number", numbers: ["+14155550110"] });
    const taken = await twirpError("CreateSIPInboundTrunk", {
      trunk: { numbers: ["+14155550111"] },
    });
    expect(taken.msg).toContain(trunkId);
    // Deleted, it claims nothing.
    await twirpOk("DeleteSIPTrunk", { sip_trunk_id: trunkId });
    await createInbound({ name: "takes the new number", numbers: ["+14155550111"] });

    const rule = await createRule(agentRule({ numbers: ["+14155550112"], agent: "a" }));
    await twirpOk("DeleteSIPDispatchRule", { sip_dispatch_rule_id: rule.sip_dispatch_rule_id });
    await createRule(agentRule({ numbers: ["+14155550112"], agent: "b" }));
  });

  it("lets outbound trunks share numbers", async () => {
    const trunk = { address: "example.pstn.twilio.com", numbers: ["+14155550100"] };
    await createOutbound(trunk);
    await createOutbound(trunk);
    expect((await livekitStandin.state()).outbound_trunks).toHaveLength(2);
  });
});

describe("outbound trunks", () => {
  it("creates one with credentials, updates its numbers in place and deletes it", async () => {
    const created = await createOutbound({
      name: "Master trunk",
      address: "phone-numbers-dev.pstn.twilio.com",
      numbers: ["+14155550100"],
      auth_username: "livekit",
      auth_password: "sip-secret-password",
      transport: "SIP_TRANSPORT_TCP",
    });
    expect(created).toMatchObject({
      address: "phone-numbers-dev.pstn.twilio.com",
      auth_username: "livekit",
      auth_password: "sip-secret-password",
      transport: "SIP_TRANSPORT_TCP",
    });
    const id = created.sip_trunk_id as string;
    expect(id).toMatch(ST_ID);
    const updated = await twirpOk("UpdateSIPOutboundTrunk", {
      sip_trunk_id: id,
      update: { numbers: { add: ["+14155550101"], remove: ["+14155550100"] } },
    });
    expect(updated.numbers).toEqual(["+14155550101"]);
    expect(updated.auth_password).toBe("sip-secret-password");
    expect(await twirpOk("GetSIPOutboundTrunk", { sip_trunk_id: id })).toEqual({ trunk: updated });
    // The inbound methods do not see an outbound trunk.
    expect(await twirpError("GetSIPInboundTrunk", { sip_trunk_id: id })).toMatchObject({
      code: "not_found",
    });
    const listed = await twirpOk<{ items: Info[] }>("ListSIPOutboundTrunk", {
      numbers: ["+14155550101"],
    });
    expect(listed.items.map((t) => t.sip_trunk_id)).toEqual([id]);
    expect(
      (await twirpOk<{ items: Info[] }>("ListSIPOutboundTrunk", { numbers: ["+1999"] })).items ??
        [],
    ).toEqual([]);

    // The control API's state never shows the password.
    const state = await livekitStandin.state();
    expect(state.outbound_trunks[0]?.auth_password).toBe("<redacted>");
    expect(JSON.stringify(await livekitStandin.requests())).not.toContain("sip-secret-password");

    const deleted = await twirpOk("DeleteSIPTrunk", { sip_trunk_id: id });
    expect(deleted).toMatchObject({
      sip_trunk_id: id,
      kind: "TRUNK_OUTBOUND",
      outbound_address: "phone-numbers-dev.pstn.twilio.com",
      outbound_number: "+14155550101",
      transport: "SIP_TRANSPORT_TCP",
    });
  });

  it("refuses a trunk without numbers, without an address, or with a SIP URI", async () => {
    for (const trunk of [
      { address: "x.pstn.twilio.com" },
      { numbers: ["+14155550100"] },
      { numbers: ["+14155550100"], address: "sip:x.pstn.twilio.com" },
      { numbers: ["+14155550100"], address: "user@x.pstn.twilio.com" },
    ]) {
      const error = await twirpError("CreateSIPOutboundTrunk", { trunk });
      expect(error, JSON.stringify(trunk)).toMatchObject({ status: 400, code: "invalid_argument" });
    }
  });
});

describe("dispatch rules", () => {
  it("creates, lists, updates and deletes them", async () => {
    const trunk = await createInbound({ numbers: ["+14155550100"] });
    const trunkId = trunk.sip_trunk_id as string;
    const rule = await createRule({
      ...agentRule({ trunkIds: [trunkId], numbers: ["+14155550100"], agent: "support-agent" }),
      metadata: '{"number_id":"pn_1"}',
      attributes: { workspace: "ws_1" },
    });
    const id = rule.sip_dispatch_rule_id as string;
    expect(rule).toEqual({
      sip_dispatch_rule_id: id,
      name: "rule for support-agent",
      trunk_ids: [trunkId],
      numbers: ["+14155550100"],
      rule: { dispatch_rule_individual: { room_prefix: "call-support-agent-" } },
      room_config: { agents: [{ agent_name: "support-agent" }] },
      metadata: '{"number_id":"pn_1"}',
      attributes: { workspace: "ws_1" },
      created_at: rule.created_at,
      updated_at: rule.created_at,
    });
    const wildcard = await createRule(agentRule({ agent: "fallback" }));
    const other = await createRule(agentRule({ trunkIds: ["ST_other000000"], agent: "other" }));

    const forTrunk = await twirpOk<{ items: Info[] }>("ListSIPDispatchRule", {
      trunk_ids: [trunkId],
    });
    expect(forTrunk.items.map((r) => r.sip_dispatch_rule_id)).toEqual([
      id,
      wildcard.sip_dispatch_rule_id,
    ]);
    const byIds = await twirpOk("ListSIPDispatchRule", {
      dispatch_rule_ids: [other.sip_dispatch_rule_id, "SDR_missing00000"],
    });
    expect(byIds).toEqual({ items: [other, {}] });

    const renamed = await twirpOk("UpdateSIPDispatchRule", {
      sip_dispatch_rule_id: id,
      update: { name: "renamed", trunk_ids: { add: ["ST_second00000"] } },
    });
    expect(renamed).toMatchObject({
      name: "renamed",
      trunk_ids: [trunkId, "ST_second00000"],
      numbers: ["+14155550100"],
      metadata: '{"number_id":"pn_1"}',
    });
    const replaced = await twirpOk("UpdateSIPDispatchRule", {
      sip_dispatch_rule_id: id,
      replace: agentRule({ trunkIds: [trunkId], numbers: ["+14155550101"], agent: "sales-agent" }),
    });
    expect(replaced).toMatchObject({
      sip_dispatch_rule_id: id,
      numbers: ["+14155550101"],
      room_config: { agents: [{ agent_name: "sales-agent" }] },
      created_at: rule.created_at,
    });
    expect(replaced).not.toHaveProperty("metadata");

    expect(await twirpOk("DeleteSIPDispatchRule", { sip_dispatch_rule_id: id })).toEqual(replaced);
    expect(await twirpError("DeleteSIPDispatchRule", { sip_dispatch_rule_id: id })).toMatchObject({
      status: 404,
      code: "not_found",
    });
    expect(
      await twirpError("UpdateSIPDispatchRule", { sip_dispatch_rule_id: id, update: {} }),
    ).toMatchObject({ code: "not_found" });
  });

  it("takes the deprecated top-level form, and needs a rule", async () => {
    const legacy = await twirpOk("CreateSIPDispatchRule", {
      rule: { dispatch_rule_direct: { room_name: "lobby" } },
      trunk_ids: ["ST_legacy00000"],
      name: "legacy",
    });
    expect(legacy).toMatchObject({
      rule: { dispatch_rule_direct: { room_name: "lobby" } },
      trunk_ids: ["ST_legacy00000"],
      name: "legacy",
    });
    const missing = await twirpError("CreateSIPDispatchRule", {
      dispatch_rule: { name: "no rule" },
    });
    expect(missing).toMatchObject({ status: 400, code: "invalid_argument" });
  });
});

describe("phone numbers", () => {
  it("searches US numbers by area code, leaving out those the project holds", async () => {
    const found = await twirpOk<{ items: Info[]; next_page_token?: { token: string } }>(
      "SearchPhoneNumbers",
      { country_code: "US", area_code: "415", limit: 10 },
    );
    expect(found.items).toHaveLength(10);
    expect(found.items[0]).toEqual({
      e164_format: "+14155550100",
      country_code: "US",
      area_code: "415",
      number_type: "PHONE_NUMBER_TYPE_LOCAL",
      locality: "San Francisco",
      region: "CA",
      capabilities: ["voice"],
    });
    const next = await twirpOk<{ items: Info[] }>("SearchPhoneNumbers", {
      country_code: "US",
      area_code: "415",
      limit: 10,
      page_token: found.next_page_token,
    });
    expect(next.items[0]?.e164_format).toBe("+14155550110");

    await twirpOk("PurchasePhoneNumber", { phone_numbers: ["+14155550100"] });
    const after = await twirpOk<{ items: Info[] }>("SearchPhoneNumbers", {
      country_code: "US",
      area_code: "415",
    });
    expect(after.items).toHaveLength(50);
    expect(after.items[0]?.e164_format).toBe("+14155550101");

    const all = await twirpOk<{ items: Info[] }>("SearchPhoneNumbers", {
      country_code: "US",
      limit: 1000,
    });
    expect(all.items.length).toBe(599);
    expect(await twirpOk("SearchPhoneNumbers", { country_code: "US", area_code: "416" })).toEqual(
      {},
    );
    for (const body of [{ country_code: "CA" }, {}, { country_code: "US", area_code: "41" }]) {
      const error = await twirpError("SearchPhoneNumbers", body);
      expect(error, JSON.stringify(body)).toMatchObject({ code: "invalid_argument" });
    }
  });

  it("purchases a number with a dispatch rule (ACTIVE) or without one (OFFLINE)", async () => {
    const rule = await createRule(agentRule({ agent: "support-agent" }));
    const ruleId = rule.sip_dispatch_rule_id as string;
    const { phone_numbers: bought } = await twirpOk<{ phone_numbers: Info[] }>(
      "PurchasePhoneNumber",
      { phone_numbers: ["+12125550150"], sip_dispatch_rule_id: ruleId },
    );
    const number = bought[0] ?? {};
    expect(number.id).toMatch(PN_ID);
    expect(number).toMatchObject({
      e164_format: "+12125550150",
      country_code: "US",
      area_code: "212",
      status: "PHONE_NUMBER_STATUS_ACTIVE",
      sip_dispatch_rule_id: ruleId,
      sip_dispatch_rule_ids: [ruleId],
      capabilities: ["voice"],
    });
    expect(number.created_at).toMatch(ISO);

    const { phone_numbers: plain } = await twirpOk<{ phone_numbers: Info[] }>(
      "PurchasePhoneNumber",
      { phone_numbers: ["+12125550151", "+12125550152"] },
    );
    expect(plain.map((n) => n.status)).toEqual([
      "PHONE_NUMBER_STATUS_OFFLINE",
      "PHONE_NUMBER_STATUS_OFFLINE",
    ]);

    const refusals: [unknown, string][] = [
      [{ phone_numbers: ["+12125550150"] }, "already_exists"],
      [{ phone_numbers: ["+12125551234"] }, "not_found"],
      [{ phone_numbers: ["+442071838750"] }, "invalid_argument"],
      [{ phone_numbers: ["+14165550100"] }, "invalid_argument"],
      [{ phone_numbers: ["4155550100"] }, "invalid_argument"],
      [{ phone_numbers: [] }, "invalid_argument"],
      [{ phone_numbers: ["+12125550160"], sip_dispatch_rule_id: "SDR_missing00000" }, "not_found"],
      // All or nothing: one bad number keeps the good one unsold.
      [{ phone_numbers: ["+12125550161", "+12125551234"] }, "not_found"],
    ];
    for (const [body, code] of refusals) {
      expect(await twirpError("PurchasePhoneNumber", body), JSON.stringify(body)).toMatchObject({
        code,
      });
    }
    expect((await livekitStandin.state()).phone_numbers).toHaveLength(3);
  });

  it("lists, gets, updates and releases numbers", async () => {
    const rule = await createRule(agentRule({ agent: "a" }));
    const ruleId = rule.sip_dispatch_rule_id as string;
    const { phone_numbers: bought } = await twirpOk<{ phone_numbers: Info[] }>(
      "PurchasePhoneNumber",
      { phone_numbers: ["+13125550100", "+13125550101", "+13125550102"] },
    );
    const [a, b, c] = bought as [Info, Info, Info];

    const listed = await twirpOk("ListPhoneNumbers", {});
    expect(listed).toEqual({ items: bought, total_count: 3, offline_count: 3 });

    const assigned = await twirpOk<{ phone_number: Info }>("UpdatePhoneNumber", {
      id: a.id,
      sip_dispatch_rule_id: ruleId,
    });
    expect(assigned.phone_number).toMatchObject({
      status: "PHONE_NUMBER_STATUS_ACTIVE",
      sip_dispatch_rule_ids: [ruleId],
    });
    const byRule = await twirpOk<{ items: Info[] }>("ListPhoneNumbers", {
      sip_dispatch_rule_id: ruleId,
    });
    expect(byRule.items.map((n) => n.id)).toEqual([a.id]);
    const active = await twirpOk<{ items: Info[]; total_count: number }>("ListPhoneNumbers", {
      statuses: ["PHONE_NUMBER_STATUS_ACTIVE"],
    });
    expect(active.items.map((n) => n.id)).toEqual([a.id]);

    expect(await twirpOk("GetPhoneNumber", { id: a.id })).toEqual(assigned);
    expect(await twirpOk("GetPhoneNumber", { phone_number: "+13125550100" })).toEqual(assigned);
    expect(await twirpError("GetPhoneNumber", { phone_number: "+13125550199" })).toMatchObject({
      status: 404,
      code: "not_found",
    });
    expect(await twirpError("GetPhoneNumber", {})).toMatchObject({ code: "invalid_argument" });

    const cleared = await twirpOk<{ phone_number: Info }>("UpdatePhoneNumber", {
      phone_number: "+13125550100",
      sip_dispatch_rule_id: "",
    });
    expect(cleared.phone_number.status).toBe("PHONE_NUMBER_STATUS_OFFLINE");
    expect(cleared.phone_number).not.toHaveProperty("sip_dispatch_rule_ids");

    expect(await twirpOk("ReleasePhoneNumbers", { ids: [a.id] })).toEqual({});
    expect(await twirpOk("ReleasePhoneNumbers", { phone_numbers: ["+13125550101"] })).toEqual({});
    const released = await twirpOk<{ phone_number: Info }>("GetPhoneNumber", { id: a.id });
    expect(released.phone_number.status).toBe("PHONE_NUMBER_STATUS_RELEASED");
    expect(released.phone_number.released_at).toMatch(ISO);
    const remaining = await twirpOk<{ items: Info[] }>("ListPhoneNumbers", {});
    expect(remaining.items.map((n) => n.id)).toEqual([c.id]);
    const releasedList = await twirpOk<{ items: Info[] }>("ListPhoneNumbers", {
      statuses: ["PHONE_NUMBER_STATUS_RELEASED"],
    });
    expect(releasedList.items.map((n) => n.id)).toEqual([a.id, b.id]);

    expect(await twirpError("ReleasePhoneNumbers", { ids: [a.id] })).toMatchObject({
      code: "not_found",
    });
    expect(await twirpError("ReleasePhoneNumbers", {})).toMatchObject({
      code: "invalid_argument",
    });
    expect(
      await twirpError("UpdatePhoneNumber", { id: a.id, sip_dispatch_rule_id: ruleId }),
    ).toMatchObject({ code: "failed_precondition" });
    // A released number is for sale again.
    const again = await twirpOk<{ phone_numbers: Info[] }>("PurchasePhoneNumber", {
      phone_numbers: ["+13125550100"],
    });
    expect(again.phone_numbers[0]?.id).not.toBe(a.id);
  });

  it("takes a deleted dispatch rule off the numbers that used it", async () => {
    const rule = await createRule(agentRule({ agent: "a" }));
    await twirpOk("PurchasePhoneNumber", {
      phone_numbers: ["+12065550100"],
      sip_dispatch_rule_id: rule.sip_dispatch_rule_id,
    });
    await twirpOk("DeleteSIPDispatchRule", { sip_dispatch_rule_id: rule.sip_dispatch_rule_id });
    const { phone_number } = await twirpOk<{ phone_number: Info }>("GetPhoneNumber", {
      phone_number: "+12065550100",
    });
    expect(phone_number.status).toBe("PHONE_NUMBER_STATUS_OFFLINE");
  });
});

describe("the call-routing query", () => {
  it("routes a call to the trunk listing the number and the one rule for it", async () => {
    const trunk = await createInbound({ numbers: ["+14155550100"] });
    const trunkId = trunk.sip_trunk_id as string;
    const rule = await createRule(
      agentRule({ trunkIds: [trunkId], numbers: ["+14155550100"], agent: "support-agent" }),
    );
    expect(await livekitStandin.route("+14155550100")).toEqual({
      to: "+14155550100",
      from: null,
      accepted: true,
      inbound_trunk_id: trunkId,
      phone_number_id: null,
      matching_rules: [
        {
          sip_dispatch_rule_id: rule.sip_dispatch_rule_id,
          name: "rule for support-agent",
          agent_names: ["support-agent"],
          room_prefix: "call-support-agent-",
        },
      ],
      reason: null,
    });
  });

  it("matches rules by trunk and called number on a trunk shared by two numbers", async () => {
    const trunk = await createInbound({ numbers: ["+14155550100", "+14155550101"] });
    const trunkId = trunk.sip_trunk_id as string;
    await createRule(agentRule({ trunkIds: [trunkId], numbers: ["+14155550100"], agent: "a" }));
    await createRule(agentRule({ trunkIds: [trunkId], numbers: ["+14155550101"], agent: "b" }));
    const first = await livekitStandin.route("+14155550100");
    expect(first.matching_rules.map((r) => r.agent_names)).toEqual([["a"]]);
    const second = await livekitStandin.route("+14155550101");
    expect(second.matching_rules.map((r) => r.agent_names)).toEqual([["b"]]);
    // A rule for every trunk and number matches beside them.
    await createRule(agentRule({ agent: "catch-all" }));
    const both = await livekitStandin.route("+14155550100");
    expect(both.matching_rules.map((r) => r.agent_names[0])).toEqual(["a", "catch-all"]);
    expect(both.reason).toBe("2 dispatch rules match the call");
  });

  it("refuses a call no trunk lists, prefers a specific trunk over a wildcard, honours callers", async () => {
    const none = await livekitStandin.route("+14155550100");
    expect(none).toMatchObject({ accepted: false, inbound_trunk_id: null, matching_rules: [] });
    expect(none.reason).toContain("No trunk found");

    const wildcard = await createInbound({ auth_username: "u", auth_password: "p" });
    const specific = await createInbound({ numbers: ["+14155550100"] });
    expect((await livekitStandin.route("+14155550100")).inbound_trunk_id).toBe(
      specific.sip_trunk_id,
    );
    expect((await livekitStandin.route("+14155550199")).inbound_trunk_id).toBe(
      wildcard.sip_trunk_id,
    );

    const vip = await createInbound({
      numbers: ["+14155550150"],
      allowed_numbers: ["+12125550001"],
    });
    expect((await livekitStandin.route("+14155550150", "+12125550001")).inbound_trunk_id).toBe(
      vip.sip_trunk_id,
    );
    // Another caller falls through to the wildcard trunk.
    expect((await livekitStandin.route("+14155550150", "+12125550002")).inbound_trunk_id).toBe(
      wildcard.sip_trunk_id,
    );
  });

  it("routes a LiveKit number to the rule it was bought with", async () => {
    const rule = await createRule(agentRule({ agent: "support-agent" }));
    const { phone_numbers } = await twirpOk<{ phone_numbers: Info[] }>("PurchasePhoneNumber", {
      phone_numbers: ["+16175550100"],
      sip_dispatch_rule_id: rule.sip_dispatch_rule_id,
    });
    const answer = await livekitStandin.route("+16175550100");
    expect(answer).toMatchObject({
      accepted: true,
      inbound_trunk_id: null,
      phone_number_id: phone_numbers[0]?.id,
    });
    expect(answer.matching_rules.map((r) => r.sip_dispatch_rule_id)).toEqual([
      rule.sip_dispatch_rule_id,
    ]);
  });
});

describe("faults", () => {
  const inbound = { trunk: { numbers: ["+14155550100"] } };

  it("answers a status fault with the Twirp code's error and does nothing", async () => {
    await livekitStandin.addFault({
      operation: "CreateSIPInboundTrunk",
      kind: "status",
      code: "unavailable",
      times: 1,
    });
    const error = await twirpError("CreateSIPInboundTrunk", inbound);
    expect(error).toMatchObject({ status: 503, code: "unavailable" });
    expect((await livekitStandin.state()).inbound_trunks).toEqual([]);
    // times: 1 is used up.
    expect(await livekitStandin.faults()).toEqual([]);
    await twirpOk("CreateSIPInboundTrunk", inbound);

    await livekitStandin.addFault({
      operation: "any",
      kind: "status",
      code: "resource_exhausted",
      message: "slow down",
    });
    expect(await twirpError("ListSIPInboundTrunk", {})).toEqual({
      status: 429,
      code: "resource_exhausted",
      msg: "slow down",
    });
    expect((await livekitStandin.faults())[0]?.times_remaining).toBeNull();
    await livekitStandin.clearFaults();
    expect(await livekitStandin.faults()).toEqual([]);
  });

  it("answers a raw_body fault with a proxy's page instead of a Twirp error", async () => {
    await livekitStandin.addFault({
      operation: "any",
      kind: "status",
      raw_body: "<html>Bad Gateway</html>",
      status: 502,
      times: 1,
    });
    const response = await twirp("ListSIPInboundTrunk", {});
    expect(response.status).toBe(502);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    expect(await response.text()).toBe("<html>Bad Gateway</html>");
  });

  it("delays, drops before or after the work, and holds a reply after succeeding", async () => {
    await livekitStandin.addFault({
      operation: "CreateSIPInboundTrunk",
      kind: "delay",
      delay_ms: 200,
      times: 1,
    });
    const started = Date.now();
    await twirpOk("CreateSIPInboundTrunk", inbound);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);

    await livekitStandin.addFault({ operation: "CreateSIPOutboundTrunk", kind: "drop", times: 1 });
    const outbound = { trunk: { address: "x.pstn.twilio.com", numbers: ["+14155550100"] } };
    await expect(twirp("CreateSIPOutboundTrunk", outbound)).rejects.toThrow(
      /Network connection lost/,
    );
    expect((await livekitStandin.state()).outbound_trunks).toEqual([]);

    await livekitStandin.addFault({
      operation: "CreateSIPOutboundTrunk",
      kind: "drop_after",
      times: 1,
    });
    await expect(twirp("CreateSIPOutboundTrunk", outbound)).rejects.toThrow(
      /Network connection lost/,
    );
    expect((await livekitStandin.state()).outbound_trunks).toHaveLength(1);

    await livekitStandin.addFault({
      operation: "CreateSIPDispatchRule",
      kind: "succeed_then_timeout",
      delay_ms: 5_000,
      times: 1,
    });
    await expect(
      twirp(
        "CreateSIPDispatchRule",
        { dispatch_rule: agentRule({ agent: "a" }) },
        { signal: AbortSignal.timeout(300) },
      ),
    ).rejects.toThrow();
    expect((await livekitStandin.state()).dispatch_rules).toHaveLength(1);

    const log = await livekitStandin.requests();
    expect(log.map((e) => [e.method, e.status, e.fault])).toEqual([
      ["CreateSIPInboundTrunk", 200, "delay"],
      ["CreateSIPOutboundTrunk", 0, "drop"],
      ["CreateSIPOutboundTrunk", 200, "drop_after"],
      ["CreateSIPDispatchRule", 200, "succeed_then_timeout"],
    ]);
  });

  it("adds latency to every reply, and validates fault specs", async () => {
    await livekitStandin.setLatency(150);
    const started = Date.now();
    await twirpOk("ListSIPInboundTrunk", {});
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await livekitStandin.setLatency(0);

    for (const spec of [
      { operation: "CreateRoom", kind: "drop" },
      { operation: "any", kind: "explode" },
      { operation: "any", kind: "status" },
      { operation: "any", kind: "status", code: "teapot" },
    ]) {
      await expect(livekitStandin.addFault(spec as never), JSON.stringify(spec)).rejects.toThrow(
        /400/,
      );
    }
  });
});

describe("the control API", () => {
  it("reports state and the request log, and reset clears them", async () => {
    await createInbound({
      numbers: ["+14155550100"],
      auth_username: "u",
      auth_password: "hunter2-sip",
    });
    await createOutbound({ address: "x.pstn.twilio.com", numbers: ["+14155550100"] });
    await createRule(agentRule({ agent: "a" }));
    await twirpOk("PurchasePhoneNumber", { phone_numbers: ["+14155550100"] });
    const state = await livekitStandin.state();
    expect(
      [state.inbound_trunks, state.outbound_trunks, state.dispatch_rules, state.phone_numbers].map(
        (list) => list.length,
      ),
    ).toEqual([1, 1, 1, 1]);
    expect(state.inbound_trunks[0]?.auth_password).toBe("<redacted>");

    const [entry] = await livekitStandin.requests();
    expect(entry).toEqual({
      service: "livekit.SIP",
      method: "CreateSIPInboundTrunk",
      http_method: "POST",
      path: "/twirp/livekit.SIP/CreateSIPInboundTrunk",
      content_type: "application/json",
      body: {
        trunk: { numbers: ["+14155550100"], auth_username: "u", auth_password: "<redacted>" },
      },
      body_text: null,
      auth: "ok",
      sip_admin: true,
      status: 200,
      response: expect.objectContaining({ auth_password: "<redacted>" }),
      fault: null,
    } satisfies LiveKitRequestLogEntry);
    expect(JSON.stringify(await livekitStandin.requests())).not.toContain("hunter2-sip");

    await livekitStandin.reset();
    expect(await livekitStandin.state()).toEqual({
      inbound_trunks: [],
      outbound_trunks: [],
      dispatch_rules: [],
      phone_numbers: [],
    });
    expect(await livekitStandin.requests()).toEqual([]);
  });
});

describe("the proto contract checker", () => {
  it("finds nothing wrong with a realistic session, requests and replies alike", async () => {
    const trunk = await createInbound({
      name: "ws_1 +14155550100",
      numbers: ["+14155550100"],
      metadata: "{}",
      ringing_timeout: "30s",
      include_headers: "SIP_X_HEADERS",
    });
    await createOutbound({
      name: "master",
      address: "phone-numbers-dev.pstn.twilio.com",
      numbers: ["+14155550100"],
      auth_username: "livekit",
      auth_password: "secret",
      headers: { "X-Workspace": "ws_1" },
    });
    const rule = await createRule(
      agentRule({
        trunkIds: [trunk.sip_trunk_id as string],
        numbers: ["+14155550100"],
        agent: "a",
      }),
    );
    await twirpOk("ListSIPInboundTrunk", { numbers: ["+14155550100"], page: { limit: 10 } });
    await twirpOk("ListSIPDispatchRule", { trunk_ids: [trunk.sip_trunk_id] });
    await twirpOk("UpdateSIPInboundTrunk", {
      sip_trunk_id: trunk.sip_trunk_id,
      update: { numbers: { add: ["+14155550101"] } },
    });
    await twirpOk("SearchPhoneNumbers", { country_code: "US", area_code: "212", limit: 3 });
    await twirpOk("PurchasePhoneNumber", {
      phone_numbers: ["+12125550100"],
      sip_dispatch_rule_id: rule.sip_dispatch_rule_id,
    });
    await twirpOk("ListPhoneNumbers", { statuses: ["PHONE_NUMBER_STATUS_ACTIVE"], limit: 5 });
    await twirpOk("ReleasePhoneNumbers", { phone_numbers: ["+12125550100"] });
    await twirpError("PurchasePhoneNumber", { phone_numbers: ["+12125559999"] });
    await livekitStandin.addFault({
      operation: "any",
      kind: "status",
      code: "unavailable",
      times: 1,
    });
    await twirpError("DeleteSIPTrunk", { sip_trunk_id: trunk.sip_trunk_id });
    await twirpOk("DeleteSIPTrunk", { sip_trunk_id: trunk.sip_trunk_id });

    const log = await livekitStandin.requests();
    expect(log.length).toBe(13);
    const problems = log.flatMap((entry) => [
      ...checkLiveKitRequest(entry),
      ...checkLiveKitResponse(entry),
    ]);
    expect(problems).toEqual([]);
  });

  it("reports what is outside the protos (the checks can fail)", () => {
    const entry = (
      body: unknown,
      response: unknown = {},
      status = 200,
    ): LiveKitRequestLogEntry => ({
      service: "livekit.SIP",
      method: "CreateSIPInboundTrunk",
      http_method: "POST",
      path: "/twirp/livekit.SIP/CreateSIPInboundTrunk",
      content_type: "application/json",
      body,
      body_text: null,
      auth: "ok",
      sip_admin: true,
      status,
      response,
      fault: null,
    });
    const request = (body: unknown) => checkLiveKitRequest(entry(body)).join("\n");
    expect(request({ trunk: { numbers: ["+1"], colour: "blue" } })).toMatch(/no field colour/);
    expect(request({ trunk: { numbers: "+1" } })).toMatch(/trunk\.numbers: a repeated field/);
    expect(request({ trunk: { allowedNumbers: ["+1"] } })).toMatch(
      /proto field name allowed_numbers/,
    );
    expect(request({ trunk: { include_headers: "SIP_SOME_HEADERS" } })).toMatch(/not a value/);
    expect(request({ trunk: { ringing_timeout: 30 } })).toMatch(/Duration/);
    expect(request({ trunk: { headers: { a: 1 } } })).toMatch(/headers\["a"\]/);
    expect(request({ trunk: { krisp_enabled: "yes" } })).toMatch(/true or false/);
    expect(
      checkLiveKitRequest({
        ...entry({ sip_trunk_id: "ST_1", replace: {}, update: {} }),
        path: "/twirp/livekit.SIP/UpdateSIPInboundTrunk",
      }).join("\n"),
    ).toMatch(/oneof action is already set/);
    expect(checkLiveKitRequest({ ...entry({}), path: "/twirp/livekit.SIP/Nope" })).toHaveLength(1);
    expect(
      checkLiveKitRequest({ ...entry({}), auth: "missing", content_type: "text/plain" }),
    ).toHaveLength(2);

    const response = (reply: unknown, status = 200) =>
      checkLiveKitResponse(entry({}, reply, status)).join("\n");
    expect(response({ sip_trunk_id: "ST_1", numbers: null })).toMatch(/never writes null/);
    expect(response({ include_headers: 1 })).toMatch(/by name \(SIP_X_HEADERS\)/);
    expect(response({ created_at: "2026-01-01T00:00:00+02:00" })).toMatch(/Timestamp/);
    expect(response({ sip_trunk_id: 7 })).toMatch(/must be a string/);
    expect(response({ code: "not_found", msg: "x" }, 400)).toMatch(/HTTP 404, not 400/);
    expect(response({ code: "nope", msg: "x" }, 400)).toMatch(/not a Twirp error code/);
    expect(response({ code: "internal", message: "x" }, 500)).toMatch(/no field message/);
    // Types the protos share are checked in every message that uses them.
    const listResponse = checkLiveKitResponse({
      ...entry({}, { total_count: "3" }),
      path: "/twirp/livekit.PhoneNumberService/ListPhoneNumbers",
    });
    expect(listResponse.join("\n")).toMatch(/32-bit ints as numbers/);
    expect(readMessage("livekit.SIPCallInfo", { created_at_ns: 5 }, "response").problems).toEqual([
      "created_at_ns: a int64 must be a decimal string (protojson quotes 64-bit ints), not number 5",
    ]);
  });
});
