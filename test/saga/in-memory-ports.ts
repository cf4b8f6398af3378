import type { NewPhoneNumber, PhoneNumberRow } from "../../src/db/phone-numbers";
import {
  type IdempotencyRecord,
  type KeyedOperation,
  type LedgerChanges,
  type LedgerRow,
  type NewLedgerRow,
  type PlatformTrunk,
  RESTING_STATES,
  type StoredAnswer,
} from "../../src/saga/ledger";
import type { NumberSaga } from "../../src/saga/number-saga";
import {
  type ActivationWiring,
  type Carrier,
  type ClaimResult,
  type Ledger,
  type Records,
  type RouteSpec,
  type SagaPorts,
  type Telephony,
  UpstreamFailure,
} from "../../src/saga/ports";

// The saga's ports in memory, for its unit tests: a ledger with the SQLite ledger's
// semantics, D1's records with its caps and uniqueness, a scriptable carrier, a settable clock.

export class MemoryLedger implements Ledger {
  rows = new Map<string, LedgerRow>();
  keys = new Map<string, IdempotencyRecord>();
  searches = new Map<string, number>();

  transaction<T>(work: () => T): T {
    return work();
  }
  holdings(e164: string) {
    const rows = [...this.rows.values()];
    return {
      total: rows.length,
      purchased: rows.filter((r) => r.source === "twilio_purchased").length,
      sameNumber: rows.filter((r) => r.e164 === e164).length,
    };
  }
  insert(row: NewLedgerRow): void {
    if (this.rows.has(row.id)) throw new Error(`ledger row ${row.id} exists`);
    this.rows.set(row.id, {
      ...row,
      attempts: 0,
      settle_at: 0,
      inbound_trunk_id: row.inbound_trunk_id ?? null,
      dispatch_rule_id: row.dispatch_rule_id ?? null,
      outbound_added: row.outbound_added ?? 0,
      wiring_attempts: 0,
      label_dirty: 0,
      route_dirty: 0,
    });
  }
  get(id: string): LedgerRow | null {
    const row = this.rows.get(id);
    return row ? { ...row } : null;
  }
  update(id: string, changes: LedgerChanges): void {
    const row = this.rows.get(id);
    if (row) this.rows.set(id, { ...row, ...changes });
  }
  delete(id: string): void {
    this.rows.delete(id);
  }
  due(now: number): LedgerRow[] {
    return [...this.rows.values()]
      .filter((r) => !RESTING_STATES.includes(r.state) && r.next_attempt_at <= now)
      .sort((a, b) => a.next_attempt_at - b.next_attempt_at);
  }
  nextAttemptAt(): number | null {
    const times = [...this.rows.values()]
      .filter((r) => !RESTING_STATES.includes(r.state))
      .map((r) => r.next_attempt_at);
    return times.length ? Math.min(...times) : null;
  }
  findKey(key: string, notBefore: number): IdempotencyRecord | null {
    const record = this.keys.get(key);
    return record && record.created_at > notBefore ? { ...record } : null;
  }
  bindKey(
    key: string,
    requestHash: string,
    numberId: string,
    operation: KeyedOperation,
    now: number,
  ): void {
    this.keys.set(key, {
      key,
      request_hash: requestHash,
      number_id: numberId,
      operation,
      answer: null,
      body: null,
      created_at: now,
    });
  }
  finishKeys(
    numberId: string,
    operation: KeyedOperation,
    answer: StoredAnswer,
    body: unknown,
  ): void {
    for (const record of this.keys.values()) {
      if (
        record.number_id === numberId &&
        record.operation === operation &&
        record.answer === null
      ) {
        record.answer = answer;
        record.body = body === null ? null : JSON.stringify(body);
      }
    }
  }
  deleteUnfinishedKeys(numberId: string): void {
    for (const [key, record] of this.keys) {
      if (record.number_id === numberId && record.answer === null) this.keys.delete(key);
    }
  }
  deleteKey(key: string): void {
    this.keys.delete(key);
  }
  deleteKeysBefore(time: number): void {
    for (const [key, record] of this.keys) {
      if (record.created_at <= time && record.answer !== null) this.keys.delete(key);
    }
  }
  rememberSearch(e164s: string[], expiresAt: number): void {
    for (const e164 of e164s) this.searches.set(e164, expiresAt);
  }
  wasSearched(e164: string, now: number): boolean {
    return (this.searches.get(e164) ?? 0) > now;
  }
  outboundNumbers(): number {
    return [...this.rows.values()].filter((r) => r.outbound_added === 1).length;
  }
  trunk: PlatformTrunk | null = null;
  platformTrunk(): PlatformTrunk | null {
    return this.trunk ? { ...this.trunk } : null;
  }
  savePlatformTrunk(trunk: PlatformTrunk): void {
    this.trunk = { ...trunk };
  }
}

type StoredRecord = NewPhoneNumber & {
  status: PhoneNumberRow["status"];
  livekit_inbound_trunk_id?: string | null;
};

/** D1's phone_numbers as the saga sees it: caps counted in the claim, one holder per number. */
export class MemoryRecords implements Records {
  rows = new Map<string, StoredRecord>();
  /** The next calls of each method throw this error (one call each). */
  failures: Partial<Record<keyof Records, number>> = {};

  #failIfAsked(method: keyof Records) {
    const remaining = this.failures[method] ?? 0;
    if (remaining > 0) {
      this.failures[method] = remaining - 1;
      throw new Error(`injected D1 failure in ${method}`);
    }
  }
  async claim(
    record: NewPhoneNumber,
    limits: { purchased: number; total: number },
  ): Promise<ClaimResult> {
    this.#failIfAsked("claim");
    if (this.rows.has(record.id)) return "claimed";
    const held = [...this.rows.values()].filter((r) => r.status !== "released");
    if (held.some((r) => r.e164 === record.e164)) return "number_taken";
    const mine = held.filter((r) => r.workspace_id === record.workspace_id);
    if (mine.filter((r) => r.source === record.source).length >= limits.purchased) {
      return { over: "purchased" };
    }
    if (mine.length >= limits.total) return { over: "total" };
    this.rows.set(record.id, { ...record, status: "purchasing" });
    return "claimed";
  }
  async activate(id: string, at: string, wiring: ActivationWiring): Promise<void> {
    this.#failIfAsked("activate");
    const row = this.rows.get(id);
    if (row?.status === "purchasing") {
      this.rows.set(id, {
        ...row,
        status: "active",
        twilio_sid: wiring.carrierSid,
        trunk_id: wiring.trunkId,
        livekit_inbound_trunk_id: wiring.inboundTrunkId,
        updated_at: at,
      });
    }
  }
  /** Platform trunk records, by workspace: [trunk id, LiveKit's id]. */
  trunks = new Map<string, { id: string; livekitId: string | null }>();
  async ensurePlatformTrunk(workspaceId: string, candidateId: string): Promise<string> {
    this.#failIfAsked("ensurePlatformTrunk");
    const existing = this.trunks.get(workspaceId);
    if (existing) return existing.id;
    this.trunks.set(workspaceId, { id: candidateId, livekitId: null });
    return candidateId;
  }
  async setTrunkLiveKitId(trunkId: string, livekitTrunkId: string | null): Promise<void> {
    this.#failIfAsked("setTrunkLiveKitId");
    for (const trunk of this.trunks.values()) {
      if (trunk.id === trunkId) trunk.livekitId = livekitTrunkId;
    }
  }
  async undoClaim(id: string): Promise<void> {
    this.#failIfAsked("undoClaim");
    if (this.rows.get(id)?.status === "purchasing") this.rows.delete(id);
  }
  async markReleased(workspaceId: string, id: string): Promise<void> {
    this.#failIfAsked("markReleased");
    const row = this.rows.get(id);
    if (row && row.workspace_id === workspaceId) this.rows.set(id, { ...row, status: "released" });
  }
  async findActive(workspaceId: string, id: string): Promise<PhoneNumberRow | null> {
    this.#failIfAsked("findActive");
    const row = this.rows.get(id);
    if (!row || row.workspace_id !== workspaceId || row.status !== "active") return null;
    return {
      ...row,
      capabilities: JSON.stringify(row.capabilities),
      livekit_inbound_trunk_id: row.livekit_inbound_trunk_id ?? null,
      released_at: null,
    };
  }
  async update(
    workspaceId: string,
    id: string,
    changes: { label?: string | null; agentId?: string | null },
    at: string,
  ): Promise<PhoneNumberRow | null> {
    this.#failIfAsked("update");
    const row = this.rows.get(id);
    if (!row || row.workspace_id !== workspaceId || row.status !== "active") return null;
    const updated = {
      ...row,
      label: changes.label === undefined ? row.label : changes.label,
      agent_id: changes.agentId === undefined ? row.agent_id : changes.agentId,
      updated_at: at,
    };
    this.rows.set(id, updated);
    return this.findActive(workspaceId, id);
  }
  /** Reasons given to operators, by number id. */
  flags = new Map<string, string | null>();
  async flagForOperator(id: string, reason: string | null): Promise<void> {
    this.#failIfAsked("flagForOperator");
    this.flags.set(id, reason);
  }
  /** Numbers held (claimed or active), by e164. */
  held(): string[] {
    return [...this.rows.values()].filter((r) => r.status !== "released").map((r) => r.e164);
  }
}

/** What the carrier does with the next call of an operation. */
export type CarrierScript =
  | "ok"
  /** Takes effect, but the reply is lost. */
  | "ok_reply_lost"
  | UpstreamFailure;

/** A carrier that holds numbers and plays what each call is scripted to do. */
export class ScriptedCarrier implements Carrier {
  owned = new Map<string, string>();
  calls: { operation: string; e164?: string; sid?: string }[] = [];
  scripts: Record<"buy" | "findOwned" | "release" | "setLabel", CarrierScript[]> = {
    buy: [],
    findOwned: [],
    release: [],
    setLabel: [],
  };
  /** The label the carrier shows for each SID. */
  labels = new Map<string, string | null>();
  #next = 1;

  #play(operation: "buy" | "findOwned" | "release" | "setLabel"): CarrierScript {
    return this.scripts[operation].shift() ?? "ok";
  }
  async buy(order: { e164: string }): Promise<{ sid: string }> {
    this.calls.push({ operation: "buy", e164: order.e164 });
    const script = this.#play("buy");
    if (script instanceof UpstreamFailure) throw script;
    const sid = `PN${String(this.#next++).padStart(32, "0")}`;
    this.owned.set(order.e164, sid);
    if (script === "ok_reply_lost") {
      throw new UpstreamFailure("unknown_outcome", "reply lost", { replied: false });
    }
    return { sid };
  }
  async findOwned(e164: string): Promise<{ sid: string } | null> {
    this.calls.push({ operation: "findOwned", e164 });
    const script = this.#play("findOwned");
    if (script instanceof UpstreamFailure) throw script;
    const sid = this.owned.get(e164);
    return sid ? { sid } : null;
  }
  async setLabel(sid: string, label: string | null): Promise<void> {
    this.calls.push({ operation: "setLabel", sid });
    const script = this.#play("setLabel");
    if (script instanceof UpstreamFailure) throw script;
    this.labels.set(sid, label);
  }
  async release({ sid }: { sid: string; e164: string }): Promise<void> {
    this.calls.push({ operation: "release", sid });
    const script = this.#play("release");
    if (script instanceof UpstreamFailure) throw script;
    for (const [e164, owned] of this.owned) if (owned === sid) this.owned.delete(e164);
    if (script === "ok_reply_lost") {
      throw new UpstreamFailure("unknown_outcome", "reply lost", { replied: false });
    }
  }
}

type TelephonyMethod = keyof Telephony;

/**
 * LiveKit in memory, with LiveKit's semantics the saga relies on: ids per resource, metadata,
 * one inbound trunk per number, rules keyed to trunks; scriptable failures per method, and
 * "lost replies" (the change is made, then an unknown outcome is thrown).
 */
export class MemoryTelephony implements Telephony {
  outbound = new Map<string, { trunkId: string; numbers: Set<string> }>();
  inbound = new Map<string, { numberId: string; e164: string }>();
  rules = new Map<string, { inboundTrunkId: string; agentName: string }>();
  calls: TelephonyMethod[] = [];
  scripts: Partial<Record<TelephonyMethod, CarrierScript[]>> = {};
  #next = 1;

  #play(method: TelephonyMethod): "ok" | "ok_reply_lost" {
    this.calls.push(method);
    const script = this.scripts[method]?.shift() ?? "ok";
    if (script instanceof UpstreamFailure) throw script;
    return script;
  }
  #id(prefix: string) {
    return `${prefix}${String(this.#next++).padStart(6, "0")}`;
  }
  #lost(script: "ok" | "ok_reply_lost") {
    if (script === "ok_reply_lost") {
      throw new UpstreamFailure("unknown_outcome", "reply lost", { replied: false });
    }
  }
  async findOutboundTrunk(trunkId: string) {
    this.#play("findOutboundTrunk");
    return [...this.outbound].find(([, t]) => t.trunkId === trunkId)?.[0] ?? null;
  }
  async createOutboundTrunk(trunk: { trunkId: string; firstNumber: string }) {
    const script = this.#play("createOutboundTrunk");
    const id = this.#id("ST_OUT");
    this.outbound.set(id, { trunkId: trunk.trunkId, numbers: new Set([trunk.firstNumber]) });
    this.#lost(script);
    return id;
  }
  async addOutboundNumber(id: string, e164: string) {
    const script = this.#play("addOutboundNumber");
    this.outbound.get(id)?.numbers.add(e164);
    this.#lost(script);
  }
  async removeOutboundNumber(id: string, e164: string) {
    const script = this.#play("removeOutboundNumber");
    this.outbound.get(id)?.numbers.delete(e164);
    this.#lost(script);
  }
  async deleteOutboundTrunk(id: string) {
    const script = this.#play("deleteOutboundTrunk");
    this.outbound.delete(id);
    this.#lost(script);
  }
  async findInboundTrunk(number: { id: string; e164: string }) {
    this.#play("findInboundTrunk");
    return [...this.inbound].find(([, t]) => t.numberId === number.id)?.[0] ?? null;
  }
  async createInboundTrunk(number: { id: string; e164: string }) {
    const script = this.#play("createInboundTrunk");
    if ([...this.inbound.values()].some((t) => t.e164 === number.e164)) {
      throw new UpstreamFailure("number_refused", "Conflicting inbound SIP Trunks", {
        replied: true,
      });
    }
    const id = this.#id("ST_IN");
    this.inbound.set(id, { numberId: number.id, e164: number.e164 });
    this.#lost(script);
    return id;
  }
  async deleteInboundTrunk(id: string) {
    const script = this.#play("deleteInboundTrunk");
    this.inbound.delete(id);
    this.#lost(script);
  }
  async listRules(inboundTrunkId: string) {
    this.#play("listRules");
    return [...this.rules]
      .filter(([, r]) => r.inboundTrunkId === inboundTrunkId)
      .map(([id, r]) => ({ id, agentName: r.agentName }));
  }
  async createRule(rule: RouteSpec) {
    const script = this.#play("createRule");
    const id = this.#id("SDR_");
    this.rules.set(id, { inboundTrunkId: rule.inboundTrunkId, agentName: rule.agentName });
    this.#lost(script);
    return id;
  }
  async updateRule(ruleId: string, rule: RouteSpec) {
    const script = this.#play("updateRule");
    if (!this.rules.has(ruleId)) {
      throw new UpstreamFailure("not_found", "no such rule", { replied: true });
    }
    this.rules.set(ruleId, { inboundTrunkId: rule.inboundTrunkId, agentName: rule.agentName });
    this.#lost(script);
  }
  async deleteRule(ruleId: string) {
    const script = this.#play("deleteRule");
    this.rules.delete(ruleId);
    this.#lost(script);
  }
  /** The agents a call to the number reaches: one name per matching rule. */
  route(e164: string): { accepted: boolean; agents: string[] } {
    const trunk = [...this.inbound].find(([, t]) => t.e164 === e164)?.[0];
    if (!trunk) return { accepted: false, agents: [] };
    const agents = [...this.rules.values()]
      .filter((r) => r.inboundTrunkId === trunk)
      .map((r) => r.agentName);
    return { accepted: true, agents };
  }
}

export type MemoryWorld = {
  ports: SagaPorts;
  ledger: MemoryLedger;
  records: MemoryRecords;
  carrier: ScriptedCarrier;
  telephony: MemoryTelephony;
  clock: { time: number; now(): number };
  /** The latest time the saga asked to be woken by, or null. */
  alarm: { at: number | null; failNext: boolean; gate: Promise<void> | null };
  logs: { level: string; event: string; fields: Record<string, unknown> }[];
};

export function memoryWorld(): MemoryWorld {
  const ledger = new MemoryLedger();
  const records = new MemoryRecords();
  const carrier = new ScriptedCarrier();
  const telephony = new MemoryTelephony();
  const clock = {
    time: Date.parse("2026-12-01T00:00:00Z"),
    now() {
      return this.time;
    },
  };
  const alarm = {
    at: null as number | null,
    failNext: false,
    /** When set, arming the alarm waits for this (a slow storage write). */
    gate: null as Promise<void> | null,
  };
  const logs: MemoryWorld["logs"] = [];
  const logAt =
    (level: string) =>
    (event: string, fields: Record<string, unknown>): void => {
      logs.push({ level, event, fields });
    };
  return {
    ledger,
    records,
    carrier,
    telephony,
    clock,
    alarm,
    logs,
    ports: {
      carrier: () => carrier,
      telephony: () => telephony,
      records,
      ledger,
      clock,
      scheduler: {
        wakeBy: async (time) => {
          if (alarm.gate) await alarm.gate;
          if (alarm.failNext) {
            alarm.failNext = false;
            throw new Error("the object was reset");
          }
          if (alarm.at === null || alarm.at > time) alarm.at = time;
        },
        cancel: async () => {
          alarm.at = null;
        },
      },
      log: { info: logAt("info"), warn: logAt("warn"), error: logAt("error") },
    },
  };
}

/** Runs the alarm as the runtime would once every waiting time has passed. */
export async function runAlarm(world: MemoryWorld, saga: NumberSaga, advanceMs = 10 * 60_000) {
  world.clock.time += advanceMs;
  world.alarm.at = null;
  await saga.finishDueWork();
}
