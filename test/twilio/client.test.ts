import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { twilioConfig } from "../../src/config";
import { TwilioClient, twilioApiOrigin } from "../../src/twilio/client";
import { TwilioError, toUpstreamFailure } from "../../src/twilio/failures";
import { hasCapability } from "../../src/twilio/resources";
import { twilioStandin } from "../helpers/standin";

const ACCOUNT = env.TWILIO_ACCOUNT_SID ?? "";

/** The test env with some settings replaced (vars are typed as their literal values). */
const withSettings = (settings: Record<string, string>) =>
  ({ ...env, ...settings }) as unknown as Env;

describe("the Twilio client", () => {
  it("authenticates with an API key (SID + secret) of the account when one is configured", async () => {
    const config = twilioConfig(
      withSettings({
        TWILIO_API_KEY_SID: "SK00000000000000000000000000000000",
        TWILIO_API_KEY_SECRET: "standin-api-key-secret",
      }),
    );
    expect(config.credentials).toEqual({
      accountSid: ACCOUNT,
      username: "SK00000000000000000000000000000000",
      password: "standin-api-key-secret",
    });
    await twilioStandin.clearRequests();
    const found = await TwilioClient.fromConfig(config).searchAvailableLocal({
      areaCode: "907",
      limit: 3,
    });
    expect(found).toHaveLength(3);
    expect((await twilioStandin.requests()).at(-1)?.auth).toBe("api_key");
  });

  it("maps rejected credentials to a failure that tells nothing was done", async () => {
    const config = twilioConfig(withSettings({ TWILIO_AUTH_TOKEN: "wrong" }));
    const error = await TwilioClient.fromConfig(config)
      .searchAvailableLocal({ areaCode: "907", limit: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TwilioError);
    expect(error).toMatchObject({ kind: "answered", httpStatus: 401, twilioCode: 20003 });
    // The table reads it as the platform's own problem, which retrying will not fix.
    expect(toUpstreamFailure(error as TwilioError)).toMatchObject({ kind: "platform_refused" });
    expect(String((error as Error).message)).not.toContain("wrong");
  });

  it("is not configured without an account SID and a secret", () => {
    expect(twilioConfig(withSettings({ TWILIO_AUTH_TOKEN: "" })).credentials).toBeNull();
    expect(() =>
      TwilioClient.fromConfig(twilioConfig(withSettings({ TWILIO_ACCOUNT_SID: "" }))),
    ).toThrow(TwilioError);
  });

  it("reads capability flags whatever the case of their keys", () => {
    expect(hasCapability({ voice: true, SMS: true }, "sms")).toBe(true);
    expect(hasCapability({ Voice: true }, "voice")).toBe(true);
    expect(hasCapability({ voice: false, sms: true }, "voice")).toBe(false);
    expect(hasCapability(null, "voice")).toBe(false);
  });
});

describe("Twilio's hosts", () => {
  it("uses api.twilio.com, or the regional host of TWILIO_REGION and TWILIO_EDGE", () => {
    expect(twilioApiOrigin(null, null)).toBe("https://api.twilio.com");
    expect(twilioApiOrigin("au1", null)).toBe("https://api.au1.twilio.com");
    expect(twilioApiOrigin("au1", "sydney")).toBe("https://api.sydney.au1.twilio.com");
    const config = twilioConfig(withSettings({ TWILIO_REGION: "ie1", TWILIO_EDGE: "dublin" }));
    expect([config.region, config.edge]).toEqual(["ie1", "dublin"]);
  });
});
