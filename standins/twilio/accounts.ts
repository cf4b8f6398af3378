// GET Accounts/{AC}.json (how a customer's credentials are validated) and the verified caller
// ids of OutgoingCallerIds.json.

import { type RequestContext, reply, type TwilioReply } from "./context";
import { normalizePhoneNumber } from "./numbers";
import { page2010 } from "./paging";
import { accountResource, callerIdResource, rfc2822 } from "./twilio-wire";
import type { StandinCallerId } from "./types";

export function fetchAccount(ctx: RequestContext): TwilioReply {
  return reply(200, accountResource(ctx.account));
}

export interface CallerIdRow {
  seq: number;
  sid: string;
  account_sid: string;
  phone_number: string;
  friendly_name: string;
  date_created: number;
}

export function callerIdRows(sql: SqlStorage, accountSid?: string): CallerIdRow[] {
  const cursor =
    accountSid === undefined
      ? sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM caller_ids ORDER BY seq")
      : sql.exec<Record<string, SqlStorageValue>>(
          "SELECT * FROM caller_ids WHERE account_sid = ? ORDER BY seq",
          accountSid,
        );
  return cursor.toArray().map((row) => ({
    seq: Number(row.seq),
    sid: String(row.sid),
    account_sid: String(row.account_sid),
    phone_number: String(row.phone_number),
    friendly_name: String(row.friendly_name),
    date_created: Number(row.date_created),
  }));
}

/** `PhoneNumber` matches exactly (a "+" sent as a space included); `FriendlyName` too. */
export function listCallerIds(ctx: RequestContext): TwilioReply {
  const query = ctx.call.query;
  const filters: [string, string][] = [];
  const phoneNumber =
    query.PhoneNumber === undefined ? undefined : normalizePhoneNumber(query.PhoneNumber);
  if (phoneNumber !== undefined) filters.push(["PhoneNumber", phoneNumber]);
  if (query.FriendlyName !== undefined) filters.push(["FriendlyName", query.FriendlyName]);
  const rows = callerIdRows(ctx.sql, ctx.account.sid)
    .filter(
      (row) =>
        (phoneNumber === undefined || row.phone_number === phoneNumber) &&
        (query.FriendlyName === undefined || row.friendly_name === query.FriendlyName),
    )
    .map((row) => ({ seq: row.seq, item: callerIdResource(row) }));
  return reply(200, page2010(rows, ctx.call.path, query, filters, "outgoing_caller_ids"));
}

export function callerIdSummary(row: CallerIdRow): StandinCallerId {
  return {
    sid: row.sid,
    account_sid: row.account_sid,
    phone_number: row.phone_number,
    friendly_name: row.friendly_name,
    date_created: rfc2822(new Date(row.date_created)),
  };
}
