// trunking.twilio.com/v1: Trunks, and on each its OriginationUrls, PhoneNumbers and
// CredentialLists. The account is the one the credentials name. A domain name is unique across
// every account, and stays taken for the domain reservation after its trunk is deleted. A
// number is on a trunk when its trunk_sid says so, whichever API put it there.

import { type RequestContext, reply, type TwilioReply } from "./context";
import { visibleNumber } from "./numbers";
import { pageV1 } from "./paging";
import type { TrunkItems } from "./routes";
import { credentialListRows } from "./sip";
import { newSid, numberRows, saveNumber } from "./store";
import {
  API_VERSION_PREFIX,
  DEFAULT_TRUNK_SETTINGS,
  invalidParameter,
  iso8601,
  missingParameter,
  notFound,
  type OriginationUrlRow,
  originationUrlResource,
  rfc2822,
  TRUNKING_ORIGIN,
  type TransferCallerId,
  type TransferMode,
  type TrunkSettings,
  trunkCredentialListResource,
  trunkPhoneNumberResource,
  trunkResource,
  twilioError,
} from "./twilio-wire";
import type { StandinTrunk } from "./types";

/** Twilio's limits: 100 trunks on an account, 1 on a trial account. */
const MAX_TRUNKS = { Full: 100, Trial: 1 } as const;
const MAX_FRIENDLY_NAME = 64;
const MAX_PRIORITY_OR_WEIGHT = 65_535;
// Labels of letters, digits and "-", ending in pstn.twilio.com.
const DOMAIN_NAME = /^([a-z0-9-]+\.)+pstn\.twilio\.com$/;
const TRANSFER_MODES: readonly TransferMode[] = ["disable-all", "enable-all", "sip-only"];
const TRANSFER_CALLER_IDS: readonly TransferCallerId[] = ["from-transferee", "from-transferor"];

export interface TrunkRow {
  seq: number;
  sid: string;
  account_sid: string;
  domain_name: string | null;
  settings: TrunkSettings;
  date_created: number;
  date_updated: number;
}

interface TrunkCredentialListRow {
  seq: number;
  account_sid: string;
  trunk_sid: string;
  credential_list_sid: string;
  friendly_name: string;
  date_created: number;
}

// ---- Rows --------------------------------------------------------------------------------

export function trunkRows(sql: SqlStorage, accountSid?: string): TrunkRow[] {
  const cursor =
    accountSid === undefined
      ? sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM trunks ORDER BY seq")
      : sql.exec<Record<string, SqlStorageValue>>(
          "SELECT * FROM trunks WHERE account_sid = ? ORDER BY seq",
          accountSid,
        );
  return cursor.toArray().map((row) => ({
    seq: Number(row.seq),
    sid: String(row.sid),
    account_sid: String(row.account_sid),
    domain_name: typeof row.domain_name === "string" ? row.domain_name : null,
    settings: { ...DEFAULT_TRUNK_SETTINGS, ...(JSON.parse(String(row.settings)) as object) },
    date_created: Number(row.date_created),
    date_updated: Number(row.date_updated),
  }));
}

function originationUrlRows(sql: SqlStorage, trunkSid: string): OriginationUrlRow[] {
  return sql
    .exec<Record<string, SqlStorageValue>>(
      "SELECT * FROM origination_urls WHERE trunk_sid = ? ORDER BY seq",
      trunkSid,
    )
    .toArray()
    .map((row) => ({
      seq: Number(row.seq),
      sid: String(row.sid),
      account_sid: String(row.account_sid),
      trunk_sid: String(row.trunk_sid),
      sip_url: String(row.sip_url),
      priority: Number(row.priority),
      weight: Number(row.weight),
      enabled: Number(row.enabled) === 1,
      friendly_name: String(row.friendly_name),
      date_created: Number(row.date_created),
      date_updated: Number(row.date_updated),
    }));
}

function trunkCredentialListRows(sql: SqlStorage, trunkSid: string): TrunkCredentialListRow[] {
  return sql
    .exec<Record<string, SqlStorageValue>>(
      `SELECT t.seq, t.account_sid, t.trunk_sid, t.credential_list_sid, t.date_created,
              l.friendly_name
       FROM trunk_credential_lists t JOIN credential_lists l ON l.sid = t.credential_list_sid
       WHERE t.trunk_sid = ? ORDER BY t.seq`,
      trunkSid,
    )
    .toArray()
    .map((row) => ({
      seq: Number(row.seq),
      account_sid: String(row.account_sid),
      trunk_sid: String(row.trunk_sid),
      credential_list_sid: String(row.credential_list_sid),
      friendly_name: String(row.friendly_name),
      date_created: Number(row.date_created),
    }));
}

/** The account's numbers on the trunk; `visibleAt`: only those Twilio's API shows by then. */
function numbersOnTrunk(sql: SqlStorage, trunk: TrunkRow, visibleAt?: number) {
  const filter = visibleAt === undefined ? {} : { visibleAt };
  return numberRows(sql, { accountSid: trunk.account_sid, ...filter }).filter(
    (row) => row.resource.trunk_sid === trunk.sid,
  );
}

function hasCredentialLists(sql: SqlStorage, trunkSid: string): boolean {
  return (
    sql.exec("SELECT 1 FROM trunk_credential_lists WHERE trunk_sid = ? LIMIT 1", trunkSid).toArray()
      .length > 0
  );
}

/** Every trunk with what hangs on it, for GET /__standin/trunks. */
export function trunkSummaries(sql: SqlStorage): StandinTrunk[] {
  return trunkRows(sql).map((trunk) => ({
    sid: trunk.sid,
    account_sid: trunk.account_sid,
    friendly_name: trunk.settings.friendly_name,
    domain_name: trunk.domain_name,
    date_created: iso8601(new Date(trunk.date_created)),
    origination_urls: originationUrlRows(sql, trunk.sid).map((row) => ({
      sid: row.sid,
      sip_url: row.sip_url,
      priority: row.priority,
      weight: row.weight,
      enabled: row.enabled,
      friendly_name: row.friendly_name,
    })),
    phone_numbers: numbersOnTrunk(sql, trunk).map((row) => ({
      sid: row.resource.sid,
      phone_number: row.resource.phone_number,
    })),
    credential_lists: trunkCredentialListRows(sql, trunk.sid).map((row) => ({
      sid: row.credential_list_sid,
      friendly_name: row.friendly_name,
    })),
  }));
}

// ---- Form fields -------------------------------------------------------------------------

type Parsed<T> = { value: T } | { refusal: TwilioReply };

const refuse = (message: string): { refusal: TwilioReply } => ({
  refusal: reply(400, invalidParameter(message)),
});

function parseBoolean(name: string, raw: string): Parsed<boolean> {
  if (/^true$/i.test(raw)) return { value: true };
  if (/^false$/i.test(raw)) return { value: false };
  return refuse(`${name} must be true or false`);
}

function parseChoice<T extends string>(
  name: string,
  raw: string,
  choices: readonly T[],
): Parsed<T> {
  const value = choices.find((choice) => choice.toLowerCase() === raw.toLowerCase());
  return value ? { value } : refuse(`${name} must be one of ${choices.join(", ")}`);
}

function parseFriendlyName(raw: string): Parsed<string> {
  return raw.length > MAX_FRIENDLY_NAME
    ? refuse(`FriendlyName must be at most ${MAX_FRIENDLY_NAME} characters`)
    : { value: raw };
}

/** A trunk's fields from a create or an update: the settings, and the domain name if sent. */
function parseTrunkForm(
  form: Record<string, string>,
  current: TrunkSettings,
): Parsed<{ settings: TrunkSettings; domainName?: string | null }> {
  const settings = { ...current };
  const parsers: [string, (raw: string) => Parsed<unknown>, keyof TrunkSettings][] = [
    ["FriendlyName", parseFriendlyName, "friendly_name"],
    ["DisasterRecoveryUrl", (raw) => parseUrl("DisasterRecoveryUrl", raw), "disaster_recovery_url"],
    [
      "DisasterRecoveryMethod",
      (raw) => parseChoice("DisasterRecoveryMethod", raw.toUpperCase(), ["GET", "POST"] as const),
      "disaster_recovery_method",
    ],
    ["TransferMode", (raw) => parseChoice("TransferMode", raw, TRANSFER_MODES), "transfer_mode"],
    [
      "TransferCallerId",
      (raw) => parseChoice("TransferCallerId", raw, TRANSFER_CALLER_IDS),
      "transfer_caller_id",
    ],
    ["Secure", (raw) => parseBoolean("Secure", raw), "secure"],
    ["CnamLookupEnabled", (raw) => parseBoolean("CnamLookupEnabled", raw), "cnam_lookup_enabled"],
  ];
  for (const [field, parse, key] of parsers) {
    const raw = form[field];
    if (raw === undefined) continue;
    const parsed = parse(raw);
    if ("refusal" in parsed) return parsed;
    (settings as Record<string, unknown>)[key] = parsed.value;
  }
  const rawDomain = form.DomainName;
  if (rawDomain === undefined) return { value: { settings } };
  if (rawDomain === "") return { value: { settings, domainName: null } };
  const domainName = rawDomain.trim().toLowerCase();
  if (!DOMAIN_NAME.test(domainName)) {
    return refuse("DomainName must be made of letters, digits and - and end with pstn.twilio.com");
  }
  return { value: { settings, domainName } };
}

function parseUrl(name: string, raw: string): Parsed<string> {
  try {
    const url = new URL(raw);
    if (url.protocol === "http:" || url.protocol === "https:") return { value: raw };
  } catch {
    // refused below
  }
  return refuse(`${name} must be an absolute http(s) URL`);
}

/** 21248 when another trunk has the name, or a deleted trunk's reservation still holds it. */
function domainTaken(ctx: RequestContext, domainName: string, ownTrunkSid: string | null): boolean {
  const holder = ctx.sql
    .exec<{ sid: string }>("SELECT sid FROM trunks WHERE domain_name = ?", domainName)
    .toArray()[0];
  if (holder && holder.sid !== ownTrunkSid) return true;
  const reserved = ctx.sql
    .exec(
      "SELECT 1 FROM reserved_domains WHERE domain_name = ? AND available_at > ?",
      domainName,
      ctx.now,
    )
    .toArray();
  return reserved.length > 0;
}

const DOMAIN_TAKEN = twilioError(400, 21248, "Trunk Domain already taken");

// ---- Handlers ----------------------------------------------------------------------------

export function handleTrunking(ctx: RequestContext): TwilioReply {
  const { resource } = ctx.route;
  const method = ctx.call.method;
  if (resource.kind === "trunks") return method === "POST" ? createTrunk(ctx) : listTrunks(ctx);
  if (
    resource.kind !== "trunk" &&
    resource.kind !== "trunk_items" &&
    resource.kind !== "trunk_item"
  ) {
    throw new Error(`twilio-standin: ${resource.kind} is not a trunking resource`);
  }
  const trunkSid = resource.kind === "trunk" ? resource.sid : resource.trunkSid;
  const trunk = trunkRows(ctx.sql, ctx.account.sid).find((row) => row.sid === trunkSid);
  if (!trunk) return reply(404, notFound(ctx.call.path));
  if (resource.kind === "trunk") {
    if (method === "DELETE") return deleteTrunk(ctx, trunk);
    if (method === "POST") return updateTrunk(ctx, trunk);
    return reply(200, trunkResource(trunk, hasCredentialLists(ctx.sql, trunk.sid)));
  }
  if (resource.kind === "trunk_items") {
    if (method === "POST") return CREATE_ITEM[resource.items](ctx, trunk);
    return LIST_ITEMS[resource.items](ctx, trunk);
  }
  return ITEM[resource.items](ctx, trunk, resource.sid);
}

function listTrunks(ctx: RequestContext): TwilioReply {
  const rows = trunkRows(ctx.sql, ctx.account.sid).map((trunk) => ({
    seq: trunk.seq,
    item: trunkResource(trunk, hasCredentialLists(ctx.sql, trunk.sid)),
  }));
  return reply(200, pageV1(rows, TRUNKING_ORIGIN, ctx.call.path, ctx.call.query, "trunks"));
}

function createTrunk(ctx: RequestContext): TwilioReply {
  const parsed = parseTrunkForm(ctx.form, DEFAULT_TRUNK_SETTINGS);
  if ("refusal" in parsed) return parsed.refusal;
  const { settings, domainName = null } = parsed.value;
  const limit = MAX_TRUNKS[ctx.account.type];
  if (trunkRows(ctx.sql, ctx.account.sid).length >= limit) {
    return ctx.account.type === "Trial"
      ? reply(
          400,
          twilioError(400, 10002, "Trial accounts do not support more than 1 trunk: upgrade"),
        )
      : reply(400, invalidParameter(`This account already has ${limit} trunks, Twilio's limit`));
  }
  if (domainName !== null && domainTaken(ctx, domainName, null)) return reply(400, DOMAIN_TAKEN);
  const trunk: TrunkRow = {
    seq: 0,
    sid: newSid("TK"),
    account_sid: ctx.account.sid,
    domain_name: domainName,
    settings,
    date_created: ctx.now,
    date_updated: ctx.now,
  };
  ctx.sql.exec(
    `INSERT INTO trunks (sid, account_sid, domain_name, settings, date_created, date_updated)
     VALUES (?, ?, ?, ?, ?, ?)`,
    trunk.sid,
    trunk.account_sid,
    trunk.domain_name,
    JSON.stringify(trunk.settings),
    trunk.date_created,
    trunk.date_updated,
  );
  return reply(201, trunkResource(trunk, false));
}

function updateTrunk(ctx: RequestContext, trunk: TrunkRow): TwilioReply {
  const parsed = parseTrunkForm(ctx.form, trunk.settings);
  if ("refusal" in parsed) return parsed.refusal;
  const { settings, domainName = trunk.domain_name } = parsed.value;
  if (domainName !== null && domainTaken(ctx, domainName, trunk.sid)) {
    return reply(400, DOMAIN_TAKEN);
  }
  const updated: TrunkRow = { ...trunk, settings, domain_name: domainName, date_updated: ctx.now };
  ctx.sql.exec(
    "UPDATE trunks SET domain_name = ?, settings = ?, date_updated = ? WHERE sid = ?",
    updated.domain_name,
    JSON.stringify(updated.settings),
    updated.date_updated,
    trunk.sid,
  );
  return reply(200, trunkResource(updated, hasCredentialLists(ctx.sql, trunk.sid)));
}

/** Its origination URLs and credential list places go; its numbers stay, off the trunk. */
function deleteTrunk(ctx: RequestContext, trunk: TrunkRow): TwilioReply {
  for (const row of numbersOnTrunk(ctx.sql, trunk)) {
    row.resource.trunk_sid = null;
    row.resource.date_updated = rfc2822(new Date(ctx.now));
    saveNumber(ctx.sql, row.resource);
  }
  ctx.sql.exec("DELETE FROM origination_urls WHERE trunk_sid = ?", trunk.sid);
  ctx.sql.exec("DELETE FROM trunk_credential_lists WHERE trunk_sid = ?", trunk.sid);
  ctx.sql.exec("DELETE FROM trunks WHERE sid = ?", trunk.sid);
  const reservation = ctx.settings.domain_reservation_ms;
  if (trunk.domain_name !== null && reservation > 0) {
    ctx.sql.exec(
      "INSERT OR REPLACE INTO reserved_domains (domain_name, available_at) VALUES (?, ?)",
      trunk.domain_name,
      ctx.now + reservation,
    );
  }
  return reply(204, null);
}

// ---- Origination URLs --------------------------------------------------------------------

/** The fields of a create (all required) or an update (any of them). */
function parseOriginationForm(
  form: Record<string, string>,
  current: OriginationUrlRow | null,
): Parsed<
  Pick<OriginationUrlRow, "sip_url" | "priority" | "weight" | "enabled" | "friendly_name">
> {
  if (current === null) {
    for (const name of ["Weight", "Priority", "Enabled", "FriendlyName", "SipUrl"]) {
      if (form[name] === undefined) return { refusal: reply(400, missingParameter(name)) };
    }
  }
  const value = {
    sip_url: current?.sip_url ?? "",
    priority: current?.priority ?? 0,
    weight: current?.weight ?? 0,
    enabled: current?.enabled ?? true,
    friendly_name: current?.friendly_name ?? "",
  };
  for (const [field, key] of [
    ["Priority", "priority"],
    ["Weight", "weight"],
  ] as const) {
    const raw = form[field];
    if (raw === undefined) continue;
    if (!/^\d+$/.test(raw.trim()) || Number(raw) > MAX_PRIORITY_OR_WEIGHT) {
      return refuse(`${field} must be an integer from 0 to ${MAX_PRIORITY_OR_WEIGHT}`);
    }
    value[key] = Number(raw);
  }
  if (form.Enabled !== undefined) {
    const enabled = parseBoolean("Enabled", form.Enabled);
    if ("refusal" in enabled) return enabled;
    value.enabled = enabled.value;
  }
  if (form.FriendlyName !== undefined) {
    const name = parseFriendlyName(form.FriendlyName);
    if ("refusal" in name) return name;
    value.friendly_name = name.value;
  }
  if (form.SipUrl !== undefined) {
    if (!/^sips?:[^\s@]+(@[^\s@]+)?$/i.test(form.SipUrl.trim())) {
      return refuse("SipUrl must be a SIP URI, like sip:pbx.example.com:5060");
    }
    value.sip_url = form.SipUrl.trim();
  }
  return { value };
}

function listOriginationUrls(ctx: RequestContext, trunk: TrunkRow): TwilioReply {
  const rows = originationUrlRows(ctx.sql, trunk.sid).map((row) => ({
    seq: row.seq,
    item: originationUrlResource(row),
  }));
  return reply(
    200,
    pageV1(rows, TRUNKING_ORIGIN, ctx.call.path, ctx.call.query, "origination_urls"),
  );
}

function createOriginationUrl(ctx: RequestContext, trunk: TrunkRow): TwilioReply {
  const parsed = parseOriginationForm(ctx.form, null);
  if ("refusal" in parsed) return parsed.refusal;
  const row: OriginationUrlRow = {
    seq: 0,
    sid: newSid("OU"),
    account_sid: ctx.account.sid,
    trunk_sid: trunk.sid,
    ...parsed.value,
    date_created: ctx.now,
    date_updated: ctx.now,
  };
  ctx.sql.exec(
    `INSERT INTO origination_urls (sid, account_sid, trunk_sid, sip_url, priority, weight, enabled,
                                   friendly_name, date_created, date_updated)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.sid,
    row.account_sid,
    row.trunk_sid,
    row.sip_url,
    row.priority,
    row.weight,
    row.enabled ? 1 : 0,
    row.friendly_name,
    row.date_created,
    row.date_updated,
  );
  return reply(201, originationUrlResource(row));
}

function originationUrl(ctx: RequestContext, trunk: TrunkRow, sid: string): TwilioReply {
  const row = originationUrlRows(ctx.sql, trunk.sid).find((candidate) => candidate.sid === sid);
  if (!row) return reply(404, notFound(ctx.call.path));
  if (ctx.call.method === "DELETE") {
    ctx.sql.exec("DELETE FROM origination_urls WHERE sid = ?", sid);
    return reply(204, null);
  }
  if (ctx.call.method !== "POST") return reply(200, originationUrlResource(row));
  const parsed = parseOriginationForm(ctx.form, row);
  if ("refusal" in parsed) return parsed.refusal;
  const updated = { ...row, ...parsed.value, date_updated: ctx.now };
  ctx.sql.exec(
    `UPDATE origination_urls SET sip_url = ?, priority = ?, weight = ?, enabled = ?,
                                 friendly_name = ?, date_updated = ?
     WHERE sid = ?`,
    updated.sip_url,
    updated.priority,
    updated.weight,
    updated.enabled ? 1 : 0,
    updated.friendly_name,
    updated.date_updated,
    sid,
  );
  return reply(200, originationUrlResource(updated));
}

// ---- Phone numbers -----------------------------------------------------------------------

function listTrunkNumbers(ctx: RequestContext, trunk: TrunkRow): TwilioReply {
  const rows = numbersOnTrunk(ctx.sql, trunk, ctx.now).map((row) => ({
    seq: row.seq,
    item: trunkPhoneNumberResource(row.resource, trunk.sid),
  }));
  return reply(200, pageV1(rows, TRUNKING_ORIGIN, ctx.call.path, ctx.call.query, "phone_numbers"));
}

/**
 * Puts one of the account's numbers on the trunk (moving it from any other): its voice
 * application is cleared, and its voice URL, kept, no longer answers while the trunk does.
 */
function addTrunkNumber(ctx: RequestContext, trunk: TrunkRow): TwilioReply {
  const sid = ctx.form.PhoneNumberSid;
  if (sid === undefined) return reply(400, missingParameter("PhoneNumberSid"));
  const number = visibleNumber(ctx, sid);
  if (!number) {
    const path = `${API_VERSION_PREFIX}/Accounts/${ctx.account.sid}/IncomingPhoneNumbers/${sid}.json`;
    return reply(404, notFound(path));
  }
  number.trunk_sid = trunk.sid;
  number.voice_application_sid = null;
  number.date_updated = rfc2822(new Date(ctx.now));
  saveNumber(ctx.sql, number);
  return reply(201, trunkPhoneNumberResource(number, trunk.sid));
}

function trunkNumber(ctx: RequestContext, trunk: TrunkRow, sid: string): TwilioReply {
  const number = visibleNumber(ctx, sid);
  if (!number || number.trunk_sid !== trunk.sid) return reply(404, notFound(ctx.call.path));
  if (ctx.call.method !== "DELETE") return reply(200, trunkPhoneNumberResource(number, trunk.sid));
  number.trunk_sid = null;
  number.date_updated = rfc2822(new Date(ctx.now));
  saveNumber(ctx.sql, number);
  return reply(204, null);
}

// ---- Credential lists --------------------------------------------------------------------

function listTrunkCredentialLists(ctx: RequestContext, trunk: TrunkRow): TwilioReply {
  const rows = trunkCredentialListRows(ctx.sql, trunk.sid).map((row) => ({
    seq: row.seq,
    item: trunkCredentialListResource(row),
  }));
  return reply(
    200,
    pageV1(rows, TRUNKING_ORIGIN, ctx.call.path, ctx.call.query, "credential_lists"),
  );
}

function addTrunkCredentialList(ctx: RequestContext, trunk: TrunkRow): TwilioReply {
  const sid = ctx.form.CredentialListSid;
  if (sid === undefined) return reply(400, missingParameter("CredentialListSid"));
  const list = credentialListRows(ctx.sql, { accountSid: ctx.account.sid, sid })[0];
  if (!list) {
    const path = `${API_VERSION_PREFIX}/Accounts/${ctx.account.sid}/SIP/CredentialLists/${sid}.json`;
    return reply(404, notFound(path));
  }
  if (trunkCredentialListRows(ctx.sql, trunk.sid).some((row) => row.credential_list_sid === sid)) {
    return reply(400, invalidParameter(`Credential list ${sid} is already on this trunk`));
  }
  const row: TrunkCredentialListRow = {
    seq: 0,
    account_sid: ctx.account.sid,
    trunk_sid: trunk.sid,
    credential_list_sid: sid,
    friendly_name: list.friendly_name,
    date_created: ctx.now,
  };
  ctx.sql.exec(
    `INSERT INTO trunk_credential_lists (account_sid, trunk_sid, credential_list_sid, date_created)
     VALUES (?, ?, ?, ?)`,
    row.account_sid,
    row.trunk_sid,
    row.credential_list_sid,
    row.date_created,
  );
  return reply(201, trunkCredentialListResource(row));
}

function trunkCredentialList(ctx: RequestContext, trunk: TrunkRow, sid: string): TwilioReply {
  const row = trunkCredentialListRows(ctx.sql, trunk.sid).find(
    (candidate) => candidate.credential_list_sid === sid,
  );
  if (!row) return reply(404, notFound(ctx.call.path));
  if (ctx.call.method !== "DELETE") return reply(200, trunkCredentialListResource(row));
  ctx.sql.exec(
    "DELETE FROM trunk_credential_lists WHERE trunk_sid = ? AND credential_list_sid = ?",
    trunk.sid,
    sid,
  );
  return reply(204, null);
}

const LIST_ITEMS: Record<TrunkItems, (ctx: RequestContext, trunk: TrunkRow) => TwilioReply> = {
  OriginationUrls: listOriginationUrls,
  PhoneNumbers: listTrunkNumbers,
  CredentialLists: listTrunkCredentialLists,
};

const CREATE_ITEM: Record<TrunkItems, (ctx: RequestContext, trunk: TrunkRow) => TwilioReply> = {
  OriginationUrls: createOriginationUrl,
  PhoneNumbers: addTrunkNumber,
  CredentialLists: addTrunkCredentialList,
};

const ITEM: Record<TrunkItems, (ctx: RequestContext, trunk: TrunkRow, sid: string) => TwilioReply> =
  {
    OriginationUrls: originationUrl,
    PhoneNumbers: trunkNumber,
    CredentialLists: trunkCredentialList,
  };
