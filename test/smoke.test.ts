import { exports, env } from "cloudflare:workers";
import { expect, it } from "vitest";
it("serves", async () => {
  const res = await exports.default.fetch("http://x/");
  expect(await res.text()).toBe("ok");
  const s = await env.TWILIO_STANDIN.fetch("https://api.twilio.com/x");
  expect(await s.text()).toBe("standin");
});
