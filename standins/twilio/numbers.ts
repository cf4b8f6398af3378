// AvailablePhoneNumbers and IncomingPhoneNumbers of the 2010 API. A number belongs to one
// account; whoever owns it, it is not for sale to anyone.

import { type RequestContext, reply, type TwilioReply } from "./context";
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
import { page2010, pageSizeFrom, withQuery } from "./paging";
import { newSid, numberRows, saveNumber } from "./store";
import {
  applyForm,
  availableNumberItem,
  type IncomingPhoneNumberResource,
  newIncomingPhoneNumber,
  notFound,
  oddAvailableNumberItem,
  oddIncomingPhoneNumber,
  rfc2822,
  twilioError,
} from "./twilio-wire";

export const E164 = /^\+[1-9]\d{1,14}$/;

/** A "+" sent unencoded in a query or form arrives as a space; Twilio-style clients mean "+". */
export function normalizePhoneNumber(raw: string): string {
  return raw.startsWith(" ") ? `+${raw.trim()}` : raw.trim();
}

function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === "true";
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

/** Owned numbers (shown or not yet, of any account) and numbers still held after a release. */
export function notForSale(sql: SqlStorage, now: number): Set<string> {
  const numbers = new Set(
    sql
      .exec<{ phone_number: string }>("SELECT phone_number FROM owned_numbers")
      .toArray()
      .map((row) => row.phone_number),
  );
  const held = sql
    .exec<{ phone_number: string }>(
      "SELECT phone_number FROM released_numbers WHERE available_at > ?",
      now,
    )
    .toArray();
  for (const row of held) numbers.add(row.phone_number);
  return numbers;
}

/** notForSale(sql, now).has(phoneNumber), for one number: two indexed lookups. */
export function isNotForSale(sql: SqlStorage, now: number, phoneNumber: string): boolean {
  const owned = sql
    .exec("SELECT 1 FROM owned_numbers WHERE phone_number = ? LIMIT 1", phoneNumber)
    .toArray();
  if (owned.length > 0) return true;
  return (
    sql
      .exec(
        "SELECT 1 FROM released_numbers WHERE phone_number = ? AND available_at > ?",
        phoneNumber,
        now,
      )
      .toArray().length > 0
  );
}

export function insertNumber(
  sql: SqlStorage,
  options: {
    accountSid: string;
    phoneNumber: string;
    form: Record<string, string>;
    created: Date;
    visibleAt: number;
  },
): IncomingPhoneNumberResource {
  const sid = newSid("PN");
  const resource = newIncomingPhoneNumber({
    accountSid: options.accountSid,
    sid,
    phoneNumber: options.phoneNumber,
    form: options.form,
    now: options.created,
  });
  sql.exec(
    `INSERT INTO owned_numbers (sid, account_sid, phone_number, visible_at, resource)
     VALUES (?, ?, ?, ?, ?)`,
    sid,
    options.accountSid,
    options.phoneNumber,
    options.visibleAt,
    JSON.stringify(resource),
  );
  return resource;
}

/** The number with this SID, if the account owns it and Twilio's API shows it. */
export function visibleNumber(
  ctx: RequestContext,
  sid: string,
): IncomingPhoneNumberResource | null {
  return (
    numberRows(ctx.sql, { accountSid: ctx.account.sid, sid, visibleAt: ctx.now })[0]?.resource ??
    null
  );
}

export function search(ctx: RequestContext, countryCode: string): TwilioReply {
  const query = ctx.call.query;
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
    const taken = notForSale(ctx.sql, ctx.now);
    scan: for (const npa of npas) {
      const location = locationForNpa(npa);
      const locationMatches = activeLocationFilters.every(
        ([field, wanted]) => location[field].toLowerCase() === wanted?.trim().toLowerCase(),
      );
      if (!locationMatches || !contains) continue;
      for (const e164 of catalogueForNpa(npa)) {
        // Magic test numbers stay listed: their purchase outcome never depends on ownership.
        if (taken.has(e164) && !isMagicNumber(e164)) continue;
        if (!contains(e164)) continue;
        found.push(availableNumberItem(e164));
        if (found.length >= pageSize) break scan;
      }
    }
  }
  const uri = withQuery(ctx.call.path, Object.entries(query));
  return reply(200, {
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
  });
}

/** `hiddenForMs`: how much longer than the list lag the purchase stays out of sight. */
export function purchase(ctx: RequestContext, hiddenForMs: number): TwilioReply {
  const form = ctx.form;
  const created = (phoneNumber: string): TwilioReply =>
    reply(
      201,
      insertNumber(ctx.sql, {
        accountSid: ctx.account.sid,
        phoneNumber,
        form,
        created: new Date(ctx.now),
        visibleAt: ctx.now + ctx.settings.list_lag_ms + hiddenForMs,
      }),
    );
  const refuse = (code: number, message: string) => reply(400, twilioError(400, code, message));

  if (form.PhoneNumber !== undefined) {
    const phoneNumber = normalizePhoneNumber(form.PhoneNumber);
    if (phoneNumber === MAGIC_UNAVAILABLE) return refuse(21422, "Phone number is not available");
    if (phoneNumber === MAGIC_INVALID) return refuse(21421, "PhoneNumber is invalid");
    if (phoneNumber === MAGIC_AVAILABLE) return created(phoneNumber);
    if (!E164.test(phoneNumber)) return refuse(21421, "PhoneNumber is invalid");
    if (!isCatalogued(phoneNumber) || isNotForSale(ctx.sql, ctx.now, phoneNumber)) {
      return refuse(21422, "Phone number is not available");
    }
    return created(phoneNumber);
  }
  if (form.AreaCode !== undefined) {
    const taken = notForSale(ctx.sql, ctx.now);
    const pick = catalogueForNpa(form.AreaCode.trim()).find(
      (e164) =>
        e164 !== MAGIC_UNAVAILABLE &&
        e164 !== MAGIC_INVALID &&
        (e164 === MAGIC_AVAILABLE || !taken.has(e164)),
    );
    if (!pick) return refuse(21452, "No phone numbers found in area code");
    return created(pick);
  }
  return refuse(21421, "A 'PhoneNumber' or 'AreaCode' is required");
}

export function list(ctx: RequestContext): TwilioReply {
  const query = ctx.call.query;
  // Filters are echoed into every paging URI so following next_page_uri keeps them.
  const filters: [string, string][] = [];
  for (const name of ["Beta", "FriendlyName", "PhoneNumber", "Origin"]) {
    const value = query[name];
    if (value !== undefined)
      filters.push([name, name === "PhoneNumber" ? normalizePhoneNumber(value) : value]);
  }
  const phoneFilter =
    query.PhoneNumber === undefined ? null : normalizePhoneNumber(query.PhoneNumber);
  const matches = numberRows(ctx.sql, { accountSid: ctx.account.sid, visibleAt: ctx.now }).filter(
    ({ resource }) => {
      // Twilio matches partial numbers, "*" standing for any digit; a full E.164 matches itself.
      if (phoneFilter !== null) {
        const pattern = phoneFilter.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "\\d");
        if (!new RegExp(pattern).test(resource.phone_number)) return false;
      }
      if (query.FriendlyName !== undefined && resource.friendly_name !== query.FriendlyName)
        return false;
      if (query.Origin !== undefined && query.Origin !== "twilio") return false;
      return true;
    },
  );
  const rows = matches.map((row) => ({ seq: row.seq, item: row.resource }));
  return reply(200, page2010(rows, ctx.call.path, query, filters, "incoming_phone_numbers"));
}

export function fetchOne(ctx: RequestContext, sid: string): TwilioReply {
  const resource = visibleNumber(ctx, sid);
  return resource ? reply(200, resource) : reply(404, notFound(ctx.call.path));
}

export function release(ctx: RequestContext, sid: string): TwilioReply {
  const resource = visibleNumber(ctx, sid);
  if (!resource) return reply(404, notFound(ctx.call.path));
  ctx.sql.exec("DELETE FROM owned_numbers WHERE sid = ?", sid);
  const hold = ctx.settings.release_hold_ms;
  if (hold > 0) {
    ctx.sql.exec(
      "INSERT OR REPLACE INTO released_numbers (phone_number, available_at) VALUES (?, ?)",
      resource.phone_number,
      ctx.now + hold,
    );
  }
  return reply(204, null);
}

export function update(ctx: RequestContext, sid: string): TwilioReply {
  const resource = visibleNumber(ctx, sid);
  if (!resource) return reply(404, notFound(ctx.call.path));
  applyForm(resource, ctx.form);
  resource.date_updated = rfc2822(new Date(ctx.now));
  saveNumber(ctx.sql, resource);
  return reply(200, resource);
}

/**
 * `odd_item`: a search or an IncomingPhoneNumbers page gains, first, an item whose
 * `phone_number` (and, in a search, `iso_country`) is null. A search keeps its page size.
 */
export function addOddItem(ctx: RequestContext, done: TwilioReply): void {
  const body = done.body as Record<string, unknown>;
  if (ctx.route.resource.kind === "available") {
    const items = body.available_phone_numbers as unknown[];
    const npa = (items[0] as { phone_number?: string } | undefined)?.phone_number?.slice(2, 5);
    const withOdd = [oddAvailableNumberItem(npa ?? "415"), ...items].slice(
      0,
      Number(body.page_size),
    );
    body.available_phone_numbers = withOdd;
    body.end = Math.max(withOdd.length - 1, 0);
  } else if (ctx.route.resource.kind === "numbers" && ctx.call.method === "GET") {
    const items = body.incoming_phone_numbers as unknown[];
    const withOdd = [oddIncomingPhoneNumber(ctx.account.sid, new Date(ctx.now)), ...items];
    body.incoming_phone_numbers = withOdd;
    body.end = Number(body.start) + withOdd.length - 1;
  }
}
