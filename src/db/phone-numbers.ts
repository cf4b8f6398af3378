import { billedToPlatform, PLATFORM_BILLED_SQL } from "../billing";
import type { ActivationWiring, ClaimResult, ImportRecords, Records } from "../saga/ports";
import type {
  PhoneNumber,
  PhoneNumberCapability,
  PhoneNumberSource,
} from "../schemas/phone-numbers";
import type { D1Reader } from "./read-your-writes";
import {
  ensurePlatformTrunk,
  ensureTwilioTrunk,
  findTrunk,
  saveTrunkSecrets,
  setTrunkLiveKitId,
} from "./trunks";

export type PhoneNumberRow = {
  id: string;
  workspace_id: string;
  e164: string;
  source: PhoneNumberSource;
  capabilities: string;
  label: string | null;
  trunk_id: string | null;
  agent_id: string | null;
  livekit_phone_number_id: string | null;
  twilio_sid: string | null;
  /** LiveKit's inbound trunk for this number (ST_...), once wired. */
  livekit_inbound_trunk_id: string | null;
  status: "purchasing" | "active" | "released";
  created_at: string;
  updated_at: string;
  released_at: string | null;
};

/** What a new row holds; written once, by the workspace's Durable Object. */
export type NewPhoneNumber = Omit<
  PhoneNumberRow,
  "capabilities" | "status" | "released_at" | "livekit_inbound_trunk_id"
> & {
  capabilities: PhoneNumberCapability[];
};

const COLUMNS = `id, workspace_id, e164, source, capabilities, label, trunk_id, agent_id,
  livekit_phone_number_id, twilio_sid, livekit_inbound_trunk_id, status, created_at, updated_at,
  released_at`;

export const MAX_LISTED_NUMBERS = 100;

export function toPhoneNumber(row: PhoneNumberRow | NewPhoneNumber): PhoneNumber {
  return {
    id: row.id,
    e164: row.e164,
    source: row.source,
    label: row.label,
    trunk_id: row.trunk_id,
    agent_id: row.agent_id,
    capabilities:
      typeof row.capabilities === "string"
        ? (JSON.parse(row.capabilities) as PhoneNumberCapability[])
        : row.capabilities,
    livekit_phone_number_id: row.livekit_phone_number_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

// Reads that run in the same D1 batch as the caller lookup find the workspace by key hash.
const KEY_WORKSPACE =
  "(SELECT workspace_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL)";

export function listActiveStatement(db: D1Reader, keyHash: string): D1PreparedStatement {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM phone_numbers
        WHERE workspace_id = ${KEY_WORKSPACE} AND status = 'active'
        ORDER BY created_at DESC, id DESC LIMIT ?`,
    )
    .bind(keyHash, MAX_LISTED_NUMBERS);
}

export function findActiveStatement(
  db: D1Reader,
  keyHash: string,
  id: string,
): D1PreparedStatement {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM phone_numbers
        WHERE id = ? AND workspace_id = ${KEY_WORKSPACE} AND status = 'active'`,
    )
    .bind(id, keyHash);
}

export function findActivePhoneNumber(
  db: D1Reader,
  workspaceId: string,
  id: string,
): Promise<PhoneNumberRow | null> {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM phone_numbers
        WHERE id = ? AND workspace_id = ? AND status = 'active'`,
    )
    .bind(id, workspaceId)
    .first<PhoneNumberRow>();
}

/**
 * Writes the number as `purchasing` before Twilio is asked: the durable record that it may be
 * bought. The insert happens only while the workspace is under both caps, counted in the same
 * statement, so D1 enforces the caps even for numbers the Durable Object's ledger never saw.
 * Idempotent on the id; a number claimed or held by any workspace is refused.
 */
export async function claimPhoneNumber(
  db: D1Reader,
  number: NewPhoneNumber,
  caps: { purchased: number; total: number },
): Promise<ClaimResult> {
  const claim = db
    .prepare(
      `INSERT INTO phone_numbers (id, workspace_id, e164, source, capabilities, label, trunk_id,
         agent_id, livekit_phone_number_id, twilio_sid, status, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'purchasing', ?11, ?12
        WHERE (?4 NOT IN (${PLATFORM_BILLED_SQL})
               OR (SELECT COUNT(*) FROM phone_numbers
                    WHERE workspace_id = ?2 AND status != 'released'
                      AND source IN (${PLATFORM_BILLED_SQL})) < ?13)
          AND (SELECT COUNT(*) FROM phone_numbers
                WHERE workspace_id = ?2 AND status != 'released') < ?14
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(
      number.id,
      number.workspace_id,
      number.e164,
      number.source,
      JSON.stringify(number.capabilities),
      number.label,
      number.trunk_id,
      number.agent_id,
      number.livekit_phone_number_id,
      number.twilio_sid,
      number.created_at,
      number.updated_at,
      caps.purchased,
      caps.total,
    );
  // In the same transaction: the journal entry that proves, later, that we bought the number.
  const journal = db
    .prepare(
      `INSERT INTO purchase_journal (number_id, workspace_id, e164, started_at)
       SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM phone_numbers WHERE id = ?1)
       ON CONFLICT (number_id) DO NOTHING`,
    )
    .bind(number.id, number.workspace_id, number.e164, new Date().toISOString());
  try {
    const [result] = await db.batch([claim, journal]);
    if (result?.meta.changes === 1) return "claimed";
  } catch (error) {
    if (String(error).includes("UNIQUE constraint failed: phone_numbers.e164")) {
      return "number_taken";
    }
    throw error;
  }
  // Not written: either this claim already exists (a resumed purchase) or a cap is reached.
  const counts = await db
    .prepare(
      `SELECT EXISTS (SELECT 1 FROM phone_numbers WHERE id = ?1) AS existing,
              (SELECT COUNT(*) FROM phone_numbers
                WHERE workspace_id = ?2 AND status != 'released'
                  AND source IN (${PLATFORM_BILLED_SQL})) AS purchased`,
    )
    .bind(number.id, number.workspace_id)
    .first<{ existing: number; purchased: number }>();
  if (counts?.existing) return "claimed";
  const billed = billedToPlatform(number.source);
  return { over: billed && (counts?.purchased ?? 0) >= caps.purchased ? "purchased" : "total" };
}

/** Idempotent: the purchased, wired number becomes visible. */
export async function activatePhoneNumber(
  db: D1Reader,
  id: string,
  at: string,
  wiring: ActivationWiring,
): Promise<void> {
  await db
    .prepare(
      `UPDATE phone_numbers SET status = 'active', twilio_sid = ?, trunk_id = ?,
         livekit_inbound_trunk_id = ?, updated_at = ?
        WHERE id = ? AND status = 'purchasing'`,
    )
    .bind(wiring.carrierSid, wiring.trunkId, wiring.inboundTrunkId, at, id)
    .run();
}

/** Idempotent: removes a claim whose purchase did not happen. */
export async function undoClaim(db: D1Reader, id: string): Promise<void> {
  await db
    .prepare("DELETE FROM phone_numbers WHERE id = ? AND status = 'purchasing'")
    .bind(id)
    .run();
}

/** Idempotent: releasing a released row changes nothing. */
export async function markPhoneNumberReleased(
  db: D1Reader,
  workspaceId: string,
  id: string,
  at: string,
): Promise<void> {
  await db
    .prepare(
      `UPDATE phone_numbers SET status = 'released', released_at = ?, updated_at = ?
        WHERE id = ? AND workspace_id = ? AND status != 'released'`,
    )
    .bind(at, at, id, workspaceId)
    .run();
}

export type PhoneNumberChanges = {
  label?: string | null;
  agentId?: string | null;
};

/**
 * Applies the changes and returns the row as it now is, or null when the number is not
 * active in this workspace. One round trip: the UPDATE returns the row.
 */
export function updatePhoneNumber(
  db: D1Reader,
  workspaceId: string,
  id: string,
  changes: PhoneNumberChanges,
  at: string,
): Promise<PhoneNumberRow | null> {
  const sets: string[] = ["updated_at = ?"];
  const values: (string | null)[] = [at];
  if (changes.label !== undefined) {
    sets.push("label = ?");
    values.push(changes.label);
  }
  if (changes.agentId !== undefined) {
    sets.push("agent_id = ?");
    values.push(changes.agentId);
  }
  return db
    .prepare(
      `UPDATE phone_numbers SET ${sets.join(", ")}
        WHERE id = ? AND workspace_id = ? AND status = 'active'
        RETURNING ${COLUMNS}`,
    )
    .bind(...values, id, workspaceId)
    .first<PhoneNumberRow>();
}

/** Idempotent: the imported number becomes visible, as what the import found it to be. */
export async function activateImportedNumber(
  db: D1Reader,
  id: string,
  at: string,
  row: Parameters<ImportRecords["activateImport"]>[2],
): Promise<void> {
  await db
    .prepare(
      `UPDATE phone_numbers SET status = 'active', source = ?, capabilities = ?, twilio_sid = ?,
         trunk_id = ?, livekit_inbound_trunk_id = ?, livekit_phone_number_id = ?, updated_at = ?
        WHERE id = ? AND status = 'purchasing'`,
    )
    .bind(
      row.source,
      JSON.stringify(row.capabilities),
      row.twilioSid,
      row.trunkId,
      row.inboundTrunkId,
      row.livekitPhoneNumberId,
      at,
      id,
    )
    .run();
}

/** The import saga's records port over D1. */
export function importRecords(db: D1Reader): ImportRecords {
  return {
    findTrunk: (workspaceId, trunkId) => findTrunk(db, workspaceId, trunkId),
    ensureTwilioTrunk: (workspaceId, accountSid, candidateId, address) =>
      ensureTwilioTrunk(db, workspaceId, accountSid, candidateId, address),
    saveTrunkSecrets: (trunkId, changes) => saveTrunkSecrets(db, trunkId, changes),
    activateImport: (id, at, row) => activateImportedNumber(db, id, at, row),
  };
}

/** The saga's Records port over D1. */
export function phoneNumberRecords(db: D1Reader): Records {
  return {
    claim: (record, limits) => claimPhoneNumber(db, record, limits),
    activate: (id, at, wiring) => activatePhoneNumber(db, id, at, wiring),
    undoClaim: (id) => undoClaim(db, id),
    markReleased: (workspaceId, id, at) => markPhoneNumberReleased(db, workspaceId, id, at),
    flagForOperator: async (id, reason) => {
      await db
        .prepare("UPDATE phone_numbers SET operator_attention = ? WHERE id = ?")
        .bind(reason, id)
        .run();
    },
    findActive: (workspaceId, id) => findActivePhoneNumber(db, workspaceId, id),
    update: (workspaceId, id, changes, at) => updatePhoneNumber(db, workspaceId, id, changes, at),
    ensurePlatformTrunk: (workspaceId, candidateId, address) =>
      ensurePlatformTrunk(db, workspaceId, candidateId, address),
    setTrunkLiveKitId: (trunkId, livekitTrunkId) => setTrunkLiveKitId(db, trunkId, livekitTrunkId),
  };
}
