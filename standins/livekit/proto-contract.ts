// Checks recorded LiveKit exchanges against LiveKit's own protos (spec/livekit, compiled into
// proto-schema.json by `npm run livekit-schema`), so a client that passes its tests against the
// stand-in also speaks the live API's language, and the stand-in cannot drift from the protos.
//
// Requests are held to what a Twirp server accepts, made stricter where leniency would hide a
// bug of ours: proto field names only, and no field the message lacks (LiveKit would drop it
// silently). Replies are held to what protojson writes; errors to Twirp's error body.

import { methodTypes, readMessage } from "./proto-json";
import { isTwirpCode, TWIRP_STATUS } from "./twirp";
import type { LiveKitRequestLogEntry } from "./types";

/** The parts of a log entry the checks read. */
export type ContractEntry = Pick<
  LiveKitRequestLogEntry,
  "http_method" | "path" | "content_type" | "body" | "status" | "response"
> &
  Partial<Pick<LiveKitRequestLogEntry, "auth" | "fault" | "body_text">>;

function route(path: string): { service: string; method: string } | null {
  const match = /^\/twirp\/([A-Za-z0-9_.]+)\/([A-Za-z0-9_]+)$/.exec(path);
  return match?.[1] && match[2] ? { service: match[1], method: match[2] } : null;
}

/** Problems with how a recorded request used LiveKit's API; empty when it matches the protos. */
export function checkLiveKitRequest(entry: ContractEntry): string[] {
  const request = `${entry.http_method} ${entry.path}`;
  const parts = route(entry.path);
  const types = parts ? methodTypes(parts.service, parts.method) : null;
  if (!parts || !types) return [`${request}: no rpc of the protos' services has this path`];
  const problems: string[] = [];
  if (entry.http_method !== "POST") problems.push(`${request}: Twirp takes POST only`);
  const mediaType = entry.content_type?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    problems.push(
      `${request}: body must be sent as application/json, was ${entry.content_type ?? "no Content-Type"}`,
    );
  }
  if (entry.auth === "missing") problems.push(`${request}: sent without a bearer token`);
  if (entry.body_text !== undefined && entry.body_text !== null) {
    problems.push(`${request}: the body is not JSON`);
    return problems;
  }
  const { problems: bodyProblems } = readMessage(types.input, entry.body, "request");
  problems.push(...bodyProblems.map((problem) => `${request} ${types.input}: ${problem}`));
  return problems;
}

/** Problems with a recorded reply; empty when it is the method's message or a Twirp error. */
export function checkLiveKitResponse(entry: ContractEntry): string[] {
  const request = `${entry.http_method} ${entry.path} -> ${entry.status}`;
  // A dropped connection delivered nothing; a raw_body fault plays a proxy, not LiveKit.
  if (entry.status === 0 || typeof entry.response === "string") return [];
  if (entry.status !== 200) return checkTwirpError(request, entry.status, entry.response);
  const parts = route(entry.path);
  const types = parts ? methodTypes(parts.service, parts.method) : null;
  if (!types) return [`${request}: no rpc of the protos' services has this path`];
  const { problems } = readMessage(types.output, entry.response, "response");
  return problems.map((problem) => `${request} ${types.output}: ${problem}`);
}

function checkTwirpError(request: string, status: number, body: unknown): string[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return [`${request}: a Twirp error body must be an object`];
  }
  const problems: string[] = [];
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!["code", "msg", "meta"].includes(key)) {
      problems.push(`${request}: a Twirp error has no field ${key}`);
    }
  }
  if (!isTwirpCode(fields.code)) {
    problems.push(`${request}: ${JSON.stringify(fields.code)} is not a Twirp error code`);
  } else if (TWIRP_STATUS[fields.code] !== status) {
    problems.push(
      `${request}: Twirp sends ${fields.code} with HTTP ${TWIRP_STATUS[fields.code]}, not ${status}`,
    );
  }
  if (typeof fields.msg !== "string") problems.push(`${request}: msg must be a string`);
  if (fields.meta !== undefined) {
    const meta = fields.meta;
    if (
      typeof meta !== "object" ||
      meta === null ||
      Array.isArray(meta) ||
      Object.values(meta).some((value) => typeof value !== "string")
    ) {
      problems.push(`${request}: meta must map strings to strings`);
    }
  }
  return problems;
}
