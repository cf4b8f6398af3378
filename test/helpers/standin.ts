import { env } from "cloudflare:workers";
import type {
  CreatedAccount,
  FaultSpec,
  NewAccountSpec,
  NewCallerIdSpec,
  OwnedNumberSummary,
  PlantNumberSpec,
  StandinAccount,
  StandinCallerId,
  StandinConcurrency,
  StandinSettings,
  StandinTrunk,
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

/** `Authorization` for an account the stand-in created: its SID and auth token. */
export function basicAuth(account: CreatedAccount): string {
  return `Basic ${btoa(`${account.account_sid}:${account.auth_token}`)}`;
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
  /** Owns a number with no Twilio request: any account, voice settings, an old date_created. */
  plantNumber: (spec: PlantNumberSpec) => control<StandinNumber>("POST", "numbers", spec),
  requests: async () => (await control<{ requests: StandinRequest[] }>("GET", "requests")).requests,
  clearRequests: () => control("DELETE", "requests"),

  /** A new Twilio account (Full and active unless told); its SID and auth token. */
  createAccount: (spec: NewAccountSpec = {}) => control<CreatedAccount>("POST", "accounts", spec),
  /** The customer rotates the account's auth token (the old one stops working); the new one. */
  rotateToken: (accountSid: string) =>
    control<CreatedAccount>("POST", `accounts/${accountSid}/rotate-token`),
  /** Every account, the master account first, auth tokens included. */
  accounts: async () => (await control<{ accounts: StandinAccount[] }>("GET", "accounts")).accounts,
  /** A verified caller id (OutgoingCallerIds) of the account (default: the master account). */
  addCallerId: (spec: NewCallerIdSpec) => control<StandinCallerId>("POST", "caller-ids", spec),
  callerIds: async () =>
    (await control<{ caller_ids: StandinCallerId[] }>("GET", "caller-ids")).caller_ids,

  /** Bought numbers stay out of IncomingPhoneNumbers lists for `ms` (0: no lag). */
  setListLag: (ms: number) => control("POST", "list-lag", { ms }),
  /** Released numbers stay off sale for `ms` (0: back on sale at once). */
  setReleaseHold: (ms: number) => control("POST", "release-hold", { ms }),
  /** Every account's trunks, with their origination URLs, numbers and credential lists. */
  trunks: async () => (await control<{ trunks: StandinTrunk[] }>("GET", "trunks")).trunks,
  /** A deleted trunk's domain name stays taken for `ms` (0: free at once). */
  setDomainReservation: (ms: number) => control("POST", "domain-reservation", { ms }),
  /** Every Twilio reply waits `ms` after the work is done. */
  setLatency: (ms: number) => control("POST", "latency", { ms }),
  settings: () => control<StandinSettings>("GET", "settings"),
  /** Twilio requests in flight at the stand-in now, and the most at once since the last reset. */
  concurrency: () => control<StandinConcurrency>("GET", "concurrency"),
  /** Starts counting the most at once afresh (from those in flight now). */
  resetConcurrency: () => control("DELETE", "concurrency"),
};
