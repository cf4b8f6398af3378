import * as z from "zod/mini";
import { type LogFields, log, logUpstreamCall } from "../log";
import type { LiveKitConfig, LiveKitCredentials } from "./config";
import { isTwirpCode, kindForHttpStatus, LiveKitError, TWIRP_CODE_KINDS } from "./failures";
import { sipAdminToken } from "./token";
import {
  type AvailableLiveKitNumber,
  type DispatchRule,
  DispatchRuleWire,
  type InboundTrunk,
  InboundTrunkWire,
  InventoryNumberWire,
  type LiveKitNumberStatus,
  type LiveKitPhoneNumber,
  type OutboundTrunk,
  OutboundTrunkWire,
  PhoneNumberWire,
  type SipTransport,
  STATUS_NAMES,
  TokenPaginationWire,
  TRANSPORT_NAMES,
  TwirpErrorWire,
  toAvailableNumber,
  toDispatchRule,
  toInboundTrunk,
  toOutboundTrunk,
  toPhoneNumber,
} from "./wire";

export type {
  AvailableLiveKitNumber,
  DispatchRule,
  InboundTrunk,
  LiveKitNumberStatus,
  LiveKitPhoneNumber,
  OutboundTrunk,
  SipTransport,
};

type Service = "livekit.SIP" | "livekit.PhoneNumberService";

type Call = {
  service: Service;
  method: string;
  body: Record<string, unknown>;
  /** Secrets this call's body carries (SIP passwords), kept out of logs and errors. */
  secrets?: string[];
};

/** Changes to a list of numbers: add and remove in place, or replace the whole list. */
export type NumbersChange = { add?: string[]; remove?: string[] } | { set: string[] };

export type InboundTrunkSpec = {
  name: string;
  /** Called numbers; LiveKit accepts calls to these only. */
  numbers: string[];
  metadata?: string;
  allowedNumbers?: string[];
  allowedAddresses?: string[];
  authUsername?: string;
  authPassword?: string;
};

export type OutboundTrunkSpec = {
  name: string;
  /** Host, not a SIP URI: `<name>.pstn.twilio.com`. */
  address: string;
  numbers: string[];
  authUsername: string;
  authPassword: string;
  metadata?: string;
  transport?: SipTransport;
};

/** An individual dispatch rule (one new room per call) that dispatches one agent. */
export type DispatchRuleSpec = {
  name: string;
  /** Empty: every trunk. */
  trunkIds: string[];
  /** Called numbers; empty: every number. */
  numbers: string[];
  /** The agent worker's registered name. */
  agentName: string;
  roomPrefix: string;
  metadata?: string;
  attributes?: Record<string, string>;
  pin?: string;
};

export type PhoneNumberRef = { id: string } | { phoneNumber: string };

const LIST_PAGE_LIMIT = 100;
const MIN_SECRET_LENGTH = 4;

const ListWire = z.object({ items: z._default(z.array(z.unknown()), []) });
const GetInboundWire = z.object({ trunk: InboundTrunkWire });
const GetOutboundWire = z.object({ trunk: OutboundTrunkWire });
const SearchWire = z.object({
  items: z._default(z.array(InventoryNumberWire), []),
  next_page_token: TokenPaginationWire,
});
const PurchaseWire = z.object({
  phone_numbers: z.array(PhoneNumberWire).check(z.minLength(1)),
});
const OnePhoneNumberWire = z.object({ phone_number: PhoneNumberWire });
const ListPhoneNumbersWire = z.object({
  items: z._default(z.array(PhoneNumberWire), []),
  next_page_token: TokenPaginationWire,
});
/** DeleteSIPTrunk answers with the legacy SIPTrunkInfo; only its being a message matters. */
const AnyMessageWire = z.looseObject({});

function listUpdate(change: NumbersChange): Record<string, unknown> {
  if ("set" in change) return change.set.length > 0 ? { set: change.set } : { clear: true };
  const update: Record<string, unknown> = {};
  if (change.add && change.add.length > 0) update.add = change.add;
  if (change.remove && change.remove.length > 0) update.remove = change.remove;
  return update;
}

function inboundTrunkBody(spec: InboundTrunkSpec): Record<string, unknown> {
  const trunk: Record<string, unknown> = { name: spec.name, numbers: spec.numbers };
  if (spec.metadata !== undefined) trunk.metadata = spec.metadata;
  if (spec.allowedNumbers?.length) trunk.allowed_numbers = spec.allowedNumbers;
  if (spec.allowedAddresses?.length) trunk.allowed_addresses = spec.allowedAddresses;
  if (spec.authUsername !== undefined) trunk.auth_username = spec.authUsername;
  if (spec.authPassword !== undefined) trunk.auth_password = spec.authPassword;
  return trunk;
}

function dispatchRuleBody(spec: DispatchRuleSpec): Record<string, unknown> {
  const individual: Record<string, unknown> = { room_prefix: spec.roomPrefix };
  if (spec.pin) individual.pin = spec.pin;
  const rule: Record<string, unknown> = {
    name: spec.name,
    trunk_ids: spec.trunkIds,
    numbers: spec.numbers,
    rule: { dispatch_rule_individual: individual },
    room_config: { agents: [{ agent_name: spec.agentName }] },
  };
  if (spec.metadata !== undefined) rule.metadata = spec.metadata;
  if (spec.attributes !== undefined) rule.attributes = spec.attributes;
  return rule;
}

/**
 * A LiveKit project, spoken to over its Twirp API: JSON bodies with proto field names, a short
 * `sip.admin` token per call, a timeout on every call. The only code that knows LiveKit's wire
 * format; callers see camelCase types and `LiveKitError`.
 */
export class LiveKitClient {
  readonly #config: LiveKitConfig;
  readonly #credentials: LiveKitCredentials;
  readonly #origin: string;
  readonly #logContext: LogFields;

  /** `logContext` (request id, workspace) is added to the log line of every call. */
  constructor(
    config: LiveKitConfig,
    url: string,
    credentials: LiveKitCredentials,
    logContext: LogFields = {},
  ) {
    this.#config = config;
    this.#credentials = credentials;
    this.#logContext = logContext;
    // LiveKit URLs are often given as wss://; the API is the same host over https.
    this.#origin = new URL(url.replace(/^ws(s?):/i, "http$1:")).origin;
  }

  static fromConfig(config: LiveKitConfig, logContext: LogFields = {}): LiveKitClient {
    if (!config.url || !config.credentials) {
      throw new LiveKitError("not_configured", "config", null, null, "LiveKit is not configured");
    }
    return new LiveKitClient(config, config.url, config.credentials, logContext);
  }

  // ---- Inbound trunks --------------------------------------------------------------------

  /** Inbound trunks; `numbers` also matches trunks listing no numbers (wildcards). */
  async listInboundTrunks(
    filter: { numbers?: string[]; trunkIds?: string[] } = {},
  ): Promise<InboundTrunk[]> {
    const body: Record<string, unknown> = {};
    if (filter.numbers?.length) body.numbers = filter.numbers;
    if (filter.trunkIds?.length) body.trunk_ids = filter.trunkIds;
    const items = await this.#list({ service: "livekit.SIP", method: "ListSIPInboundTrunk", body });
    return this.#items(items, InboundTrunkWire, "ListSIPInboundTrunk").map(toInboundTrunk);
  }

  /** The trunk, or null when LiveKit has no inbound trunk with this id. */
  async getInboundTrunk(id: string): Promise<InboundTrunk | null> {
    const reply = await this.#orNotFound(
      { service: "livekit.SIP", method: "GetSIPInboundTrunk", body: { sip_trunk_id: id } },
      GetInboundWire,
    );
    return reply ? toInboundTrunk(reply.trunk) : null;
  }

  async createInboundTrunk(spec: InboundTrunkSpec): Promise<InboundTrunk> {
    const call: Call = {
      service: "livekit.SIP",
      method: "CreateSIPInboundTrunk",
      body: { trunk: inboundTrunkBody(spec) },
      secrets: spec.authPassword ? [spec.authPassword] : [],
    };
    return toInboundTrunk(await this.#send(call, InboundTrunkWire));
  }

  /** Adds and removes called numbers in place (or replaces the list with `set`). */
  async updateInboundTrunkNumbers(id: string, change: NumbersChange): Promise<InboundTrunk> {
    const call: Call = {
      service: "livekit.SIP",
      method: "UpdateSIPInboundTrunk",
      body: { sip_trunk_id: id, update: { numbers: listUpdate(change) } },
    };
    return toInboundTrunk(await this.#send(call, InboundTrunkWire));
  }

  /** Replaces the whole trunk: fields the spec leaves out are cleared. */
  async replaceInboundTrunk(id: string, spec: InboundTrunkSpec): Promise<InboundTrunk> {
    const call: Call = {
      service: "livekit.SIP",
      method: "UpdateSIPInboundTrunk",
      body: { sip_trunk_id: id, replace: inboundTrunkBody(spec) },
      secrets: spec.authPassword ? [spec.authPassword] : [],
    };
    return toInboundTrunk(await this.#send(call, InboundTrunkWire));
  }

  /** Deletes a trunk of either kind; "not_found" when LiveKit has none with this id. */
  deleteTrunk(id: string): Promise<"deleted" | "not_found"> {
    return this.#delete({
      service: "livekit.SIP",
      method: "DeleteSIPTrunk",
      body: { sip_trunk_id: id },
    });
  }

  // ---- Outbound trunks -------------------------------------------------------------------

  async listOutboundTrunks(
    filter: { numbers?: string[]; trunkIds?: string[] } = {},
  ): Promise<OutboundTrunk[]> {
    const body: Record<string, unknown> = {};
    if (filter.numbers?.length) body.numbers = filter.numbers;
    if (filter.trunkIds?.length) body.trunk_ids = filter.trunkIds;
    const items = await this.#list({
      service: "livekit.SIP",
      method: "ListSIPOutboundTrunk",
      body,
    });
    return this.#items(items, OutboundTrunkWire, "ListSIPOutboundTrunk").map(toOutboundTrunk);
  }

  async getOutboundTrunk(id: string): Promise<OutboundTrunk | null> {
    const reply = await this.#orNotFound(
      { service: "livekit.SIP", method: "GetSIPOutboundTrunk", body: { sip_trunk_id: id } },
      GetOutboundWire,
    );
    return reply ? toOutboundTrunk(reply.trunk) : null;
  }

  async createOutboundTrunk(spec: OutboundTrunkSpec): Promise<OutboundTrunk> {
    const trunk: Record<string, unknown> = {
      name: spec.name,
      address: spec.address,
      numbers: spec.numbers,
      auth_username: spec.authUsername,
      auth_password: spec.authPassword,
    };
    if (spec.metadata !== undefined) trunk.metadata = spec.metadata;
    if (spec.transport !== undefined) trunk.transport = TRANSPORT_NAMES[spec.transport];
    const call: Call = {
      service: "livekit.SIP",
      method: "CreateSIPOutboundTrunk",
      body: { trunk },
      secrets: [spec.authPassword],
    };
    return toOutboundTrunk(await this.#send(call, OutboundTrunkWire));
  }

  /** Adds and removes caller ids in place (or replaces the list with `set`). */
  async updateOutboundTrunkNumbers(id: string, change: NumbersChange): Promise<OutboundTrunk> {
    const call: Call = {
      service: "livekit.SIP",
      method: "UpdateSIPOutboundTrunk",
      body: { sip_trunk_id: id, update: { numbers: listUpdate(change) } },
    };
    return toOutboundTrunk(await this.#send(call, OutboundTrunkWire));
  }

  // ---- Dispatch rules --------------------------------------------------------------------

  /** Dispatch rules; `trunkIds` also matches rules naming no trunk (wildcards). */
  async listDispatchRules(
    filter: { trunkIds?: string[]; ruleIds?: string[] } = {},
  ): Promise<DispatchRule[]> {
    const body: Record<string, unknown> = {};
    if (filter.trunkIds?.length) body.trunk_ids = filter.trunkIds;
    if (filter.ruleIds?.length) body.dispatch_rule_ids = filter.ruleIds;
    const items = await this.#list({ service: "livekit.SIP", method: "ListSIPDispatchRule", body });
    return this.#items(items, DispatchRuleWire, "ListSIPDispatchRule").map(toDispatchRule);
  }

  async createDispatchRule(spec: DispatchRuleSpec): Promise<DispatchRule> {
    const call: Call = {
      service: "livekit.SIP",
      method: "CreateSIPDispatchRule",
      body: { dispatch_rule: dispatchRuleBody(spec) },
    };
    return toDispatchRule(await this.#send(call, DispatchRuleWire));
  }

  /**
   * Replaces the rule with `spec` (LiveKit's `update` form cannot change a rule's numbers, so
   * the whole rule is sent).
   */
  async updateDispatchRule(id: string, spec: DispatchRuleSpec): Promise<DispatchRule> {
    const call: Call = {
      service: "livekit.SIP",
      method: "UpdateSIPDispatchRule",
      body: { sip_dispatch_rule_id: id, replace: dispatchRuleBody(spec) },
    };
    return toDispatchRule(await this.#send(call, DispatchRuleWire));
  }

  deleteDispatchRule(id: string): Promise<"deleted" | "not_found"> {
    return this.#delete({
      service: "livekit.SIP",
      method: "DeleteSIPDispatchRule",
      body: { sip_dispatch_rule_id: id },
    });
  }

  // ---- Phone numbers (LiveKit's own) -------------------------------------------------------

  /** One page of US numbers for sale. */
  async searchPhoneNumbers(
    options: { areaCode?: string; limit?: number } = {},
  ): Promise<AvailableLiveKitNumber[]> {
    const body: Record<string, unknown> = { country_code: "US" };
    if (options.areaCode) body.area_code = options.areaCode;
    if (options.limit !== undefined) body.limit = options.limit;
    const reply = await this.#send(
      { service: "livekit.PhoneNumberService", method: "SearchPhoneNumbers", body },
      SearchWire,
    );
    return reply.items.map(toAvailableNumber);
  }

  /** Buys one number, assigned to the dispatch rule when one is given. */
  async purchasePhoneNumber(e164: string, dispatchRuleId?: string): Promise<LiveKitPhoneNumber> {
    const body: Record<string, unknown> = { phone_numbers: [e164] };
    if (dispatchRuleId) body.sip_dispatch_rule_id = dispatchRuleId;
    const reply = await this.#send(
      { service: "livekit.PhoneNumberService", method: "PurchasePhoneNumber", body },
      PurchaseWire,
    );
    const bought = reply.phone_numbers.find((n) => n.e164_format === e164);
    if (!bought) throw this.#unreadable("PurchasePhoneNumber", Date.now());
    return toPhoneNumber(bought);
  }

  /**
   * The number, or null when LiveKit has no record of it. How an unknown purchase outcome is
   * settled (with the caveat on LiveKitError.notFound).
   */
  async getPhoneNumber(ref: PhoneNumberRef): Promise<LiveKitPhoneNumber | null> {
    const body = "id" in ref ? { id: ref.id } : { phone_number: ref.phoneNumber };
    const reply = await this.#orNotFound(
      { service: "livekit.PhoneNumberService", method: "GetPhoneNumber", body },
      OnePhoneNumberWire,
    );
    return reply ? toPhoneNumber(reply.phone_number) : null;
  }

  /** Every number of the project (by default all but released ones), following the pages. */
  async listPhoneNumbers(
    filter: {
      statuses?: Exclude<LiveKitNumberStatus, "unspecified">[];
      dispatchRuleId?: string;
    } = {},
  ): Promise<LiveKitPhoneNumber[]> {
    const numbers: LiveKitPhoneNumber[] = [];
    let token: string | null = null;
    do {
      const body: Record<string, unknown> = { limit: LIST_PAGE_LIMIT };
      if (filter.statuses?.length) body.statuses = filter.statuses.map((s) => STATUS_NAMES[s]);
      if (filter.dispatchRuleId) body.sip_dispatch_rule_id = filter.dispatchRuleId;
      if (token !== null) body.page_token = { token };
      const reply = await this.#send(
        { service: "livekit.PhoneNumberService", method: "ListPhoneNumbers", body },
        ListPhoneNumbersWire,
      );
      numbers.push(...reply.items.map(toPhoneNumber));
      const next = reply.next_page_token?.token ?? "";
      token = next !== "" && next !== token && reply.items.length > 0 ? next : null;
    } while (token !== null);
    return numbers;
  }

  /** Assigns the number to a dispatch rule, or (null) to none. */
  async setPhoneNumberDispatchRule(
    ref: PhoneNumberRef,
    dispatchRuleId: string | null,
  ): Promise<LiveKitPhoneNumber> {
    const body: Record<string, unknown> =
      "id" in ref ? { id: ref.id } : { phone_number: ref.phoneNumber };
    body.sip_dispatch_rule_id = dispatchRuleId ?? "";
    const reply = await this.#send(
      { service: "livekit.PhoneNumberService", method: "UpdatePhoneNumber", body },
      OnePhoneNumberWire,
    );
    return toPhoneNumber(reply.phone_number);
  }

  /**
   * Releases numbers. "not_found" when LiveKit holds (one of) them no longer; whether the others
   * were released then is LiveKit's business, so release one number per call when it matters.
   */
  releasePhoneNumbers(
    which: { ids: string[] } | { phoneNumbers: string[] },
  ): Promise<"released" | "not_found"> {
    const body = "ids" in which ? { ids: which.ids } : { phone_numbers: which.phoneNumbers };
    return this.#delete({
      service: "livekit.PhoneNumberService",
      method: "ReleasePhoneNumbers",
      body,
    }).then((outcome) => (outcome === "deleted" ? "released" : "not_found"));
  }

  // ---- Plumbing ----------------------------------------------------------------------------

  /** The `items` of a list reply, unparsed. */
  async #list(call: Call): Promise<unknown[]> {
    return (await this.#send(call, ListWire)).items;
  }

  /**
   * Reads list items, dropping the `{}` a list by ids holds where one is missing; any other
   * item that does not read makes the whole reply unreadable.
   */
  #items<T>(items: unknown[], schema: z.ZodMiniType<T>, method: string): T[] {
    const out: T[] = [];
    for (const item of items) {
      if (typeof item === "object" && item !== null && Object.keys(item).length === 0) continue;
      const parsed = schema.safeParse(item);
      if (!parsed.success) throw this.#unreadable(method, Date.now());
      out.push(parsed.data);
    }
    return out;
  }

  async #orNotFound<T>(call: Call, schema: z.ZodMiniType<T>): Promise<T | null> {
    try {
      return await this.#send(call, schema);
    } catch (error) {
      if (error instanceof LiveKitError && error.notFound) return null;
      throw error;
    }
  }

  async #delete(call: Call): Promise<"deleted" | "not_found"> {
    return (await this.#orNotFound(call, AnyMessageWire)) === null ? "not_found" : "deleted";
  }

  #unreadable(method: string, started: number): LiveKitError {
    log.warn("livekit_call", {
      ...this.#logContext,
      operation: method,
      livekit_status: 200,
      outcome: "unknown",
      detail: "unreadable reply",
      duration_ms: Date.now() - started,
    });
    // The call went through but its reply cannot be read: whether it took effect is unknown.
    return new LiveKitError("unknown", method, 200, null, "unreadable reply");
  }

  /** Replaces every secret this client knows, or the call carries, in `text`. */
  #redact(text: string, call: Call, token: string | null): string {
    const secrets = [this.#credentials.apiSecret, token ?? "", ...(call.secrets ?? [])].filter(
      (secret) => secret.length >= MIN_SECRET_LENGTH,
    );
    let out = text;
    for (const secret of secrets) out = out.split(secret).join("[redacted]");
    return out;
  }

  /** Sends the call; resolves with the reply read by `schema`. */
  async #send<T>(call: Call, schema: z.ZodMiniType<T>): Promise<T> {
    const started = Date.now();
    let token: string | null = null;
    const fail = (
      kind: LiveKitError["kind"],
      status: number | null,
      code: string | null,
      detail: string,
      retryAfterSeconds?: number,
    ) => {
      const message = this.#redact(detail, call, token);
      log.warn("livekit_call", {
        ...this.#logContext,
        operation: call.method,
        livekit_status: status,
        twirp_code: code,
        outcome: kind,
        detail: message,
        duration_ms: Date.now() - started,
      });
      return new LiveKitError(kind, call.method, status, code, message, retryAfterSeconds);
    };

    token = await sipAdminToken(this.#credentials);
    const url = `${this.#origin}/twirp/${call.service}/${call.method}`;
    const init: RequestInit = {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      body: JSON.stringify(call.body),
      signal: AbortSignal.timeout(this.#config.timeoutMs),
    };
    let response: Response;
    let text: string;
    try {
      response = await (this.#config.fetcher
        ? this.#config.fetcher.fetch(url, init)
        : fetch(url, init));
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw fail("unknown", null, null, `no reply from LiveKit (${reason})`);
    }

    const json = safeJson(text);
    if (response.ok) {
      const parsed = schema.safeParse(json);
      if (!parsed.success) throw this.#unreadable(call.method, started);
      logUpstreamCall(
        this.#logContext,
        {
          service: "livekit",
          operation: call.method,
          status: response.status,
          duration_ms: Date.now() - started,
        },
        "livekit_call",
      );
      return parsed.data;
    }

    const twirp = TwirpErrorWire.safeParse(json);
    const status = response.status;
    const retryAfter = Number(response.headers.get("Retry-After"));
    const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1;
    if (twirp.success && isTwirpCode(twirp.data.code)) {
      const kind = TWIRP_CODE_KINDS[twirp.data.code];
      throw fail(
        kind,
        status,
        twirp.data.code,
        twirp.data.msg,
        kind === "throttled" ? retryAfterSeconds : undefined,
      );
    }
    // No Twirp code: a proxy's page, an empty body, a code Twirp does not define.
    const kind = kindForHttpStatus(status);
    throw fail(
      kind,
      status,
      twirp.success ? twirp.data.code : null,
      twirp.success ? twirp.data.msg : `HTTP ${status} without a Twirp error body`,
      kind === "throttled" ? retryAfterSeconds : undefined,
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
