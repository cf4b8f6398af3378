// The stand-in's one LiveKit project: SIP trunks, dispatch rules, phone numbers, injected faults
// and the request log, kept in the Durable Object's SQLite storage. Every method runs to
// completion without awaiting, so each call is atomic: a conflict check and the write it guards
// cannot interleave with another call. Waiting (delay faults, latency) and dropping connections
// happen in the Worker, not here.

import { DurableObject } from "cloudflare:workers";
import { takeFault } from "../control";
import {
  catalogueForNpa,
  DEFAULT_SEARCH_NPAS,
  isCatalogued,
  isUsNpa,
  placeForNpa,
} from "./inventory";
import { methodTypes, readMessage, redactSecrets } from "./proto-json";
import {
  agentNames,
  applyListUpdate,
  checkDispatchRuleConflicts,
  checkInboundConflicts,
  chooseInboundTrunk,
  dispatchRuleKeys,
  type Info,
  inboundTrunkKeys,
  legacyTrunkInfo,
  matchingRules,
  object,
  roomPrefix,
  strings,
  text,
  validateDispatchRule,
  validateInboundTrunk,
  validateOutboundTrunk,
} from "./sip-rules";
import { type TwirpCode, TwirpError } from "./twirp";
import type {
  AuthVerdict,
  Fault,
  FaultKind,
  FaultOperation,
  FaultSpec,
  LiveKitMethod,
  LiveKitRequestLogEntry,
  RouteAnswer,
  StandinState,
} from "./types";

export interface StandinEnv {
  LIVEKIT_PROJECT: DurableObjectNamespace<LiveKitProject>;
  STANDIN_API_KEY: string;
  STANDIN_API_SECRET: string;
}

/** A Twirp request as the Worker parsed it; the token is already reduced to its verdict. */
export interface TwirpCall {
  httpMethod: string;
  path: string;
  contentType: string | null;
  bodyText: string;
  auth: AuthVerdict;
  sipAdmin: boolean;
}

/** What the Worker must do with a request after the project has seen it. */
export type TwirpOutcome =
  | {
      action: "respond";
      holdMs: number;
      status: number;
      bodyText: string;
      contentType: string;
    }
  | { action: "drop" }
  /** A `delay` fault was consumed: wait, then call again with appliedFault "delay". */
  | { action: "perform_after_delay"; delayMs: number };

export const PERFORMED_METHODS: Readonly<Record<LiveKitMethod, string>> = {
  CreateSIPInboundTrunk: "livekit.SIP",
  CreateSIPOutboundTrunk: "livekit.SIP",
  UpdateSIPInboundTrunk: "livekit.SIP",
  UpdateSIPOutboundTrunk: "livekit.SIP",
  GetSIPInboundTrunk: "livekit.SIP",
  GetSIPOutboundTrunk: "livekit.SIP",
  ListSIPInboundTrunk: "livekit.SIP",
  ListSIPOutboundTrunk: "livekit.SIP",
  DeleteSIPTrunk: "livekit.SIP",
  CreateSIPDispatchRule: "livekit.SIP",
  UpdateSIPDispatchRule: "livekit.SIP",
  ListSIPDispatchRule: "livekit.SIP",
  DeleteSIPDispatchRule: "livekit.SIP",
  SearchPhoneNumbers: "livekit.PhoneNumberService",
  PurchasePhoneNumber: "livekit.PhoneNumberService",
  ListPhoneNumbers: "livekit.PhoneNumberService",
  GetPhoneNumber: "livekit.PhoneNumberService",
  UpdatePhoneNumber: "livekit.PhoneNumberService",
  ReleasePhoneNumbers: "livekit.PhoneNumberService",
};

/** The services the stand-in answers; other services' paths are bad routes. */
const SERVED_SERVICES = new Set(["livekit.SIP", "livekit.PhoneNumberService"]);

const DEFAULT_DELAY_MS = 1000;
const DEFAULT_TIMEOUT_HOLD_MS = 30_000;
const DEFAULT_PAGE_LIMIT = 50;
const MAX_PAGE_LIMIT = 1000;
const E164 = /^\+[1-9]\d{1,14}$/;
const JSON_TYPE = "application/json";
const TRUNK_NOT_FOUND = "requested sip trunk does not exist";
const RULE_NOT_FOUND = "requested sip dispatch rule does not exist";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `prefix` + 12 random base62 characters, like LiveKit's ids. */
function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  // 248 = 4 × 62: bytes at or above it would bias the draw, so they are drawn again.
  for (let i = 0; i < bytes.length; i++) {
    while ((bytes[i] as number) >= 248)
      bytes[i] = crypto.getRandomValues(new Uint8Array(1))[0] ?? 0;
  }
  return prefix + Array.from(bytes, (byte) => BASE62[byte % 62]).join("");
}

function now(): string {
  return new Date().toISOString();
}

function isPerformed(method: string): method is LiveKitMethod {
  return Object.hasOwn(PERFORMED_METHODS, method);
}

/** `/twirp/<package.Service>/<Method>` → its parts; null for any other path. */
function parseTwirpPath(path: string): { service: string; method: string } | null {
  const match = /^\/twirp\/([A-Za-z0-9_.]+)\/([A-Za-z0-9_]+)$/.exec(path);
  if (!match?.[1] || !match[2]) return null;
  return { service: match[1], method: match[2] };
}

type Direction = "inbound" | "outbound";
const TRUNK_TYPE: Record<Direction, string> = {
  inbound: "livekit.SIPInboundTrunkInfo",
  outbound: "livekit.SIPOutboundTrunkInfo",
};

/** The canonical form of a `typeName` message: proto names, defaults omitted. */
function canonical(typeName: string, info: Info): Info {
  const { value, problems } = readMessage(typeName, info, "accept");
  if (problems.length > 0) {
    throw new TwirpError("internal", `stand-in built an invalid ${typeName}: ${problems[0]}`);
  }
  return value;
}

export class LiveKitProject extends DurableObject<StandinEnv> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: StandinEnv) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    // seq keeps creation order for listings.
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS trunks (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      direction TEXT NOT NULL,
      info TEXT NOT NULL
    )`);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS dispatch_rules (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      info TEXT NOT NULL
    )`);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS phone_numbers (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      e164 TEXT NOT NULL,
      info TEXT NOT NULL
    )`);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS faults (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      operation TEXT NOT NULL,
      kind TEXT NOT NULL,
      code TEXT,
      message TEXT,
      status INTEGER,
      raw_body TEXT,
      delay_ms INTEGER,
      times_remaining INTEGER
    )`);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS request_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      entry TEXT NOT NULL
    )`);
    // The conflict keys of every inbound trunk and dispatch rule (sip-rules.ts), so that a new
    // one is checked against those sharing a key rather than against every one held: a project
    // holding thousands stays as fast as LiveKit is, and the benchmark measures the API, not
    // the stand-in's scans.
    const indexed = this.#sql
      .exec<{ n: number }>(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'conflict_keys'",
      )
      .one().n;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS conflict_keys (
      kind TEXT NOT NULL,
      key TEXT NOT NULL,
      owner TEXT NOT NULL
    )`);
    this.#sql.exec(
      "CREATE INDEX IF NOT EXISTS conflict_keys_by_key ON conflict_keys (kind, key, owner)",
    );
    this.#sql.exec("CREATE INDEX IF NOT EXISTS conflict_keys_by_owner ON conflict_keys (owner)");
    // A project kept from before the index (npm run dev's state): index what it holds.
    if (indexed === 0) {
      for (const trunk of this.#trunks("inbound")) this.#indexTrunk("inbound", trunk);
      for (const rule of this.#rules()) this.#indexRule(rule);
    }
  }

  /** Replaces the conflict keys of `owner` (a trunk or rule id) with `keys`. */
  #index(kind: "inbound" | "rule", owner: string, keys: Set<string>): void {
    this.#sql.exec("DELETE FROM conflict_keys WHERE owner = ?", owner);
    for (const key of keys) {
      this.#sql.exec(
        "INSERT INTO conflict_keys (kind, key, owner) VALUES (?, ?, ?)",
        kind,
        key,
        owner,
      );
    }
  }

  #indexTrunk(direction: Direction, trunk: Info): void {
    if (direction === "inbound") {
      this.#index("inbound", text(trunk, "sip_trunk_id"), inboundTrunkKeys(trunk));
    }
  }

  #indexRule(rule: Info): void {
    this.#index("rule", text(rule, "sip_dispatch_rule_id"), dispatchRuleKeys(rule));
  }

  /** The ids of other trunks or rules sharing one of `keys`. */
  #sharingKeys(kind: "inbound" | "rule", keys: Set<string>, except: string): string[] {
    return this.#sql
      .exec<{ owner: string }>(
        `SELECT DISTINCT owner FROM conflict_keys
          WHERE kind = ? AND owner != ? AND key IN (SELECT value FROM json_each(?))`,
        kind,
        except,
        JSON.stringify([...keys]),
      )
      .toArray()
      .map((row) => row.owner);
  }

  // ---- Twirp -----------------------------------------------------------------------------

  handleTwirp(call: TwirpCall, appliedFault: FaultKind | null): TwirpOutcome {
    const route = parseTwirpPath(call.path);
    const types =
      route && SERVED_SERVICES.has(route.service) ? methodTypes(route.service, route.method) : null;
    let body: unknown = null;
    let bodyText: string | null = null;
    try {
      body = call.bodyText === "" ? null : JSON.parse(call.bodyText);
    } catch {
      bodyText = call.bodyText;
    }
    const entry: LiveKitRequestLogEntry = {
      service: route && types ? route.service : null,
      method: route && types ? route.method : null,
      http_method: call.httpMethod,
      path: call.path,
      content_type: call.contentType,
      body: types ? redactSecrets(types.input, body) : body,
      body_text: bodyText,
      auth: call.auth,
      sip_admin: call.sipAdmin,
      status: 0,
      response: null,
      fault: null,
    };
    const respond = (
      status: number,
      reply: unknown,
      fault: FaultKind | null,
      holdMs = 0,
    ): TwirpOutcome => {
      entry.status = status;
      entry.response = types && status === 200 ? redactSecrets(types.output, reply) : reply;
      entry.fault = fault;
      this.#log(entry);
      return {
        action: "respond",
        holdMs: Math.max(holdMs, this.#latencyMs),
        status,
        bodyText: JSON.stringify(reply),
        contentType: JSON_TYPE,
      };
    };
    const fail = (error: TwirpError, fault: FaultKind | null = null) =>
      respond(error.status, error.body, fault);

    // LiveKit's auth middleware runs before Twirp sees the request.
    if (call.auth !== "ok") {
      return fail(new TwirpError("unauthenticated", `invalid token: ${call.auth}`));
    }
    const invalidRoute = { twirp_invalid_route: `${call.httpMethod} ${call.path}` };
    if (call.httpMethod !== "POST") {
      return fail(
        new TwirpError(
          "bad_route",
          `unsupported method ${JSON.stringify(call.httpMethod)} (only POST is allowed)`,
          invalidRoute,
        ),
      );
    }
    if (!route || !types) {
      return fail(
        new TwirpError(
          "bad_route",
          `no handler for path ${JSON.stringify(call.path)}`,
          invalidRoute,
        ),
      );
    }
    const mediaType = call.contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
    if (mediaType !== JSON_TYPE) {
      // Twirp also speaks application/protobuf; the stand-in speaks JSON only.
      return fail(
        new TwirpError(
          "bad_route",
          `unexpected Content-Type: ${JSON.stringify(call.contentType ?? "")} (the stand-in speaks ${JSON_TYPE} only)`,
          invalidRoute,
        ),
      );
    }
    if (bodyText !== null || body === null) {
      return fail(
        new TwirpError("malformed", "the json request could not be decoded", {
          cause: bodyText !== null ? "not JSON" : "empty body",
        }),
      );
    }
    const decoded = readMessage(types.input, body, "accept");
    if (decoded.problems.length > 0) {
      return fail(
        new TwirpError("malformed", "the json request could not be decoded", {
          cause: decoded.problems[0] ?? "",
        }),
      );
    }
    if (!call.sipAdmin) {
      return fail(new TwirpError("permission_denied", "permissions denied"));
    }
    const method = route.method;
    if (!isPerformed(method)) {
      return fail(
        new TwirpError("unimplemented", `${route.service}/${method} is not played by the stand-in`),
      );
    }

    let fault: Fault | null = null;
    if (appliedFault === null) {
      fault = takeFault(this.#sql, method, rowToFault);
      if (fault?.kind === "status") {
        if (fault.raw_body !== null) {
          entry.status = fault.status ?? 502;
          entry.response = fault.raw_body;
          entry.fault = "status";
          this.#log(entry);
          return {
            action: "respond",
            holdMs: this.#latencyMs,
            status: fault.status ?? 502,
            bodyText: fault.raw_body,
            contentType: "text/html; charset=utf-8",
          };
        }
        const code: TwirpCode = fault.code ?? "internal";
        const error = new TwirpError(code, fault.message ?? `injected ${code}`);
        return respond(fault.status ?? error.status, error.body, "status");
      }
      if (fault?.kind === "drop") {
        entry.fault = "drop";
        this.#log(entry);
        return { action: "drop" };
      }
      if (fault?.kind === "delay") {
        return { action: "perform_after_delay", delayMs: fault.delay_ms ?? DEFAULT_DELAY_MS };
      }
    }

    let status = 200;
    let reply: unknown;
    try {
      reply = canonical(types.output, this.#perform(method, decoded.value));
    } catch (error) {
      if (!(error instanceof TwirpError)) throw error;
      status = error.status;
      reply = error.body;
    }
    if (fault?.kind === "drop_after") {
      entry.status = status;
      entry.response = status === 200 ? redactSecrets(types.output, reply) : reply;
      entry.fault = "drop_after";
      this.#log(entry);
      return { action: "drop" };
    }
    if (fault?.kind === "succeed_then_timeout") {
      return respond(
        status,
        reply,
        "succeed_then_timeout",
        fault.delay_ms ?? DEFAULT_TIMEOUT_HOLD_MS,
      );
    }
    return respond(status, reply, appliedFault);
  }

  #perform(method: LiveKitMethod, request: Info): Info {
    switch (method) {
      case "CreateSIPInboundTrunk":
        return this.#createTrunk("inbound", request);
      case "CreateSIPOutboundTrunk":
        return this.#createTrunk("outbound", request);
      case "UpdateSIPInboundTrunk":
        return this.#updateTrunk("inbound", request);
      case "UpdateSIPOutboundTrunk":
        return this.#updateTrunk("outbound", request);
      case "GetSIPInboundTrunk":
        return { trunk: this.#requireTrunk("inbound", text(request, "sip_trunk_id")) };
      case "GetSIPOutboundTrunk":
        return { trunk: this.#requireTrunk("outbound", text(request, "sip_trunk_id")) };
      case "ListSIPInboundTrunk":
        return { items: this.#listTrunks("inbound", request) };
      case "ListSIPOutboundTrunk":
        return { items: this.#listTrunks("outbound", request) };
      case "DeleteSIPTrunk":
        return this.#deleteTrunk(text(request, "sip_trunk_id"));
      case "CreateSIPDispatchRule":
        return this.#createDispatchRule(request);
      case "UpdateSIPDispatchRule":
        return this.#updateDispatchRule(request);
      case "ListSIPDispatchRule":
        return { items: this.#listDispatchRules(request) };
      case "DeleteSIPDispatchRule":
        return this.#deleteDispatchRule(text(request, "sip_dispatch_rule_id"));
      case "SearchPhoneNumbers":
        return this.#searchPhoneNumbers(request);
      case "PurchasePhoneNumber":
        return this.#purchasePhoneNumbers(request);
      case "ListPhoneNumbers":
        return this.#listPhoneNumbers(request);
      case "GetPhoneNumber":
        return { phone_number: this.#findPhoneNumber(request) };
      case "UpdatePhoneNumber":
        return { phone_number: this.#updatePhoneNumber(request) };
      case "ReleasePhoneNumbers":
        return this.#releasePhoneNumbers(request);
    }
  }

  // ---- Trunks ----------------------------------------------------------------------------

  #trunks(direction: Direction): Info[] {
    return this.#sql
      .exec<{ info: string }>("SELECT info FROM trunks WHERE direction = ? ORDER BY seq", direction)
      .toArray()
      .map((row) => JSON.parse(row.info) as Info);
  }

  #trunk(id: string): { direction: Direction; info: Info } | null {
    const row = this.#sql
      .exec<{ direction: string; info: string }>(
        "SELECT direction, info FROM trunks WHERE id = ?",
        id,
      )
      .toArray()[0];
    if (!row) return null;
    return { direction: row.direction as Direction, info: JSON.parse(row.info) as Info };
  }

  #requireTrunk(direction: Direction, id: string): Info {
    const found = this.#trunk(id);
    if (!found || found.direction !== direction) throw new TwirpError("not_found", TRUNK_NOT_FOUND);
    return found.info;
  }

  #validateTrunk(direction: Direction, trunk: Info): void {
    if (direction === "outbound") {
      validateOutboundTrunk(trunk);
      return;
    }
    validateInboundTrunk(trunk);
    const id = text(trunk, "sip_trunk_id");
    const candidates = this.#sharingKeys("inbound", inboundTrunkKeys(trunk), id);
    if (candidates.length === 0) return;
    checkInboundConflicts(
      trunk,
      this.#trunks("inbound").filter((other) => candidates.includes(text(other, "sip_trunk_id"))),
    );
  }

  #createTrunk(direction: Direction, request: Info): Info {
    const given = object(request, "trunk");
    if (!given) throw new TwirpError("invalid_argument", "trunk is required");
    const at = now();
    // The request's id and timestamps are ignored; the project assigns them.
    const trunk = canonical(TRUNK_TYPE[direction], {
      ...given,
      sip_trunk_id: newId("ST_"),
      created_at: at,
      updated_at: at,
    });
    this.#validateTrunk(direction, trunk);
    this.#sql.exec(
      "INSERT INTO trunks (id, direction, info) VALUES (?, ?, ?)",
      text(trunk, "sip_trunk_id"),
      direction,
      JSON.stringify(trunk),
    );
    this.#indexTrunk(direction, trunk);
    return trunk;
  }

  #updateTrunk(direction: Direction, request: Info): Info {
    const id = text(request, "sip_trunk_id");
    const current = this.#requireTrunk(direction, id);
    const replace = object(request, "replace");
    const update = object(request, "update");
    let next: Info;
    if (replace) {
      next = { ...replace };
    } else if (update) {
      next = { ...current };
      const lists =
        direction === "inbound" ? ["numbers", "allowed_addresses", "allowed_numbers"] : ["numbers"];
      for (const field of lists) {
        next[field] = applyListUpdate(strings(current, field), object(update, field), field);
      }
      const scalars =
        direction === "inbound"
          ? ["auth_username", "auth_password", "auth_realm", "name", "metadata", "media_encryption"]
          : [
              "address",
              "transport",
              "destination_country",
              "auth_username",
              "auth_password",
              "name",
              "metadata",
              "media_encryption",
              "from_host",
            ];
      // Each is `optional` in the update message: present means "set to this", even "".
      for (const field of [...scalars, "media"]) {
        if (Object.hasOwn(update, field)) next[field] = update[field];
      }
    } else {
      throw new TwirpError("invalid_argument", "one of replace or update is required");
    }
    const trunk = canonical(TRUNK_TYPE[direction], {
      ...next,
      sip_trunk_id: id,
      created_at: current.created_at,
      updated_at: now(),
    });
    this.#validateTrunk(direction, trunk);
    this.#sql.exec("UPDATE trunks SET info = ? WHERE id = ?", JSON.stringify(trunk), id);
    this.#indexTrunk(direction, trunk);
    return trunk;
  }

  /**
   * trunk_ids: those trunks in that order, `{}` where one is missing (Go's nil item, as
   * protojson writes it). numbers: trunks listing one of them, or listing none (wildcards).
   */
  #listTrunks(direction: Direction, request: Info): Info[] {
    const numbers = strings(request, "numbers");
    const matchesNumbers = (trunk: Info) => {
      const own = strings(trunk, "numbers");
      return numbers.length === 0 || own.length === 0 || own.some((n) => numbers.includes(n));
    };
    const ids = strings(request, "trunk_ids");
    if (ids.length > 0) {
      const all = new Map(this.#trunks(direction).map((t) => [text(t, "sip_trunk_id"), t]));
      return ids.map((id) => {
        const trunk = all.get(id);
        return trunk && matchesNumbers(trunk) ? trunk : {};
      });
    }
    return paginate(this.#trunks(direction).filter(matchesNumbers), "sip_trunk_id", request);
  }

  #deleteTrunk(id: string): Info {
    const found = this.#trunk(id);
    if (!found) throw new TwirpError("not_found", TRUNK_NOT_FOUND);
    this.#sql.exec("DELETE FROM trunks WHERE id = ?", id);
    this.#sql.exec("DELETE FROM conflict_keys WHERE owner = ?", id);
    // Dispatch rules naming the trunk keep its id, as LiveKit's do.
    return legacyTrunkInfo(found.info, found.direction);
  }

  // ---- Dispatch rules --------------------------------------------------------------------

  #rules(): Info[] {
    return this.#sql
      .exec<{ info: string }>("SELECT info FROM dispatch_rules ORDER BY seq")
      .toArray()
      .map((row) => JSON.parse(row.info) as Info);
  }

  #requireRule(id: string): Info {
    const row = this.#sql
      .exec<{ info: string }>("SELECT info FROM dispatch_rules WHERE id = ?", id)
      .toArray()[0];
    if (!row) throw new TwirpError("not_found", RULE_NOT_FOUND);
    return JSON.parse(row.info) as Info;
  }

  #validateRule(rule: Info): void {
    validateDispatchRule(rule);
    const id = text(rule, "sip_dispatch_rule_id");
    const candidates = this.#sharingKeys("rule", dispatchRuleKeys(rule), id);
    if (candidates.length === 0) return;
    checkDispatchRuleConflicts(
      rule,
      this.#rules().filter((other) => candidates.includes(text(other, "sip_dispatch_rule_id"))),
    );
  }

  #createDispatchRule(request: Info): Info {
    // The deprecated top-level fields describe the rule when dispatch_rule is absent.
    const given = object(request, "dispatch_rule") ?? {
      rule: request.rule,
      trunk_ids: request.trunk_ids,
      hide_phone_number: request.hide_phone_number,
      inbound_numbers: request.inbound_numbers,
      name: request.name,
      metadata: request.metadata,
      attributes: request.attributes,
      room_preset: request.room_preset,
      room_config: request.room_config,
    };
    const at = now();
    const rule = canonical("livekit.SIPDispatchRuleInfo", {
      ...given,
      sip_dispatch_rule_id: newId("SDR_"),
      created_at: at,
      updated_at: at,
    });
    this.#validateRule(rule);
    this.#sql.exec(
      "INSERT INTO dispatch_rules (id, info) VALUES (?, ?)",
      text(rule, "sip_dispatch_rule_id"),
      JSON.stringify(rule),
    );
    this.#indexRule(rule);
    return rule;
  }

  #updateDispatchRule(request: Info): Info {
    const id = text(request, "sip_dispatch_rule_id");
    const current = this.#requireRule(id);
    const replace = object(request, "replace");
    const update = object(request, "update");
    let next: Info;
    if (replace) {
      next = { ...replace };
    } else if (update) {
      next = { ...current };
      next.trunk_ids = applyListUpdate(
        strings(current, "trunk_ids"),
        object(update, "trunk_ids"),
        "trunk_ids",
      );
      for (const field of ["rule", "name", "metadata", "media_encryption", "media"]) {
        if (Object.hasOwn(update, field)) next[field] = update[field];
      }
      // A map has no presence: attributes replace the old ones only when some are given.
      if (Object.hasOwn(update, "attributes")) next.attributes = update.attributes;
    } else {
      throw new TwirpError("invalid_argument", "one of replace or update is required");
    }
    const rule = canonical("livekit.SIPDispatchRuleInfo", {
      ...next,
      sip_dispatch_rule_id: id,
      created_at: current.created_at,
      updated_at: now(),
    });
    this.#validateRule(rule);
    this.#sql.exec("UPDATE dispatch_rules SET info = ? WHERE id = ?", JSON.stringify(rule), id);
    this.#indexRule(rule);
    return rule;
  }

  /**
   * dispatch_rule_ids: those rules in that order, `{}` for a missing one. trunk_ids: rules
   * naming one of the trunks, or naming none (wildcards).
   */
  #listDispatchRules(request: Info): Info[] {
    const trunkIds = strings(request, "trunk_ids");
    const matchesTrunks = (rule: Info) => {
      const own = strings(rule, "trunk_ids");
      return trunkIds.length === 0 || own.length === 0 || own.some((id) => trunkIds.includes(id));
    };
    const ids = strings(request, "dispatch_rule_ids");
    if (ids.length > 0) {
      const all = new Map(this.#rules().map((r) => [text(r, "sip_dispatch_rule_id"), r]));
      return ids.map((id) => {
        const rule = all.get(id);
        return rule && matchesTrunks(rule) ? rule : {};
      });
    }
    return paginate(this.#rules().filter(matchesTrunks), "sip_dispatch_rule_id", request);
  }

  #deleteDispatchRule(id: string): Info {
    const rule = this.#requireRule(id);
    this.#sql.exec("DELETE FROM dispatch_rules WHERE id = ?", id);
    this.#sql.exec("DELETE FROM conflict_keys WHERE owner = ?", id);
    // Phone numbers lose the rule; one left with none goes offline.
    for (const number of this.#phoneNumbers()) {
      const ruleIds = strings(number, "sip_dispatch_rule_ids");
      if (!ruleIds.includes(id)) continue;
      this.#savePhoneNumber(
        withRules(
          number,
          ruleIds.filter((other) => other !== id),
        ),
      );
    }
    return rule;
  }

  // ---- Phone numbers ---------------------------------------------------------------------

  #phoneNumbers(): Info[] {
    return this.#sql
      .exec<{ info: string }>("SELECT info FROM phone_numbers ORDER BY seq")
      .toArray()
      .map((row) => JSON.parse(row.info) as Info);
  }

  /** Numbers the project holds now (every status but RELEASED). */
  #heldPhoneNumbers(): Info[] {
    return this.#phoneNumbers().filter((n) => n.status !== "PHONE_NUMBER_STATUS_RELEASED");
  }

  #savePhoneNumber(number: Info): void {
    const info = canonical("livekit.PhoneNumber", { ...number, updated_at: now() });
    this.#sql.exec(
      "UPDATE phone_numbers SET info = ? WHERE id = ?",
      JSON.stringify(info),
      text(info, "id"),
    );
  }

  #searchPhoneNumbers(request: Info): Info {
    const country = text(request, "country_code").toUpperCase();
    if (country !== "US") {
      throw new TwirpError(
        "invalid_argument",
        country === "" ? "country_code is required" : `no numbers are sold in ${country}; only US`,
      );
    }
    let npas: readonly string[] = DEFAULT_SEARCH_NPAS;
    const areaCode = text(request, "area_code");
    if (areaCode !== "") {
      if (!/^\d{3}$/.test(areaCode)) {
        throw new TwirpError("invalid_argument", "area_code must be three digits");
      }
      npas = [areaCode];
    }
    const limit = pageLimit(request);
    const offset = pageOffset(object(request, "page_token"));
    const held = new Set(this.#heldPhoneNumbers().map((n) => text(n, "e164_format")));
    const available = npas.flatMap((npa) => catalogueForNpa(npa)).filter((e) => !held.has(e));
    const page = available.slice(offset, offset + limit);
    const out: Info = { items: page.map((e164) => inventoryItem(e164)) };
    if (offset + limit < available.length) out.next_page_token = { token: `o${offset + limit}` };
    return out;
  }

  #purchasePhoneNumbers(request: Info): Info {
    const wanted = strings(request, "phone_numbers");
    if (wanted.length === 0) throw new TwirpError("invalid_argument", "phone_numbers is required");
    if (new Set(wanted).size !== wanted.length) {
      throw new TwirpError("invalid_argument", "phone_numbers holds the same number twice");
    }
    const held = new Set(this.#heldPhoneNumbers().map((n) => text(n, "e164_format")));
    for (const e164 of wanted) {
      if (!E164.test(e164)) {
        throw new TwirpError("invalid_argument", `${JSON.stringify(e164)} is not an E.164 number`);
      }
      const npa = /^\+1(\d{3})\d{7}$/.exec(e164)?.[1];
      if (npa === undefined || !isUsNpa(npa)) {
        throw new TwirpError(
          "invalid_argument",
          `${e164} is not a US number; only US numbers are sold`,
        );
      }
      if (held.has(e164)) {
        throw new TwirpError("already_exists", `${e164} is already held by this project`);
      }
      if (!isCatalogued(e164)) {
        throw new TwirpError("not_found", `${e164} is not available for purchase`);
      }
    }
    const ruleId = Object.hasOwn(request, "sip_dispatch_rule_id")
      ? text(request, "sip_dispatch_rule_id")
      : "";
    if (ruleId !== "") this.#requireRule(ruleId);
    const at = now();
    const bought = wanted.map((e164) => {
      const number = canonical(
        "livekit.PhoneNumber",
        withRules(
          {
            ...inventoryItem(e164),
            id: newId("PN_"),
            created_at: at,
            updated_at: at,
            assigned_at: at,
          },
          ruleId === "" ? [] : [ruleId],
        ),
      );
      this.#sql.exec(
        "INSERT INTO phone_numbers (id, e164, info) VALUES (?, ?, ?)",
        text(number, "id"),
        e164,
        JSON.stringify(number),
      );
      return number;
    });
    return { phone_numbers: bought };
  }

  #listPhoneNumbers(request: Info): Info {
    const statuses = strings(request, "statuses");
    const ruleId = Object.hasOwn(request, "sip_dispatch_rule_id")
      ? text(request, "sip_dispatch_rule_id")
      : "";
    const all = this.#phoneNumbers();
    const matches = all.filter((number) => {
      const status = text(number, "status");
      const statusOk =
        statuses.length === 0
          ? status !== "PHONE_NUMBER_STATUS_RELEASED"
          : statuses.includes(status);
      return (
        statusOk && (ruleId === "" || strings(number, "sip_dispatch_rule_ids").includes(ruleId))
      );
    });
    const limit = pageLimit(request);
    const offset = pageOffset(object(request, "page_token"));
    const out: Info = {
      items: matches.slice(offset, offset + limit),
      total_count: matches.length,
      offline_count: all.filter((n) => n.status === "PHONE_NUMBER_STATUS_OFFLINE").length,
    };
    if (offset + limit < matches.length) out.next_page_token = { token: `o${offset + limit}` };
    return out;
  }

  /** By id (any status), or by phone_number (the held record, else the latest released one). */
  #findPhoneNumber(request: Info): Info {
    const hasId = Object.hasOwn(request, "id") && text(request, "id") !== "";
    const hasNumber =
      Object.hasOwn(request, "phone_number") && text(request, "phone_number") !== "";
    if (!hasId && !hasNumber) {
      throw new TwirpError("invalid_argument", "one of id or phone_number is required");
    }
    const all = this.#phoneNumbers();
    let found: Info | undefined;
    if (hasId) {
      found = all.find((n) => n.id === request.id);
    } else {
      const records = all.filter((n) => n.e164_format === request.phone_number);
      found = records.find((n) => n.status !== "PHONE_NUMBER_STATUS_RELEASED") ?? records.at(-1);
    }
    if (!found) throw new TwirpError("not_found", "phone number not found");
    return found;
  }

  #updatePhoneNumber(request: Info): Info {
    const number = this.#findPhoneNumber(request);
    if (number.status === "PHONE_NUMBER_STATUS_RELEASED") {
      throw new TwirpError("failed_precondition", "the phone number has been released");
    }
    if (!Object.hasOwn(request, "sip_dispatch_rule_id")) return number;
    const ruleId = text(request, "sip_dispatch_rule_id");
    if (ruleId !== "") this.#requireRule(ruleId);
    const next = withRules(number, ruleId === "" ? [] : [ruleId]);
    this.#savePhoneNumber(next);
    return this.#findPhoneNumber({ id: number.id });
  }

  #releasePhoneNumbers(request: Info): Info {
    const ids = strings(request, "ids");
    const numbers = strings(request, "phone_numbers");
    if (ids.length === 0 && numbers.length === 0) {
      throw new TwirpError("invalid_argument", "one of ids or phone_numbers is required");
    }
    const held = this.#heldPhoneNumbers();
    const targets: Info[] = [];
    for (const id of ids) {
      const found = held.find((n) => n.id === id);
      if (!found) throw new TwirpError("not_found", `phone number ${id} not found`);
      targets.push(found);
    }
    for (const e164 of numbers) {
      const found = held.find((n) => n.e164_format === e164);
      if (!found) throw new TwirpError("not_found", `phone number ${e164} not found`);
      targets.push(found);
    }
    const at = now();
    for (const number of new Set(targets)) {
      const { sip_dispatch_rule_id: _, sip_dispatch_rule_ids: __, ...rest } = number;
      this.#savePhoneNumber({ ...rest, status: "PHONE_NUMBER_STATUS_RELEASED", released_at: at });
    }
    return {};
  }

  // ---- Faults and log --------------------------------------------------------------------

  #log(entry: LiveKitRequestLogEntry): void {
    this.#sql.exec("INSERT INTO request_log (entry) VALUES (?)", JSON.stringify(entry));
  }

  // ---- Control API -----------------------------------------------------------------------

  /** Latency of every Twirp reply, in ms (0: none). */
  #latencyMs = 0;

  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  reset(): void {
    this.#latencyMs = 0;
    for (const table of [
      "trunks",
      "dispatch_rules",
      "conflict_keys",
      "phone_numbers",
      "faults",
      "request_log",
    ]) {
      this.#sql.exec(`DELETE FROM ${table}`);
    }
  }

  addFault(spec: FaultSpec): Fault {
    const row = this.#sql
      .exec<Record<string, SqlStorageValue>>(
        `INSERT INTO faults (operation, kind, code, message, status, raw_body, delay_ms, times_remaining)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        spec.operation,
        spec.kind,
        spec.code ?? null,
        spec.message ?? null,
        spec.status ?? null,
        spec.raw_body ?? null,
        spec.delay_ms ?? null,
        spec.times ?? null,
      )
      .one();
    return rowToFault(row);
  }

  listFaults(): Fault[] {
    return this.#sql
      .exec<Record<string, SqlStorageValue>>("SELECT * FROM faults ORDER BY id")
      .toArray()
      .map(rowToFault);
  }

  clearFaults(): void {
    this.#sql.exec("DELETE FROM faults");
  }

  listRequests(): LiveKitRequestLogEntry[] {
    return this.#sql
      .exec<{ entry: string }>("SELECT entry FROM request_log ORDER BY id")
      .toArray()
      .map((row) => JSON.parse(row.entry) as LiveKitRequestLogEntry);
  }

  clearRequests(): void {
    this.#sql.exec("DELETE FROM request_log");
  }

  /** Everything the project holds (released numbers included), secrets redacted. */
  state(): StandinState {
    const redacted = (type: string, items: Info[]) =>
      items.map((item) => redactSecrets(type, item) as Record<string, unknown>);
    return {
      inbound_trunks: redacted(TRUNK_TYPE.inbound, this.#trunks("inbound")),
      outbound_trunks: redacted(TRUNK_TYPE.outbound, this.#trunks("outbound")),
      dispatch_rules: redacted("livekit.SIPDispatchRuleInfo", this.#rules()),
      phone_numbers: redacted("livekit.PhoneNumber", this.#phoneNumbers()),
    };
  }

  /** What LiveKit would do with an inbound call to `to` (see RouteAnswer). */
  route(to: string, from: string | null): RouteAnswer {
    const answer: RouteAnswer = {
      to,
      from,
      accepted: false,
      inbound_trunk_id: null,
      phone_number_id: null,
      matching_rules: [],
      reason: null,
    };
    const rules = this.#rules();
    const describeRules = (list: Info[]) =>
      list.map((rule) => ({
        sip_dispatch_rule_id: text(rule, "sip_dispatch_rule_id"),
        name: text(rule, "name"),
        agent_names: agentNames(rule),
        room_prefix: roomPrefix(rule),
      }));
    const explain = () => {
      if (answer.matching_rules.length === 0) answer.reason = "no dispatch rule matches the call";
      else if (answer.matching_rules.length > 1) {
        answer.reason = `${answer.matching_rules.length} dispatch rules match the call`;
      }
    };

    // A number bought from LiveKit reaches the rules it is assigned to, with no trunk of ours.
    const owned = this.#heldPhoneNumbers().find((n) => n.e164_format === to);
    if (owned) {
      answer.phone_number_id = text(owned, "id");
      const ids = strings(owned, "sip_dispatch_rule_ids");
      answer.matching_rules = describeRules(
        rules.filter((rule) => ids.includes(text(rule, "sip_dispatch_rule_id"))),
      );
      answer.accepted = owned.status === "PHONE_NUMBER_STATUS_ACTIVE";
      if (!answer.accepted) answer.reason = "the LiveKit number is not active (no dispatch rule)";
      else explain();
      return answer;
    }

    const choice = chooseInboundTrunk(this.#trunks("inbound"), to, from);
    if (!choice.trunk) {
      answer.reason = choice.reason;
      return answer;
    }
    answer.accepted = true;
    answer.inbound_trunk_id = text(choice.trunk, "sip_trunk_id");
    answer.matching_rules = describeRules(matchingRules(rules, answer.inbound_trunk_id, to, from));
    explain();
    return answer;
  }
}

// ---- Helpers -------------------------------------------------------------------------------

/** A phone number's rule assignment; with none it is OFFLINE (the proto's meaning of it). */
function withRules(number: Info, ruleIds: string[]): Info {
  return {
    ...number,
    sip_dispatch_rule_ids: ruleIds,
    sip_dispatch_rule_id: ruleIds[0] ?? "",
    status: ruleIds.length > 0 ? "PHONE_NUMBER_STATUS_ACTIVE" : "PHONE_NUMBER_STATUS_OFFLINE",
  };
}

function inventoryItem(e164: string): Info {
  const npa = e164.slice(2, 5);
  const place = placeForNpa(npa);
  return {
    e164_format: e164,
    country_code: "US",
    area_code: npa,
    number_type: "PHONE_NUMBER_TYPE_LOCAL",
    locality: place.locality,
    region: place.region,
    // LiveKit's numbers take calls; they do not send or receive SMS.
    capabilities: ["voice"],
  };
}

function pageLimit(request: Info): number {
  const limit = typeof request.limit === "number" ? request.limit : 0;
  if (limit < 0) throw new TwirpError("invalid_argument", "limit must not be negative");
  return limit === 0 ? DEFAULT_PAGE_LIMIT : Math.min(limit, MAX_PAGE_LIMIT);
}

/** The offset a TokenPagination names: "o<N>", as next_page_token wrote it. */
function pageOffset(token: Info | null): number {
  const value = token === null ? "" : text(token, "token");
  if (value === "") return 0;
  const match = /^o(\d+)$/.exec(value);
  if (!match?.[1]) throw new TwirpError("invalid_argument", "page_token is not one this API gave");
  return Number(match[1]);
}

/** Pagination {after_id, limit}: items whose id sorts after after_id, at most limit of them. */
function paginate(items: Info[], idField: string, request: Info): Info[] {
  const page = object(request, "page");
  if (!page) return items;
  const afterId = text(page, "after_id");
  const limit = typeof page.limit === "number" && page.limit > 0 ? page.limit : Infinity;
  return items
    .filter((item) => afterId === "" || text(item, idField) > afterId)
    .sort((a, b) => (text(a, idField) < text(b, idField) ? -1 : 1))
    .slice(0, limit);
}

function rowToFault(row: Record<string, SqlStorageValue>): Fault {
  const numberOrNull = (value: SqlStorageValue | undefined) =>
    typeof value === "number" ? value : null;
  const textOrNull = (value: SqlStorageValue | undefined) =>
    typeof value === "string" ? value : null;
  return {
    id: Number(row.id),
    operation: String(row.operation) as FaultOperation,
    kind: String(row.kind) as FaultKind,
    code: textOrNull(row.code) as TwirpCode | null,
    message: textOrNull(row.message),
    status: numberOrNull(row.status),
    raw_body: textOrNull(row.raw_body),
    delay_ms: numberOrNull(row.delay_ms),
    times_remaining: numberOrNull(row.times_remaining),
  };
}
