import type { D1Reader } from "./read-your-writes";
/**
 * The agent, if it belongs to the workspace of the API key with this hash: its LiveKit agent
 * name (the agent's id when none was set).
 */
export function agentOfKeyStatement(
  db: D1Reader,
  keyHash: string,
  agentId: string,
): D1PreparedStatement {
  return db
    .prepare(
      `SELECT COALESCE(agent_name, id) AS agent_name FROM agents WHERE id = ? AND workspace_id =
        (SELECT workspace_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL)`,
    )
    .bind(agentId, keyHash);
}
