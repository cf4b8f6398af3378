import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TWILIO_GATE_NAME, twilioGate } from "../src/config";

/** The real gate binding, recording how the gate is asked for. */
function recordingGateBinding(asked: unknown[][]): Env["TWILIO_GATE"] {
  return new Proxy(env.TWILIO_GATE, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "getByName") asked.push(args);
        return value.apply(target, args);
      };
    },
  });
}

describe("the Twilio gate's placement", () => {
  it("is asked for by name with TWILIO_GATE_LOCATION_HINT, next to the Twilio Region", async () => {
    const asked: unknown[][] = [];
    const gate = twilioGate({ ...env, TWILIO_GATE: recordingGateBinding(asked) });
    expect(asked).toEqual([[TWILIO_GATE_NAME, { locationHint: "enam" }]]);
    // The stub is the deployment's one gate, whoever asks.
    expect(gate.id.equals(env.TWILIO_GATE.idFromName(TWILIO_GATE_NAME))).toBe(true);
  });

  it("follows the setting, and asks without a hint when it is empty", () => {
    const asked: unknown[][] = [];
    const binding = recordingGateBinding(asked);
    twilioGate({ ...env, TWILIO_GATE: binding, TWILIO_GATE_LOCATION_HINT: "weur" } as never);
    twilioGate({ ...env, TWILIO_GATE: binding, TWILIO_GATE_LOCATION_HINT: "" } as never);
    expect(asked).toEqual([
      [TWILIO_GATE_NAME, { locationHint: "weur" }],
      [TWILIO_GATE_NAME, undefined],
    ]);
  });
});
