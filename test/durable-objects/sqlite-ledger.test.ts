import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/durable-objects/sqlite-ledger";
import { createWorkspace } from "../helpers/workspaces";

/** SQLite's plan for `sql`, one line per step (EXPLAIN QUERY PLAN's `detail`). */
function plan(storage: DurableObjectStorage, sql: string, ...params: unknown[]): string[] {
  return storage.sql
    .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...params)
    .toArray()
    .map((row) => row.detail);
}

describe("the workspace object's ledger", () => {
  it("prunes old Idempotency-Keys and expired searches by index, not by reading every row", async () => {
    const ws = await createWorkspace();
    await runInDurableObject(env.WORKSPACE_NUMBERS.getByName(ws.id), (_instance, state) => {
      new SqliteLedger(state.storage).migrate();
      // The statements deleteKeysBefore and rememberSearch run on every keyed write and search.
      const keys = plan(
        state.storage,
        "DELETE FROM idempotency_keys WHERE created_at <= ? AND answer IS NOT NULL",
        0,
      );
      expect(keys.join("\n")).toContain("USING INDEX idempotency_keys_created");
      const searches = plan(state.storage, "DELETE FROM recent_searches WHERE expires_at <= ?", 0);
      expect(searches.join("\n")).toContain("USING INDEX recent_searches_expiry");
    });
  });
});
