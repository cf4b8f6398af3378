import { describe, expect, it } from "vitest";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { checkTwilioRequest, checkTwilioResponse } from "../../standins/twilio/openapi-contract";
import { BASE, purchase, search, searchAndBuy } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { call, createWorkspace } from "../helpers/workspaces";

// Every request the Worker sends to Twilio, and every reply the stand-in gives it, checked
// against Twilio's own OpenAPI document, so neither side can drift from the real API.
describe("the Twilio contract", () => {
  it("sends only requests Twilio's spec allows, and gets only replies it describes", async () => {
    await twilioStandin.reset();
    const ws = await createWorkspace({ purchasedNumberLimit: 5 });

    // search, purchase, release
    const bought = await searchAndBuy(ws, "415", { label: "Contract" });
    expect((await call(`${BASE}/${bought.id}`, { key: ws.key, method: "DELETE" })).status).toBe(
      204,
    );
    // search without an area code; a purchase whose reply is lost (settled by a lookup)
    const [other] = await search(ws, "limit=3");
    await twilioStandin.addFault({
      operation: "purchase",
      kind: "succeed_then_timeout",
      delay_ms: 2_000,
      times: 1,
    });
    const settled = await purchase(ws, { e164: other?.e164 });
    expect(settled.status).toBe(201);
    expect((await settled.json<PhoneNumber>()).e164).toBe(other?.e164);
    // a refusal with Twilio's error body
    await search(ws, "area_code=500");
    expect((await purchase(ws, { e164: "+15005550000" })).status).toBe(400);

    const log = await twilioStandin.requests();
    const operations = new Set(log.map((entry) => entry.operation));
    for (const op of ["search", "purchase", "lookup", "release"]) expect(operations).toContain(op);

    const problems = log.flatMap((entry) => [
      ...checkTwilioRequest(entry).map((p) => `${entry.method} ${entry.path} request: ${p}`),
      ...checkTwilioResponse(entry).map((p) => `${entry.method} ${entry.path} reply: ${p}`),
    ]);
    expect(problems).toEqual([]);
  });

  it("reports a request outside the spec (the check can fail)", () => {
    const problems = checkTwilioRequest({
      operation: "purchase",
      method: "POST",
      path: "/2010-04-01/Accounts/AC00000000000000000000000000000000/IncomingPhoneNumbers.json",
      query: {},
      form: { PhoneNumber: "+14155550123", Colour: "blue" },
      content_type: "application/x-www-form-urlencoded",
      auth: "account",
      status: 201,
      response: null,
    } as never);
    expect(problems.join(" ")).toMatch(/Colour/);
  });

  it("checks trunking v1 exchanges against the trunking spec (the check can fail)", () => {
    const trunk = "TK00000000000000000000000000000000";
    const entry = {
      operation: "trunking",
      method: "POST",
      path: `/v1/Trunks/${trunk}/OriginationUrls`,
      query: {},
      form: { SipUrl: "sip:pbx.example.com", Priority: "1", Weight: "1", FriendlyName: "PBX" },
      content_type: "application/x-www-form-urlencoded",
      auth: "account",
      status: 201,
      response: {
        account_sid: "AC00000000000000000000000000000000",
        sid: "OU00000000000000000000000000000000",
        trunk_sid: trunk,
        weight: 1,
        enabled: true,
        sip_url: "sip:pbx.example.com",
        friendly_name: "PBX",
        priority: 1,
        date_created: "2015-01-02T11:23:45Z",
        date_updated: "2015-01-02T11:23:45Z",
        url: `https://trunking.twilio.com/v1/Trunks/${trunk}/OriginationUrls/OU00000000000000000000000000000000`,
      },
    } as const;
    expect(checkTwilioRequest(entry as never)).toEqual([
      `POST /v1/Trunks/${trunk}/OriginationUrls: required form field Enabled is missing`,
    ]);
    expect(checkTwilioResponse(entry as never)).toEqual([]);
    const rfc2822 = { ...entry.response, date_created: "Fri, 02 Jan 2015 11:23:45 +0000" };
    expect(checkTwilioResponse({ ...entry, response: rfc2822 } as never).join(" ")).toMatch(
      /date_created/,
    );
  });
});
