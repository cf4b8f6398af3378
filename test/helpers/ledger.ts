import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { LedgerRow } from "../../src/saga/ledger";
import { twilioStandin } from "./standin";
import type { TestWorkspace } from "./workspaces";

function workspaceObject(ws: TestWorkspace) {
  return env.WORKSPACE_NUMBERS.getByName(ws.id);
}

/** The workspace Durable Object's ledger rows, read inside the object. */
export function ledgerRows(ws: TestWorkspace): Promise<LedgerRow[]> {
  return runInDurableObject(workspaceObject(ws), (_instance, state) =>
    state.storage.sql.exec<LedgerRow>("SELECT * FROM ledger").toArray(),
  );
}

/** When the workspace object's alarm is due (ms), or null when none is armed. */
export function alarmOf(ws: TestWorkspace): Promise<number | null> {
  return runInDurableObject(workspaceObject(ws), (_instance, state) => state.storage.getAlarm());
}

/** Ledger rows still being worked on (anything but `active`). */
export async function unfinished(ws: TestWorkspace): Promise<LedgerRow[]> {
  return (await ledgerRows(ws)).filter((row) => row.state !== "active");
}

/**
 * Lets the ledger's waiting time pass (every retry and settle time becomes now), then runs the
 * object's alarm, as the runtime would once those times came. Returns whether it ran.
 */
export async function runAlarmNow(ws: TestWorkspace): Promise<boolean> {
  const stub = workspaceObject(ws);
  await runInDurableObject(stub, async (_instance, state) => {
    state.storage.sql.exec("UPDATE ledger SET next_attempt_at = 0, settle_at = 0");
    // Far enough ahead that it cannot fire by itself before it is run below.
    await state.storage.setAlarm(Date.now() + 60_000);
  });
  return runDurableObjectAlarm(stub);
}

/**
 * Runs the object's alarm now for every unfinished row, as if its next attempt were due, but
 * leaves settle times alone: a purchase without a clear answer is looked up, not concluded.
 */
export async function runAlarmBeforeSettling(ws: TestWorkspace): Promise<boolean> {
  const stub = workspaceObject(ws);
  await runInDurableObject(stub, async (_instance, state) => {
    state.storage.sql.exec("UPDATE ledger SET next_attempt_at = 0");
    await state.storage.setAlarm(Date.now() + 60_000);
  });
  return runDurableObjectAlarm(stub);
}

/** Moves a ledger row's start back in time (to pass the purchase deadline). */
export function ageLedger(ws: TestWorkspace, ms: number): Promise<void> {
  return runInDurableObject(workspaceObject(ws), (_instance, state) => {
    state.storage.sql.exec("UPDATE ledger SET started_at = started_at - ?", ms);
  });
}

/**
 * The ledger invariant: the numbers the stand-in's account holds in the workspace's area code
 * are exactly the workspace's active rows in D1, none over the cap, nothing left half-done.
 */
export async function expectLedgerInvariant(
  ws: TestWorkspace,
  areaCode: string,
  purchasedLimit: number,
): Promise<void> {
  const held = (await twilioStandin.held())
    .filter((e164) => e164.startsWith(`+1${areaCode}`))
    .sort();
  const { results } = await env.DB.prepare(
    "SELECT e164, status FROM phone_numbers WHERE workspace_id = ? AND status != 'released'",
  )
    .bind(ws.id)
    .all<{ e164: string; status: string }>();
  expect(
    results.filter((r) => r.status !== "active"),
    "claims left in D1",
  ).toEqual([]);
  expect(held, "held at Twilio vs active in D1").toEqual(results.map((r) => r.e164).sort());
  expect(held.length).toBeLessThanOrEqual(purchasedLimit);
  expect(await unfinished(ws), "unfinished ledger rows").toEqual([]);
}

/** A real D1 failure: a trigger that aborts the matching write until dropped. */
export async function failD1Writes(
  name: string,
  when: "activation" | "release",
): Promise<() => Promise<void>> {
  const condition = when === "activation" ? "NEW.status = 'active'" : "NEW.status = 'released'";
  await env.DB.prepare(
    `CREATE TRIGGER ${name} BEFORE UPDATE ON phone_numbers WHEN ${condition}
     BEGIN SELECT RAISE(ABORT, 'injected D1 fault'); END`,
  ).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER ${name}`).run();
  };
}
