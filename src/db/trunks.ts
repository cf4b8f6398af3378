import type { D1Reader } from "./read-your-writes";

// The SIP trunks a workspace's numbers ride for outbound calls (migrations/0003).

export type TrunkRow = {
  id: string;
  workspace_id: string;
  kind: "platform" | "byoc";
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
