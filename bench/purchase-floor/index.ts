// The benchmark's purchase I/O floor (`purchase_io_floor`): a bare Worker and Durable Object
// making the I/O a purchase with agent_id makes, in the same order, with none of the API's work
// around it (no Hono, no validation, no saga, no clients' parsing, no log line):
//
// Worker   the key's hash; one D1 round trip (the caller and the agent, the API's statements);
//          one call to the workspace's object; the bookmark's Cache API write (the API's own).
// Object   commit 1: the reservation (a ledger row, the API's ledger) and the wake-up alarm;
//          D1 round trip: the claim (the API's statement);
//          commit 2: buying; Twilio's purchase through the Twilio gate (the API's TwilioGate);
//          commit 3: bought, and the intent for LiveKit;
//          LiveKit: UpdateSIPOutboundTrunk, CreateSIPInboundTrunk, CreateSIPDispatchRule;
//          D1 round trip: the activation (the API's statement);
//          commit 4: active, and the alarm cleared.
// (With `ledger: false` in the order, the object's commits and its alarm are left out.)
//
// The upstream requests are those the benchmark makes to the stand-ins directly (the
// `standin` run), sent here through the stand-ins' service bindings as the API sends its own.
// POST / with `Authorization: Bearer <key>` and a FloorOrder as JSON; 201 when every step
// succeeded, else 502 naming the step.
import { DurableObject } from "cloudflare:workers";
import { hashApiKey } from "../../src/auth/api-keys";
import { twilioGate } from "../../src/config";
import { agentOfKeyStatement } from "../../src/db/agents";
import { findCallerStatement } from "../../src/db/api-keys";
import {
  activatePhoneNumber,
  claimPhoneNumber,
  type NewPhoneNumber,
} from "../../src/db/phone-numbers";
import { cacheBookmark } from "../../src/db/read-your-writes";
import { SqliteLedger } from "../../src/durable-objects/sqlite-ledger";
import { gateFetcher } from "../../src/twilio/gate-fetcher";

export { TwilioGate } from "../../src/twilio/gate";

type FloorEnv = Env & {
  FLOOR_WORKSPACE: DurableObjectNamespace<FloorWorkspace>;
  LIVEKIT_UPSTREAM: Fetcher;
};

/** What the benchmark asks the floor to buy, and the credentials the stand-ins check. */
export type FloorOrder = {
  e164: string;
  numberId: string;
  agentId: string;
  /** The workspace's LiveKit outbound trunk (ST_...), made by the benchmark beforehand. */
  outboundTrunkId: string;
  livekitToken: string;
  twilioAuthorization: string;
  twilioAccountSid: string;
  twilioTrunkSid: string;
  /**
   * The object's ledger writes (four commits) and its alarm, as the purchase makes them; false
   * leaves them out, so that the benchmark can tell what they cost.
   */
  ledger: boolean;
};

class StepFailed extends Error {}

export class FloorWorkspace extends DurableObject<FloorEnv> {
  readonly #ledger: SqliteLedger;
  readonly #d1: D1DatabaseSession;

  constructor(ctx: DurableObjectState, env: FloorEnv) {
    super(ctx, env);
    this.#ledger = new SqliteLedger(ctx.storage);
    this.#ledger.migrate();
    this.#d1 = env.DB.withSession("first-primary");
  }

  async purchase(order: FloorOrder & { workspaceId: string; agentName: string }) {
    const ledger = order.ledger ? this.#ledger : null;
    const now = Date.now();
    const at = new Date(now).toISOString();
    const record: NewPhoneNumber = {
      id: order.numberId,
      workspace_id: order.workspaceId,
      e164: order.e164,
      source: "twilio_purchased",
      capabilities: ["inbound", "outbound"],
      label: null,
      trunk_id: null,
      agent_id: order.agentId,
      livekit_phone_number_id: null,
      twilio_sid: null,
      created_at: at,
      updated_at: at,
    };
    ledger?.insert({
      id: record.id,
      e164: record.e164,
      source: record.source,
      state: "reserved",
      twilio_sid: null,
      record: JSON.stringify(record),
      purchased_limit: 1000,
      total_limit: 1000,
      agent_name: order.agentName,
      started_at: now,
      next_attempt_at: now + 60_000,
    });
    if (ledger) await this.ctx.storage.setAlarm(now + 60_000);

    const claim = await claimPhoneNumber(this.#d1, record, { purchased: 1000, total: 1000 });
    if (claim !== "claimed") throw new StepFailed(`claim: ${JSON.stringify(claim)}`);

    ledger?.update(record.id, { state: "buying", settle_at: now + 16_000 });
    const twilio = await gateFetcher(twilioGate(this.env)).fetch(
      `https://api.twilio.com/2010-04-01/Accounts/${order.twilioAccountSid}/IncomingPhoneNumbers.json`,
      {
        method: "POST",
        headers: {
          Authorization: order.twilioAuthorization,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({
          PhoneNumber: order.e164,
          TrunkSid: order.twilioTrunkSid,
        }).toString(),
      },
    );
    const bought = await this.#reply<{ sid: string }>("twilio purchase", twilio, 201);

    ledger?.update(record.id, { state: "bought", twilio_sid: bought.sid, wiring_attempts: 1 });
    const metadata = JSON.stringify({ number_id: record.id, workspace_id: order.workspaceId });
    await this.#twirp(order, "UpdateSIPOutboundTrunk", {
      sip_trunk_id: order.outboundTrunkId,
      update: { numbers: { add: [order.e164] } },
    });
    const inbound = await this.#twirp<{ sip_trunk_id: string }>(order, "CreateSIPInboundTrunk", {
      trunk: { name: record.id, numbers: [order.e164], metadata },
    });
    const rule = await this.#twirp<{ sip_dispatch_rule_id: string }>(
      order,
      "CreateSIPDispatchRule",
      {
        dispatch_rule: {
          name: record.id,
          trunk_ids: [inbound.sip_trunk_id],
          numbers: [],
          rule: { dispatch_rule_individual: { room_prefix: "call-" } },
          room_config: { agents: [{ agent_name: order.agentName }] },
          metadata,
        },
      },
    );

    await activatePhoneNumber(this.#d1, record.id, at, {
      carrierSid: bought.sid,
      trunkId: null,
      inboundTrunkId: inbound.sip_trunk_id,
    });
    ledger?.update(record.id, {
      state: "active",
      inbound_trunk_id: inbound.sip_trunk_id,
      dispatch_rule_id: rule.sip_dispatch_rule_id,
      outbound_added: 1,
      wiring_attempts: 0,
    });
    if (ledger) await this.ctx.storage.deleteAlarm();
    return { bookmark: this.#d1.getBookmark() };
  }

  override async alarm(): Promise<void> {
    // Nothing is left for it: every purchase finishes in its request.
  }

  async #twirp<T>(order: FloorOrder, method: string, body: unknown): Promise<T> {
    const response = await this.env.LIVEKIT_UPSTREAM.fetch(
      `https://livekit.internal/twirp/livekit.SIP/${method}`,
      {
        method: "POST",
        headers: {
          Authorization: `Bearer ${order.livekitToken}`,
          "Content-Type": "application/json",
        },
        body: JSON.stringify(body),
      },
    );
    return this.#reply<T>(method, response, 200);
  }

  async #reply<T>(step: string, response: Response, status: number): Promise<T> {
    const text = await response.text();
    if (response.status !== status) throw new StepFailed(`${step}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }
}

export default {
  async fetch(request, env) {
    const key = request.headers.get("Authorization")?.replace(/^Bearer /, "") ?? "";
    const keyHash = await hashApiKey(key);
    const order = await request.json<FloorOrder>();
    const db = env.DB.withSession("first-unconstrained");
    const [caller, agent] = await db.batch<{ workspace_id: string; agent_name: string }>([
      findCallerStatement(db, keyHash),
      agentOfKeyStatement(db, keyHash, order.agentId),
    ]);
    const workspaceId = caller?.results[0]?.workspace_id;
    const agentName = agent?.results[0]?.agent_name;
    if (!workspaceId || !agentName) return new Response("unknown key or agent", { status: 401 });
    try {
      const { bookmark } = await env.FLOOR_WORKSPACE.getByName(workspaceId).purchase({
        ...order,
        workspaceId,
        agentName,
      });
      if (bookmark) await cacheBookmark(keyHash, bookmark);
      return Response.json({ id: order.numberId }, { status: 201 });
    } catch (error) {
      return new Response(String(error), { status: 502 });
    }
  },
} satisfies ExportedHandler<FloorEnv>;
