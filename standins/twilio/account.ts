// The stand-in's one Twilio account: owned numbers, injected faults and the request log, kept in
// the Durable Object's SQLite storage. Every method runs to completion without awaiting, so each
// call is atomic: a check-and-buy cannot interleave with another buy of the same number.
// Waiting (delay faults, slow replies) and dropping connections happen in the Worker, not here.

import { DurableObject } from "cloudflare:workers";
import {
  ALL_NPAS,
  catalogueForNpa,
  DEFAULT_SEARCH_NPAS,
  isCatalogued,
  isMagicNumber,
  isValidNpa,
  locationForNpa,
  MAGIC_AVAILABLE,
  MAGIC_INVALID,
  MAGIC_UNAVAILABLE,
  type NumberLocation,
} from "./inventory";
import {
  API_VERSION_PREFIX,
  applyForm,
  availableNumberItem,
  defaultErrorForStatus,
  edgeErrorPage,
  type IncomingPhoneNumberResource,
  messageForCode,
  newIncomingPhoneNumber,
  notFound,
  oddAvailableNumberItem,
  oddIncomingPhoneNumber,
  rfc2822,
  twilioError,
} from "./twilio-wire";
import type {
  AuthKind,
  Fault,
  FaultBody,
  FaultKind,
  FaultOperation,
  FaultSpec,
  OwnedNumberSummary,
  StandinSettings,
  TwilioOperation,
  TwilioRequestLogEntry,
} from "./types";

export interface StandinEnv {
  TWILIO_ACCOUNT: DurableObjectNamespace<TwilioAccount>;
  STANDIN_ACCOUNT_SID: string;
  STANDIN_AUTH_TOKEN: string;
  STANDIN_API_KEY_SID: string;
  STANDIN_API_KEY_SECRET: string;
}

/** A Twilio request as the Worker parsed it; credentials are already reduced to their kind. */
export interface TwilioCall {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string> | null;
  contentType: string | null;
  auth: AuthKind;
}

export interface TwilioReply {
  status: number;
  /** JSON body, or the page itself when `html`; null means an empty body (204). */
  body: unknown;
  headers: Record<string, string>;
  /** The body is an HTML page (a `body: "html"` fault), not JSON. */
  html?: boolean;
}

/**
 * What the Worker must do with a Twilio request after the account has seen it. The body travels
 * as JSON text because RPC types cannot carry `unknown`.
 */
export type TwilioOutcome =
  | {
      action: "respond";
      holdMs: number;
      status: number;
      /** null means an empty body (204). */
      bodyText: string | null;
      contentType: string;
      headers: Record<string, string>;
    }
  | { action: "drop" }
  /** A `delay` fault was consumed: wait, then call again with appliedFault "delay". */
  | { action: "perform_after_delay"; delayMs: number };

export type PlantResult =
  | { ok: true; number: OwnedNumberSummary }
  | { ok: false; status: number; error: string };

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
const DEFAULT_DELAY_MS = 1000;
const DEFAULT_TIMEOUT_HOLD_MS = 30_000;
const DEFAULT_COMPLETE_AFTER_MS = 1000;
const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
const HTML_CONTENT_TYPE = "text/html; charset=utf-8";

/**
 * Bumped whenever a table changes shape: the stand-in's state is disposable, so on a mismatch
 * (say, a `npm run dev` state persisted by an older stand-in) every table is dropped and rebuilt.
 */
const SCHEMA_VERSION = 2;
const TABLES = ["owned_numbers", "faults", "request_log", "released_numbers", "settings"];
const NO_SETTINGS: StandinSettings = { latency_ms: 0, list_lag_ms: 0, release_hold_ms: 0 };
const E164 = /^\+[1-9]\d{1,14}$/;

interface Route {
  /** Operation per allowed HTTP method. */
  operations: Partial<Record<string, TwilioOperation>>;
  accountSid: string;
  countryCode?: string;
  numberSid?: string;
}

function matchRoute(path: string): Route | null {
  const prefix = `${API_VERSION_PREFIX}/Accounts/`;
  if (!path.startsWith(prefix)) return null;
  const [accountSid, ...rest] = path.slice(prefix.length).split("/");
  if (!accountSid) return null;
  const tail = rest.join("/");
  const search = /^AvailablePhoneNumbers\/([^/]+)\/Local\.json$/.exec(tail);
  if (search?.[1]) return { operations: { GET: "search" }, accountSid, countryCode: search[1] };
  if (tail === "IncomingPhoneNumbers.json") {
    return { operations: { GET: "lookup", POST: "purchase" }, accountSid };
  }
  const single = /^IncomingPhoneNumbers\/([^/]+)\.json$/.exec(tail);
  if (single?.[1]) {
    return {
      operations: { GET: "lookup", POST: "update", DELETE: "release" },
      accountSid,
      numberSid: single[1],
    };
  }
  return null;
}

/** A "+" sent unencoded in a query or form arrives as a space; Twilio-style clients mean "+". */
function normalizePhoneNumber(raw: string): string {
  return raw.startsWith(" ") ? `+${raw.trim()}` : raw.trim();
}

function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === "true";
}

function pageSizeFrom(query: Record<string, string>): number {
  const requested = Number.parseInt(query.PageSize ?? "", 10);
  if (!Number.isFinite(requested) || requested < 1) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

function withQuery(path: string, params: [string, string][]): string {
  return params.length === 0 ? path : `${path}?${new URLSearchParams(params).toString()}`;
}

const KEYPAD_DIGIT_BY_LETTER: Record<string, string> = Object.fromEntries(
  ["abc", "def", "ghi", "jkl", "mno", "pqrs", "tuv", "wxyz"].flatMap((letters, index) =>
    [...letters].map((letter) => [letter, String(index + 2)]),
  ),
);

// Twilio's "Contains": digits, letters (keypad), "*" = one digit, "%" = any run, leading "+" /
// trailing "$" anchor to the start / end of the number.
function containsMatcher(pattern: string): ((e164: string) => boolean) | null {
  let source = "";
  let body = normalizePhoneNumber(pattern);
  const anchoredStart = body.startsWith("+");
  if (anchoredStart) body = body.slice(1);
  const anchoredEnd = body.endsWith("$");
  if (anchoredEnd) body = body.slice(0, -1);
  for (const char of body.toLowerCase()) {
    if (/\d/.test(char)) source += char;
    else if (char === "*") source += "\\d";
    else if (char === "%") source += "\\d*";
    else if (KEYPAD_DIGIT_BY_LETTER[char]) source += KEYPAD_DIGIT_BY_LETTER[char];
    else return null;
  }
  const regex = new RegExp(`${anchoredStart ? "^" : ""}${source}${anchoredEnd ? "$" : ""}`);
  return (e164) => regex.test(e164.slice(1));
}

export class TwilioAccount extends DurableObject<StandinEnv> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: StandinEnv) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    );
    const version = this.#sql
      .exec<{ value: number }>("SELECT value FROM meta WHERE name = 'schema_version'")
      .toArray()[0]?.value;
    if (version !== SCHEMA_VERSION) {
      for (const table of TABLES) this.#sql.exec(`DROP TABLE IF EXISTS ${table}`);
      this.#sql.exec(
        "INSERT OR REPLACE INTO meta (name, value) VALUES ('schema_version', ?)",
        SCHEMA_VERSION,
      );
    }
    // seq orders numbers by creation and backs the page tokens, so paging stays stable while
    // numbers are bought and released between pages. visible_at (ms since the epoch): until
    // then the number is owned (not for sale) but Twilio does not show it yet.
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS owned_numbers (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      sid TEXT NOT NULL UNIQUE,
      phone_number TEXT NOT NULL,
      visible_at INTEGER NOT NULL,
      resource TEXT NOT NULL
    )`);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS faults (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      operation TEXT NOT NULL,
      kind TEXT NOT NULL,
      status INTEGER,
      code INTEGER,
      message TEXT,
      delay_ms INTEGER,
      retry_after INTEGER,
      body TEXT NOT NULL,
      complete_after_ms INTEGER,
      times_remaining INTEGER
    )`);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS request_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      entry TEXT NOT NULL
    )`);
    // Numbers released while a release hold was set: not for sale until available_at.
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS released_numbers (
      phone_number TEXT PRIMARY KEY,
      available_at INTEGER NOT NULL
    )`);
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    );
    const settings: StandinSettings = { ...NO_SETTINGS };
    for (const row of this.#sql
      .exec<{ name: string; value: number }>("SELECT name, value FROM settings")
      .toArray()) {
      if (Object.hasOwn(settings, row.name))
        settings[row.name as keyof StandinSettings] = row.value;
    }
    this.#settings = settings;
  }

  // ---- Twilio API ------------------------------------------------------------------------

  handleTwilio(call: TwilioCall, appliedFault: FaultKind | null): TwilioOutcome {
    const route = matchRoute(call.path);
    // hasOwn: a method named like an Object.prototype member must not resolve to one.
    const operation =
      route && Object.hasOwn(route.operations, call.method)
        ? (route.operations[call.method] ?? null)
        : null;
    const finish = (reply: TwilioReply, fault: FaultKind | null, holdMs = 0): TwilioOutcome => {
      this.#log(call, operation, reply.status, reply.body, fault);
      let bodyText: string | null = null;
      if (reply.body !== null) {
        bodyText = reply.html ? String(reply.body) : JSON.stringify(reply.body);
      }
      // The configured latency: the reply waits (in the Worker), the work is already done.
      const hold = Math.max(holdMs, this.#settings.latency_ms);
      return {
        action: "respond",
        holdMs: hold,
        status: reply.status,
        bodyText,
        contentType: reply.html ? HTML_CONTENT_TYPE : JSON_CONTENT_TYPE,
        headers: reply.headers,
      };
    };
    const error = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      finish({ status, body, headers }, null);

    if (call.auth === "none" || call.auth === "invalid") {
      return error(401, twilioError(401, 20003, "Authenticate"), {
        "WWW-Authenticate": 'Basic realm="Twilio API"',
      });
    }
    if (!route || route.accountSid !== this.env.STANDIN_ACCOUNT_SID) {
      return error(404, notFound(call.path));
    }
    if (!operation) {
      const allowed = Object.keys(route.operations).join(", ");
      return error(405, twilioError(405, 20004, "Method not allowed"), { Allow: allowed });
    }

    let fault: Fault | null = null;
    if (appliedFault === null) {
      fault = this.#takeFault(operation);
      if (fault?.kind === "status") return finish(faultErrorReply(fault, call.path), "status");
      if (fault?.kind === "drop") {
        this.#log(call, operation, 0, null, "drop");
        return { action: "drop" };
      }
      if (fault?.kind === "delay") {
        return { action: "perform_after_delay", delayMs: fault.delay_ms ?? DEFAULT_DELAY_MS };
      }
    }

    if (fault?.kind === "status_then_complete") {
      // Behind the edge the purchase goes ahead (if it can), out of sight for a while; the
      // caller only sees the edge's 5xx.
      if (operation === "purchase") {
        this.#purchase(call.form ?? {}, fault.complete_after_ms ?? DEFAULT_COMPLETE_AFTER_MS);
      }
      return finish(faultErrorReply(fault, call.path), "status_then_complete");
    }
    const reply = this.#perform(operation, route, call);
    if (fault?.kind === "odd_item" && reply.status === 200) {
      addOddItem(reply, operation, route, this.env.STANDIN_ACCOUNT_SID);
      return finish(reply, "odd_item");
    }
    if (fault?.kind === "drop_after") {
      this.#log(call, operation, reply.status, reply.body, "drop_after");
      return { action: "drop" };
    }
    if (fault?.kind === "succeed_then_timeout") {
      return finish(reply, "succeed_then_timeout", fault.delay_ms ?? DEFAULT_TIMEOUT_HOLD_MS);
    }
    return finish(reply, appliedFault);
  }

  #perform(operation: TwilioOperation, route: Route, call: TwilioCall): TwilioReply {
    switch (operation) {
      case "search":
        return this.#search(route.countryCode ?? "", call);
      case "purchase":
        return this.#purchase(call.form ?? {}, 0);
      case "lookup":
        return route.numberSid ? this.#fetchOne(route.numberSid, call.path) : this.#list(call);
      case "release":
        return this.#release(route.numberSid ?? "", call.path);
      case "update":
        return this.#update(route.numberSid ?? "", call.form ?? {}, call.path);
    }
  }

  #search(countryCode: string, call: TwilioCall): TwilioReply {
    const query = call.query;
    const pageSize = pageSizeFrom(query);
    const found: Record<string, unknown>[] = [];
    // Every catalogued number is voice/SMS/MMS and not fax, and needs no address.
    const excludedByCapability = isTrue(query.FaxEnabled);
    if (countryCode === "US" && !excludedByCapability) {
      const contains = query.Contains === undefined ? () => true : containsMatcher(query.Contains);
      const locationFilters: [keyof NumberLocation, string | undefined][] = [
        ["region", query.InRegion],
        ["postal_code", query.InPostalCode],
        ["locality", query.InLocality],
        ["lata", query.InLata],
        ["rate_center", query.InRateCenter],
      ];
      const activeLocationFilters = locationFilters.filter(([, wanted]) => wanted !== undefined);
      let npas: readonly string[];
      if (query.AreaCode !== undefined) {
        npas = isValidNpa(query.AreaCode.trim()) ? [query.AreaCode.trim()] : [];
      } else if (activeLocationFilters.length > 0 || query.Contains !== undefined) {
        npas = ALL_NPAS;
      } else {
        npas = DEFAULT_SEARCH_NPAS;
      }
      const notForSale = this.#notForSale();
      search: for (const npa of npas) {
        const location = locationForNpa(npa);
        const locationMatches = activeLocationFilters.every(
          ([field, wanted]) => location[field].toLowerCase() === wanted?.trim().toLowerCase(),
        );
        if (!locationMatches || !contains) continue;
        for (const e164 of catalogueForNpa(npa)) {
          // Magic test numbers stay listed: their purchase outcome never depends on ownership.
          if (notForSale.has(e164) && !isMagicNumber(e164)) continue;
          if (!contains(e164)) continue;
          found.push(availableNumberItem(e164));
          if (found.length >= pageSize) break search;
        }
      }
    }
    const uri = withQuery(call.path, Object.entries(query));
    return {
      status: 200,
      headers: {},
      body: {
        available_phone_numbers: found,
        uri,
        // Twilio returns one unpaged batch here; the envelope fields the spec lists describe it.
        page: 0,
        page_size: pageSize,
        start: 0,
        end: Math.max(found.length - 1, 0),
        first_page_uri: uri,
        next_page_uri: null,
        previous_page_uri: null,
      },
    };
  }

  /** `hiddenForMs`: how much longer than the list lag the purchase stays out of sight. */
  #purchase(form: Record<string, string>, hiddenForMs: number): TwilioReply {
    const now = Date.now();
    const visibleAt = now + this.#settings.list_lag_ms + hiddenForMs;
    const created = (phoneNumber: string): TwilioReply => ({
      status: 201,
      headers: {},
      body: this.#insertNumber(phoneNumber, form, new Date(now), visibleAt),
    });
    const refuse = (code: number, message: string): TwilioReply => ({
      status: 400,
      headers: {},
      body: twilioError(400, code, message),
    });

    if (form.PhoneNumber !== undefined) {
      const phoneNumber = normalizePhoneNumber(form.PhoneNumber);
      if (phoneNumber === MAGIC_UNAVAILABLE) return refuse(21422, "Phone number is not available");
      if (phoneNumber === MAGIC_INVALID) return refuse(21421, "PhoneNumber is invalid");
      if (phoneNumber === MAGIC_AVAILABLE) return created(phoneNumber);
      if (!E164.test(phoneNumber)) return refuse(21421, "PhoneNumber is invalid");
      if (!isCatalogued(phoneNumber) || this.#notForSale().has(phoneNumber)) {
        return refuse(21422, "Phone number is not available");
      }
      return created(phoneNumber);
    }
    if (form.AreaCode !== undefined) {
      const notForSale = this.#notForSale();
      const pick = catalogueForNpa(form.AreaCode.trim()).find(
        (e164) =>
          e164 !== MAGIC_UNAVAILABLE &&
          e164 !== MAGIC_INVALID &&
          (e164 === MAGIC_AVAILABLE || !notForSale.has(e164)),
      );
      if (!pick) return refuse(21452, "No phone numbers found in area code");
      return created(pick);
    }
    return refuse(21421, "A 'PhoneNumber' or 'AreaCode' is required");
  }

  #insertNumber(
    phoneNumber: string,
    form: Record<string, string>,
    created: Date,
    visibleAt: number,
  ): IncomingPhoneNumberResource {
    const sid = `PN${crypto.randomUUID().replaceAll("-", "")}`;
    const resource = newIncomingPhoneNumber({
      accountSid: this.env.STANDIN_ACCOUNT_SID,
      sid,
      phoneNumber,
      form,
      now: created,
    });
    this.#sql.exec(
      "INSERT INTO owned_numbers (sid, phone_number, visible_at, resource) VALUES (?, ?, ?, ?)",
      sid,
      phoneNumber,
      visibleAt,
      JSON.stringify(resource),
    );
    return resource;
  }

  #list(call: TwilioCall): TwilioReply {
    const query = call.query;
    const pageSize = pageSizeFrom(query);
    const requestedPage = Number.parseInt(query.Page ?? "0", 10);
    const page = Number.isFinite(requestedPage) && requestedPage >= 0 ? requestedPage : 0;

    // Filters are echoed into every paging URI so following next_page_uri keeps them.
    const filterParams: [string, string][] = [];
    for (const name of ["Beta", "FriendlyName", "PhoneNumber", "Origin"]) {
      const value = query[name];
      if (value !== undefined)
        filterParams.push([name, name === "PhoneNumber" ? normalizePhoneNumber(value) : value]);
    }
    const phoneFilter =
      query.PhoneNumber === undefined ? null : normalizePhoneNumber(query.PhoneNumber);
    const matches = this.#visibleRows().filter(({ resource }) => {
      // Twilio matches partial numbers, "*" standing for any digit; a full E.164 matches itself.
      if (phoneFilter !== null) {
        const pattern = phoneFilter.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "\\d");
        if (!new RegExp(pattern).test(resource.phone_number)) return false;
      }
      if (query.FriendlyName !== undefined && resource.friendly_name !== query.FriendlyName)
        return false;
      if (query.Origin !== undefined && query.Origin !== "twilio") return false;
      return true;
    });

    // "PA<seq>" continues after seq, "PB<seq>" goes back before it; without a token, Page counts.
    let pageRows: typeof matches;
    const token = /^P([AB])(\d+)$/.exec(query.PageToken ?? "");
    if (token?.[1] === "A") {
      const after = Number(token[2]);
      pageRows = matches.filter((row) => row.seq > after).slice(0, pageSize);
    } else if (token?.[1] === "B") {
      const before = Number(token[2]);
      pageRows = matches.filter((row) => row.seq < before).slice(-pageSize);
    } else {
      pageRows = matches.slice(page * pageSize, page * pageSize + pageSize);
    }

    const first = pageRows[0];
    const last = pageRows[pageRows.length - 1];
    const hasNext = last !== undefined && matches.some((row) => row.seq > last.seq);
    const hasPrevious =
      page > 0 && first !== undefined && matches.some((row) => row.seq < first.seq);
    const pageUri = (pageNumber: number, pageToken?: string) =>
      withQuery(call.path, [
        ...filterParams,
        ["PageSize", String(pageSize)],
        ["Page", String(pageNumber)],
        ...(pageToken === undefined ? [] : ([["PageToken", pageToken]] as [string, string][])),
      ]);
    const start = page * pageSize;
    return {
      status: 200,
      headers: {},
      body: {
        incoming_phone_numbers: pageRows.map((row) => row.resource),
        page,
        page_size: pageSize,
        start,
        end: pageRows.length > 0 ? start + pageRows.length - 1 : start,
        first_page_uri: pageUri(0),
        next_page_uri: hasNext && last ? pageUri(page + 1, `PA${last.seq}`) : null,
        previous_page_uri: hasPrevious && first ? pageUri(page - 1, `PB${first.seq}`) : null,
        uri: pageUri(page, query.PageToken),
      },
    };
  }

  #fetchOne(sid: string, path: string): TwilioReply {
    const row = this.#visibleRows(sid)[0];
    if (!row) return { status: 404, headers: {}, body: notFound(path) };
    return { status: 200, headers: {}, body: row.resource };
  }

  #release(sid: string, path: string): TwilioReply {
    const row = this.#visibleRows(sid)[0];
    if (!row) return { status: 404, headers: {}, body: notFound(path) };
    this.#sql.exec("DELETE FROM owned_numbers WHERE sid = ?", sid);
    const hold = this.#settings.release_hold_ms;
    if (hold > 0) {
      this.#sql.exec(
        "INSERT OR REPLACE INTO released_numbers (phone_number, available_at) VALUES (?, ?)",
        row.resource.phone_number,
        Date.now() + hold,
      );
    }
    return { status: 204, headers: {}, body: null };
  }

  #update(sid: string, form: Record<string, string>, path: string): TwilioReply {
    const row = this.#visibleRows(sid)[0];
    if (!row) return { status: 404, headers: {}, body: notFound(path) };
    applyForm(row.resource, form);
    row.resource.date_updated = rfc2822(new Date());
    this.#sql.exec(
      "UPDATE owned_numbers SET resource = ? WHERE sid = ?",
      JSON.stringify(row.resource),
      sid,
    );
    return { status: 200, headers: {}, body: row.resource };
  }

  // ---- State helpers -----------------------------------------------------------------------

  /** Every owned number, seen or not yet seen by Twilio's API: what the control API lists. */
  #ownedRows(): { seq: number; visibleAt: number; resource: IncomingPhoneNumberResource }[] {
    return this.#sql
      .exec<{ seq: number; visible_at: number; resource: string }>(
        "SELECT seq, visible_at, resource FROM owned_numbers ORDER BY seq",
      )
      .toArray()
      .map((row) => ({
        seq: row.seq,
        visibleAt: row.visible_at,
        resource: JSON.parse(row.resource) as IncomingPhoneNumberResource,
      }));
  }

  /** The owned numbers Twilio's API shows now (all, or the one with this SID). */
  #visibleRows(sid?: string): { seq: number; resource: IncomingPhoneNumberResource }[] {
    const now = Date.now();
    const cursor =
      sid === undefined
        ? this.#sql.exec<{ seq: number; resource: string }>(
            "SELECT seq, resource FROM owned_numbers WHERE visible_at <= ? ORDER BY seq",
            now,
          )
        : this.#sql.exec<{ seq: number; resource: string }>(
            "SELECT seq, resource FROM owned_numbers WHERE sid = ? AND visible_at <= ?",
            sid,
            now,
          );
    return cursor.toArray().map((row) => ({
      seq: row.seq,
      resource: JSON.parse(row.resource) as IncomingPhoneNumberResource,
    }));
  }

  #ownedPhoneNumbers(): Set<string> {
    const rows = this.#sql
      .exec<{ phone_number: string }>("SELECT phone_number FROM owned_numbers")
      .toArray();
    return new Set(rows.map((row) => row.phone_number));
  }

  /** Owned numbers (shown or not yet) and numbers still held after their release. */
  #notForSale(): Set<string> {
    const numbers = this.#ownedPhoneNumbers();
    const held = this.#sql
      .exec<{ phone_number: string }>(
        "SELECT phone_number FROM released_numbers WHERE available_at > ?",
        Date.now(),
      )
      .toArray();
    for (const row of held) numbers.add(row.phone_number);
    return numbers;
  }

  #takeFault(operation: TwilioOperation): Fault | null {
    const row = this.#sql
      .exec<Record<string, SqlStorageValue>>(
        "SELECT * FROM faults WHERE operation = ? OR operation = 'any' ORDER BY id LIMIT 1",
        operation,
      )
      .toArray()[0];
    if (!row) return null;
    const fault = rowToFault(row);
    if (fault.times_remaining !== null) {
      if (fault.times_remaining <= 1) this.#sql.exec("DELETE FROM faults WHERE id = ?", fault.id);
      else
        this.#sql.exec(
          "UPDATE faults SET times_remaining = times_remaining - 1 WHERE id = ?",
          fault.id,
        );
    }
    return fault;
  }

  #log(
    call: TwilioCall,
    operation: TwilioOperation | null,
    status: number,
    response: unknown,
    fault: FaultKind | null,
  ): void {
    const entry: TwilioRequestLogEntry = {
      operation,
      method: call.method,
      path: call.path,
      query: call.query,
      form: call.form,
      content_type: call.contentType,
      auth: call.auth,
      status,
      response: response ?? null,
      fault,
    };
    this.#sql.exec("INSERT INTO request_log (entry) VALUES (?)", JSON.stringify(entry));
  }

  // ---- Control API -------------------------------------------------------------------------

  /**
   * The settings, kept in memory (read on every request) and in SQLite (so they outlive an
   * eviction). latency_ms is cheaper than a `delay` fault, which costs a second call into this
   * object per request: for the benchmark, where the stand-in shares the machine with the
   * Worker under test.
   */
  #settings: StandinSettings;

  #setSetting(name: keyof StandinSettings, value: number): void {
    this.#settings[name] = value;
    this.#sql.exec("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", name, value);
  }

  setLatency(ms: number): void {
    this.#setSetting("latency_ms", ms);
  }

  setListLag(ms: number): void {
    this.#setSetting("list_lag_ms", ms);
  }

  setReleaseHold(ms: number): void {
    this.#setSetting("release_hold_ms", ms);
  }

  getSettings(): StandinSettings {
    return { ...this.#settings };
  }

  reset(): void {
    this.#settings = { ...NO_SETTINGS };
    for (const table of TABLES) this.#sql.exec(`DELETE FROM ${table}`);
  }

  addFault(spec: FaultSpec): Fault {
    const status = spec.status ?? null;
    const retryAfter =
      spec.retry_after === undefined ? (status === 429 ? 1 : null) : spec.retry_after;
    const row = this.#sql
      .exec<Record<string, SqlStorageValue>>(
        `INSERT INTO faults (operation, kind, status, code, message, delay_ms, retry_after, body,
                             complete_after_ms, times_remaining)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        spec.operation,
        spec.kind,
        status,
        spec.code ?? null,
        spec.message ?? null,
        spec.delay_ms ?? null,
        retryAfter,
        spec.body ?? "json",
        spec.kind === "status_then_complete"
          ? (spec.complete_after_ms ?? DEFAULT_COMPLETE_AFTER_MS)
          : null,
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

  listOwnedNumbers(): OwnedNumberSummary[] {
    return this.#ownedRows().map(({ resource }) => summarize(resource));
  }

  /** Buys a number with no auth, faults or inventory check: for tests that need an orphan. */
  plantNumber(
    phoneNumber: string,
    friendlyName: string | null,
    trunkSid: string | null,
    dateCreated: Date | null,
  ): PlantResult {
    if (!E164.test(phoneNumber)) {
      return { ok: false, status: 400, error: "phone_number must be E.164, like +14155550123" };
    }
    if (this.#ownedPhoneNumbers().has(phoneNumber)) {
      return { ok: false, status: 409, error: `${phoneNumber} is already owned` };
    }
    const form: Record<string, string> = {};
    if (friendlyName !== null) form.FriendlyName = friendlyName;
    if (trunkSid !== null) form.TrunkSid = trunkSid;
    const resource = this.#insertNumber(phoneNumber, form, dateCreated ?? new Date(), 0);
    return { ok: true, number: summarize(resource) };
  }

  listRequests(): TwilioRequestLogEntry[] {
    return this.#sql
      .exec<{ entry: string }>("SELECT entry FROM request_log ORDER BY id")
      .toArray()
      .map((row) => JSON.parse(row.entry) as TwilioRequestLogEntry);
  }

  clearRequests(): void {
    this.#sql.exec("DELETE FROM request_log");
  }
}

function summarize(resource: IncomingPhoneNumberResource): OwnedNumberSummary {
  return {
    sid: resource.sid,
    phone_number: resource.phone_number,
    friendly_name: resource.friendly_name,
    trunk_sid: resource.trunk_sid,
    date_created: resource.date_created,
  };
}

function rowToFault(row: Record<string, SqlStorageValue>): Fault {
  const numberOrNull = (value: SqlStorageValue | undefined) =>
    typeof value === "number" ? value : null;
  return {
    id: Number(row.id),
    operation: String(row.operation) as FaultOperation,
    kind: String(row.kind) as FaultKind,
    status: numberOrNull(row.status),
    code: numberOrNull(row.code),
    message: typeof row.message === "string" ? row.message : null,
    delay_ms: numberOrNull(row.delay_ms),
    retry_after: numberOrNull(row.retry_after),
    body: row.body === "html" ? "html" : ("json" satisfies FaultBody),
    complete_after_ms: numberOrNull(row.complete_after_ms),
    times_remaining: numberOrNull(row.times_remaining),
  };
}

/** The reply a `status` or `status_then_complete` fault gives instead of Twilio's. */
function faultErrorReply(fault: Fault, path: string): TwilioReply {
  const status = fault.status ?? 500;
  const headers: Record<string, string> =
    fault.retry_after === null ? {} : { "Retry-After": String(fault.retry_after) };
  if (fault.body === "html") return { status, headers, body: edgeErrorPage(status), html: true };
  const defaults = defaultErrorForStatus(status);
  const code = fault.code ?? defaults.code;
  const message =
    fault.message ??
    (fault.code === null ? null : messageForCode(fault.code, path)) ??
    defaults.message;
  return { status, headers, body: twilioError(status, code, message) };
}

/**
 * `odd_item`: a search or an IncomingPhoneNumbers page gains, first, an item whose
 * `phone_number` (and, in a search, `iso_country`) is null. A search keeps its page size.
 */
function addOddItem(
  reply: TwilioReply,
  operation: TwilioOperation,
  route: Route,
  accountSid: string,
): void {
  const body = reply.body as Record<string, unknown>;
  if (operation === "search") {
    const items = body.available_phone_numbers as unknown[];
    const npa = (items[0] as { phone_number?: string } | undefined)?.phone_number?.slice(2, 5);
    const withOdd = [oddAvailableNumberItem(npa ?? "415"), ...items].slice(
      0,
      Number(body.page_size),
    );
    body.available_phone_numbers = withOdd;
    body.end = Math.max(withOdd.length - 1, 0);
  } else if (operation === "lookup" && route.numberSid === undefined) {
    const items = body.incoming_phone_numbers as unknown[];
    const withOdd = [oddIncomingPhoneNumber(accountSid, new Date()), ...items];
    body.incoming_phone_numbers = withOdd;
    body.end = Number(body.start) + withOdd.length - 1;
  }
}
