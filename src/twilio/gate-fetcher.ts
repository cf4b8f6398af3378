import type { GateReply, GateRequest, TwilioGate } from "./gate";

/** What the Twilio client sends its calls through: a service binding, or the gate. */
export type TwilioFetcher = { fetch(url: string, init: RequestInit): Promise<Response> };

/** Statuses whose responses have no body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * The TwilioGate object as a fetcher: the call goes to the gate over RPC, and its reply comes
 * back as a Response; no reply (a timeout, a lost connection, the gate itself unreachable)
 * rejects, as a fetch would. The caller's signal still bounds the whole call.
 */
export function gateFetcher(gate: DurableObjectStub<TwilioGate>): TwilioFetcher {
  return {
    async fetch(url, init) {
      const request: GateRequest = {
        url,
        method: init.method ?? "GET",
        headers: [...new Headers(init.headers)],
        body: typeof init.body === "string" ? init.body : null,
      };
      const sent = gate.send(request) as Promise<GateReply>;
      const reply = await (init.signal ? untilAborted(sent, init.signal) : sent);
      if (!reply.ok) throw new Error(`through the Twilio gate: ${reply.error}`);
      return new Response(NULL_BODY_STATUSES.has(reply.status) ? null : reply.body, {
        status: reply.status,
        headers: reply.headers,
      });
    },
  };
}

/** `work`, or the signal's reason once it aborts (work left to finish on its own). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
