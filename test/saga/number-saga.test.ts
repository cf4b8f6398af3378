import { beforeEach, describe, expect, it } from "vitest";
import { NumberSaga, type PurchaseRequest, type SagaSettings } from "../../src/saga/number-saga";
import type { PurchaseOutcome } from "../../src/saga/outcomes";
import { UpstreamFailure } from "../../src/saga/ports";
import { type MemoryWorld, memoryWorld, runAlarm } from "./in-memory-ports";

// The saga alone, over in-memory ports: every state transition and every compensation, with
// the invariant "numbers the carrier holds == numbers D1 shows active, nothing half-done".

const SETTINGS: SagaSettings = {
  totalNumberLimit: 100,
  settleMs: 16_000,
  graceMs: 29_000,
  deadlineMs: 60 * 60_000,
  idempotencyTtlMs: 24 * 60 * 60_000,
  outboundAddress: "platform.pstn.twilio.com",
};

const WS = "ws_01JD0000000000000000000000";
const E164 = "+14155550101";

let world: MemoryWorld;
let saga: NumberSaga;

beforeEach(() => {
  world = memoryWorld();
  saga = new NumberSaga(world.ports, SETTINGS);
  saga.rememberSearch([E164, "+14155550102", "+14155550103"], 15 * 60_000);
});

function request(overrides: Partial<PurchaseRequest> = {}): PurchaseRequest {
  return {
    workspaceId: WS,
    e164: E164,
    label: "Support",
    agentId: null,
    agentName: null,
    purchasedNumberLimit: 3,
    idempotency: null,
    requestId: "req-1",
    ...overrides,
  };
}

const key = (k: string, hash = "hash-1") => ({ key: k, requestHash: hash });
const lostReply = () => new UpstreamFailure("unknown_outcome", "timeout", { replied: false });

function activeInD1(): string[] {
  return [...world.records.rows.values()]
    .filter((r) => r.status === "active")
    .map((r) => r.e164)
    .sort();
}

/** Carrier holdings == active D1 rows, no claim or ledger row left unfinished. */
function expectSettled() {
  expect([...world.carrier.owned.keys()].sort()).toEqual(activeInD1());
  expect([...world.records.rows.values()].filter((r) => r.status === "purchasing")).toEqual([]);
  expect([...world.ledger.rows.values()].filter((r) => r.state !== "active")).toEqual([]);
}

function expectPurchased(outcome: PurchaseOutcome) {
  expect(outcome).toMatchObject({ ok: true, kind: "purchased" });
  if (!outcome.ok || outcome.kind !== "purchased") throw new Error("not purchased");
  return outcome.number;
}

describe("purchase: refusals before any step", () => {
  it("refuses a number no recent search returned", async () => {
    expect(await saga.purchase(request({ e164: "+14155550199" }))).toEqual({
      ok: false,
      kind: "not_searched",
    });
    expect(world.ledger.rows.size).toBe(0);
  });

  it("refuses once a search has expired", async () => {
    world.clock.time += 16 * 60_000;
    expect((await saga.purchase(request())).kind).toBe("not_searched");
  });

  it("refuses an agent that is not the workspace's", async () => {
    const outcome = await saga.purchase(request({ agentId: "agent_x", agentName: null }));
    expect(outcome).toEqual({ ok: false, kind: "agent_unknown" });
  });

  it("refuses a number the workspace holds or is buying", async () => {
    expectPurchased(await saga.purchase(request()));
    expect((await saga.purchase(request())).kind).toBe("already_held");
  });

  it("counts purchases in flight against the purchased-number limit", async () => {
    world.carrier.scripts.buy.push(lostReply());
    world.carrier.scripts.findOwned.push(lostReply());
    const first = await saga.purchase(request({ purchasedNumberLimit: 1 }));
    expect(first.kind).toBe("purchase_unconfirmed");
    const second = await saga.purchase(request({ e164: "+14155550102", purchasedNumberLimit: 1 }));
    expect(second).toEqual({ ok: false, kind: "cap_reached", cap: "purchased", limit: 1 });
  });

  it("refuses past the limit of numbers of every source", async () => {
    saga = new NumberSaga(world.ports, { ...SETTINGS, totalNumberLimit: 1 });
    expectPurchased(await saga.purchase(request()));
    const outcome = await saga.purchase(request({ e164: "+14155550102" }));
    expect(outcome).toEqual({ ok: false, kind: "cap_reached", cap: "total", limit: 1 });
  });
});

describe("purchase: steps", () => {
  it("reserved -> buying -> bought -> active: claims, buys once, activates", async () => {
    const number = expectPurchased(await saga.purchase(request({ idempotency: key("k1") })));
    expect(number).toMatchObject({ e164: E164, source: "twilio_purchased", label: "Support" });
    expect(world.carrier.calls.filter((c) => c.operation === "buy")).toHaveLength(1);
    expect(world.ledger.get(number.id)?.state).toBe("active");
    expect(world.ledger.keys.get("k1")?.answer).toBe("purchased");
    expectSettled();
  });

  it("wakes the alarm before the carrier is asked", async () => {
    world.carrier.scripts.buy.push(lostReply());
    world.carrier.scripts.findOwned.push(lostReply());
    await saga.purchase(request());
    expect(world.alarm.at).not.toBeNull();
  });

  it("a finished purchase leaves no wake-up armed: nothing is left for the alarm", async () => {
    expectPurchased(await saga.purchase(request()));
    expect(world.alarm.at).toBeNull();
  });

  it("a finished purchase keeps the wake-up another unfinished purchase needs", async () => {
    world.carrier.scripts.buy.push(lostReply());
    world.carrier.scripts.findOwned.push(lostReply());
    await saga.purchase(request());
    const [pending] = [...world.ledger.rows.values()];
    expect(pending?.state).toBe("buying");
    expectPurchased(await saga.purchase(request({ e164: "+14155550102" })));
    expect(world.alarm.at).not.toBeNull();
    expect(world.alarm.at).toBeLessThanOrEqual(pending?.next_attempt_at ?? 0);
  });

  it("a D1 claim that fails: nothing bought, slot and key freed", async () => {
    world.records.failures.claim = 1;
    const outcome = await saga.purchase(request({ idempotency: key("k1") }));
    expect(outcome).toEqual({ ok: false, kind: "nothing_bought", reason: "records_unavailable" });
    expect(world.carrier.calls).toEqual([]);
    expect(world.ledger.rows.size).toBe(0);
    expect(world.ledger.keys.size).toBe(0);
  });

  it("a number another workspace holds: refused by the claim, compensated", async () => {
    world.records.rows.set("phone_other", {
      ...otherWorkspaceNumber(),
      status: "active",
    });
    const outcome = await saga.purchase(request());
    expect(outcome.kind).toBe("number_taken");
    expect(world.ledger.rows.size).toBe(0);
    expect(world.carrier.calls).toEqual([]);
  });

  it("D1 counts numbers the ledger never saw: refused with the row's own limit", async () => {
    world.records.rows.set("phone_seeded", {
      ...otherWorkspaceNumber(),
      workspace_id: WS,
      e164: "+14155550150",
      status: "active",
    });
    const outcome = await saga.purchase(request({ purchasedNumberLimit: 1 }));
    expect(outcome).toEqual({ ok: false, kind: "cap_reached", cap: "purchased", limit: 1 });
    expect(world.ledger.rows.size).toBe(0);
  });

  it("the carrier refuses the number: nothing bought, the claim undone", async () => {
    world.carrier.scripts.buy.push(
      new UpstreamFailure("number_refused", "21422", { replied: true }),
    );
    expect((await saga.purchase(request())).kind).toBe("number_unavailable");
    expect(world.records.rows.size).toBe(0);
    expectSettled();
  });

  it("the carrier refuses the platform: nothing bought, logged at error for an operator", async () => {
    world.carrier.scripts.buy.push(
      new UpstreamFailure("platform_refused", "21631", { replied: true, code: 21631 }),
    );
    expect(await saga.purchase(request())).toEqual({ ok: false, kind: "purchasing_unavailable" });
    expect(world.logs.find((l) => l.event === "carrier_refused_platform")).toMatchObject({
      level: "error",
      fields: { carrier_code: 21631 },
    });
    expectSettled();
  });

  it("the carrier is throttling: nothing bought, its Retry-After kept", async () => {
    world.carrier.scripts.buy.push(
      new UpstreamFailure("throttled", "429", { replied: true, retryAfterSeconds: 7 }),
    );
    expect(await saga.purchase(request())).toEqual({
      ok: false,
      kind: "nothing_bought",
      reason: "carrier_unavailable",
      retryAfterSeconds: 7,
    });
    expectSettled();
  });

  it("a lost reply after the purchase took effect: settled by a lookup at once", async () => {
    world.carrier.scripts.buy.push("ok_reply_lost");
    expectPurchased(await saga.purchase(request()));
    expect(world.logs.some((l) => l.fields.settled_by === "lookup")).toBe(true);
    expectSettled();
  });

  it("no reply and not found yet: held until the settle time, then undone by the alarm", async () => {
    world.carrier.scripts.buy.push(lostReply());
    const outcome = await saga.purchase(request());
    expect(outcome.kind).toBe("purchase_unconfirmed");
    const [row] = world.ledger.rows.values();
    expect(row?.state).toBe("buying");
    // Looked up again before the settle time, never after it.
    expect(row?.next_attempt_at).toBeLessThanOrEqual(row?.settle_at ?? 0);
    expect(world.records.rows.get(row?.id ?? "")?.status).toBe("purchasing");
    await runAlarm(world, saga);
    expect(world.ledger.rows.size).toBe(0);
    expect(world.logs.some((l) => l.event === "purchase_not_made")).toBe(true);
    expectSettled();
  });

  it("no reply, and the carrier completes later: the alarm's lookup activates it", async () => {
    world.carrier.scripts.buy.push(lostReply());
    const outcome = await saga.purchase(request());
    expect(outcome.kind).toBe("purchase_unconfirmed");
    world.carrier.owned.set(E164, "PN_LATE");
    await runAlarm(world, saga);
    expect(activeInD1()).toEqual([E164]);
    expectSettled();
  });

  it("a lookup that fails: unconfirmed, retried by the alarm with backoff", async () => {
    world.carrier.scripts.buy.push("ok_reply_lost");
    world.carrier.scripts.findOwned.push(lostReply());
    const before = world.clock.now();
    expect((await saga.purchase(request())).kind).toBe("purchase_unconfirmed");
    const [row] = world.ledger.rows.values();
    expect(row?.attempts).toBe(1);
    expect(row?.next_attempt_at).toBeGreaterThan(before);
    await runAlarm(world, saga);
    expectSettled();
    expect(activeInD1()).toEqual([E164]);
  });

  it("an activation that fails: bought but not recorded; the retry with its key finishes", async () => {
    world.records.failures.activate = 1;
    const first = await saga.purchase(request({ idempotency: key("k1") }));
    expect(first.kind).toBe("bought_not_recorded");
    expect(world.ledger.keys.get("k1")?.answer).toBeNull();
    const retried = expectPurchased(await saga.purchase(request({ idempotency: key("k1") })));
    expect(retried.e164).toBe(E164);
    expect(world.carrier.calls.filter((c) => c.operation === "buy")).toHaveLength(1);
    expectSettled();
  });

  it("an activation that fails: the alarm finishes it", async () => {
    world.records.failures.activate = 1;
    await saga.purchase(request());
    await runAlarm(world, saga);
    expect(activeInD1()).toEqual([E164]);
    expectSettled();
  });

  it("past the deadline: released at the carrier, the claim undone, an error logged", async () => {
    world.records.failures.activate = 1;
    await saga.purchase(request());
    world.records.failures.activate = 100;
    await runAlarm(world, saga, SETTINGS.deadlineMs + 1);
    expect(world.carrier.owned.size).toBe(0);
    expect(world.records.rows.size).toBe(0);
    expect(world.ledger.rows.size).toBe(0);
    expect(world.logs.find((l) => l.event === "purchase_given_up")?.level).toBe("error");
  });

  it("a compensation whose claim cannot be undone: back to reserved, undone by the alarm", async () => {
    world.carrier.scripts.buy.push(
      new UpstreamFailure("number_refused", "21422", { replied: true }),
    );
    world.records.failures.undoClaim = 1;
    expect((await saga.purchase(request())).kind).toBe("number_unavailable");
    expect([...world.ledger.rows.values()].map((r) => r.state)).toEqual(["reserved"]);
    await runAlarm(world, saga);
    expect(world.logs.some((l) => l.event === "purchase_abandoned")).toBe(true);
    expect(world.records.rows.size).toBe(0);
    expectSettled();
  });
});

/**
 * From now on, the ledger's writes and the calls that leave the object, in order; the returned
 * function reads them so far. The writes made between two calls are one entry (the columns they
 * set): the object's storage commits them together, and the next call waits for that commit.
 */
function traceCommitsAndCalls(world: MemoryWorld): () => string[] {
  const trace: string[] = [];
  let pending = new Set<string>();
  const flush = () => {
    if (pending.size > 0) trace.push(`write ${[...pending].sort().join(",")}`);
    pending = new Set();
  };
  const { ledger, records } = world;
  const insert = ledger.insert.bind(ledger);
  ledger.insert = (row) => {
    pending.add("(new row)");
    insert(row);
  };
  const update = ledger.update.bind(ledger);
  ledger.update = (id, changes) => {
    for (const column of Object.keys(changes)) pending.add(column);
    update(id, changes);
  };
  const finishKeys = ledger.finishKeys.bind(ledger);
  ledger.finishKeys = (...args) => {
    pending.add("(key answered)");
    finishKeys(...args);
  };
  const call = (name: string) => {
    flush();
    trace.push(name);
  };
  const { claim, activate } = records;
  records.claim = (...args) => {
    call("d1 claim");
    return claim.apply(records, args);
  };
  records.activate = (...args) => {
    call("d1 activate");
    return activate.apply(records, args);
  };
  for (const calls of [world.carrier.calls, world.telephony.calls]) {
    const push = calls.push.bind(calls);
    calls.push = (...items: never[]) => {
      for (const item of items as unknown[]) {
        call(
          typeof item === "string"
            ? `livekit ${item}`
            : `carrier ${(item as { operation: string }).operation}`,
        );
      }
      return push(...items);
    };
  }
  return () => {
    flush();
    return [...trace];
  };
}

describe("purchase: what is written when", () => {
  it("the intent before each call that may change an upstream; what LiveKit confirms, once, with the activation", async () => {
    const bound = { agentId: "agent_1", agentName: "reception" };
    // The first number creates the workspace's outbound trunk; the second is the usual case.
    expectPurchased(await saga.purchase(request(bound)));
    const trace = traceCommitsAndCalls(world);
    expectPurchased(await saga.purchase(request({ ...bound, e164: "+14155550102" })));
    expect(trace()).toEqual([
      "write (new row)",
      "d1 claim",
      "write next_attempt_at,settle_at,state",
      "carrier buy",
      "write state,twilio_sid,wiring_attempts",
      "livekit addOutboundNumber",
      "livekit createInboundTrunk",
      "livekit createRule",
      "d1 activate",
      "write (key answered),dispatch_rule_id,inbound_trunk_id,outbound_added,record,state,wiring_attempts",
    ]);
    expectSettled();
    expect(world.telephony.route("+14155550102")).toEqual({
      accepted: true,
      agents: ["reception"],
    });
  });

  it("a LiveKit call that fails: what LiveKit confirmed before it is written, and the retry starts there", async () => {
    const bound = { agentId: "agent_1", agentName: "reception" };
    expectPurchased(await saga.purchase(request(bound)));
    world.telephony.scripts.createRule = [
      new UpstreamFailure("unknown_outcome", "503 from LiveKit", { replied: true }),
    ];
    const outcome = await saga.purchase(request({ ...bound, e164: "+14155550102" }));
    expect(outcome).toMatchObject({ ok: false });
    const [row] = [...world.ledger.rows.values()].filter((r) => r.e164 === "+14155550102");
    expect(row).toMatchObject({ state: "bought", outbound_added: 1, dispatch_rule_id: null });
    expect(row?.inbound_trunk_id).toMatch(/^ST_IN/);
    expect(row?.wiring_attempts).toBeGreaterThan(0);
    world.telephony.calls.length = 0;
    await runAlarm(world, saga, 60_000);
    // Not added or created again: looked up (the trunk's rules), then the rule created once.
    expect(world.telephony.calls).toEqual(["listRules", "createRule"]);
    expectSettled();
    expect(world.telephony.route("+14155550102")).toEqual({
      accepted: true,
      agents: ["reception"],
    });
  });
});

describe("purchase: resumed by a retry with the same Idempotency-Key", () => {
  it("the request died between reservation and claim: the retry finishes it, once", async () => {
    world.alarm.failNext = true;
    await expect(saga.purchase(request({ idempotency: key("k1") }))).rejects.toThrow();
    expect([...world.ledger.rows.values()].map((r) => r.state)).toEqual(["reserved"]);
    expect(world.carrier.calls).toEqual([]);

    const number = expectPurchased(await saga.purchase(request({ idempotency: key("k1") })));
    expect(number.e164).toBe(E164);
    expect(world.carrier.calls.filter((c) => c.operation === "buy")).toHaveLength(1);
    expectSettled();
  });

  it("the caps are enforced on that path, with the limit the row was reserved under", async () => {
    world.alarm.failNext = true;
    await expect(
      saga.purchase(request({ idempotency: key("k1"), purchasedNumberLimit: 1 })),
    ).rejects.toThrow();
    // Meanwhile another path gave the workspace a purchased number D1 knows of.
    world.records.rows.set("phone_seeded", {
      ...otherWorkspaceNumber(),
      workspace_id: WS,
      e164: "+14155550150",
      status: "active",
    });
    const retried = await saga.purchase(
      request({ idempotency: key("k1"), purchasedNumberLimit: 1 }),
    );
    expect(retried).toEqual({ ok: false, kind: "cap_reached", cap: "purchased", limit: 1 });
    expect(world.carrier.calls).toEqual([]);
    expect(world.ledger.rows.size).toBe(0);
    expect(world.ledger.keys.size).toBe(0);
  });

  it("the alarm abandons such a reservation if no retry comes", async () => {
    world.alarm.failNext = true;
    await expect(saga.purchase(request({ idempotency: key("k1") }))).rejects.toThrow();
    await runAlarm(world, saga);
    expect(world.ledger.rows.size).toBe(0);
    expect(world.ledger.keys.size).toBe(0);
    expect(world.carrier.calls).toEqual([]);
  });
});

describe("idempotency", () => {
  it("a retry arriving while the first request arms its alarm waits; the number is bought once", async () => {
    let open = () => {};
    world.alarm.gate = new Promise((resolve) => {
      open = resolve;
    });
    const first = saga.purchase(request({ idempotency: key("k1") }));
    // Let the first request reserve and start arming the alarm, then retry with its key.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const retry = await saga.purchase(request({ idempotency: key("k1") }));
    expect(retry).toEqual({ ok: false, kind: "key_in_progress" });
    world.alarm.gate = null;
    open();
    expectPurchased(await first);
    expect(world.carrier.calls.filter((c) => c.operation === "buy")).toHaveLength(1);
    expectSettled();
  });

  it("replays the stored answer", async () => {
    const first = expectPurchased(await saga.purchase(request({ idempotency: key("k1") })));
    const again = await saga.purchase(request({ idempotency: key("k1") }));
    expect(again).toEqual({ ok: true, kind: "purchased", number: first, replayed: true });
  });

  it("refuses a key reused for another request", async () => {
    await saga.purchase(request({ idempotency: key("k1") }));
    const other = await saga.purchase(request({ idempotency: key("k1", "hash-2") }));
    expect(other.kind).toBe("key_reused");
  });

  it("a keyless release does not overwrite the purchase's stored answer", async () => {
    const number = expectPurchased(await saga.purchase(request({ idempotency: key("k1") })));
    expect(
      await saga.release({ workspaceId: WS, id: number.id, idempotency: null, requestId: "r" }),
    ).toMatchObject({ ok: true, kind: "released" });
    const replay = await saga.purchase(request({ idempotency: key("k1") }));
    expect(replay).toEqual({ ok: true, kind: "purchased", number, replayed: true });
  });

  it("a release key whose release another request finished replays 204", async () => {
    const number = expectPurchased(await saga.purchase(request()));
    world.carrier.scripts.release.push(
      new UpstreamFailure("unknown_outcome", "500", { replied: true }),
    );
    const first = await saga.release({
      workspaceId: WS,
      id: number.id,
      idempotency: key("k2", "release"),
      requestId: "r1",
    });
    expect(first.kind).toBe("release_pending");
    await saga.release({ workspaceId: WS, id: number.id, idempotency: null, requestId: "r2" });
    const replay = await saga.release({
      workspaceId: WS,
      id: number.id,
      idempotency: key("k2", "release"),
      requestId: "r3",
    });
    expect(replay).toEqual({ ok: true, kind: "released", replayed: true });
  });
});

describe("release", () => {
  it("active -> releasing -> gone: released at the carrier, then in D1", async () => {
    const number = expectPurchased(await saga.purchase(request()));
    const outcome = await saga.release({
      workspaceId: WS,
      id: number.id,
      idempotency: key("k9", "release"),
      requestId: "r",
    });
    expect(outcome).toEqual({ ok: true, kind: "released", replayed: false });
    expect(world.carrier.owned.size).toBe(0);
    expect(world.records.rows.get(number.id)?.status).toBe("released");
    expect(world.ledger.rows.size).toBe(0);
    expect(world.ledger.keys.get("k9")?.answer).toBe("released");
  });

  it("refuses a number the workspace does not hold", async () => {
    const outcome = await saga.release({
      workspaceId: WS,
      id: "phone_unknown",
      idempotency: null,
      requestId: "r",
    });
    expect(outcome).toEqual({ ok: false, kind: "not_found" });
  });

  it("the carrier fails the release: still held; the alarm finishes it", async () => {
    const number = expectPurchased(await saga.purchase(request()));
    world.carrier.scripts.release.push(
      new UpstreamFailure("unknown_outcome", "503", { replied: true }),
    );
    const outcome = await saga.release({
      workspaceId: WS,
      id: number.id,
      idempotency: null,
      requestId: "r",
    });
    expect(outcome.kind).toBe("release_pending");
    expect(world.ledger.get(number.id)?.state).toBe("releasing");
    expect(world.records.rows.get(number.id)?.status).toBe("active");
    await runAlarm(world, saga);
    expect(world.records.rows.get(number.id)?.status).toBe("released");
    expect(world.carrier.owned.size).toBe(0);
  });

  it("released at the carrier, D1 fails: the alarm records the release", async () => {
    const number = expectPurchased(await saga.purchase(request()));
    world.records.failures.markReleased = 1;
    const outcome = await saga.release({
      workspaceId: WS,
      id: number.id,
      idempotency: null,
      requestId: "r",
    });
    expect(outcome.kind).toBe("released_not_recorded");
    await runAlarm(world, saga);
    expect(world.records.rows.get(number.id)?.status).toBe("released");
    expect(world.ledger.rows.size).toBe(0);
  });

  it("learns a number the ledger never saw from D1", async () => {
    world.records.rows.set("phone_seeded", {
      ...otherWorkspaceNumber(),
      id: "phone_seeded",
      workspace_id: WS,
      e164: "+14155550150",
      twilio_sid: "PN_SEEDED",
      status: "active",
    });
    world.carrier.owned.set("+14155550150", "PN_SEEDED");
    const outcome = await saga.release({
      workspaceId: WS,
      id: "phone_seeded",
      idempotency: null,
      requestId: "r",
    });
    expect(outcome.kind).toBe("released");
    expect(world.carrier.owned.size).toBe(0);
  });
});

describe("reconciliation", () => {
  it("records a lost number as released; leaves work under way alone", async () => {
    const number = expectPurchased(await saga.purchase(request()));
    expect(await saga.recordLostNumber(WS, number.id)).toBe(true);
    expect(world.records.rows.get(number.id)?.status).toBe("released");
    expect(world.ledger.rows.size).toBe(0);

    world.carrier.scripts.buy.push(lostReply());
    await saga.purchase(request({ e164: "+14155550102" }));
    const [pending] = world.ledger.rows.values();
    expect(await saga.recordLostNumber(WS, pending?.id ?? "")).toBe(false);
  });
});

function otherWorkspaceNumber() {
  return {
    id: "phone_other",
    workspace_id: "ws_other",
    e164: E164,
    source: "twilio_purchased" as const,
    capabilities: ["inbound", "outbound"] as ("inbound" | "outbound")[],
    label: null,
    trunk_id: null,
    agent_id: null,
    livekit_phone_number_id: null,
    twilio_sid: "PN_OTHER",
    created_at: "2026-11-01T00:00:00.000Z",
    updated_at: "2026-11-01T00:00:00.000Z",
  };
}
