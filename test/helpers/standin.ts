import { env } from "cloudflare:workers";
import type {
  FaultSpec,
  OwnedNumberSummary,
  TwilioRequestLogEntry,
} from "../../standins/twilio/types";

// Control of the Twilio stand-in (standins/twilio) from tests: its state, its request log
// and the faults it injects into the next matching Twilio calls.

export type StandinFault = FaultSpec;
export type StandinNumber = OwnedNumberSummary;
export type StandinRequest = TwilioRequestLogEntry;

function standin(): Fetcher {
  if (!env.TWILIO_UPSTREAM) throw new Error("the TWILIO_UPSTREAM binding is missing");
  return env.TWILIO_UPSTREAM;
}

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await standin().fetch(`https://standin.local/__standin/${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`stand-in ${method} ${path}: ${response.status}`);
  return response.json<T>();
}

export const twilioStandin = {
  reset: () => control("POST", "reset"),
  addFault: (fault: StandinFault) => control("POST", "faults", fault),
  clearFaults: () => control("DELETE", "faults"),
  numbers: async () => (await control<{ numbers: StandinNumber[] }>("GET", "numbers")).numbers,
  /** The E.164 of every number the account holds. */
  held: async () =>
    (await control<{ numbers: StandinNumber[] }>("GET", "numbers")).numbers.map(
      (n) => n.phone_number,
    ),
  buyDirectly: (phoneNumber: string) =>
    control<StandinNumber>("POST", "numbers", { phone_number: phoneNumber }),
  requests: async () => (await control<{ requests: StandinRequest[] }>("GET", "requests")).requests,
  clearRequests: () => control("DELETE", "requests"),
};
