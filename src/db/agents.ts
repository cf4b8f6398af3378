export async function agentExists(
  db: D1Database,
  workspaceId: string,
  agentId: string,
): Promise<boolean> {
  const row = await db
    .prepare("SELECT 1 AS found FROM agents WHERE id = ? AND workspace_id = ?")
    .bind(agentId, workspaceId)
    .first();
  return row !== null;
}
