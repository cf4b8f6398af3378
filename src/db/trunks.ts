import type { TrunkRecord } from "../saga/ports";
import type { D1Reader } from "./read-your-writes";

// The SIP trunks a workspace's numbers ride for outbound calls (migrations/0003, 0005).

export type TrunkRow = {
  id: string;
  workspace_id: string;
  kind: "platform" | "byoc" | "twilio";
  address: string;
  livekit_outbound_trunk_id: string | null;
  created_at: string;
};

/**
 * The workspace's platform trunk record: the existing one, or a new one with `candidateId`.
 * One round trip: the insert does nothing when the workspace has one (a unique index), and the
 * select in the same batch reads whichever exists.
 */
export async function ensurePlatformTrunk(
  db: D1Reader,
  workspaceId: string,
  candidateId: string,
  address: string,
): Promise<string> {
  const [, found] = await db.batch([
    db
      .prepare(
        `INSERT INTO trunks (id, workspace_id, kind, address, created_at)
         VALUES (?, ?, 'platform', ?, ?)
         ON CONFLICT DO NOTHING`,
      )
      .bind(candidateId, workspaceId, address, new Date().toISOString()),
    db
      .prepare("SELECT id FROM trunks WHERE workspace_id = ? AND kind = 'platform'")
      .bind(workspaceId),
  ]);
  const id = (found?.results[0] as { id: string } | undefined)?.id;
  if (!id) throw new Error(`no platform trunk recorded for workspace ${workspaceId}`);
  return id;
}

/** Records LiveKit's id of the trunk's outbound side. Idempotent. */
export async function setTrunkLiveKitId(
  db: D1Reader,
  trunkId: string,
  livekitTrunkId: string | null,
): Promise<void> {
  await db
    .prepare("UPDATE trunks SET livekit_outbound_trunk_id = ? WHERE id = ?")
    .bind(livekitTrunkId, trunkId)
    .run();
}

const TRUNK_COLUMNS = `id, workspace_id, kind, address, livekit_outbound_trunk_id, twilio_account_sid,
  sealed_credentials, sip_username`;

/** A trunk of the workspace, any kind. */
export function findTrunk(
  db: D1Reader,
  workspaceId: string,
  trunkId: string,
): Promise<TrunkRecord | null> {
  return db
    .prepare(`SELECT ${TRUNK_COLUMNS} FROM trunks WHERE id = ? AND workspace_id = ?`)
    .bind(trunkId, workspaceId)
    .first<TrunkRecord>();
}

/**
 * The workspace's trunk on this customer Twilio account: the existing one, or a new one with
 * `candidateId` (one per (workspace, account): a unique index). One round trip.
 */
export async function ensureTwilioTrunk(
  db: D1Reader,
  workspaceId: string,
  accountSid: string,
  candidateId: string,
  address: (trunkId: string) => string,
): Promise<TrunkRecord> {
  const [, found] = await db.batch([
    db
      .prepare(
        `INSERT INTO trunks (id, workspace_id, kind, address, twilio_account_sid, created_at)
         VALUES (?, ?, 'twilio', ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      )
      .bind(candidateId, workspaceId, address(candidateId), accountSid, new Date().toISOString()),
    db
      .prepare(
        `SELECT ${TRUNK_COLUMNS} FROM trunks
          WHERE workspace_id = ? AND kind = 'twilio' AND twilio_account_sid = ?`,
      )
      .bind(workspaceId, accountSid),
  ]);
  const row = found?.results[0] as TrunkRecord | undefined;
  if (!row) throw new Error(`no trunk recorded for ${workspaceId} on its Twilio account`);
  return row;
}

export async function saveTrunkSecrets(
  db: D1Reader,
  trunkId: string,
  changes: { sealed: string; sipUsername: string; address: string },
): Promise<void> {
  await db
    .prepare("UPDATE trunks SET sealed_credentials = ?, sip_username = ?, address = ? WHERE id = ?")
    .bind(changes.sealed, changes.sipUsername, changes.address, trunkId)
    .run();
}

/** A byoc trunk written by an operator (POST /internal/trunks), its password sealed. */
export async function insertByocTrunk(
  db: D1Reader,
  trunk: {
    id: string;
    workspaceId: string;
    address: string;
    sipUsername: string | null;
    sealed: string | null;
  },
): Promise<boolean> {
  const result = await db
    .prepare(
      `INSERT INTO trunks (id, workspace_id, kind, address, sip_username, sealed_credentials,
         created_at)
       SELECT ?, id, 'byoc', ?, ?, ?, ? FROM workspaces WHERE id = ?`,
    )
    .bind(
      trunk.id,
      trunk.address,
      trunk.sipUsername,
      trunk.sealed,
      new Date().toISOString(),
      trunk.workspaceId,
    )
    .run();
  return result.meta.changes === 1;
}
