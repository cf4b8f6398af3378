import type { TwilioConfig, TwilioCredentials } from "../config";
import { type LogFields, log, logUpstreamCall } from "../log";
import { fullJitterDelayMs } from "../saga/backoff";
import { TwilioError } from "./failures";
import {
  AccountSchema,
  type AvailableLocalNumber,
  AvailableLocalNumberSchema,
  type IncomingPhoneNumber,
  IncomingPhoneNumberSchema,
  type NumberVoice,
  NumberVoiceSchema,
  OutgoingCallerIdSchema,
  readErrorBody,
  readPage,
  readPageV1,
  SidSchema,
  type TrunkResource,
  TrunkSchema,
} from "./resources";

type Operation =
  | "search"
  | "purchase"
  | "lookup"
  | "release"
  | "list"
  | "update"
  | "account"
  | "caller_ids"
  | "sip"
  | "trunking";

/** Trunking v1's host (Elastic SIP trunks); same credentials, same fetcher seam. */
export const TWILIO_TRUNKING_ORIGIN = "https://trunking.twilio.com";

/**
 * Twilio's REST host: `api.twilio.com`, or a regional one (`api.{edge}.{region}.twilio.com`)
 * when the deployment names its region (and optionally its edge location).
 */
export function twilioApiOrigin(region: string | null, edge: string | null): string {
  if (!region) return "https://api.twilio.com";
  return `https://api.${edge ? `${edge}.` : ""}${region}.twilio.com`;
}

/**
 * A 429 (20429) was not processed, so it is safe to send again, even a purchase: a few tries,
 * with full-jitter backoff, within this much time, before the throttling is reported.
 */
const THROTTLE_RETRY_BUDGET_MS = 2_000;
const THROTTLE_RETRY_BASE_MS = 100;
const THROTTLE_MAX_TRIES = 4;

type Call = {
  operation: Operation;
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string>;
  form?: Record<string, string>;
  /** Another Twilio host than the REST API's (trunking v1). */
  origin?: string;
};

/**
 * The master Twilio account, spoken to over its REST API: Basic auth, form-encoded bodies,
 * `.json` resources, a timeout on every call. The only code that knows Twilio's wire format.
 */
export class TwilioClient {
  readonly #credentials: TwilioCredentials;
  readonly #config: TwilioConfig;
  readonly #authorization: string;

  readonly #logContext: LogFields;

  /** `logContext` (request id, workspace) is added to the log line of every call. */
  constructor(config: TwilioConfig, credentials: TwilioCredentials, logContext: LogFields = {}) {
    this.#config = config;
    this.#credentials = credentials;
    this.#logContext = logContext;
    this.#authorization = `Basic ${btoa(`${credentials.username}:${credentials.password}`)}`;
  }

  static fromConfig(config: TwilioConfig, logContext: LogFields = {}): TwilioClient {
    if (!config.credentials) {
      throw new TwilioError("not_configured", "config", null, null, "Twilio is not configured");
    }
    return new TwilioClient(config, config.credentials, logContext);
  }

  get #origin() {
    return twilioApiOrigin(this.#config.region, this.#config.edge);
  }

  get #accountPath() {
    return `/2010-04-01/Accounts/${this.#credentials.accountSid}`;
  }

  async searchAvailableLocal(options: {
    areaCode?: string;
    limit: number;
  }): Promise<AvailableLocalNumber[]> {
    const query: Record<string, string> = { VoiceEnabled: "true", PageSize: String(options.limit) };
    if (options.areaCode) query.AreaCode = options.areaCode;
    const call: Call = {
      operation: "search",
      method: "GET",
      path: `${this.#accountPath}/AvailablePhoneNumbers/US/Local.json`,
      query,
    };
    return (await this.#page(call, "available_phone_numbers", AvailableLocalNumberSchema)).items;
  }

  /** Buys the number on the master account, wired to the platform's Elastic SIP trunk. */
  purchase(options: {
    e164: string;
    friendlyName: string | null;
    trunkSid: string;
  }): Promise<IncomingPhoneNumber> {
    const form: Record<string, string> = { PhoneNumber: options.e164, TrunkSid: options.trunkSid };
    if (options.friendlyName) form.FriendlyName = options.friendlyName;
    return this.#one(
      {
        operation: "purchase",
        method: "POST",
        path: `${this.#accountPath}/IncomingPhoneNumbers.json`,
        form,
      },
      IncomingPhoneNumberSchema,
    );
  }

  /**
   * Whether the master account holds this number now. Twilio has no idempotency key for
   * purchases, so this is how an unknown outcome is settled.
   */
  async findOwned(e164: string): Promise<IncomingPhoneNumber | null> {
    const call: Call = {
      operation: "lookup",
      method: "GET",
      path: `${this.#accountPath}/IncomingPhoneNumbers.json`,
      query: { PhoneNumber: e164, PageSize: "20" },
    };
    const page = await this.#page(call, "incoming_phone_numbers", IncomingPhoneNumberSchema);
    return page.items.find((n) => n.phone_number === e164) ?? null;
  }

  /** Every number the master account holds, following Twilio's pages. */
  async listOwned(pageSize = 1000): Promise<IncomingPhoneNumber[]> {
    const numbers: IncomingPhoneNumber[] = [];
    let next: Call | null = {
      operation: "list",
      method: "GET",
      path: `${this.#accountPath}/IncomingPhoneNumbers.json`,
      query: { PageSize: String(pageSize) },
    };
    while (next) {
      const page: { items: IncomingPhoneNumber[]; nextPageUri: string | null } = await this.#page(
        next,
        "incoming_phone_numbers",
        IncomingPhoneNumberSchema,
      );
      numbers.push(...page.items);
      next = page.nextPageUri ? this.#pageCall(page.nextPageUri) : null;
    }
    return numbers;
  }

  /**
   * Releases the number. A 404 says only that this SID is not found on this account: the caller
   * must confirm by a lookup by number before it records a release.
   */
  async release(sid: string): Promise<void> {
    await this.#call({
      operation: "release",
      method: "DELETE",
      path: `${this.#accountPath}/IncomingPhoneNumbers/${encodeURIComponent(sid)}.json`,
    });
  }

  /** Sets the number's FriendlyName (our label; Twilio shows the number itself when empty). */
  async updateFriendlyName(sid: string, friendlyName: string | null): Promise<void> {
    await this.#call({
      operation: "update",
      method: "POST",
      path: `${this.#accountPath}/IncomingPhoneNumbers/${encodeURIComponent(sid)}.json`,
      form: { FriendlyName: friendlyName ?? "" },
    });
  }

  // ---- A customer's own account (imports) ---------------------------------------------------

  /** The account the credentials name; its `status` (active, suspended, closed). */
  fetchAccount(): Promise<{ status: string }> {
    return this.#one(
      { operation: "account", method: "GET", path: `${this.#accountPath}.json` },
      AccountSchema,
    );
  }

  /** The account's IncomingPhoneNumber with exactly this number, with its voice settings. */
  async findNumberVoice(e164: string): Promise<NumberVoice | null> {
    const call: Call = {
      operation: "lookup",
      method: "GET",
      path: `${this.#accountPath}/IncomingPhoneNumbers.json`,
      query: { PhoneNumber: e164, PageSize: "20" },
    };
    const page = await this.#page(call, "incoming_phone_numbers", NumberVoiceSchema);
    return page.items.find((n) => n.phone_number === e164) ?? null;
  }

  /** The account's verified caller id with exactly this number (OutgoingCallerIds). */
  async findCallerId(e164: string): Promise<{ sid: string } | null> {
    const call: Call = {
      operation: "caller_ids",
      method: "GET",
      path: `${this.#accountPath}/OutgoingCallerIds.json`,
      query: { PhoneNumber: e164, PageSize: "20" },
    };
    const page = await this.#page(call, "outgoing_caller_ids", OutgoingCallerIdSchema);
    const found = page.items.find((n) => n.phone_number === e164);
    return found ? { sid: found.sid } : null;
  }

  /** Sets a number's voice URL, method and application (an empty string clears one). */
  async updateNumberVoice(
    sid: string,
    voice: { voiceUrl: string; voiceMethod: string; voiceApplicationSid: string },
  ): Promise<void> {
    await this.#call({
      operation: "update",
      method: "POST",
      path: `${this.#accountPath}/IncomingPhoneNumbers/${encodeURIComponent(sid)}.json`,
      form: {
        VoiceUrl: voice.voiceUrl,
        VoiceMethod: voice.voiceMethod,
        VoiceApplicationSid: voice.voiceApplicationSid,
      },
    });
  }

  /** The account's trunk with this DomainName, if any (following v1's pages). */
  async findTrunkByDomain(domainName: string): Promise<TrunkResource | null> {
    const wanted = domainName.toLowerCase();
    return (await this.listTrunks()).find((t) => t.domain_name?.toLowerCase() === wanted) ?? null;
  }

  /** Every Elastic SIP trunk of the account (following v1's pages). */
  async listTrunks(): Promise<TrunkResource[]> {
    const trunks: TrunkResource[] = [];
    let call: Call | null = {
      operation: "trunking",
      method: "GET",
      origin: TWILIO_TRUNKING_ORIGIN,
      path: "/v1/Trunks",
      query: { PageSize: "100" },
    };
    while (call) {
      const page: { items: TrunkResource[]; nextPageUrl: string | null } | null = readPageV1(
        await this.#call(call),
        "trunks",
        TrunkSchema,
      );
      if (!page) throw this.#unreadable(call);
      trunks.push(...page.items);
      call = page.nextPageUrl ? this.#v1PageCall(page.nextPageUrl) : null;
    }
    return trunks;
  }

  createTrunk(options: { domainName: string; friendlyName: string }): Promise<TrunkResource> {
    return this.#one(
      {
        operation: "trunking",
        method: "POST",
        origin: TWILIO_TRUNKING_ORIGIN,
        path: "/v1/Trunks",
        form: { DomainName: options.domainName, FriendlyName: options.friendlyName },
      },
      TrunkSchema,
    );
  }

  /** Deletes the trunk (its origination URLs and credential list places go with it). */
  async deleteTrunk(trunkSid: string): Promise<void> {
    await this.#call({
      operation: "trunking",
      method: "DELETE",
      origin: TWILIO_TRUNKING_ORIGIN,
      path: `/v1/Trunks/${encodeURIComponent(trunkSid)}`,
    });
  }

  /** The SID of the trunk's origination URL with this SIP URL, if any. */
  async findOriginationUrl(trunkSid: string, sipUrl: string): Promise<string | null> {
    const call: Call = {
      operation: "trunking",
      method: "GET",
      origin: TWILIO_TRUNKING_ORIGIN,
      path: `/v1/Trunks/${encodeURIComponent(trunkSid)}/OriginationUrls`,
      query: { PageSize: "100" },
    };
    const page = readPageV1(await this.#call(call), "origination_urls", SidSchema);
    if (!page) throw this.#unreadable(call);
    return page.items.find((u) => u.sip_url === sipUrl)?.sid ?? null;
  }

  async createOriginationUrl(trunkSid: string, sipUrl: string, friendlyName: string) {
    return (
      await this.#one(
        {
          operation: "trunking",
          method: "POST",
          origin: TWILIO_TRUNKING_ORIGIN,
          path: `/v1/Trunks/${encodeURIComponent(trunkSid)}/OriginationUrls`,
          form: {
            SipUrl: sipUrl,
            FriendlyName: friendlyName,
            Priority: "10",
            Weight: "10",
            Enabled: "true",
          },
        },
        SidSchema,
      )
    ).sid;
  }

  /** Puts the account's number on the trunk (moving it from any other trunk). */
  async addTrunkNumber(trunkSid: string, numberSid: string): Promise<void> {
    await this.#call({
      operation: "trunking",
      method: "POST",
      origin: TWILIO_TRUNKING_ORIGIN,
      path: `/v1/Trunks/${encodeURIComponent(trunkSid)}/PhoneNumbers`,
      form: { PhoneNumberSid: numberSid },
    });
  }

  /** Takes the number off the trunk (its trunk_sid becomes null). */
  async removeTrunkNumber(trunkSid: string, numberSid: string): Promise<void> {
    await this.#call({
      operation: "trunking",
      method: "DELETE",
      origin: TWILIO_TRUNKING_ORIGIN,
      path: `/v1/Trunks/${encodeURIComponent(trunkSid)}/PhoneNumbers/${encodeURIComponent(numberSid)}`,
    });
  }

  /** The account's SIP credential list with this FriendlyName, if any. */
  async findCredentialList(friendlyName: string): Promise<string | null> {
    const call: Call = {
      operation: "sip",
      method: "GET",
      path: `${this.#accountPath}/SIP/CredentialLists.json`,
      query: { PageSize: "100" },
    };
    const page = await this.#page(call, "credential_lists", SidSchema);
    return page.items.find((l) => l.friendly_name === friendlyName)?.sid ?? null;
  }

  async createCredentialList(friendlyName: string): Promise<string> {
    return (
      await this.#one(
        {
          operation: "sip",
          method: "POST",
          path: `${this.#accountPath}/SIP/CredentialLists.json`,
          form: { FriendlyName: friendlyName },
        },
        SidSchema,
      )
    ).sid;
  }

  /** Adds a credential; the password is sent, never logged. */
  async createCredential(listSid: string, username: string, password: string): Promise<void> {
    await this.#call({
      operation: "sip",
      method: "POST",
      path: `${this.#accountPath}/SIP/CredentialLists/${encodeURIComponent(listSid)}/Credentials.json`,
      form: { Username: username, Password: password },
    });
  }

  /** Whether the list holds a credential with this username. */
  async hasCredential(listSid: string, username: string): Promise<boolean> {
    const call: Call = {
      operation: "sip",
      method: "GET",
      path: `${this.#accountPath}/SIP/CredentialLists/${encodeURIComponent(listSid)}/Credentials.json`,
      query: { PageSize: "100" },
    };
    const page = await this.#page(call, "credentials", SidSchema);
    return page.items.some((c) => c.username === username);
  }

  async deleteCredentialList(listSid: string): Promise<void> {
    await this.#call({
      operation: "sip",
      method: "DELETE",
      path: `${this.#accountPath}/SIP/CredentialLists/${encodeURIComponent(listSid)}.json`,
    });
  }

  /** Whether the trunk has this credential list; adds it when not. */
  async attachCredentialList(trunkSid: string, listSid: string): Promise<void> {
    const list: Call = {
      operation: "trunking",
      method: "GET",
      origin: TWILIO_TRUNKING_ORIGIN,
      path: `/v1/Trunks/${encodeURIComponent(trunkSid)}/CredentialLists`,
      query: { PageSize: "100" },
    };
    const page = readPageV1(await this.#call(list), "credential_lists", SidSchema);
    if (!page) throw this.#unreadable(list);
    if (page.items.some((l) => l.sid === listSid)) return;
    await this.#call({
      operation: "trunking",
      method: "POST",
      origin: TWILIO_TRUNKING_ORIGIN,
      path: `/v1/Trunks/${encodeURIComponent(trunkSid)}/CredentialLists`,
      form: { CredentialListSid: listSid },
    });
  }

  #v1PageCall(nextPageUrl: string): Call {
    const url = new URL(nextPageUrl);
    return {
      operation: "trunking",
      method: "GET",
      origin: url.origin,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
  }

  #pageCall(nextPageUri: string): Call {
    const url = new URL(nextPageUri, this.#origin);
    return {
      operation: "list",
      method: "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
  }

  /** One resource, read with `schema`. */
  async #one<T>(call: Call, schema: Parameters<typeof readPage<T>>[2]): Promise<T> {
    const parsed = schema.safeParse(await this.#call(call));
    if (!parsed.success) throw this.#unreadable(call);
    return parsed.data;
  }

  /** One page of a list resource; items that cannot be read are skipped and logged. */
  async #page<T>(call: Call, key: string, schema: Parameters<typeof readPage<T>>[2]) {
    const page = readPage(await this.#call(call), key, schema);
    if (!page) throw this.#unreadable(call);
    if (page.skipped > 0) {
      log.warn("twilio_items_skipped", {
        ...this.#logContext,
        operation: call.operation,
        skipped: page.skipped,
      });
    }
    return page;
  }

  #unreadable(call: Call): TwilioError {
    log.warn("twilio_call", {
      ...this.#logContext,
      operation: call.operation,
      outcome: "unreadable",
    });
    // The call went through but its reply cannot be read: whether it took effect is unknown.
    return new TwilioError("unknown", call.operation, 200, null, "unreadable reply");
  }

  /**
   * Sends the call; resolves with the parsed JSON body of a 2xx reply (undefined if none).
   * A throttled call (429, never processed) is sent again with backoff within a small budget.
   */
  async #call(call: Call): Promise<unknown> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#send(call);
      } catch (error) {
        if (!(error instanceof TwilioError) || error.httpStatus !== 429) throw error;
        const wait = error.retryAfterSeconds
          ? error.retryAfterSeconds * 1000
          : fullJitterDelayMs(attempt, THROTTLE_RETRY_BASE_MS);
        const spent = Date.now() - started;
        if (attempt + 1 >= THROTTLE_MAX_TRIES || spent + wait > THROTTLE_RETRY_BUDGET_MS) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async #send(call: Call): Promise<unknown> {
    const url = new URL(call.path, call.origin ?? this.#origin);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = {
      Authorization: this.#authorization,
      Accept: "application/json",
    };
    let body: string | undefined;
    if (call.form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(call.form).toString();
    }
    const started = Date.now();
    const fail = (
      kind: TwilioError["kind"],
      status: number | null,
      code: number | null,
      message: string,
      retryAfterSeconds?: number,
    ) => {
      log.warn("twilio_call", {
        ...this.#logContext,
        operation: call.operation,
        twilio_status: status,
        twilio_code: code,
        outcome: kind,
        detail: message,
        duration_ms: Date.now() - started,
      });
      return new TwilioError(kind, call.operation, status, code, message, retryAfterSeconds);
    };

    // Through the gate, the call may first wait for its turn; the gate applies timeoutMs to the
    // Twilio call itself, so this is only the outer bound (with a second for the hops).
    const { timeoutMs, queueWaitMs } = this.#config;
    const signal = AbortSignal.timeout(timeoutMs + (queueWaitMs > 0 ? queueWaitMs + 1000 : 0));
    let response: Response;
    let text: string;
    try {
      const init: RequestInit = { method: call.method, headers, body, signal };
      response = await (this.#config.fetcher
        ? this.#config.fetcher.fetch(url.toString(), init)
        : fetch(url.toString(), init));
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw fail("unknown", null, null, `no reply from Twilio (${reason})`);
    }

    if (response.ok) {
      logUpstreamCall(
        this.#logContext,
        {
          service: "twilio",
          operation: call.operation,
          status: response.status,
          duration_ms: Date.now() - started,
        },
        "twilio_call",
      );
      return text === "" ? undefined : safeJson(text);
    }

    // Twilio's error body, when it is JSON (its edge may answer a 5xx with an HTML page).
    const { code, message } = readErrorBody(safeJson(text));
    // Twilio does not document Retry-After on a 429; without one the caller backs off with jitter.
    const retryAfter = Number(response.headers.get("Retry-After"));
    throw fail(
      "answered",
      response.status,
      code,
      message,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
