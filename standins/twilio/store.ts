// The stand-in's tables (SQLite in the TwilioAccount Durable Object) and the row helpers several
// modules share. Everything runs synchronously inside one Durable Object call, so a check and
// the write that depends on it cannot interleave with another request.

import type { IncomingPhoneNumberResource } from "./twilio-wire";
import type { AccountStatus, AccountType } from "./types";

/**
 * Bumped whenever a table changes shape: the stand-in's state is disposable, so on a mismatch
 * (say, a `npm run dev` state persisted by an older stand-in) every table is dropped and rebuilt.
 */
const SCHEMA_VERSION = 3;

// seq columns order rows by creation and back the page tokens. Dates are ms since the epoch.
const TABLE_DEFINITIONS: Record<string, string> = {
  accounts: `(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    auth_token TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    date_created INTEGER NOT NULL
  )`,
  // visible_at: until then the number is owned (not for sale) but Twilio does not show it yet.
  owned_numbers: `(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    resource TEXT NOT NULL
  )`,
  // Numbers released while a release hold was set: not for sale until available_at.
  released_numbers: `(
    phone_number TEXT PRIMARY KEY,
    available_at INTEGER NOT NULL
  )`,
  caller_ids: `(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    UNIQUE (account_sid, phone_number)
  )`,
  credential_lists: `(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    date_updated INTEGER NOT NULL
  )`,
  // Passwords are checked for strength and never stored.
  credentials: `(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL,
    credential_list_sid TEXT NOT NULL,
    username TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    date_updated INTEGER NOT NULL,
    UNIQUE (credential_list_sid, username)
  )`,
  // domain_name is kept lower-case; settings holds the trunk's other writable fields as JSON.
  trunks: `(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL,
    domain_name TEXT UNIQUE,
    settings TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    date_updated INTEGER NOT NULL
  )`,
  // Domain names of deleted trunks, taken until available_at.
  reserved_domains: `(
    domain_name TEXT PRIMARY KEY,
    available_at INTEGER NOT NULL
  )`,
  origination_urls: `(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL,
    trunk_sid TEXT NOT NULL,
    sip_url TEXT NOT NULL,
    priority INTEGER NOT NULL,
    weight INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    friendly_name TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    date_updated INTEGER NOT NULL
  )`,
  trunk_credential_lists: `(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account_sid TEXT NOT NULL,
    trunk_sid TEXT NOT NULL,
    credential_list_sid TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    UNIQUE (trunk_sid, credential_list_sid)
  )`,
  faults: `(
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
  )`,
  request_log: `(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry TEXT NOT NULL
  )`,
  settings: `(
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  )`,
};

export const TABLES = Object.keys(TABLE_DEFINITIONS);

/** Creates the tables, first dropping those of an older schema. */
export function createTables(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  const version = sql
    .exec<{ value: number }>("SELECT value FROM meta WHERE name = 'schema_version'")
    .toArray()[0]?.value;
  if (version !== SCHEMA_VERSION) {
    // Tables of every earlier schema, including ones this one no longer has.
    for (const table of TABLES) sql.exec(`DROP TABLE IF EXISTS ${table}`);
    sql.exec(
      "INSERT OR REPLACE INTO meta (name, value) VALUES ('schema_version', ?)",
      SCHEMA_VERSION,
    );
  }
  for (const [table, definition] of Object.entries(TABLE_DEFINITIONS)) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${table} ${definition}`);
  }
  // A purchase asks whether its one number is owned: a lookup, not a scan of every number.
  sql.exec("CREATE INDEX IF NOT EXISTS owned_numbers_by_number ON owned_numbers (phone_number)");
}

/** A random Twilio SID: the two-letter prefix and 32 lower-case hex digits. */
export function newSid(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "")}`;
}

// ---- Accounts ----------------------------------------------------------------------------

export interface AccountRow {
  sid: string;
  auth_token: string;
  friendly_name: string;
  type: AccountType;
  status: AccountStatus;
  date_created: number;
}

export function accountRow(sql: SqlStorage, sid: string): AccountRow | null {
  return (
    sql
      .exec<Record<string, SqlStorageValue>>("SELECT * FROM accounts WHERE sid = ?", sid)
      .toArray()
      .map(toAccountRow)[0] ?? null
  );
}

export function accountRows(sql: SqlStorage): AccountRow[] {
  return sql
    .exec<Record<string, SqlStorageValue>>("SELECT * FROM accounts ORDER BY seq")
    .toArray()
    .map(toAccountRow);
}

function toAccountRow(row: Record<string, SqlStorageValue>): AccountRow {
  return {
    sid: String(row.sid),
    auth_token: String(row.auth_token),
    friendly_name: String(row.friendly_name),
    type: String(row.type) as AccountType,
    status: String(row.status) as AccountStatus,
    date_created: Number(row.date_created),
  };
}

// ---- Owned numbers -----------------------------------------------------------------------

export interface NumberRow {
  seq: number;
  accountSid: string;
  /** ms since the epoch; the number is hidden from Twilio's API until then. */
  visibleAt: number;
  resource: IncomingPhoneNumberResource;
}

/**
 * Owned numbers in creation order. `visibleAt`: only those Twilio's API shows at that time;
 * `accountSid`, `sid`: only that account's, only that number.
 */
export function numberRows(
  sql: SqlStorage,
  filter: { accountSid?: string; sid?: string; visibleAt?: number } = {},
): NumberRow[] {
  const conditions: string[] = [];
  const values: SqlStorageValue[] = [];
  if (filter.accountSid !== undefined) {
    conditions.push("account_sid = ?");
    values.push(filter.accountSid);
  }
  if (filter.sid !== undefined) {
    conditions.push("sid = ?");
    values.push(filter.sid);
  }
  if (filter.visibleAt !== undefined) {
    conditions.push("visible_at <= ?");
    values.push(filter.visibleAt);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
  return sql
    .exec<{ seq: number; account_sid: string; visible_at: number; resource: string }>(
      `SELECT seq, account_sid, visible_at, resource FROM owned_numbers ${where} ORDER BY seq`,
      ...values,
    )
    .toArray()
    .map((row) => ({
      seq: row.seq,
      accountSid: row.account_sid,
      visibleAt: row.visible_at,
      resource: JSON.parse(row.resource) as IncomingPhoneNumberResource,
    }));
}

export function saveNumber(sql: SqlStorage, resource: IncomingPhoneNumberResource): void {
  sql.exec(
    "UPDATE owned_numbers SET resource = ? WHERE sid = ?",
    JSON.stringify(resource),
    resource.sid,
  );
}
