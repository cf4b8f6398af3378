// One JSON object per line, so Workers Logs can index every field.
type Level = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

function write(level: Level, event: string, fields: LogFields) {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export const log = {
  info: (event: string, fields: LogFields = {}) => write("info", event, fields),
  warn: (event: string, fields: LogFields = {}) => write("warn", event, fields),
  error: (event: string, fields: LogFields = {}) => write("error", event, fields),
};

/** A call to Twilio or LiveKit that went well, as the request's line lists it. */
export type UpstreamCall = {
  service: "twilio" | "livekit";
  operation: string;
  status: number;
  duration_ms: number;
};

/**
 * Records an upstream call that went well. Each line costs CPU and log volume (Workers Logs
 * counts events), so a request's successful calls go into the one line of the request
 * (`upstream`, see src/index.ts): the clients get the request's list in their log context,
 * `upstream`. Work without such a list (the alarm's, reconcile's) logs `event` on a line of its
 * own. Failed calls are always logged on their own line, at warn level.
 */
export function logUpstreamCall(context: LogFields, call: UpstreamCall, event: string): void {
  const calls = context.upstream;
  if (Array.isArray(calls)) {
    calls.push(call);
    return;
  }
  const { service: _service, status, ...rest } = call;
  log.info(event, { ...context, ...rest, [`${call.service}_status`]: status });
}
