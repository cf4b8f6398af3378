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

type FlaggedRow = { id: string; workspace_id: string; e164: string; operator_attention: string };

export type OrphanAction =
  /** Released at Twilio (--fix, provably ours, older than the purchase deadline). */
  | "released"
  /** Provably ours but young: it may be a purchase still being recorded. */
  | "kept_recent"
  | "release_failed"
  /** Not provably bought by this service: reported, never touched. */
  | "not_ours"
  /** A report without --fix. */
  | "none";

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
    /** Bought by this service: on the platform's trunk and in the purchase journal. */
    ours: boolean;
    action: OrphanAction;
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
  /** Numbers the saga handed to an operator (a refusal it will not retry), with the reason. */
  needs_operator: { id: string; workspace_id: string; e164: string; reason: string }[];
};

/**
 * Compares every number on the master Twilio account with D1. With `fix`, releases orphans that
 * this service provably bought (on the platform's trunk, and in the purchase journal that every
 * claim writes before Twilio is asked) once they are older than the purchase deadline, and
 * marks lost records released through their workspace's Durable Object, which also stops
 * counting them. Anything else on the account (bought in Twilio's Console, ported, used by
 * another system) is reported and never touched: a release cannot be undone.
 */
export async function reconcileTwilioNumbers(
  env: Env,
  options: { fix: boolean; now?: number; pageSize?: number },
): Promise<ReconcileReport> {
  const now = options.now ?? Date.now();
  const config = twilioConfig(env);
  const twilio = TwilioClient.fromConfig(config, { by: "reconcile" });
  const [owned, [held, journal, flagged]] = await Promise.all([
    twilio.listOwned(options.pageSize),
    env.DB.batch([
      env.DB.prepare(
        `SELECT id, workspace_id, e164, twilio_sid, status FROM phone_numbers
          WHERE source = 'twilio_purchased' AND status != 'released'`,
      ),
      env.DB.prepare("SELECT DISTINCT e164 FROM purchase_journal"),
      env.DB.prepare(
        `SELECT id, workspace_id, e164, operator_attention FROM phone_numbers
          WHERE operator_attention IS NOT NULL AND status != 'released'`,
      ),
    ]),
  ]);
  const rows = (held?.results ?? []) as HeldRow[];
  const journaled = new Set(((journal?.results ?? []) as { e164: string }[]).map((r) => r.e164));

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
    needs_operator: ((flagged?.results ?? []) as FlaggedRow[]).map((r) => ({
      id: r.id,
      workspace_id: r.workspace_id,
      e164: r.e164,
      reason: r.operator_attention,
    })),
  };

  for (const number of owned) {
    if (recordedSids.has(number.sid) || claimed.has(number.phone_number)) continue;
    const ours =
      config.trunkSid !== null &&
      number.trunk_sid === config.trunkSid &&
      journaled.has(number.phone_number);
    const created = number.date_created ? Date.parse(number.date_created) : Number.NaN;
    const old = !Number.isNaN(created) && now - created > deadline;
    let action: OrphanAction = "none";
    if (options.fix) {
      if (!ours) action = "not_ours";
      else if (!old) action = "kept_recent";
      else {
        try {
          await twilio.release(number.sid);
          action = "released";
        } catch {
          action = "release_failed";
        }
      }
    }
    log.error("orphan_number", {
      twilio_sid: number.sid,
      e164: number.phone_number,
      ours,
      action,
    });
    report.orphans.push({
      sid: number.sid,
      e164: number.phone_number,
      date_created: number.date_created ?? null,
      ours,
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
  for (const flaggedNumber of report.needs_operator) {
    log.error("number_needs_operator", { ...flaggedNumber });
  }
  log.info("reconciled", {
    twilio_numbers: report.twilio_numbers,
    records: report.records,
    orphans: report.orphans.length,
    lost: report.lost.length,
    needs_operator: report.needs_operator.length,
    fix: options.fix,
  });
  return report;
}
