// A stateful stand-in for api.twilio.com (2010-04-01) and trunking.twilio.com (v1), reached
// through a service binding.
// Twilio routes get Twilio's auth, errors and resources; /__standin/* is an unauthenticated
// control API for tests and local development (reset, accounts, faults, settings, owned
// numbers, request log).
//
// The Worker parses requests and credentials, the TwilioAccount Durable Object authenticates,
// decides and records, and the Worker then carries out any waiting or connection dropping, so
// a slow fault never holds the Durable Object.

import {
  answerControl,
  ControlError,
  json,
  oneOf,
  optionalInteger,
  playFaults,
  readJsonObject,
} from "../control";
import type { ControlResult, StandinEnv, TwilioCall, TwilioOutcome } from "./account";
import type { Credentials } from "./context";
import type { AccountStatus, AccountType, FaultKind, FaultOperation, FaultSpec } from "./types";

// Only handlers and Durable Object classes may be exported from a Worker's main module.
export { TwilioAccount } from "./account";

const FAULT_OPERATIONS: readonly FaultOperation[] = [
  "search",
  "purchase",
  "lookup",
  "release",
  "update",
  "account",
  "caller_ids",
  "sip",
  "trunking",
  "any",
];
const FAULT_KINDS: readonly FaultKind[] = [
  "status",
  "status_then_complete",
  "delay",
  "drop",
  "drop_after",
  "succeed_then_timeout",
  "odd_item",
];
const ACCOUNT_TYPES: readonly AccountType[] = ["Full", "Trial"];
const ACCOUNT_STATUSES: readonly AccountStatus[] = ["active", "suspended", "closed"];

/**
 * Twilio requests being handled right now, and the most at once among those that arrived since
 * the last reset (a request still held from before a reset, by a 30 s fault say, is not counted
 * in the new window): what a caller's concurrency limit is measured by. In the Worker's memory
 * (one isolate locally), from the request's arrival to its reply, waits and latency included.
 */
const concurrency = { inFlight: 0, window: 0, windowInFlight: 0, peak: 0 };

function resetConcurrency(): void {
  concurrency.window++;
  concurrency.windowInFlight = 0;
  concurrency.peak = 0;
}

/** Counts the request in flight while `handle` runs. */
async function counted(handle: () => Promise<Response>): Promise<Response> {
  const window = concurrency.window;
  concurrency.inFlight++;
  concurrency.windowInFlight++;
  concurrency.peak = Math.max(concurrency.peak, concurrency.windowInFlight);
  try {
    return await handle();
  } finally {
    concurrency.inFlight--;
    if (window === concurrency.window) concurrency.windowInFlight--;
  }
}

function account(env: StandinEnv) {
  return env.TWILIO_ACCOUNT.get(env.TWILIO_ACCOUNT.idFromName(env.STANDIN_ACCOUNT_SID));
}

/** The Basic credentials of the Authorization header; the Durable Object checks them. */
function parseBasicAuth(header: string | null): Credentials {
  if (header === null) return "none";
  const match = /^Basic\s+(\S+)$/i.exec(header.trim());
  if (!match?.[1]) return "malformed";
  let decoded: string;
  try {
    decoded = atob(match[1]);
  } catch {
    return "malformed";
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return "malformed";
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function handleTwilio(request: Request, url: URL, env: StandinEnv): Promise<Response> {
  const contentType = request.headers.get("Content-Type");
  let form: Record<string, string> | null = null;
  // Twilio reads bodies only when form-encoded; anything else is as if no fields were sent.
  if (
    request.method !== "GET" &&
    request.method !== "HEAD" &&
    contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded")
  ) {
    // Decoded by hand: workerd warns when .text() is called on a form-encoded body.
    form = Object.fromEntries(
      new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())),
    );
  }
  const call: TwilioCall = {
    method: request.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    form,
    contentType,
    credentials: parseBasicAuth(request.headers.get("Authorization")),
  };

  const stub = account(env);
  const outcome = await playFaults<TwilioOutcome>(
    (appliedFault) => stub.handleTwilio(call, appliedFault),
    "twilio-standin",
  );
  if (outcome.bodyText === null) {
    return new Response(null, { status: outcome.status, headers: outcome.headers });
  }
  return new Response(outcome.bodyText, {
    status: outcome.status,
    headers: { "Content-Type": outcome.contentType, ...outcome.headers },
  });
}

// ---- Control API ---------------------------------------------------------------------------

function parseFaultSpec(body: Record<string, unknown>): FaultSpec {
  const operation = oneOf(body, "operation", FAULT_OPERATIONS);
  const kind = oneOf(body, "kind", FAULT_KINDS);
  const spec: FaultSpec = { operation, kind };
  const status = optionalInteger(body, "status", 100, 599);
  const code = optionalInteger(body, "code", 0, Number.MAX_SAFE_INTEGER);
  const delayMs = optionalInteger(body, "delay_ms", 0, 600_000);
  const times = optionalInteger(body, "times", 1, Number.MAX_SAFE_INTEGER);
  const completeAfterMs = optionalInteger(body, "complete_after_ms", 0, 600_000);
  const errorKind = kind === "status" || kind === "status_then_complete";
  if (errorKind && status === undefined) {
    throw new ControlError(400, `a ${kind} fault needs status`);
  }
  if (kind === "status_then_complete") {
    if (operation !== "purchase") {
      throw new ControlError(400, "a status_then_complete fault applies to operation purchase");
    }
    if (status === undefined || status < 500) {
      throw new ControlError(400, "a status_then_complete fault needs a 5xx status");
    }
  } else if (completeAfterMs !== undefined) {
    throw new ControlError(400, "complete_after_ms belongs to status_then_complete faults");
  }
  if (kind === "odd_item" && !["search", "lookup", "any"].includes(operation)) {
    throw new ControlError(400, "an odd_item fault applies to operation search, lookup or any");
  }
  if (body.message !== undefined && typeof body.message !== "string") {
    throw new ControlError(400, "message must be a string");
  }
  if (body.retry_after !== undefined) {
    if (!errorKind) throw new ControlError(400, `retry_after belongs to status faults`);
    if (body.retry_after === null) spec.retry_after = null;
    else spec.retry_after = optionalInteger(body, "retry_after", 0, 86_400);
  }
  if (body.body !== undefined) {
    if (body.body !== "json" && body.body !== "html") {
      throw new ControlError(400, 'body must be "json" or "html"');
    }
    if (body.body === "html" && (!errorKind || status === undefined || status < 500)) {
      throw new ControlError(400, 'body "html" needs a status fault with a 5xx status');
    }
    spec.body = body.body;
  }
  if (status !== undefined) spec.status = status;
  if (code !== undefined) spec.code = code;
  if (typeof body.message === "string") spec.message = body.message;
  if (delayMs !== undefined) spec.delay_ms = delayMs;
  if (times !== undefined) spec.times = times;
  if (completeAfterMs !== undefined) spec.complete_after_ms = completeAfterMs;
  return spec;
}

/** An ISO 8601 date-time, or null when the field is absent. */
function optionalDate(body: Record<string, unknown>, field: string): Date | null {
  const value = optionalString(body, field);
  if (value === null) return null;
  const parsed = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ? new Date(value)
    : null;
  if (!parsed || Number.isNaN(parsed.getTime())) {
    throw new ControlError(
      400,
      `${field} must be an ISO 8601 date-time, like 2020-01-31T12:00:00Z`,
    );
  }
  return parsed;
}

function optionalString(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new ControlError(400, `${field} must be a string`);
  return value;
}

function optionalChoice<T extends string>(
  body: Record<string, unknown>,
  field: string,
  choices: readonly T[],
): T | null {
  const value = optionalString(body, field);
  if (value === null) return null;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ControlError(400, `${field} must be one of ${choices.join(", ")}`);
  }
  return value as T;
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === null) throw new ControlError(400, `${field} is required`);
  return value;
}

/** The value a control route made, or the ControlError its failure becomes. */
function unwrap<T>(result: ControlResult<T>): T {
  if (!result.ok) throw new ControlError(result.status, result.error);
  return result.value;
}

async function handleControl(request: Request, url: URL, env: StandinEnv): Promise<Response> {
  const stub = account(env);
  const route = `${request.method} ${url.pathname.replace(/\/+$/, "")}`;
  const rotate = /^POST \/__standin\/accounts\/(AC[0-9a-f]{32})\/rotate-token$/.exec(route);
  if (rotate) {
    const rotated = await stub.rotateToken(rotate[1] ?? "");
    if (!rotated) throw new ControlError(404, `no account ${rotate[1]}`);
    return json(rotated);
  }
  switch (route) {
    case "POST /__standin/reset":
      await stub.reset();
      resetConcurrency();
      return json({ ok: true });
    case "GET /__standin/concurrency":
      return json({ in_flight: concurrency.inFlight, peak: concurrency.peak });
    case "DELETE /__standin/concurrency":
      resetConcurrency();
      return json({ ok: true });
    case "POST /__standin/latency": {
      const ms = optionalInteger(await readJsonObject(request), "ms", 0, 600_000) ?? 0;
      await stub.setLatency(ms);
      return json({ ok: true, ms });
    }
    case "POST /__standin/list-lag": {
      const ms = optionalInteger(await readJsonObject(request), "ms", 0, 3_600_000) ?? 0;
      await stub.setListLag(ms);
      return json({ ok: true, ms });
    }
    case "POST /__standin/release-hold": {
      const ms = optionalInteger(await readJsonObject(request), "ms", 0, 90 * 86_400_000) ?? 0;
      await stub.setReleaseHold(ms);
      return json({ ok: true, ms });
    }
    case "POST /__standin/domain-reservation": {
      const ms = optionalInteger(await readJsonObject(request), "ms", 0, 90 * 86_400_000) ?? 0;
      await stub.setDomainReservation(ms);
      return json({ ok: true, ms });
    }
    case "GET /__standin/trunks":
      return json({ trunks: await stub.listTrunks() });
    case "GET /__standin/settings":
      return json(await stub.getSettings());
    case "GET /__standin/faults":
      return json({ faults: await stub.listFaults() });
    case "POST /__standin/faults": {
      const fault = await stub.addFault(parseFaultSpec(await readJsonObject(request)));
      return json({ ok: true, fault }, 201);
    }
    case "DELETE /__standin/faults":
      await stub.clearFaults();
      return json({ ok: true });
    case "GET /__standin/numbers":
      return json({ numbers: await stub.listOwnedNumbers() });
    case "POST /__standin/numbers": {
      const body = await readJsonObject(request);
      const planted = await stub.plantNumber({
        phoneNumber: requiredString(body, "phone_number"),
        accountSid: optionalString(body, "account_sid"),
        friendlyName: optionalString(body, "friendly_name"),
        trunkSid: optionalString(body, "trunk_sid"),
        voiceUrl: optionalString(body, "voice_url"),
        voiceApplicationSid: optionalString(body, "voice_application_sid"),
        dateCreated: optionalDate(body, "date_created"),
      });
      return json(unwrap(planted), 201);
    }
    case "GET /__standin/accounts":
      return json({ accounts: await stub.listAccounts() });
    case "POST /__standin/accounts": {
      const body = await readJsonObject(request);
      const created = await stub.createAccount({
        friendlyName: optionalString(body, "friendly_name"),
        type: optionalChoice(body, "type", ACCOUNT_TYPES) ?? "Full",
        status: optionalChoice(body, "status", ACCOUNT_STATUSES) ?? "active",
      });
      return json(created, 201);
    }
    case "GET /__standin/caller-ids":
      return json({ caller_ids: await stub.listCallerIds() });
    case "POST /__standin/caller-ids": {
      const body = await readJsonObject(request);
      const added = await stub.addCallerId({
        accountSid: optionalString(body, "account_sid"),
        phoneNumber: requiredString(body, "phone_number"),
        friendlyName: optionalString(body, "friendly_name"),
      });
      return json(unwrap(added), 201);
    }
    case "GET /__standin/requests":
      return json({ requests: await stub.listRequests() });
    case "DELETE /__standin/requests":
      await stub.clearRequests();
      return json({ ok: true });
    default:
      throw new ControlError(404, `no control route ${route}`);
  }
}

export default {
  async fetch(request, env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__standin/")) {
      return answerControl(() => handleControl(request, url, env));
    }
    return counted(() => handleTwilio(request, url, env));
  },
} satisfies ExportedHandler<StandinEnv>;
