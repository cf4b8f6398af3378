import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PhoneNumber } from "../src/schemas/phone-numbers";
import { BASE, purchase, search } from "./helpers/phone-numbers";
import { twilioStandin } from "./helpers/standin";
import { call, createWorkspace } from "./helpers/workspaces";

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

describe("secrets", () => {
  it("never writes an API key or Twilio credentials to logs or responses", async () => {
    const ws = await createWorkspace();
    const bodies: string[] = [];
    const record = async (response: Response) => {
      bodies.push(await response.text());
      for (const [name, value] of response.headers) bodies.push(`${name}: ${value}`);
    };

    const [found] = await search(ws, "area_code=660");
    await record(await purchase(ws, { e164: found?.e164 }));
    await record(await call(BASE, { key: ws.key }));
    // Failures of every kind, including Twilio rejecting the master credentials.
    for (const status of [401, 500, 429]) {
      await twilioStandin.addFault({ operation: "any", kind: "status", status, times: 1 });
      await record(await call(`${BASE}/available?area_code=661`, { key: ws.key }));
    }
    await twilioStandin.addFault({ operation: "purchase", kind: "drop", times: 1 });
    const [other] = await search(ws, "area_code=662");
    await record(await purchase(ws, { e164: other?.e164 }));
    await record(await call(BASE, { key: `${ws.key.slice(0, -1)}x` }));
    await record(await call(BASE, { headers: { authorization: `Basic ${ws.key}` } }));

    expect(lines.length).toBeGreaterThan(5);
    const everything = [...lines, ...bodies].join("\n");
    expect(everything).not.toContain(ws.key);
    expect(everything).not.toContain(ws.key.slice(3));
    expect(everything).not.toContain(env.TWILIO_AUTH_TOKEN);
    expect(everything).not.toContain(btoa(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`));
    expect(bodies.join("\n")).not.toContain(env.TWILIO_ACCOUNT_SID);
  });

  it("logs one structured line per request with its id, workspace, route, status and duration", async () => {
    const ws = await createWorkspace();
    const response = await call(BASE, { key: ws.key, headers: { "x-request-id": "trace-1" } });
    expect(response.status).toBe(200);
    const requestLines = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.event === "request");
    expect(requestLines).toEqual([
      expect.objectContaining({
        request_id: "trace-1",
        workspace_id: ws.id,
        key_id: ws.keyId,
        method: "GET",
        route: "/v1/agents/phone-numbers",
        status: 200,
        duration_ms: expect.any(Number),
      }),
    ]);
  });
});

describe("events an operator can alert on", () => {
  it("logs purchases, and the request's upstream calls on its line, with the request id, workspace and number", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=664");
    const response = await purchase(ws, { e164: found?.e164 }, { "x-request-id": "buy-664" });
    expect(response.status).toBe(201);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // The calls that went well are listed on the request's one line, not each on its own.
    const call = (service: string, operation: string, status: number) =>
      expect.objectContaining({ service, operation, status, duration_ms: expect.any(Number) });
    expect(entries).toContainEqual(
      expect.objectContaining({
        level: "info",
        event: "request",
        request_id: "buy-664",
        workspace_id: ws.id,
        status: 201,
        route: "/v1/agents/phone-numbers/purchase",
        upstream: [
          call("twilio", "purchase", 201),
          // The workspace's first number: its outbound trunk is created with it.
          call("livekit", "CreateSIPOutboundTrunk", 200),
          call("livekit", "CreateSIPInboundTrunk", 200),
        ],
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        event: "request",
        workspace_id: ws.id,
        method: "GET",
        route: "/v1/agents/phone-numbers/available",
        upstream: [call("twilio", "search", 200)],
      }),
    );
    expect(entries.filter((e) => e.event === "twilio_call" || e.event === "livekit_call")).toEqual(
      [],
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        event: "number_purchased",
        request_id: "buy-664",
        workspace_id: ws.id,
        e164: found?.e164,
        twilio_sid: expect.stringMatching(/^PN/),
      }),
    );
    // The list is printed once, on the request's line, not on the lines about its work.
    for (const entry of entries.filter((e) => e.event !== "request")) {
      expect(entry).not.toHaveProperty("upstream");
    }
  });
});

describe("another workspace's idempotency key", () => {
  it("is invisible: the same key in two workspaces makes two purchases", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const [na] = await search(a, "area_code=663");
    const [, nb] = await search(b, "area_code=663");
    const ra = await purchase(a, { e164: na?.e164 }, { "idempotency-key": "mine" });
    const rb = await purchase(b, { e164: nb?.e164 }, { "idempotency-key": "mine" });
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect((await ra.json<PhoneNumber>()).id).not.toBe((await rb.json<PhoneNumber>()).id);
  });
});
