import type { Caller } from "../app-env";
import type { D1Reader } from "./read-your-writes";

type CallerRow = {
  key_id: string;
  workspace_id: string;
  purchased_number_limit: number | null;
};

export function findCallerStatement(db: D1Reader, keyHash: string): D1PreparedStatement {
  return db
    .prepare(
      `SELECT k.id AS key_id, w.id AS workspace_id, w.purchased_number_limit
         FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
        WHERE k.key_hash = ? AND k.revoked_at IS NULL`,
    )
    .bind(keyHash);
}

export function toCaller(row: CallerRow | null | undefined): Caller | null {
  if (!row) return null;
  return {
    keyId: row.key_id,
    workspaceId: row.workspace_id,
    purchasedNumberLimit: row.purchased_number_limit,
  };
}

export type { CallerRow };
