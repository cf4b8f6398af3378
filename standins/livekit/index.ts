// A stateful stand-in for a LiveKit project's Twirp API (livekit.SIP and
// livekit.PhoneNumberService), reached through a service binding. /twirp/* gets LiveKit's token
// auth, Twirp's errors and the protos' messages; /__standin/* is an unauthenticated control API
// for tests and local development (reset, latency, faults, request log, state, call routing).
//
// The Worker checks the token, the LiveKitProject Durable Object decides and records, and the
// Worker then carries out any waiting or connection dropping, so a slow fault never holds the
// Durable Object.

import {
  answerControl,
  ControlError,
  json,
  oneOf,
  optionalInteger,
  playFaults,
  readJsonObject,
} from "../control";
import { checkToken } from "./jwt";
import { PERFORMED_METHODS, type StandinEnv, type TwirpCall, type TwirpOutcome } from "./project";
import { isTwirpCode } from "./twirp";
import type { FaultKind, FaultOperation, FaultSpec } from "./types";

// Only handlers and Durable Object classes may be exported from a Worker's main module.
export { LiveKitProject } from "./project";

const FAULT_KINDS: readonly FaultKind[] = [
  "status",
  "delay",
  "drop",
  "drop_after",
  "succeed_then_timeout",
];
const FAULT_OPERATIONS: readonly FaultOperation[] = [
  ...(Object.keys(PERFORMED_METHODS) as FaultOperation[]),
  "any",
];

function project(env: StandinEnv) {
  return env.LIVEKIT_PROJECT.get(env.LIVEKIT_PROJECT.idFromName(env.STANDIN_API_KEY));
}

async function handleTwirp(request: Request, url: URL, env: StandinEnv): Promise<Response> {
  const token = await checkToken(
    request.headers.get("Authorization"),
    env.STANDIN_API_KEY,
    env.STANDIN_API_SECRET,
  );
  const call: TwirpCall = {
    httpMethod: request.method,
    path: url.pathname,
    contentType: request.headers.get("Content-Type"),
    bodyText: request.method === "GET" || request.method === "HEAD" ? "" : await request.text(),
    auth: token.verdict,
    sipAdmin: token.sipAdmin,
  };

  const stub = project(env);
  const outcome = await playFaults<TwirpOutcome>(
    (appliedFault) => stub.handleTwirp(call, appliedFault),
    "livekit-standin",
  );
  return new Response(outcome.bodyText, {
    status: outcome.status,
    headers: { "Content-Type": outcome.contentType },
  });
}

// ---- Control API ---------------------------------------------------------------------------

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ControlError(400, `${field} must be a string`);
  return value;
}

function parseFaultSpec(body: Record<string, unknown>): FaultSpec {
  const operation = oneOf(body, "operation", FAULT_OPERATIONS);
  const kind = oneOf(body, "kind", FAULT_KINDS);
  const spec: FaultSpec = { operation, kind };
  const code = optionalString(body, "code");
  if (code !== undefined) {
    if (!isTwirpCode(code)) throw new ControlError(400, `code ${code} is not a Twirp error code`);
    spec.code = code;
  }
  const message = optionalString(body, "message");
  if (message !== undefined) spec.message = message;
  const rawBody = optionalString(body, "raw_body");
  if (rawBody !== undefined) spec.raw_body = rawBody;
  const status = optionalInteger(body, "status", 100, 599);
  if (status !== undefined) spec.status = status;
  const delayMs = optionalInteger(body, "delay_ms", 0, 600_000);
  if (delayMs !== undefined) spec.delay_ms = delayMs;
  const times = optionalInteger(body, "times", 1, Number.MAX_SAFE_INTEGER);
  if (times !== undefined) spec.times = times;
  if (kind === "status" && spec.code === undefined && spec.raw_body === undefined) {
    throw new ControlError(400, "a status fault needs a Twirp code (or a raw_body)");
  }
  return spec;
}

async function handleControl(request: Request, url: URL, env: StandinEnv): Promise<Response> {
  const stub = project(env);
  const route = `${request.method} ${url.pathname.replace(/\/+$/, "")}`;
  switch (route) {
    case "POST /__standin/reset":
      await stub.reset();
      return json({ ok: true });
    case "POST /__standin/latency": {
      const ms = optionalInteger(await readJsonObject(request), "ms", 0, 600_000) ?? 0;
      await stub.setLatency(ms);
      return json({ ok: true, ms });
    }
    case "GET /__standin/faults":
      return json({ faults: await stub.listFaults() });
    case "POST /__standin/faults": {
      const fault = await stub.addFault(parseFaultSpec(await readJsonObject(request)));
      return json({ ok: true, fault }, 201);
    }
    case "DELETE /__standin/faults":
      await stub.clearFaults();
      return json({ ok: true });
    case "GET /__standin/requests":
      return json({ requests: await stub.listRequests() });
    case "DELETE /__standin/requests":
      await stub.clearRequests();
      return json({ ok: true });
    case "GET /__standin/state":
      return json(await stub.state());
    case "GET /__standin/route": {
      const to = url.searchParams.get("to")?.trim() ?? "";
      const from = url.searchParams.get("from")?.trim() || null;
      // An unencoded "+" in a query arrives as a space, which trim() took; put it back.
      const plus = (value: string) => (/^\d/.test(value) ? `+${value}` : value);
      if (to === "") throw new ControlError(400, "to=<e164> is required");
      return json(await stub.route(plus(to), from === null ? null : plus(from)));
    }
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
    return handleTwirp(request, url, env);
  },
} satisfies ExportedHandler<StandinEnv>;
