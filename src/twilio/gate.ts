import { DurableObject } from "cloudflare:workers";
import { twilioGateSettings, twilioUpstream } from "../config";
import { log } from "../log";
import { Semaphore } from "./semaphore";

/** A Twilio call as the gate carries it over RPC. */
export type GateRequest = {
  url: string;
  method: string;
  headers: [string, string][];
  body: string | null;
};

/** Twilio's reply (or the gate's own 429), or why there was none (a timeout, a lost connection). */
export type GateReply =
  | { ok: true; status: number; headers: [string, string][]; body: string }
  | { ok: false; error: string };

/**
 * The deployment's one door to Twilio: every Twilio call of every workspace (and reconcile) is
 * handed to this object, one per deployment, which sends it to Twilio (or, in development and
 * tests, to the stand-in bound as TWILIO_UPSTREAM) while holding one of TWILIO_MAX_CONCURRENCY
 * permits, so that the master account never has more requests in flight than that and Twilio's
 * 20429 (too many concurrent requests) stays rare.
 *
 * A call that finds every permit taken waits in line, first come first served, for at most
 * TWILIO_GATE_MAX_WAIT_MS; then it is answered here as Twilio answers 20429, without being
 * sent: the client's usual handling of a throttled call applies (never processed, so safe to
 * retry, even a purchase). Once its turn comes, the call gets TWILIO_TIMEOUT_MS, and the permit
 * is held until Twilio's reply is read in full: the account's concurrency counts until then.
 *
 * The permits live in memory, not in storage: they count calls in flight through this
 * instance, and those calls end with it if the object is ever restarted (their callers see a
 * lost connection, as they would from Twilio). Callers reach it through `gateFetcher`.
 */
export class TwilioGate extends DurableObject<Env> {
  readonly #permits: Semaphore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#permits = new Semaphore(twilioGateSettings(env).maxConcurrency);
  }

  async send(request: GateRequest): Promise<GateReply> {
    const settings = twilioGateSettings(this.env);
    const permit = await this.#permits.acquire(settings.maxWaitMs);
    if (!permit) {
      log.warn("twilio_gate_full", {
        in_flight: this.#permits.held,
        waiting: this.#permits.waiting,
        max_concurrency: settings.maxConcurrency,
        max_wait_ms: settings.maxWaitMs,
      });
      return THROTTLED;
    }
    try {
      const init: RequestInit = {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(settings.timeoutMs),
      };
      const upstream = twilioUpstream(this.env);
      const response = await (upstream
        ? upstream.fetch(request.url, init)
        : fetch(request.url, init));
      const body = await response.text();
      return { ok: true, status: response.status, headers: [...response.headers], body };
    } catch (error) {
      return {
        ok: false,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };
    } finally {
      permit.release();
    }
  }
}

/** The gate's own refusal, in Twilio's words: a 429 with code 20429, never sent to Twilio. */
const THROTTLED: GateReply = {
  ok: true,
  status: 429,
  headers: [
    ["content-type", "application/json"],
    ["retry-after", "1"],
  ],
  body: JSON.stringify({
    code: 20429,
    message: "Too Many Requests: the platform's Twilio gate is full; the request was not sent",
    more_info: "https://www.twilio.com/docs/errors/20429",
    status: 429,
  }),
};
