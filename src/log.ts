// One JSON object per line, so Workers Logs can index every field.
type Level = "info" | "warn" | "error";

/**
 * Where a request's log context collects the upstream calls that went well (see
 * logUpstreamCall). A symbol key: contexts are spread into the lines logged about the request's
 * work, and JSON leaves symbol keys out, so the list reaches the clients through the context
 * without being printed on each of those lines; the request's own line prints it once.
 */
export const UPSTREAM_CALLS = Symbol("upstream calls");

export type LogFields = Record<string, unknown> & { [UPSTREAM_CALLS]?: UpstreamCall[] };

/** The context fields that make the clients list their calls in `upstream`, when there is one. */
export function collectingUpstreamCalls(upstream: UpstreamCall[] | undefined): LogFields {
  return upstream ? { [UPSTREAM_CALLS]: upstream } : {};
}

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
 * (`upstream`, see src/index.ts): the clients get the request's list in their log context
 * (collectingUpstreamCalls). Work without such a list (the alarm's, reconcile's) logs `event`
 * on a line of its own. Failed calls are always logged on their own line, at warn level.
 */
export function logUpstreamCall(context: LogFields, call: UpstreamCall, event: string): void {
  const calls = context[UPSTREAM_CALLS];
  if (calls) {
    calls.push(call);
    return;
  }
  const { service: _service, status, ...rest } = call;
  log.info(event, { ...context, ...rest, [`${call.service}_status`]: status });
}
