import { describe, expect, it } from "vitest";
import { expectMatchesSpec } from "./speechify-spec";

const valid = {
  id: "phone_01ARZ3NDEKTSV4RRFFQ69G5FAV",
  e164: "+14155550123",
  source: "twilio_purchased",
  label: null,
  trunk_id: null,
  agent_id: null,
  capabilities: ["inbound", "outbound"],
  livekit_phone_number_id: null,
  created_at: "2026-11-26T20:00:00.000Z",
  updated_at: "2026-11-26T20:00:00.000Z",
};

// The spec check must be able to fail, or the tests that lean on it prove nothing.
describe("expectMatchesSpec", () => {
  it("accepts a PhoneNumber with null optional fields", () => {
    expectMatchesSpec("/v1/agents/phone-numbers/{id}", "GET", 200, valid);
  });

  it.each([
    ["a missing required field", { ...valid, id: undefined }],
    ["an unknown source", { ...valid, source: "carrier_pigeon" }],
    ["an unknown capability", { ...valid, capabilities: ["sms"] }],
    ["a null required field", { ...valid, e164: null }],
  ])("rejects %s", (_, body) => {
    expect(() =>
      expectMatchesSpec(
        "/v1/agents/phone-numbers/{id}",
        "GET",
        200,
        JSON.parse(JSON.stringify(body)),
      ),
    ).toThrow();
  });

  it("rejects an error code outside the ErrorCode enum", () => {
    expect(() =>
      expectMatchesSpec("/v1/agents/phone-numbers/{id}", "GET", 404, {
        error: { code: "nope", message: "x" },
      }),
    ).toThrow();
  });

  it("rejects a status the spec does not list for the operation", () => {
    expect(() => expectMatchesSpec("/v1/agents/phone-numbers", "GET", 422, {})).toThrow();
  });
});
