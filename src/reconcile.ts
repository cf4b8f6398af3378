import { purchaseDeadlineMs, twilioConfig } from "./config";
import { keyringFromEnv, openSecret } from "./crypto/credentials";
import { workspaceObject } from "./durable-objects/workspace-numbers";
import { LiveKitClient } from "./livekit/client";
import { livekitConfig } from "./livekit/config";
import { metadataOf } from "./livekit/wire";
import { log } from "./log";
import { UpstreamFailure } from "./saga/ports";
import { TwilioClient } from "./twilio/client";
import { type TwilioCustomerAccount, twilioCustomerAccount } from "./twilio/customer-account";

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
  /** LiveKit against D1 (null when this deployment has no LiveKit); reported, never fixed. */
  livekit: LiveKitReport | null;
  /**
   * Customers' Twilio accounts against D1, read with the tokens stored for our trunks there;
   * reported, never fixed (what the customer owns is never changed by reconcile).
   */
  customer_accounts: CustomerAccountsReport;
};

export type CustomerAccountsReport = {
  /** Accounts (one per trunk record) whose stored token no longer opens them. */
  unreadable: {
    trunk_id: string;
    workspace_id: string;
    account_sid: string;
    problem: "credentials_rejected" | "account_inactive" | "unavailable" | "secrets_unreadable";
  }[];
  /** Imported numbers the account no longer has, or no longer has on our trunk. */
  numbers: {
    id: string;
    workspace_id: string;
    e164: string;
    account_sid: string;
    problem: "not_on_account" | "not_on_our_trunk" | "caller_id_gone";
  }[];
  /** Trunks named like ours (`trunk-<ULID>...`) on customer accounts that no record explains. */
  stray_trunks: { account_sid: string; trunk_sid: string; domain_name: string }[];
};

export type LiveKitReport = {
  /** Our LiveKit resources (by their metadata) for numbers no workspace holds. */
  strays: { kind: "inbound_trunk" | "dispatch_rule"; livekit_id: string; number_id: string }[];
  /** Caller ids on a workspace's outbound trunk that the workspace does not hold. */
  stray_caller_ids: { trunk_id: string; e164: string }[];
  /** Held numbers that LiveKit would not route as D1 says. */
  unwired: {
    id: string;
    workspace_id: string;
    e164: string;
    problem:
      | "no_inbound_trunk"
      | "no_rule"
      | "extra_rule"
      | "wrong_agent"
      | "no_caller_id"
      /** A `livekit` number LiveKit no longer holds (released, or never recorded as bought). */
      | "livekit_number_gone";
  }[];
  /** Numbers the LiveKit project holds that no record (held or being imported) explains. */
  stray_numbers: { livekit_id: string; e164: string }[];
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
    livekit: null,
    customer_accounts: { unreadable: [], numbers: [], stray_trunks: [] },
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
      const stub = workspaceObject(env, row.workspace_id);
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
  report.livekit = await reconcileLiveKit(env);
  report.customer_accounts = await reconcileCustomerAccounts(env);
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

const pick = (row: WiredRow) => ({ id: row.id, workspace_id: row.workspace_id, e164: row.e164 });

type WiredRow = {
  id: string;
  workspace_id: string;
  e164: string;
  source: string;
  trunk_id: string | null;
  agent_name: string | null;
  livekit_inbound_trunk_id: string | null;
  livekit_phone_number_id: string | null;
  livekit_outbound_trunk_id: string | null;
};

/**
 * Compares LiveKit with D1: our inbound trunks and dispatch rules (tagged with a number's id)
 * for numbers no workspace holds, caller ids of a workspace's outbound trunk it does not hold,
 * and held numbers LiveKit would not route as D1 says (no inbound trunk; no rule, or a rule for
 * the wrong agent, for a bound number; a rule for an unbound one; not a caller id of its
 * workspace's trunk). Each is logged at error level; nothing is changed.
 */
async function reconcileLiveKit(env: Env): Promise<LiveKitReport | null> {
  const config = livekitConfig(env);
  if (!config.url || !config.credentials) return null;
  const livekit = LiveKitClient.fromConfig(config, { by: "reconcile" });
  const [inbound, outbound, rules, numbers, { results: rows }, { results: claims }] =
    await Promise.all([
      livekit.listInboundTrunks(),
      livekit.listOutboundTrunks(),
      livekit.listDispatchRules(),
      livekit.listPhoneNumbers(),
      // Purchased numbers (wired once active) and every imported number: twilio and byoc
      // (their own inbound trunk, their trunk's caller id), verified caller ids (the caller id
      // only), livekit (the project's number, assigned to its rule).
      env.DB.prepare(
        `SELECT p.id, p.workspace_id, p.e164, p.source, p.trunk_id, p.livekit_inbound_trunk_id,
                p.livekit_phone_number_id, t.livekit_outbound_trunk_id,
                CASE WHEN p.agent_id IS NULL THEN NULL ELSE COALESCE(a.agent_name, a.id) END
                  AS agent_name
           FROM phone_numbers p
           LEFT JOIN agents a ON a.id = p.agent_id
           LEFT JOIN trunks t ON t.id = p.trunk_id
          WHERE p.status = 'active'
            AND (p.livekit_inbound_trunk_id IS NOT NULL OR p.source != 'twilio_purchased')`,
      ).all<WiredRow>(),
      // Imports of LiveKit numbers under way: their number may exist before their record.
      env.DB.prepare(
        "SELECT e164 FROM phone_numbers WHERE status = 'purchasing' AND source = 'livekit'",
      ).all<{ e164: string }>(),
    ]);
  const held = new Map(rows.map((row) => [row.id, row]));
  const report: LiveKitReport = {
    strays: [],
    stray_caller_ids: [],
    unwired: [],
    stray_numbers: [],
  };

  // The project's numbers against the `livekit` records.
  const recordedNumbers = new Set(
    rows.filter((r) => r.source === "livekit").map((r) => r.livekit_phone_number_id),
  );
  const claimed = new Set(claims.map((c) => c.e164));
  for (const number of numbers) {
    if (recordedNumbers.has(number.id) || claimed.has(number.e164)) continue;
    report.stray_numbers.push({ livekit_id: number.id, e164: number.e164 });
  }
  const numberById = new Map(numbers.map((n) => [n.id, n]));

  const trunkOfNumber = new Map<string, string>();
  for (const trunk of inbound) {
    const numberId = metadataOf(trunk.metadata).number_id;
    if (typeof numberId !== "string") continue;
    if (held.has(numberId)) trunkOfNumber.set(numberId, trunk.id);
    else report.strays.push({ kind: "inbound_trunk", livekit_id: trunk.id, number_id: numberId });
  }
  const rulesOfTrunk = new Map<string, string[][]>();
  const agentsOfRule = new Map(rules.map((rule) => [rule.id, rule.agentNames]));
  for (const rule of rules) {
    const numberId = metadataOf(rule.metadata).number_id;
    if (typeof numberId !== "string") continue;
    if (!held.has(numberId)) {
      report.strays.push({ kind: "dispatch_rule", livekit_id: rule.id, number_id: numberId });
      continue;
    }
    for (const trunkId of rule.trunkIds) {
      rulesOfTrunk.set(trunkId, [...(rulesOfTrunk.get(trunkId) ?? []), rule.agentNames]);
    }
  }
  const callerIds = new Map(outbound.map((trunk) => [trunk.id, new Set(trunk.numbers)]));
  for (const trunk of outbound) {
    const trunkId = metadataOf(trunk.metadata).trunk_id;
    if (typeof trunkId !== "string") continue;
    const holders = new Set(rows.filter((r) => r.trunk_id === trunkId).map((r) => r.e164));
    for (const e164 of trunk.numbers) {
      if (!holders.has(e164)) report.stray_caller_ids.push({ trunk_id: trunkId, e164 });
    }
  }

  for (const row of rows) {
    const problem = (kind: LiveKitReport["unwired"][number]["problem"]) => {
      report.unwired.push({ ...pick(row), problem: kind });
    };
    const routing = (matching: string[][]) => {
      if (row.agent_name === null && matching.length > 0) problem("extra_rule");
      if (row.agent_name !== null && matching.length === 0) problem("no_rule");
      if (row.agent_name !== null && matching.length > 1) problem("extra_rule");
      if (row.agent_name !== null && matching.length === 1 && matching[0]?.[0] !== row.agent_name) {
        problem("wrong_agent");
      }
    };
    if (row.source === "livekit") {
      // No trunk of ours: the project's number, and the rules it is assigned to.
      const number = row.livekit_phone_number_id
        ? numberById.get(row.livekit_phone_number_id)
        : undefined;
      if (!number) problem("livekit_number_gone");
      else routing(number.dispatchRuleIds.map((id) => agentsOfRule.get(id) ?? []));
      continue;
    }
    const onTrunk = row.livekit_outbound_trunk_id
      ? callerIds.get(row.livekit_outbound_trunk_id)?.has(row.e164)
      : false;
    if (row.source === "verified_caller_id") {
      // Outbound only: a caller id of its account trunk's outbound trunk, nothing inbound.
      if (!onTrunk) problem("no_caller_id");
      continue;
    }
    const trunk = trunkOfNumber.get(row.id);
    if (!trunk) {
      problem("no_inbound_trunk");
      continue;
    }
    const matching = rulesOfTrunk.get(trunk) ?? [];
    routing(matching);
    if (!onTrunk) problem("no_caller_id");
  }
  for (const stray of report.strays) log.error("livekit_stray", { ...stray });
  for (const stray of report.stray_caller_ids) log.error("livekit_stray_caller_id", { ...stray });
  for (const stray of report.stray_numbers) log.error("livekit_stray_number", { ...stray });
  for (const unwired of report.unwired) log.error("livekit_unwired", { ...unwired });
  return report;
}

type CustomerTrunkRow = {
  id: string;
  workspace_id: string;
  twilio_account_sid: string;
  sealed_credentials: string | null;
  address: string;
};

type ImportedRow = {
  id: string;
  workspace_id: string;
  e164: string;
  source: "twilio" | "verified_caller_id";
  trunk_id: string | null;
};

/** Our trunks' DomainNames on customer accounts: `trunk-<ULID>[-<generation>].pstn.twilio.com`. */
const OUR_TRUNK_DOMAIN = /^trunk-[0-9a-z]{26}(-\d+)?\.pstn\.twilio\.com$/i;

/**
 * Compares customers' Twilio accounts with D1, reading each with the token stored (sealed) for
 * our trunk there: imported numbers the account no longer has or no longer has on our trunk,
 * verified caller ids it no longer has, and trunks named like ours that no record explains (a
 * trunk record's current DomainName, with numbers held on it). A token that no longer works is
 * reported, not an error. Nothing is changed: the accounts are the customers'.
 */
async function reconcileCustomerAccounts(env: Env): Promise<CustomerAccountsReport> {
  const report: CustomerAccountsReport = { unreadable: [], numbers: [], stray_trunks: [] };
  const [trunksResult, importedResult, claimsResult] = await env.DB.batch([
    env.DB.prepare(
      `SELECT id, workspace_id, twilio_account_sid, sealed_credentials, address FROM trunks
        WHERE kind = 'twilio' AND twilio_account_sid IS NOT NULL`,
    ),
    env.DB.prepare(
      `SELECT id, workspace_id, e164, source, trunk_id FROM phone_numbers
        WHERE status = 'active' AND source IN ('twilio', 'verified_caller_id')`,
    ),
    // Imports under way may have made a trunk their record does not show yet.
    env.DB.prepare(
      "SELECT DISTINCT trunk_id FROM phone_numbers WHERE status = 'purchasing' AND source = 'twilio'",
    ),
  ]);
  const trunkRows = (trunksResult?.results ?? []) as CustomerTrunkRow[];
  if (trunkRows.length === 0) return report;
  const imported = (importedResult?.results ?? []) as ImportedRow[];
  const keyring = keyringFromEnv(env as unknown as Record<string, unknown>);

  // One working reader per account: the first of its trunk records' tokens that opens it.
  const readers = new Map<string, TwilioCustomerAccount>();
  for (const trunk of trunkRows) {
    const unreadable = (problem: CustomerAccountsReport["unreadable"][number]["problem"]) =>
      report.unreadable.push({
        trunk_id: trunk.id,
        workspace_id: trunk.workspace_id,
        account_sid: trunk.twilio_account_sid,
        problem,
      });
    if (!trunk.sealed_credentials || !keyring) {
      // A record never given a token (its import was undone early) reads nothing: unless it
      // still has numbers, there is nothing to report.
      if (imported.some((r) => r.trunk_id === trunk.id)) unreadable("secrets_unreadable");
      continue;
    }
    let authToken: string;
    try {
      authToken = (
        JSON.parse(await openSecret(keyring, trunk.sealed_credentials, trunk.id)) as {
          auth_token: string;
        }
      ).auth_token;
    } catch {
      unreadable("secrets_unreadable");
      continue;
    }
    const account = twilioCustomerAccount(
      env,
      { accountSid: trunk.twilio_account_sid, authToken },
      { by: "reconcile", trunk_id: trunk.id },
    );
    try {
      await account.check();
    } catch (error) {
      const customer = error instanceof UpstreamFailure ? error.details.customer : undefined;
      unreadable(
        customer === "credentials_rejected" || customer === "account_inactive"
          ? customer
          : "unavailable",
      );
      continue;
    }
    if (!readers.has(trunk.twilio_account_sid)) readers.set(trunk.twilio_account_sid, account);
  }

  const inProgress = new Set(
    ((claimsResult?.results ?? []) as { trunk_id: string | null }[]).map((r) => r.trunk_id),
  );
  for (const [accountSid, account] of readers) {
    const records = trunkRows.filter((t) => t.twilio_account_sid === accountSid);
    try {
      const trunks = await account.listTrunks();
      // A trunk record explains the trunk with its current DomainName while it has numbers.
      const explained = new Set(
        records
          .filter((t) => imported.some((r) => r.trunk_id === t.id) || inProgress.has(t.id))
          .map((t) => t.address.toLowerCase()),
      );
      const ourSids = new Map<string, string>();
      for (const trunk of trunks) {
        const domain = trunk.domainName ?? "";
        if (!OUR_TRUNK_DOMAIN.test(domain)) continue;
        if (explained.has(domain.toLowerCase())) {
          ourSids.set(domain.toLowerCase(), trunk.sid);
          continue;
        }
        report.stray_trunks.push({
          account_sid: accountSid,
          trunk_sid: trunk.sid,
          domain_name: domain,
        });
      }
      for (const row of imported) {
        const record = records.find((t) => t.id === row.trunk_id);
        if (!record) continue;
        const problem = (kind: CustomerAccountsReport["numbers"][number]["problem"]) =>
          report.numbers.push({
            id: row.id,
            workspace_id: row.workspace_id,
            e164: row.e164,
            account_sid: accountSid,
            problem: kind,
          });
        if (row.source === "verified_caller_id") {
          if (!(await account.findCallerId(row.e164))) problem("caller_id_gone");
          continue;
        }
        const number = await account.findNumber(row.e164);
        if (!number) problem("not_on_account");
        else if (
          !number.trunkSid ||
          number.trunkSid !== ourSids.get(record.address.toLowerCase())
        ) {
          problem("not_on_our_trunk");
        }
      }
    } catch (error) {
      // The account answered the check but not the reads: reported for each of its records.
      for (const record of records) {
        report.unreadable.push({
          trunk_id: record.id,
          workspace_id: record.workspace_id,
          account_sid: accountSid,
          problem: "unavailable",
        });
      }
      log.warn("customer_account_unreadable", { account_sid: accountSid, error: String(error) });
    }
  }
  for (const entry of report.unreadable) log.error("customer_account_unreadable", { ...entry });
  for (const entry of report.numbers) log.error("customer_number_mismatch", { ...entry });
  for (const entry of report.stray_trunks) log.error("customer_stray_trunk", { ...entry });
  return report;
}
