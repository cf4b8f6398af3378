// SIP CredentialLists of the 2010 API and their Credentials (what a trunk's CredentialLists
// name). Passwords are checked for strength and never stored; Twilio answers 21240 for a weak
// password or a username already in the list.

import { type RequestContext, reply, type TwilioReply } from "./context";
import { page2010 } from "./paging";
import { newSid } from "./store";
import {
  credentialListResource,
  credentialResource,
  invalidParameter,
  missingParameter,
  notFound,
  twilioError,
} from "./twilio-wire";

const MAX_FRIENDLY_NAME = 64;
const MAX_USERNAME = 32;

export interface CredentialListRow {
  seq: number;
  sid: string;
  account_sid: string;
  friendly_name: string;
  date_created: number;
  date_updated: number;
}

interface CredentialRow {
  seq: number;
  sid: string;
  account_sid: string;
  credential_list_sid: string;
  username: string;
  date_created: number;
  date_updated: number;
}

/** Credential lists in creation order: all, or one account's, or one. */
export function credentialListRows(
  sql: SqlStorage,
  filter: { accountSid?: string; sid?: string } = {},
): CredentialListRow[] {
  return sql
    .exec<Record<string, SqlStorageValue>>("SELECT * FROM credential_lists ORDER BY seq")
    .toArray()
    .map((row) => ({
      seq: Number(row.seq),
      sid: String(row.sid),
      account_sid: String(row.account_sid),
      friendly_name: String(row.friendly_name),
      date_created: Number(row.date_created),
      date_updated: Number(row.date_updated),
    }))
    .filter(
      (row) =>
        (filter.accountSid === undefined || row.account_sid === filter.accountSid) &&
        (filter.sid === undefined || row.sid === filter.sid),
    );
}

function credentialRows(sql: SqlStorage, listSid: string): CredentialRow[] {
  return sql
    .exec<Record<string, SqlStorageValue>>(
      "SELECT * FROM credentials WHERE credential_list_sid = ? ORDER BY seq",
      listSid,
    )
    .toArray()
    .map((row) => ({
      seq: Number(row.seq),
      sid: String(row.sid),
      account_sid: String(row.account_sid),
      credential_list_sid: String(row.credential_list_sid),
      username: String(row.username),
      date_created: Number(row.date_created),
      date_updated: Number(row.date_updated),
    }));
}

/** Twilio's rule: at least 12 characters, a digit, and both lower- and upper-case letters. */
function weakPassword(password: string): boolean {
  return (
    password.length < 12 ||
    !/\d/.test(password) ||
    !/[a-z]/.test(password) ||
    !/[A-Z]/.test(password)
  );
}

const WEAK_PASSWORD = twilioError(
  400,
  21240,
  "Password must be at least 12 characters long and contain a digit, a lower-case and an upper-case letter",
);

/** The FriendlyName a list's create or update needs, or the reply refusing the request. */
function requireFriendlyName(ctx: RequestContext): { name: string } | { refusal: TwilioReply } {
  const name = ctx.form.FriendlyName;
  if (name === undefined) return { refusal: reply(400, missingParameter("FriendlyName")) };
  if (name.length > MAX_FRIENDLY_NAME) {
    const message = `FriendlyName must be at most ${MAX_FRIENDLY_NAME} characters`;
    return { refusal: reply(400, invalidParameter(message)) };
  }
  return { name };
}

export function handleSip(ctx: RequestContext): TwilioReply {
  const { resource } = ctx.route;
  const method = ctx.call.method;
  if (resource.kind === "credential_lists") {
    return method === "POST" ? createList(ctx) : listLists(ctx);
  }
  if (
    resource.kind !== "credential_list" &&
    resource.kind !== "credentials" &&
    resource.kind !== "credential"
  ) {
    throw new Error(`twilio-standin: ${resource.kind} is not a SIP resource`);
  }
  const listSid = resource.kind === "credential_list" ? resource.sid : resource.listSid;
  const list = credentialListRows(ctx.sql, { accountSid: ctx.account.sid, sid: listSid })[0];
  if (!list) return reply(404, notFound(ctx.call.path));
  if (resource.kind === "credential_list") {
    if (method === "DELETE") return deleteList(ctx, list);
    if (method === "POST") return updateList(ctx, list);
    return reply(200, credentialListResource(list));
  }
  if (resource.kind === "credentials") {
    return method === "POST" ? createCredential(ctx, list) : listCredentials(ctx, list);
  }
  const credential = credentialRows(ctx.sql, list.sid).find((row) => row.sid === resource.sid);
  if (!credential) return reply(404, notFound(ctx.call.path));
  if (method === "DELETE") {
    ctx.sql.exec("DELETE FROM credentials WHERE sid = ?", credential.sid);
    return reply(204, null);
  }
  if (method === "POST") return updateCredential(ctx, credential);
  return reply(200, credentialResource(credential));
}

function listLists(ctx: RequestContext): TwilioReply {
  const rows = credentialListRows(ctx.sql, { accountSid: ctx.account.sid }).map((row) => ({
    seq: row.seq,
    item: credentialListResource(row),
  }));
  return reply(200, page2010(rows, ctx.call.path, ctx.call.query, [], "credential_lists"));
}

function createList(ctx: RequestContext): TwilioReply {
  const checked = requireFriendlyName(ctx);
  if ("refusal" in checked) return checked.refusal;
  const list: CredentialListRow = {
    seq: 0,
    sid: newSid("CL"),
    account_sid: ctx.account.sid,
    friendly_name: checked.name,
    date_created: ctx.now,
    date_updated: ctx.now,
  };
  ctx.sql.exec(
    `INSERT INTO credential_lists (sid, account_sid, friendly_name, date_created, date_updated)
     VALUES (?, ?, ?, ?, ?)`,
    list.sid,
    list.account_sid,
    list.friendly_name,
    list.date_created,
    list.date_updated,
  );
  return reply(201, credentialListResource(list));
}

function updateList(ctx: RequestContext, list: CredentialListRow): TwilioReply {
  const checked = requireFriendlyName(ctx);
  if ("refusal" in checked) return checked.refusal;
  ctx.sql.exec(
    "UPDATE credential_lists SET friendly_name = ?, date_updated = ? WHERE sid = ?",
    checked.name,
    ctx.now,
    list.sid,
  );
  const updated = { ...list, friendly_name: checked.name, date_updated: ctx.now };
  return reply(200, credentialListResource(updated));
}

/** Its credentials go with it, and so does its place on any trunk. */
function deleteList(ctx: RequestContext, list: CredentialListRow): TwilioReply {
  ctx.sql.exec("DELETE FROM credentials WHERE credential_list_sid = ?", list.sid);
  ctx.sql.exec("DELETE FROM trunk_credential_lists WHERE credential_list_sid = ?", list.sid);
  ctx.sql.exec("DELETE FROM credential_lists WHERE sid = ?", list.sid);
  return reply(204, null);
}

function listCredentials(ctx: RequestContext, list: CredentialListRow): TwilioReply {
  const rows = credentialRows(ctx.sql, list.sid).map((row) => ({
    seq: row.seq,
    item: credentialResource(row),
  }));
  return reply(200, page2010(rows, ctx.call.path, ctx.call.query, [], "credentials"));
}

function createCredential(ctx: RequestContext, list: CredentialListRow): TwilioReply {
  const { Username: username, Password: password } = ctx.form;
  if (username === undefined) return reply(400, missingParameter("Username"));
  if (password === undefined) return reply(400, missingParameter("Password"));
  if (username.length === 0 || username.length > MAX_USERNAME) {
    return reply(400, invalidParameter(`Username must be 1 to ${MAX_USERNAME} characters`));
  }
  if (credentialRows(ctx.sql, list.sid).some((row) => row.username === username)) {
    return reply(
      400,
      twilioError(400, 21240, `A credential with username ${username} is already in this list`),
    );
  }
  if (weakPassword(password)) return reply(400, WEAK_PASSWORD);
  const credential: CredentialRow = {
    seq: 0,
    sid: newSid("CR"),
    account_sid: ctx.account.sid,
    credential_list_sid: list.sid,
    username,
    date_created: ctx.now,
    date_updated: ctx.now,
  };
  ctx.sql.exec(
    `INSERT INTO credentials (sid, account_sid, credential_list_sid, username, date_created,
                              date_updated)
     VALUES (?, ?, ?, ?, ?, ?)`,
    credential.sid,
    credential.account_sid,
    credential.credential_list_sid,
    credential.username,
    credential.date_created,
    credential.date_updated,
  );
  return reply(201, credentialResource(credential));
}

/** Only the password can change; it is checked, then forgotten like the first one. */
function updateCredential(ctx: RequestContext, credential: CredentialRow): TwilioReply {
  const password = ctx.form.Password;
  if (password !== undefined && weakPassword(password)) return reply(400, WEAK_PASSWORD);
  ctx.sql.exec("UPDATE credentials SET date_updated = ? WHERE sid = ?", ctx.now, credential.sid);
  return reply(200, credentialResource({ ...credential, date_updated: ctx.now }));
}
