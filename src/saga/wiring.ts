import { newId } from "../ids";
import { type LedgerChanges, type LedgerRow, type PlatformTrunk, recordOf } from "./ledger";
import { type RouteSpec, type SagaPorts, type Telephony, UpstreamFailure } from "./ports";

/** What wire() confirmed at LiveKit: the ledger's columns for it, to be written by the caller. */
export type WiringChanges = Pick<
  LedgerChanges,
  "outbound_added" | "record" | "inbound_trunk_id" | "dispatch_rule_id" | "wiring_attempts"
>;

/**
 * A number's place in LiveKit, set up and taken down step by step. The intent is written
 * before the calls (`wiring_attempts`), and what LiveKit confirmed once they are made (or one
 * fails), so a retry starts where the last attempt stopped; a create whose reply may have been
 * lost (any pass after the first) is looked up before it is sent again, since LiveKit has no
 * idempotency key:
 * - outbound: the number is a caller id of its workspace's shared outbound trunk (created, with
 *   its D1 record, the first time the workspace needs it);
 * - inbound: the number has its own inbound trunk, so that LiveKit accepts its calls, and a rule
 *   keyed to that trunk matches this number alone (livekit/agents#5847: rules filtered by number
 *   on a shared trunk have been reported never to match);
 * - route: exactly one dispatch rule on that trunk names the agent when the number is bound,
 *   none when it is not.
 * Failures are UpstreamFailures, for the saga to retry or compensate.
 */
export class NumberWiring {
  /** The platform trunk being set up, shared by the purchases that need it meanwhile. */
  #platformTrunk: Promise<{ trunk: PlatformTrunk; createdWith: string | null }> | null = null;

  constructor(
    private readonly ports: SagaPorts,
    /** Where the workspace's outbound trunk sends calls (the master trunk's termination). */
    private readonly outboundAddress: string,
  ) {}

  /**
   * Sets up everything a held number needs. The intent (`wiring_attempts`) is written before
   * the first call; what LiveKit confirms is not written step by step but returned, for the
   * caller to write once, with the number's activation: every write is a commit that the next
   * upstream call waits for, and a pass that dies in between loses nothing, since the intent
   * makes the next pass look before it creates. A pass that fails writes what it confirmed, so
   * that the next one (or the undoing) starts there.
   */
  async wire(row: LedgerRow, logContext: Record<string, unknown>): Promise<WiringChanges> {
    const { ledger } = this.ports;
    const telephony = this.ports.telephony(logContext);
    const record = recordOf(row);
    const lookFirst = row.wiring_attempts > 0;
    ledger.update(row.id, { wiring_attempts: row.wiring_attempts + 1 });

    const number = { id: row.id, workspaceId: record.workspace_id, e164: row.e164 };
    const confirmed: WiringChanges = {};
    try {
      if (!row.outbound_added) {
        const { trunk, createdWith } = await this.platformTrunk(
          record.workspace_id,
          telephony,
          row.e164,
        );
        if (createdWith !== row.e164) {
          await telephony.addOutboundNumber(trunk.livekit_trunk_id ?? "", row.e164);
        }
        confirmed.outbound_added = 1;
        confirmed.record = JSON.stringify({ ...record, trunk_id: trunk.trunk_id });
      }
      const inboundTrunkId =
        row.inbound_trunk_id ??
        (lookFirst ? await telephony.findInboundTrunk(number) : null) ??
        (await this.#createInboundTrunk(telephony, number));
      confirmed.inbound_trunk_id = inboundTrunkId;
      confirmed.dispatch_rule_id = await this.#ruleFor(
        { ...row, inbound_trunk_id: inboundTrunkId },
        telephony,
        // The intent for its create is the one written above, for the whole pass.
        { lookFirst },
      );
    } catch (error) {
      ledger.update(row.id, confirmed);
      throw error;
    }
    return { ...confirmed, wiring_attempts: 0 };
  }

  /**
   * Makes LiveKit's dispatch rules on the number's inbound trunk say what the ledger says: one
   * rule naming `agent_name`, or none. With `lookFirst` (after an uncertain attempt) it lists
   * the trunk's rules rather than trusting the one it knows, and removes any extra.
   */
  async route(
    row: LedgerRow,
    logContext: Record<string, unknown>,
    options: { lookFirst: boolean },
  ): Promise<void> {
    const { ledger } = this.ports;
    if (row.source === "livekit") return this.#routeLiveKitNumber(row, logContext, options);
    const inboundTrunkId = row.inbound_trunk_id;
    if (!inboundTrunkId) return;
    const ruleId = await this.#ruleFor(
      { ...row, inbound_trunk_id: inboundTrunkId },
      this.ports.telephony(logContext),
      {
        lookFirst: options.lookFirst,
        // The intent first: a lost reply to this create is found by the next pass's listing.
        beforeCreate: () => ledger.update(row.id, { wiring_attempts: row.wiring_attempts + 1 }),
      },
    );
    ledger.update(row.id, { dispatch_rule_id: ruleId });
  }

  /**
   * The rule route() describes, on LiveKit, for a number with an inbound trunk: its id, or null
   * when the number is unbound. Writes nothing but what `beforeCreate` writes, if given.
   */
  async #ruleFor(
    row: LedgerRow & { inbound_trunk_id: string },
    telephony: Telephony,
    options: { lookFirst: boolean; beforeCreate?: () => void },
  ): Promise<string | null> {
    const record = recordOf(row);
    const known = options.lookFirst
      ? (await telephony.listRules(row.inbound_trunk_id)).map((rule) => rule.id)
      : row.dispatch_rule_id
        ? [row.dispatch_rule_id]
        : [];
    const agentName = row.agent_name;
    if (!agentName) {
      for (const ruleId of known) await telephony.deleteRule(ruleId);
      return null;
    }
    const spec: RouteSpec = {
      numberId: row.id,
      workspaceId: record.workspace_id,
      e164: row.e164,
      inboundTrunkId: row.inbound_trunk_id,
      agentName,
    };
    const [keep, ...extra] = known;
    for (const ruleId of extra) await telephony.deleteRule(ruleId);
    if (keep) {
      await telephony.updateRule(keep, spec);
      return keep;
    }
    options.beforeCreate?.();
    return telephony.createRule(spec);
  }

  /**
   * route() for a number LiveKit sold us: it has no inbound trunk of ours; its calls reach the
   * rules the number is assigned to (PhoneNumberService), so the rule names the number and the
   * number is assigned to it. Unbound: its rules are deleted (LiveKit drops the assignment with
   * the rule, and the number goes offline). With `lookFirst` the rules naming our number id are
   * listed rather than the one the ledger knows trusted.
   */
  async #routeLiveKitNumber(
    row: LedgerRow,
    logContext: Record<string, unknown>,
    options: { lookFirst: boolean },
  ): Promise<void> {
    const { ledger } = this.ports;
    const record = recordOf(row);
    const livekitNumberId = record.livekit_phone_number_id;
    const imports = this.ports.imports;
    if (!imports || !livekitNumberId) return;
    const telephony = imports.telephony(logContext);
    let known = row.dispatch_rule_id ? [row.dispatch_rule_id] : [];
    if (options.lookFirst) known = await telephony.findNumberRules(row.id);
    const agentName = row.agent_name;
    if (!agentName) {
      for (const ruleId of known) await telephony.deleteRule(ruleId);
      ledger.update(row.id, { dispatch_rule_id: null });
      return;
    }
    const spec = { numberId: row.id, workspaceId: record.workspace_id, e164: row.e164, agentName };
    const [keep, ...extra] = known;
    let ruleId: string;
    if (keep) {
      await telephony.updateNumberRule(keep, spec);
      ruleId = keep;
    } else {
      // The intent first: a lost reply to this create is found by the next pass's listing.
      ledger.update(row.id, { wiring_attempts: row.wiring_attempts + 1 });
      ruleId = await telephony.createNumberRule(spec);
    }
    ledger.update(row.id, { dispatch_rule_id: ruleId });
    // Assigned before the extras go, so that the number is never left without its agent's rule.
    await telephony.setNumberRule(livekitNumberId, ruleId);
    for (const other of extra) await telephony.deleteRule(other);
  }

  /** Takes down what wire() set up (and anything an uncertain create may have left). */
  async unwire(row: LedgerRow, logContext: Record<string, unknown>): Promise<void> {
    const { ledger } = this.ports;
    const telephony = this.ports.telephony(logContext);
    const uncertain = row.wiring_attempts > 0;
    if (row.source === "livekit" && this.ports.imports) {
      // A LiveKit number learned from D1: its rules go (the number is left, and reconcile
      // reports it as held at LiveKit with no record).
      const numberTelephony = this.ports.imports.telephony(logContext);
      const rules = uncertain
        ? await numberTelephony.findNumberRules(row.id)
        : row.dispatch_rule_id
          ? [row.dispatch_rule_id]
          : [];
      for (const ruleId of rules) await numberTelephony.deleteRule(ruleId);
      ledger.update(row.id, { dispatch_rule_id: null });
    }
    let inboundTrunkId = row.inbound_trunk_id;
    if (!inboundTrunkId && uncertain) {
      inboundTrunkId = await telephony.findInboundTrunk({ id: row.id, e164: row.e164 });
    }
    if (inboundTrunkId) {
      const rules = uncertain
        ? (await telephony.listRules(inboundTrunkId)).map((rule) => rule.id)
        : row.dispatch_rule_id
          ? [row.dispatch_rule_id]
          : [];
      for (const ruleId of rules) await telephony.deleteRule(ruleId);
      ledger.update(row.id, { dispatch_rule_id: null });
      await telephony.deleteInboundTrunk(inboundTrunkId);
      ledger.update(row.id, { inbound_trunk_id: null });
    }
    if (row.outbound_added || uncertain) {
      const trunk = ledger.platformTrunk();
      const others = ledger.outboundNumbers() - (row.outbound_added ? 1 : 0);
      if (trunk?.livekit_trunk_id && others > 0) {
        await telephony.removeOutboundNumber(trunk.livekit_trunk_id, row.e164);
      } else if (trunk?.livekit_trunk_id) {
        // LiveKit refuses an outbound trunk without caller ids: the last number takes the
        // trunk with it, and the next number creates it again (under the same trunk_id).
        await telephony.deleteOutboundTrunk(trunk.livekit_trunk_id);
        await this.ports.records.setTrunkLiveKitId(trunk.trunk_id, null);
        ledger.savePlatformTrunk({ ...trunk, livekit_trunk_id: null, attempts: 0 });
      }
      ledger.update(row.id, { outbound_added: 0 });
    }
    ledger.update(row.id, { wiring_attempts: 0 });
  }

  /**
   * The workspace's shared outbound trunk, created (D1 record first, then LiveKit, with
   * `firstNumber` as its first caller id) when the workspace first needs it; one at a time, so
   * that concurrent purchases share one. `createdWith` names the number it was created with.
   */
  platformTrunk(
    workspaceId: string,
    telephony: Telephony,
    firstNumber: string,
  ): Promise<{ trunk: PlatformTrunk; createdWith: string | null }> {
    const known = this.ports.ledger.platformTrunk();
    if (known?.livekit_trunk_id) return Promise.resolve({ trunk: known, createdWith: null });
    this.#platformTrunk ??= this.#setUpPlatformTrunk(workspaceId, telephony, firstNumber).finally(
      () => {
        this.#platformTrunk = null;
      },
    );
    return this.#platformTrunk;
  }

  async #setUpPlatformTrunk(
    workspaceId: string,
    telephony: Telephony,
    firstNumber: string,
  ): Promise<{ trunk: PlatformTrunk; createdWith: string | null }> {
    const { ledger, records } = this.ports;
    let trunk = ledger.platformTrunk();
    if (!trunk) {
      const trunkId = await records.ensurePlatformTrunk(
        workspaceId,
        newId("trunk"),
        this.outboundAddress,
      );
      trunk = { trunk_id: trunkId, livekit_trunk_id: null, attempts: 0 };
      ledger.savePlatformTrunk(trunk);
    }
    if (trunk.livekit_trunk_id) return { trunk, createdWith: null };
    const lookFirst = trunk.attempts > 0;
    ledger.savePlatformTrunk({ ...trunk, attempts: trunk.attempts + 1 });
    const found = lookFirst ? await telephony.findOutboundTrunk(trunk.trunk_id) : null;
    const livekitTrunkId =
      found ??
      (await telephony.createOutboundTrunk({
        trunkId: trunk.trunk_id,
        workspaceId,
        firstNumber,
      }));
    await records.setTrunkLiveKitId(trunk.trunk_id, livekitTrunkId);
    const ready = { ...trunk, livekit_trunk_id: livekitTrunkId, attempts: trunk.attempts + 1 };
    ledger.savePlatformTrunk(ready);
    // An adopted trunk may lack the number: it is added like any other.
    return { trunk: ready, createdWith: found ? null : firstNumber };
  }

  /**
   * Creates the number's inbound trunk. A refusal may mean a trunk for it exists already (a
   * lost reply, adopted); anything else is for the saga to retry or compensate.
   */
  async #createInboundTrunk(
    telephony: Telephony,
    number: { id: string; workspaceId: string; e164: string },
  ): Promise<string> {
    try {
      return await telephony.createInboundTrunk(number);
    } catch (error) {
      if (!(error instanceof UpstreamFailure) || error.kind === "unknown_outcome") throw error;
      const existing = await telephony.findInboundTrunk(number);
      if (existing) return existing;
      throw error;
    }
  }
}
