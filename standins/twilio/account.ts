// The stand-in's Twilio: its accounts (the master account of the Worker's vars, and any the
// control API adds), what they own, the injected faults and the request log, kept in the
// Durable Object's SQLite storage (store.ts). One object holds every account, so what must be
// unique across Twilio (a phone number, a trunk's domain name) is checked in one place. Every
// method runs to completion without awaiting, so each call is atomic: a check-and-buy cannot
// interleave with another buy of the same number. Waiting (delay faults, slow replies) and
// dropping connections happen in the Worker, not here.

import { DurableObject } from "cloudflare:workers";
import { takeFault } from "../control";
import { callerIdRows, callerIdSummary, fetchAccount, listCallerIds } from "./accounts";
import type { Credentials, RequestContext, TwilioCall, TwilioReply } from "./context";
import {
  addOddItem,
  E164,
  fetchOne,
  insertNumber,
  list,
  purchase,
  release,
  search,
  update,
} from "./numbers";
import { matchRoute, type Route } from "./routes";
import { handleSip } from "./sip";
import {
  type AccountRow,
  accountRow,
  accountRows,
  createTables,
  newSid,
  numberRows,
  TABLES,
} from "./store";
import { handleTrunking, trunkSummaries } from "./trunking";
import {
  defaultErrorForStatus,
  edgeErrorPage,
  type IncomingPhoneNumberResource,
  iso8601,
  messageForCode,
  notFound,
  rfc2822,
  twilioError,
} from "./twilio-wire";
import type {
  AccountStatus,
  AccountType,
  AuthKind,
  CreatedAccount,
  Fault,
  FaultBody,
  FaultKind,
  FaultOperation,
  FaultSpec,
  OwnedNumberSummary,
  StandinAccount,
  StandinCallerId,
  StandinSettings,
  StandinTrunk,
  TwilioOperation,
  TwilioRequestLogEntry,
} from "./types";

export type { TwilioCall } from "./context";

export interface StandinEnv {
  TWILIO_ACCOUNT: DurableObjectNamespace<TwilioAccount>;
  STANDIN_ACCOUNT_SID: string;
  STANDIN_AUTH_TOKEN: string;
  STANDIN_API_KEY_SID: string;
  STANDIN_API_KEY_SECRET: string;
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

/** What a control route made, or why it could not (the HTTP status to answer with). */
export type ControlResult<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; error: string };

export interface PlantOptions {
  phoneNumber: string;
  accountSid: string | null;
  friendlyName: string | null;
  trunkSid: string | null;
  voiceUrl: string | null;
  voiceApplicationSid: string | null;
  dateCreated: Date | null;
}

const DEFAULT_DELAY_MS = 1000;
const DEFAULT_TIMEOUT_HOLD_MS = 30_000;
const DEFAULT_COMPLETE_AFTER_MS = 1000;
const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
const HTML_CONTENT_TYPE = "text/html; charset=utf-8";
const NO_SETTINGS: StandinSettings = {
  latency_ms: 0,
  list_lag_ms: 0,
  release_hold_ms: 0,
  domain_reservation_ms: 0,
};
const REDACTED = "[redacted]";

/** Who a request is, as its Basic credentials say. */
interface Caller {
  auth: AuthKind;
  /** The account it acts as; null unless it authenticated. */
  accountSid: string | null;
  /** The Basic username as sent, if any. */
  username: string | null;
}

function failed<T>(status: number, error: string): ControlResult<T> {
  return { ok: false, status, error };
}

export class TwilioAccount extends DurableObject<StandinEnv> {
  readonly #sql: SqlStorage;

  /**
   * The settings, kept in memory (read on every request) and in SQLite (so they outlive an
   * eviction). latency_ms is cheaper than a `delay` fault, which costs a second call into this
   * object per request: for the benchmark, where the stand-in shares the machine with the
   * Worker under test.
   */
  #settings: StandinSettings;

  constructor(ctx: DurableObjectState, env: StandinEnv) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    createTables(this.#sql);
    this.#ensureMasterAccount();
    const settings: StandinSettings = { ...NO_SETTINGS };
    for (const row of this.#sql
      .exec<{ name: string; value: number }>("SELECT name, value FROM settings")
      .toArray()) {
      if (Object.hasOwn(settings, row.name)) {
        settings[row.name as keyof StandinSettings] = row.value;
      }
    }
    this.#settings = settings;
  }

  /** The master account is the Worker's vars' one: its row follows them. */
  #ensureMasterAccount(): void {
    this.#sql.exec(
      `INSERT INTO accounts (sid, auth_token, friendly_name, type, status, date_created)
       VALUES (?, ?, 'Stand-in master account', 'Full', 'active', ?)
       ON CONFLICT (sid) DO UPDATE SET auth_token = excluded.auth_token`,
      this.env.STANDIN_ACCOUNT_SID,
      this.env.STANDIN_AUTH_TOKEN,
      Date.now(),
    );
  }

  // ---- Twilio API ------------------------------------------------------------------------

  handleTwilio(call: TwilioCall, appliedFault: FaultKind | null): TwilioOutcome {
    const now = Date.now();
    const route = matchRoute(call.path);
    // hasOwn: a method named like an Object.prototype member must not resolve to one.
    const operation =
      route && Object.hasOwn(route.operations, call.method)
        ? (route.operations[call.method] ?? null)
        : null;
    const caller = this.#authenticate(call.credentials);
    const log = (status: number, body: unknown, fault: FaultKind | null) =>
      this.#log(call, caller, route, operation, status, body, fault);
    const finish = (done: TwilioReply, fault: FaultKind | null, holdMs = 0): TwilioOutcome => {
      log(done.status, done.body, fault);
      let bodyText: string | null = null;
      if (done.body !== null) {
        bodyText = done.html ? String(done.body) : JSON.stringify(done.body);
      }
      // The configured latency: the reply waits (in the Worker), the work is already done.
      const hold = Math.max(holdMs, this.#settings.latency_ms);
      return {
        action: "respond",
        holdMs: hold,
        status: done.status,
        bodyText,
        contentType: done.html ? HTML_CONTENT_TYPE : JSON_CONTENT_TYPE,
        headers: done.headers,
      };
    };
    const error = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      finish({ status, body, headers }, null);

    const account = caller.accountSid === null ? null : accountRow(this.#sql, caller.accountSid);
    if (!account) {
      return error(401, twilioError(401, 20003, "Authenticate"), {
        "WWW-Authenticate": 'Basic realm="Twilio API"',
      });
    }
    // Another account's path is not found, whether that account exists or not.
    if (!route || (route.accountSid !== null && route.accountSid !== account.sid)) {
      return error(404, notFound(call.path));
    }
    if (!operation) {
      const allowed = Object.keys(route.operations).join(", ");
      return error(405, twilioError(405, 20004, "Method not allowed"), { Allow: allowed });
    }
    // A suspended or closed account can still read its own status, and nothing else.
    if (account.status !== "active" && operation !== "account") {
      return error(401, twilioError(401, 20005, "Account not active"));
    }

    const ctx: RequestContext = {
      sql: this.#sql,
      now,
      account,
      call,
      route,
      form: call.form ?? {},
      settings: this.#settings,
    };
    let fault: Fault | null = null;
    if (appliedFault === null) {
      fault = takeFault(this.#sql, operation, rowToFault);
      if (fault?.kind === "status") return finish(faultErrorReply(fault, call.path), "status");
      if (fault?.kind === "drop") {
        log(0, null, "drop");
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
        purchase(ctx, fault.complete_after_ms ?? DEFAULT_COMPLETE_AFTER_MS);
      }
      return finish(faultErrorReply(fault, call.path), "status_then_complete");
    }
    const done = perform(ctx);
    if (fault?.kind === "odd_item" && done.status === 200) {
      addOddItem(ctx, done);
      return finish(done, "odd_item");
    }
    if (fault?.kind === "drop_after") {
      log(done.status, done.body, "drop_after");
      return { action: "drop" };
    }
    if (fault?.kind === "succeed_then_timeout") {
      return finish(done, "succeed_then_timeout", fault.delay_ms ?? DEFAULT_TIMEOUT_HOLD_MS);
    }
    return finish(done, appliedFault);
  }

  /** An account's SID and auth token, or the master account's API key and secret. */
  #authenticate(credentials: Credentials): Caller {
    if (credentials === "none") return { auth: "none", accountSid: null, username: null };
    if (credentials === "malformed") return { auth: "invalid", accountSid: null, username: null };
    const { username, password } = credentials;
    if (username === this.env.STANDIN_API_KEY_SID && password === this.env.STANDIN_API_KEY_SECRET) {
      return { auth: "api_key", accountSid: this.env.STANDIN_ACCOUNT_SID, username };
    }
    const account = accountRow(this.#sql, username);
    if (account && account.auth_token === password) {
      return { auth: "account", accountSid: account.sid, username };
    }
    return { auth: "invalid", accountSid: null, username };
  }

  /** Records the exchange, without secrets: no password, no auth token. */
  #log(
    call: TwilioCall,
    caller: Caller,
    route: Route | null,
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
      form: redactForm(call.form),
      content_type: call.contentType,
      auth: caller.auth,
      status,
      response: redactResponse(response ?? null),
      fault,
    };
    if (caller.username !== null && caller.username !== route?.accountSid) {
      entry.username = caller.username;
    }
    this.#sql.exec("INSERT INTO request_log (entry) VALUES (?)", JSON.stringify(entry));
  }

  // ---- Control API -------------------------------------------------------------------------

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

  setDomainReservation(ms: number): void {
    this.#setSetting("domain_reservation_ms", ms);
  }

  getSettings(): StandinSettings {
    return { ...this.#settings };
  }

  /** Back to a master account that owns nothing, with no faults, log or settings. */
  reset(): void {
    this.#settings = { ...NO_SETTINGS };
    for (const table of TABLES) this.#sql.exec(`DELETE FROM ${table}`);
    this.#ensureMasterAccount();
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

  /** Every account's numbers, those Twilio's API does not show yet included. */
  listOwnedNumbers(): OwnedNumberSummary[] {
    const now = Date.now();
    return numberRows(this.#sql).map((row) =>
      summarize(row.resource, row.accountSid, row.visibleAt > now ? row.visibleAt : null),
    );
  }

  /** Buys a number with no auth, faults or inventory check: for tests that need an orphan. */
  plantNumber(options: PlantOptions): ControlResult<OwnedNumberSummary> {
    const accountSid = options.accountSid ?? this.env.STANDIN_ACCOUNT_SID;
    if (!accountRow(this.#sql, accountSid)) return failed(404, `no account ${accountSid}`);
    if (!E164.test(options.phoneNumber)) {
      return failed(400, "phone_number must be E.164, like +14155550123");
    }
    const owned = this.#sql
      .exec("SELECT 1 FROM owned_numbers WHERE phone_number = ?", options.phoneNumber)
      .toArray();
    if (owned.length > 0) return failed(409, `${options.phoneNumber} is already owned`);
    const form: Record<string, string> = {};
    if (options.friendlyName !== null) form.FriendlyName = options.friendlyName;
    if (options.voiceUrl !== null) form.VoiceUrl = options.voiceUrl;
    if (options.voiceApplicationSid !== null) {
      form.VoiceApplicationSid = options.voiceApplicationSid;
    }
    if (options.trunkSid !== null) form.TrunkSid = options.trunkSid;
    const resource = insertNumber(this.#sql, {
      accountSid,
      phoneNumber: options.phoneNumber,
      form,
      created: options.dateCreated ?? new Date(),
      visibleAt: 0,
    });
    return { ok: true, value: summarize(resource, accountSid, null) };
  }

  createAccount(spec: {
    friendlyName: string | null;
    type: AccountType;
    status: AccountStatus;
  }): CreatedAccount {
    const sid = newSid("AC");
    const authToken = crypto.randomUUID().replaceAll("-", "");
    this.#sql.exec(
      `INSERT INTO accounts (sid, auth_token, friendly_name, type, status, date_created)
       VALUES (?, ?, ?, ?, ?, ?)`,
      sid,
      authToken,
      spec.friendlyName ?? `Stand-in account ${sid.slice(-6)}`,
      spec.type,
      spec.status,
      Date.now(),
    );
    return { account_sid: sid, auth_token: authToken };
  }

  /** The customer rotates the account's auth token: the old one stops working at once. */
  rotateToken(sid: string): CreatedAccount | null {
    const authToken = crypto.randomUUID().replaceAll("-", "");
    const changed = this.#sql.exec(
      "UPDATE accounts SET auth_token = ? WHERE sid = ?",
      authToken,
      sid,
    ).rowsWritten;
    return changed > 0 ? { account_sid: sid, auth_token: authToken } : null;
  }

  listAccounts(): StandinAccount[] {
    return accountRows(this.#sql).map((row: AccountRow) => ({
      sid: row.sid,
      auth_token: row.auth_token,
      friendly_name: row.friendly_name,
      type: row.type,
      status: row.status,
      date_created: rfc2822(new Date(row.date_created)),
    }));
  }

  addCallerId(spec: {
    accountSid: string | null;
    phoneNumber: string;
    friendlyName: string | null;
  }): ControlResult<StandinCallerId> {
    const accountSid = spec.accountSid ?? this.env.STANDIN_ACCOUNT_SID;
    if (!accountRow(this.#sql, accountSid)) return failed(404, `no account ${accountSid}`);
    if (!E164.test(spec.phoneNumber)) {
      return failed(400, "phone_number must be E.164, like +14155550123");
    }
    const existing = callerIdRows(this.#sql, accountSid).find(
      (row) => row.phone_number === spec.phoneNumber,
    );
    if (existing) return failed(409, `${spec.phoneNumber} is already a caller id of ${accountSid}`);
    this.#sql.exec(
      `INSERT INTO caller_ids (sid, account_sid, phone_number, friendly_name, date_created)
       VALUES (?, ?, ?, ?, ?)`,
      newSid("PN"),
      accountSid,
      spec.phoneNumber,
      spec.friendlyName ?? spec.phoneNumber,
      Date.now(),
    );
    const added = callerIdRows(this.#sql, accountSid).find(
      (row) => row.phone_number === spec.phoneNumber,
    );
    if (!added) throw new Error("twilio-standin: a caller id vanished as it was added");
    return { ok: true, value: callerIdSummary(added) };
  }

  listCallerIds(): StandinCallerId[] {
    return callerIdRows(this.#sql).map(callerIdSummary);
  }

  listTrunks(): StandinTrunk[] {
    return trunkSummaries(this.#sql);
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

/** Carries out an authenticated, routed request that no fault stopped. */
function perform(ctx: RequestContext): TwilioReply {
  const { resource } = ctx.route;
  const method = ctx.call.method;
  switch (resource.kind) {
    case "available":
      return search(ctx, resource.countryCode);
    case "numbers":
      return method === "POST" ? purchase(ctx, 0) : list(ctx);
    case "number":
      if (method === "POST") return update(ctx, resource.sid);
      if (method === "DELETE") return release(ctx, resource.sid);
      return fetchOne(ctx, resource.sid);
    case "account":
      return fetchAccount(ctx);
    case "caller_ids":
      return listCallerIds(ctx);
    case "credential_lists":
    case "credential_list":
    case "credentials":
    case "credential":
      return handleSip(ctx);
    case "trunks":
    case "trunk":
    case "trunk_items":
    case "trunk_item":
      return handleTrunking(ctx);
  }
}

function summarize(
  resource: IncomingPhoneNumberResource,
  accountSid: string,
  visibleAt: number | null,
): OwnedNumberSummary {
  return {
    sid: resource.sid,
    account_sid: accountSid,
    phone_number: resource.phone_number,
    friendly_name: resource.friendly_name,
    trunk_sid: resource.trunk_sid,
    voice_url: (resource.voice_url as string | null) ?? null,
    voice_application_sid: (resource.voice_application_sid as string | null) ?? null,
    date_created: resource.date_created,
    visible_at: visibleAt === null ? null : iso8601(new Date(visibleAt)),
  };
}

function redactForm(form: Record<string, string> | null): Record<string, string> | null {
  if (form === null || form.Password === undefined) return form;
  return { ...form, Password: REDACTED };
}

/** The Account resource carries its auth token: the log keeps the field, not the secret. */
function redactResponse(response: unknown): unknown {
  if (typeof response !== "object" || response === null || !("auth_token" in response)) {
    return response;
  }
  return { ...response, auth_token: REDACTED };
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
