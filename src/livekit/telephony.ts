import type { LogFields } from "../log";
import {
  type ImportTelephony,
  type RouteSpec,
  type Telephony,
  UpstreamFailure,
} from "../saga/ports";
import { LiveKitClient } from "./client";
import { livekitConfig, livekitReady, type TwilioTermination } from "./config";
import { LiveKitError } from "./failures";
import { metadataOf } from "./wire";

/** Room names of calls to a number start with this (one room per call). */
const ROOM_PREFIX = "call-";

/**
 * The saga's Telephony port over a LiveKit project: its resources are named and tagged here
 * (metadata names our ids, so that a resource a lost reply created can be found and adopted),
 * and LiveKit's failures are translated into the saga's terms.
 */
export class LiveKitTelephony implements Telephony, ImportTelephony {
  constructor(
    private readonly client: LiveKitClient,
    private readonly termination: TwilioTermination,
  ) {}

  findOutboundTrunk(trunkId: string): Promise<string | null> {
    return translated(async () => {
      const trunks = await this.client.listOutboundTrunks();
      return trunks.find((t) => metadataOf(t.metadata).trunk_id === trunkId)?.id ?? null;
    });
  }

  createOutboundTrunk(trunk: {
    trunkId: string;
    workspaceId: string;
    firstNumber: string;
  }): Promise<string> {
    return translated(async () => {
      const created = await this.client.createOutboundTrunk({
        name: trunk.trunkId,
        address: this.termination.domain,
        numbers: [trunk.firstNumber],
        authUsername: this.termination.username,
        authPassword: this.termination.password,
        metadata: JSON.stringify({ trunk_id: trunk.trunkId, workspace_id: trunk.workspaceId }),
      });
      return created.id;
    });
  }

  addOutboundNumber(livekitTrunkId: string, e164: string): Promise<void> {
    return translated(async () => {
      await this.client.updateOutboundTrunkNumbers(livekitTrunkId, { add: [e164] });
    });
  }

  removeOutboundNumber(livekitTrunkId: string, e164: string): Promise<void> {
    return translated(async () => {
      try {
        await this.client.updateOutboundTrunkNumbers(livekitTrunkId, { remove: [e164] });
      } catch (error) {
        // The trunk itself is gone: so is the number from it.
        if (error instanceof LiveKitError && error.notFound) return;
        throw error;
      }
    });
  }

  deleteOutboundTrunk(livekitTrunkId: string): Promise<void> {
    return translated(async () => {
      await this.client.deleteTrunk(livekitTrunkId);
    });
  }

  findInboundTrunk(number: { id: string; e164: string }): Promise<string | null> {
    return translated(async () => {
      const trunks = await this.client.listInboundTrunks({ numbers: [number.e164] });
      return trunks.find((t) => metadataOf(t.metadata).number_id === number.id)?.id ?? null;
    });
  }

  createInboundTrunk(number: { id: string; workspaceId: string; e164: string }): Promise<string> {
    return translated(async () => {
      const created = await this.client.createInboundTrunk({
        name: number.id,
        numbers: [number.e164],
        metadata: JSON.stringify({ number_id: number.id, workspace_id: number.workspaceId }),
      });
      return created.id;
    });
  }

  deleteInboundTrunk(livekitTrunkId: string): Promise<void> {
    return translated(async () => {
      await this.client.deleteTrunk(livekitTrunkId);
    });
  }

  listRules(inboundTrunkId: string): Promise<{ id: string; agentName: string | null }[]> {
    return translated(async () => {
      const rules = await this.client.listDispatchRules({ trunkIds: [inboundTrunkId] });
      // Only rules keyed to this trunk: a rule for every trunk is not ours to change.
      return rules
        .filter((r) => r.trunkIds.includes(inboundTrunkId))
        .map((r) => ({ id: r.id, agentName: r.agentNames[0] ?? null }));
    });
  }

  createRule(rule: RouteSpec): Promise<string> {
    return translated(async () => (await this.client.createDispatchRule(ruleSpec(rule))).id);
  }

  updateRule(ruleId: string, rule: RouteSpec): Promise<void> {
    return translated(async () => {
      await this.client.updateDispatchRule(ruleId, ruleSpec(rule));
    });
  }

  deleteRule(ruleId: string): Promise<void> {
    return translated(async () => {
      await this.client.deleteDispatchRule(ruleId);
    });
  }

  // ---- Imports ---------------------------------------------------------------------------

  createOutboundTrunkTo(trunk: {
    trunkId: string;
    workspaceId: string;
    firstNumber: string;
    address: string;
    username: string | null;
    password: string | null;
  }): Promise<string> {
    return translated(async () => {
      const created = await this.client.createOutboundTrunk({
        name: trunk.trunkId,
        address: trunk.address,
        numbers: [trunk.firstNumber],
        authUsername: trunk.username ?? "",
        authPassword: trunk.password ?? "",
        metadata: JSON.stringify({ trunk_id: trunk.trunkId, workspace_id: trunk.workspaceId }),
      });
      return created.id;
    });
  }

  purchaseNumber(e164: string, ruleId: string | null): Promise<{ id: string }> {
    return translated(async () => {
      const bought = await this.client.purchasePhoneNumber(e164, ruleId ?? undefined);
      return { id: bought.id };
    });
  }

  findNumber(e164: string): Promise<{ id: string } | null> {
    return translated(async () => {
      const found = await this.client.getPhoneNumber({ phoneNumber: e164 });
      return found && found.status !== "released" ? { id: found.id } : null;
    });
  }

  releaseNumber(id: string): Promise<void> {
    return translated(async () => {
      await this.client.releasePhoneNumbers({ ids: [id] });
    });
  }

  setNumberRule(id: string, ruleId: string | null): Promise<void> {
    return translated(async () => {
      await this.client.setPhoneNumberDispatchRule({ id }, ruleId);
    });
  }

  createNumberRule(rule: Omit<RouteSpec, "inboundTrunkId">): Promise<string> {
    return translated(async () => (await this.client.createDispatchRule(numberRuleSpec(rule))).id);
  }

  updateNumberRule(ruleId: string, rule: Omit<RouteSpec, "inboundTrunkId">): Promise<void> {
    return translated(async () => {
      await this.client.updateDispatchRule(ruleId, numberRuleSpec(rule));
    });
  }

  findNumberRules(numberId: string): Promise<string[]> {
    return translated(async () => {
      const rules = await this.client.listDispatchRules();
      return rules.filter((r) => metadataOf(r.metadata).number_id === numberId).map((r) => r.id);
    });
  }
}

/**
 * The rule of a number LiveKit sold us: the number is assigned to it, so it names no trunk;
 * it lists the number, so that it matches nothing else.
 */
function numberRuleSpec(rule: Omit<RouteSpec, "inboundTrunkId">) {
  return {
    name: rule.numberId,
    trunkIds: [],
    numbers: [rule.e164],
    agentName: rule.agentName,
    roomPrefix: ROOM_PREFIX,
    metadata: JSON.stringify({ number_id: rule.numberId, workspace_id: rule.workspaceId }),
  };
}

/**
 * The rule for one number: keyed to the number's own inbound trunk, with no number filter
 * (livekit/agents#5847), dispatching its agent into a new room per call.
 */
function ruleSpec(rule: RouteSpec) {
  return {
    name: rule.numberId,
    trunkIds: [rule.inboundTrunkId],
    numbers: [],
    agentName: rule.agentName,
    roomPrefix: ROOM_PREFIX,
    metadata: JSON.stringify({ number_id: rule.numberId, workspace_id: rule.workspaceId }),
  };
}

/** LiveKit as the saga's Telephony port, or null when this deployment has no LiveKit. */
export function livekitTelephony(env: Env, logContext: LogFields): LiveKitTelephony | null {
  const config = livekitConfig(env);
  if (!livekitReady(config)) return null;
  return new LiveKitTelephony(LiveKitClient.fromConfig(config, logContext), config.termination);
}

/** LiveKit's failures in the saga's terms (the kinds are LiveKit's one table, failures.ts). */
async function translated<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof LiveKitError)) throw error;
    const details = {
      replied: error.httpStatus !== null,
      retryAfterSeconds: error.retryAfterSeconds,
    };
    switch (error.kind) {
      case "unknown":
        throw new UpstreamFailure("unknown_outcome", error.message, details);
      case "throttled":
        throw new UpstreamFailure("throttled", error.message, details);
      case "refused":
        throw new UpstreamFailure(error.notFound ? "not_found" : "number_refused", error.message, {
          ...details,
        });
      case "rejected_credentials":
      case "not_configured":
        throw new UpstreamFailure("platform_refused", error.message, details);
    }
  }
}
