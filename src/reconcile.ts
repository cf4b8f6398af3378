import { purchaseDeadlineMs, twilioConfig } from "./config";
import { log } from "./log";
import { TwilioClient } from "./twilio/client";

type HeldRow = {
  id: string;
  workspace_id: string;
  e164: string;
  twilio_sid: string | null;
  status: "purchasing" | "active";
};

export type ReconcileReport = {
  checked_at: string;
  fix: boolean;
  twilio_numbers: number;
  records: number;
  /** At Twilio, with no record: billed to the platform for nobody. */
  orphans: {
    sid: string;
    e164: string;
    date_created: string | null;
    action: "released" | "kept_recent" | "release_failed" | "none";
  }[];
  /** Recorded as held, but Twilio no longer has the number. */
  lost: {
    id: string;
    workspace_id: string;
    e164: string;
    twilio_sid: string | null;
    action: "marked_released" | "left_in_progress" | "none";
  }[];
  /** Claims of purchases still under way (their workspace's alarm settles them). */
  in_progress: { id: string; workspace_id: string; e164: string }[];
};

/**
 * Compares every number on the master Twilio account with D1. With `fix`, releases orphans older
 * than the purchase deadline (younger ones may be purchases still being recorded) and marks lost
 * records released through their workspace's Durable Object, which also stops counting them.
 */
export async function reconcileTwilioNumbers(
  env: Env,
  options: { fix: boolean; now?: number; pageSize?: number },
): Promise<ReconcileReport> {
  const now = options.now ?? Date.now();
  const twilio = TwilioClient.fromConfig(twilioConfig(env), { by: "reconcile" });
  const [owned, { results: rows }] = await Promise.all([
    twilio.listOwned(options.pageSize),
    env.DB.prepare(
      `SELECT id, workspace_id, e164, twilio_sid, status FROM phone_numbers
        WHERE source = 'twilio_purchased' AND status != 'released'`,
    ).all<HeldRow>(),
  ]);

  const recordedSids = new Set(rows.map((r) => r.twilio_sid).filter(Boolean));
  const claimed = new Set(rows.filter((r) => r.status === "purchasing").map((r) => r.e164));
  const ownedSids = new Set(owned.map((n) => n.sid));
  const deadline = purchaseDeadlineMs(env);

  const report: ReconcileReport = {
    checked_at: new Date(now).toISOString(),
    fix: options.fix,
    twilio_numbers: owned.length,
    records: rows.length,
    orphans: [],
    lost: [],
    in_progress: rows
      .filter((r) => r.status === "purchasing")
      .map(({ id, workspace_id, e164 }) => ({ id, workspace_id, e164 })),
  };

  for (const number of owned) {
    if (recordedSids.has(number.sid) || claimed.has(number.phone_number)) continue;
    const created = number.date_created ? Date.parse(number.date_created) : Number.NaN;
    const old = Number.isNaN(created) || now - created > deadline;
    let action: ReconcileReport["orphans"][number]["action"] = "none";
    if (options.fix) {
      action = "kept_recent";
      if (old) {
        try {
          await twilio.release(number.sid);
          action = "released";
        } catch {
          action = "release_failed";
        }
      }
    }
    log.error("orphan_number", { twilio_sid: number.sid, e164: number.phone_number, action });
    report.orphans.push({
      sid: number.sid,
      e164: number.phone_number,
      date_created: number.date_created ?? null,
      action,
    });
  }

  for (const row of rows) {
    if (row.status !== "active" || (row.twilio_sid && ownedSids.has(row.twilio_sid))) continue;
    let action: ReconcileReport["lost"][number]["action"] = "none";
    if (options.fix) {
      const stub = env.WORKSPACE_NUMBERS.getByName(row.workspace_id);
      action = (await stub.recordLostNumber(row.workspace_id, row.id))
        ? "marked_released"
        : "left_in_progress";
    }
    log.error("lost_number", { number_id: row.id, workspace_id: row.workspace_id, action });
    report.lost.push({
      id: row.id,
      workspace_id: row.workspace_id,
      e164: row.e164,
      twilio_sid: row.twilio_sid,
      action,
    });
  }
  log.info("reconciled", {
    twilio_numbers: report.twilio_numbers,
    records: report.records,
    orphans: report.orphans.length,
    lost: report.lost.length,
    fix: options.fix,
  });
  return report;
}
