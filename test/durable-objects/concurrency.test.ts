import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectLedgerInvariant } from "../helpers/ledger";
import { purchase, search } from "../helpers/phone-numbers";
import { twilioStandin } from "../helpers/standin";
import { createWorkspace } from "../helpers/workspaces";

async function heldAtStandin(prefixes: string[]): Promise<string[]> {
  return (await twilioStandin.held()).filter((e164) =>
    prefixes.some((p) => e164.startsWith(`+1${p}`)),
  );
}

describe("caps under concurrency", () => {
  it("buys exactly 3 of 200 concurrent purchases in a workspace limited to 3", async () => {
    // The caps are under test, not the write limit: a rate that lets all 200 through at once.
    const ws = await createWorkspace({ purchasedNumberLimit: 3, writeRatePerMinute: 6000 });
    const areas = ["316", "317", "318", "319"];
    const numbers = (
      await Promise.all(areas.map((a) => search(ws, `area_code=${a}&limit=50`)))
    ).flat();
    expect(numbers).toHaveLength(200);
    const responses = await Promise.all(numbers.map((n) => purchase(ws, { e164: n.e164 })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 422)).toHaveLength(197);
    expect(await heldAtStandin(areas)).toHaveLength(3);
    const rows = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM phone_numbers WHERE workspace_id = ? AND status = 'active'",
    )
      .bind(ws.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(3);
  });

  it("holds each of 20 workspaces buying in parallel to exactly its own limit", async () => {
    const workspaces = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createWorkspace({ purchasedNumberLimit: 1 + (i % 3) })),
    );
    const area = (i: number) => String(320 + i);
    const searched = await Promise.all(
      workspaces.map((ws, i) => search(ws, `area_code=${area(i)}&limit=10`)),
    );
    await Promise.all(
      workspaces.flatMap((ws, i) => (searched[i] ?? []).map((n) => purchase(ws, { e164: n.e164 }))),
    );
    for (const [i, ws] of workspaces.entries()) {
      const limit = 1 + (i % 3);
      expect(await heldAtStandin([area(i)])).toHaveLength(limit);
      await expectLedgerInvariant(ws, area(i), limit);
    }
  });
});
