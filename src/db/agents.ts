/** Whether the agent belongs to the workspace of the API key with this hash. */
export function agentOfKeyStatement(
  db: D1Database,
  keyHash: string,
  agentId: string,
): D1PreparedStatement {
  return db
    .prepare(
      `SELECT 1 AS found FROM agents WHERE id = ? AND workspace_id =
        (SELECT workspace_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL)`,
    )
    .bind(agentId, keyHash);
}
