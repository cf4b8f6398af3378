import type { Caller } from "../app-env";
import type { D1Reader } from "./read-your-writes";

type CallerRow = {
  key_id: string;
  workspace_id: string;
  purchased_number_limit: number | null;
  search_rate_per_minute: number | null;
  write_rate_per_minute: number | null;
};

export function findCallerStatement(db: D1Reader, keyHash: string): D1PreparedStatement {
  return db
    .prepare(
      `SELECT k.id AS key_id, w.id AS workspace_id, w.purchased_number_limit,
              w.search_rate_per_minute, w.write_rate_per_minute
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
    searchRatePerMinute: row.search_rate_per_minute,
    writeRatePerMinute: row.write_rate_per_minute,
  };
}

export type { CallerRow };
