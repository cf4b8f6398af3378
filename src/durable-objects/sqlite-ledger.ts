import { PLATFORM_BILLED_SQL } from "../billing";
import {
  type IdempotencyRecord,
  type KeyedOperation,
  type LedgerChanges,
  type LedgerRow,
  type NewLedgerRow,
  type PlatformTrunk,
  RESTING_STATES,
  type StoredAnswer,
} from "../saga/ledger";
import type { AccountTrunk, ImportLedger, Ledger } from "../saga/ports";

/**
 * The schema of the workspace object's own storage, one migration per version. The object
 * applies the ones it has not applied yet when it starts; a migration is never edited once
 * shipped, only followed by another.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the ledger, the numbers recent searches returned, and Idempotency-Keys.
  `CREATE TABLE IF NOT EXISTS ledger (
     id TEXT PRIMARY KEY,                   -- the phone number's id (phone_<ULID>)
     e164 TEXT NOT NULL,
     source TEXT NOT NULL,                  -- a PhoneNumberSource
     state TEXT NOT NULL,                   -- a LedgerState: reserved, buying, bought, active, releasing
     twilio_sid TEXT,                       -- the carrier's id for the number, once known
     record TEXT NOT NULL,                  -- the D1 row to write, as JSON
     idempotency_key TEXT,                  -- unused since version 2 (keys name their number)
     started_at INTEGER NOT NULL,           -- when the purchase was asked for (ms)
     attempts INTEGER NOT NULL DEFAULT 0,   -- failed attempts so far, for the backoff
     next_attempt_at INTEGER NOT NULL DEFAULT 0, -- when the alarm next looks at the row (ms)
     settle_at INTEGER NOT NULL DEFAULT 0   -- buying: when a lookup that finds nothing is proof
   );
   CREATE INDEX IF NOT EXISTS ledger_e164 ON ledger (e164);
   CREATE INDEX IF NOT EXISTS ledger_pending ON ledger (next_attempt_at) WHERE state != 'active';
   CREATE TABLE IF NOT EXISTS recent_searches (
     e164 TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL            -- after this (ms) the number may not be bought
   );
   CREATE TABLE IF NOT EXISTS idempotency_keys (
     key TEXT PRIMARY KEY,                  -- the client's Idempotency-Key
     request_hash TEXT NOT NULL,            -- SHA-256 of the operation and its normalized fields
     number_id TEXT,                        -- the ledger row the key's request works on
     status INTEGER,                        -- the stored answer: 201 or 204; NULL while running
     body TEXT,                             -- the stored 201 body (JSON)
     created_at INTEGER NOT NULL            -- keys are kept 24 h from here (ms)
   );`,
  // 2: a row carries the limits it was reserved under, so that a resumed purchase enforces
  // them; keys find their work by number.
  `ALTER TABLE ledger ADD COLUMN purchased_limit INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE ledger ADD COLUMN total_limit INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX IF NOT EXISTS idempotency_keys_number ON idempotency_keys (number_id)
     WHERE status IS NULL;`,
  // 3: a key names the operation it was used for, so that finishing one operation on a number
  // never answers a request for another.
  `ALTER TABLE idempotency_keys ADD COLUMN operation TEXT;`,
  // 4: LiveKit. Each row knows what of the number is wired (see NumberWiring) and which changes
  // are still to reach the upstreams; the workspace's shared outbound trunk is known here.
  `ALTER TABLE ledger ADD COLUMN agent_name TEXT;
   ALTER TABLE ledger ADD COLUMN inbound_trunk_id TEXT;
   ALTER TABLE ledger ADD COLUMN dispatch_rule_id TEXT;
   ALTER TABLE ledger ADD COLUMN outbound_added INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE ledger ADD COLUMN wiring_attempts INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE ledger ADD COLUMN label_dirty INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE ledger ADD COLUMN route_dirty INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE IF NOT EXISTS platform_trunk (
     trunk_id TEXT PRIMARY KEY,             -- our id (trunk_<ULID>), recorded in D1
     livekit_trunk_id TEXT,                 -- LiveKit's outbound trunk (ST_...), once created
     attempts INTEGER NOT NULL DEFAULT 0    -- creations begun (after one, look before creating)
   );`,
  // 5: imports. A row knows the trunk it rides (our trunk on the customer's Twilio account, or a
  // byoc trunk) and its progress (JSON, see NumberImports); each customer trunk's setup is here.
  `ALTER TABLE ledger ADD COLUMN import_trunk_id TEXT;
   ALTER TABLE ledger ADD COLUMN import_progress TEXT;
   CREATE INDEX IF NOT EXISTS ledger_import_trunk ON ledger (import_trunk_id);
   CREATE TABLE IF NOT EXISTS account_trunks (
     trunk_id TEXT PRIMARY KEY,             -- our trunk record (trunk_<ULID>), in D1
     account_sid TEXT,                      -- the customer's Twilio account; NULL for byoc
     generation INTEGER NOT NULL DEFAULT 0, -- bumped after a deletion (domain names are reserved)
     twilio_trunk_sid TEXT,                 -- TK... on the customer's account
     origination_sid TEXT,                  -- OU... pointing at LiveKit's SIP URI
     credential_list_sid TEXT,              -- CL... the termination credentials
     livekit_trunk_id TEXT,                 -- LiveKit's outbound trunk (ST_...)
     attempts INTEGER NOT NULL DEFAULT 0    -- setups begun (after one, look before creating)
   );`,
  // 6: a finished key keeps the kind of its answer (purchased, updated, released), not an HTTP
  // status: the saga knows outcomes; the HTTP layer maps them to statuses. (`status` is unused.)
  `ALTER TABLE idempotency_keys ADD COLUMN answer TEXT;
   UPDATE idempotency_keys
      SET answer = CASE status WHEN 201 THEN 'purchased' WHEN 200 THEN 'updated'
                               WHEN 204 THEN 'released' END
    WHERE status IS NOT NULL;
   CREATE INDEX IF NOT EXISTS idempotency_keys_unanswered ON idempotency_keys (number_id)
     WHERE answer IS NULL;`,
  // 7: every keyed write prunes the keys past their 24 h, and every search the numbers past
  // their time to be bought: by index, not by reading every key or number kept (a busy
  // workspace keeps thousands of each).
  `CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
   CREATE INDEX IF NOT EXISTS recent_searches_expiry ON recent_searches (expires_at);`,
];

/** SQL list of the states the alarm does not drive. */
const RESTING = RESTING_STATES.map((state) => `'${state}'`).join(", ");

const COLUMNS_OF_CHANGES: readonly (keyof LedgerChanges)[] = [
  "state",
  "source",
  "twilio_sid",
  "record",
  "attempts",
  "next_attempt_at",
  "settle_at",
  "agent_name",
  "inbound_trunk_id",
  "dispatch_rule_id",
  "outbound_added",
  "wiring_attempts",
  "label_dirty",
  "route_dirty",
];

/** The Ledger port over the Durable Object's SQLite storage. */
export class SqliteLedger implements Ledger, ImportLedger {
  readonly #sql: SqlStorage;
  readonly #storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
  }

  /** Applies the migrations this storage has not seen; run once, when the object starts. */
  migrate(): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      const current =
        this.#sql
          .exec<{ version: number }>("SELECT MAX(version) AS version FROM schema_version")
          .one().version ?? 0;
      MIGRATIONS.forEach((migration, index) => {
        const version = index + 1;
        if (version <= current) return;
        this.#sql.exec(migration);
        this.#sql.exec("INSERT INTO schema_version (version) VALUES (?)", version);
      });
    });
  }

  transaction<T>(work: () => T): T {
    return this.#storage.transactionSync(work);
  }

  holdings(e164: string) {
    const row = this.#sql
      .exec<{ total: number; purchased: number; same_number: number }>(
        `SELECT COUNT(*) AS total,
                COALESCE(SUM(source IN (${PLATFORM_BILLED_SQL})), 0) AS purchased,
                COALESCE(SUM(e164 = ?), 0) AS same_number
           FROM ledger`,
        e164,
      )
      .one();
    return { total: row.total, purchased: row.purchased, sameNumber: row.same_number };
  }

  insert(row: NewLedgerRow): void {
    this.#sql.exec(
      `INSERT INTO ledger (id, e164, source, state, twilio_sid, record, purchased_limit,
         total_limit, agent_name, inbound_trunk_id, dispatch_rule_id, outbound_added, started_at,
         next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      row.e164,
      row.source,
      row.state,
      row.twilio_sid,
      row.record,
      row.purchased_limit,
      row.total_limit,
      row.agent_name,
      row.inbound_trunk_id ?? null,
      row.dispatch_rule_id ?? null,
      row.outbound_added ?? 0,
      row.started_at,
      row.next_attempt_at,
    );
  }

  get(id: string): LedgerRow | null {
    return this.#sql.exec<LedgerRow>("SELECT * FROM ledger WHERE id = ?", id).toArray()[0] ?? null;
  }

  update(id: string, changes: LedgerChanges): void {
    const columns = COLUMNS_OF_CHANGES.filter((column) => column in changes);
    if (columns.length === 0) return;
    this.#sql.exec(
      `UPDATE ledger SET ${columns.map((column) => `${column} = ?`).join(", ")} WHERE id = ?`,
      ...columns.map((column) => changes[column] ?? null),
      id,
    );
  }

  delete(id: string): void {
    this.#sql.exec("DELETE FROM ledger WHERE id = ?", id);
  }

  due(now: number): LedgerRow[] {
    return this.#sql
      .exec<LedgerRow>(
        `SELECT * FROM ledger WHERE state NOT IN (${RESTING}) AND next_attempt_at <= ?
          ORDER BY next_attempt_at`,
        now,
      )
      .toArray();
  }

  nextAttemptAt(): number | null {
    return this.#sql
      .exec<{ at: number | null }>(
        `SELECT MIN(next_attempt_at) AS at FROM ledger WHERE state NOT IN (${RESTING})`,
      )
      .one().at;
  }

  findKey(key: string, notBefore: number): IdempotencyRecord | null {
    return (
      this.#sql
        .exec<IdempotencyRecord>(
          "SELECT * FROM idempotency_keys WHERE key = ? AND created_at > ?",
          key,
          notBefore,
        )
        .toArray()[0] ?? null
    );
  }

  bindKey(
    key: string,
    requestHash: string,
    numberId: string,
    operation: KeyedOperation,
    now: number,
  ): void {
    this.#sql.exec(
      `INSERT INTO idempotency_keys (key, request_hash, number_id, operation, created_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash,
         number_id = excluded.number_id, operation = excluded.operation, answer = NULL,
         body = NULL, created_at = excluded.created_at`,
      key,
      requestHash,
      numberId,
      operation,
      now,
    );
  }

  finishKeys(
    numberId: string,
    operation: KeyedOperation,
    answer: StoredAnswer,
    body: unknown,
  ): void {
    this.#sql.exec(
      `UPDATE idempotency_keys SET answer = ?, body = ?
        WHERE number_id = ? AND operation = ? AND answer IS NULL`,
      answer,
      body === null ? null : JSON.stringify(body),
      numberId,
      operation,
    );
  }

  deleteUnfinishedKeys(numberId: string): void {
    this.#sql.exec("DELETE FROM idempotency_keys WHERE number_id = ? AND answer IS NULL", numberId);
  }

  deleteKey(key: string): void {
    this.#sql.exec("DELETE FROM idempotency_keys WHERE key = ?", key);
  }

  deleteKeysBefore(time: number): void {
    this.#sql.exec(
      "DELETE FROM idempotency_keys WHERE created_at <= ? AND answer IS NOT NULL",
      time,
    );
  }

  rememberSearch(e164s: string[], expiresAt: number, now: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM recent_searches WHERE expires_at <= ?", now);
      for (const e164 of e164s) {
        this.#sql.exec(
          `INSERT INTO recent_searches (e164, expires_at) VALUES (?, ?)
           ON CONFLICT (e164) DO UPDATE SET expires_at = excluded.expires_at`,
          e164,
          expiresAt,
        );
      }
    });
  }

  wasSearched(e164: string, now: number): boolean {
    return (
      this.#sql
        .exec("SELECT 1 FROM recent_searches WHERE e164 = ? AND expires_at > ?", e164, now)
        .toArray().length > 0
    );
  }

  outboundNumbers(): number {
    return this.#sql
      .exec<{ count: number }>("SELECT COUNT(*) AS count FROM ledger WHERE outbound_added = 1")
      .one().count;
  }

  platformTrunk(): PlatformTrunk | null {
    return this.#sql.exec<PlatformTrunk>("SELECT * FROM platform_trunk").toArray()[0] ?? null;
  }

  savePlatformTrunk(trunk: PlatformTrunk): void {
    this.#sql.exec(
      `INSERT INTO platform_trunk (trunk_id, livekit_trunk_id, attempts) VALUES (?, ?, ?)
       ON CONFLICT (trunk_id) DO UPDATE SET livekit_trunk_id = excluded.livekit_trunk_id,
         attempts = excluded.attempts`,
      trunk.trunk_id,
      trunk.livekit_trunk_id,
      trunk.attempts,
    );
  }

  accountTrunk(trunkId: string): AccountTrunk | null {
    return (
      this.#sql
        .exec<AccountTrunk>("SELECT * FROM account_trunks WHERE trunk_id = ?", trunkId)
        .toArray()[0] ?? null
    );
  }

  rowByNumber(e164: string): LedgerRow | null {
    return (
      this.#sql.exec<LedgerRow>("SELECT * FROM ledger WHERE e164 = ?", e164).toArray()[0] ?? null
    );
  }

  accountTrunkOf(accountSid: string): AccountTrunk | null {
    return (
      this.#sql
        .exec<AccountTrunk>("SELECT * FROM account_trunks WHERE account_sid = ?", accountSid)
        .toArray()[0] ?? null
    );
  }

  saveAccountTrunk(trunk: AccountTrunk): void {
    this.#sql.exec(
      `INSERT INTO account_trunks (trunk_id, account_sid, generation, twilio_trunk_sid,
         origination_sid, credential_list_sid, livekit_trunk_id, attempts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (trunk_id) DO UPDATE SET account_sid = excluded.account_sid,
         generation = excluded.generation, twilio_trunk_sid = excluded.twilio_trunk_sid,
         origination_sid = excluded.origination_sid,
         credential_list_sid = excluded.credential_list_sid,
         livekit_trunk_id = excluded.livekit_trunk_id, attempts = excluded.attempts`,
      trunk.trunk_id,
      trunk.account_sid,
      trunk.generation,
      trunk.twilio_trunk_sid,
      trunk.origination_sid,
      trunk.credential_list_sid,
      trunk.livekit_trunk_id,
      trunk.attempts,
    );
  }

  ridersOf(trunkId: string, except: string): number {
    return this.#sql
      .exec<{ count: number }>(
        "SELECT COUNT(*) AS count FROM ledger WHERE import_trunk_id = ? AND id != ?",
        trunkId,
        except,
      )
      .one().count;
  }

  outboundRidersOf(trunkId: string, except: string): number {
    return this.#sql
      .exec<{ count: number }>(
        `SELECT COUNT(*) AS count FROM ledger WHERE import_trunk_id = ? AND id != ?
            AND json_extract(import_progress, '$.outboundAdded') = 1`,
        trunkId,
        except,
      )
      .one().count;
  }

  activeAccountImports(accountSid: string): number {
    return this.#sql
      .exec<{ count: number }>(
        `SELECT COUNT(*) AS count FROM ledger WHERE source = 'twilio' AND state = 'active'
            AND json_extract(import_progress, '$.accountSid') = ?`,
        accountSid,
      )
      .one().count;
  }

  importProgress(id: string): { trunk_id: string | null; progress: string | null } {
    const row = this.#sql
      .exec<{ import_trunk_id: string | null; import_progress: string | null }>(
        "SELECT import_trunk_id, import_progress FROM ledger WHERE id = ?",
        id,
      )
      .toArray()[0];
    return { trunk_id: row?.import_trunk_id ?? null, progress: row?.import_progress ?? null };
  }

  saveImportProgress(id: string, trunkId: string | null, progress: string): void {
    this.#sql.exec(
      "UPDATE ledger SET import_trunk_id = ?, import_progress = ? WHERE id = ?",
      trunkId,
      progress,
      id,
    );
  }
}
