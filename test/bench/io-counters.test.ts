// The benchmark's I/O counters (bench/instrumented): runs in vitest's "bench" project, whose
// main module is the instrumented entry and whose bindings set IO_COUNTERS="1", so the
// workspace objects below are the counting subclass.
import {
  createExecutionContext,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import instrumented, { type WorkspaceNumbers } from "../../bench/instrumented/index";
import {
  countingEnv,
  newIoCount,
  parseIoCounts,
  sqlWrites,
} from "../../bench/instrumented/io-counters";
import { BASE } from "../helpers/phone-numbers";
import { createWorkspace, type TestWorkspace } from "../helpers/workspaces";

async function counted(
  ws: TestWorkspace,
  path: string,
  init: { method?: string; json?: unknown; headers?: Record<string, string> } = {},
  bindings: Env = env,
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${ws.key}`, ...init.headers };
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const ctx = createExecutionContext();
  const response = await instrumented.fetch(
    new Request(`http://localhost${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    }),
    bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

const ioOf = (response: Response) => parseIoCounts(response.headers.get("x-io-counts"));
const traceOf = (response: Response) => response.headers.get("x-io-trace");

/** The counts of a request that made no other I/O than `some`. */
const only = (some: Record<string, number>) => ({
  d1: 0,
  do: 0,
  twilio: 0,
  livekit: 0,
  d1_session: 0,
  d1_no_session: 0,
  d1_first_primary: 0,
  d1_session_write: 0,
  d1_unconstrained: 0,
  d1_bookmark: 0,
  obj_d1: 0,
  obj_twilio: 0,
  obj_livekit: 0,
  overlapped: 0,
  ...some,
});

/** What one side's trips below came to, where they are not 0. */
const trips = (some: Partial<ReturnType<typeof newIoCount>>) => ({ ...newIoCount(), ...some });

describe("the benchmark's I/O counters", () => {
  it("are off unless IO_COUNTERS=1", async () => {
    const ws = await createWorkspace();
    const response = await counted(ws, BASE, {}, { ...env, IO_COUNTERS: "0" } as Env);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-io-counts")).toBeNull();
    expect(traceOf(response)).toBeNull();
  });

  it("count the D1 round trips, object calls and upstream calls of a request", async () => {
    const ws = await createWorkspace();

    const list = await counted(ws, BASE);
    expect(list.status).toBe(200);
    expect(list.headers.get("x-io-counts")).toMatch(
      /^d1=1; do=0; twilio=0; livekit=0; d1_session=1; d1_no_session=0\b/,
    );
    // Reads go through a D1 session that the nearest replica may serve.
    expect(ioOf(list)).toEqual(only({ d1: 1, d1_session: 1, d1_unconstrained: 1 }));
    expect(traceOf(list)).toBe("d1:replica");

    const search = await counted(ws, `${BASE}/available?area_code=671&limit=2`);
    expect(search.status).toBe(200);
    expect(ioOf(search)).toEqual(
      only({ d1: 1, d1_session: 1, d1_unconstrained: 1, do: 1, twilio: 1, obj_twilio: 1 }),
    );
    // The key (nearest replica), then the object (created near the D1 primary) counts the
    // search against its limit, asks Twilio (through the gate) and remembers the numbers.
    expect(traceOf(search)).toBe("d1:replica do@enam obj:twilio");
    const found = (await search.json<{ numbers: { e164: string }[] }>()).numbers;

    // The workspace's first purchase also creates its shared outbound trunk (its D1 record,
    // then LiveKit's trunk with the number on it).
    const first = await counted(ws, `${BASE}/purchase`, {
      method: "POST",
      json: { e164: found[1]?.e164 },
    });
    expect(first.status, await first.clone().text()).toBe(201);
    expect(ioOf(first)).toEqual(
      only({
        d1: 5,
        d1_session: 5,
        d1_unconstrained: 1,
        obj_d1: 4,
        do: 1,
        twilio: 1,
        obj_twilio: 1,
        livekit: 2,
        obj_livekit: 2,
      }),
    );

    // Once the trunk exists, the purchase's D1 round trips (the workspace object's own
    // included, collected from it with takeIoCount) are the API key in the Worker, then the
    // object's claim and activation; LiveKit: the caller id, the inbound trunk (and a rule
    // when an agent is named).
    const purchase = await counted(ws, `${BASE}/purchase`, {
      method: "POST",
      json: { e164: found[0]?.e164 },
      headers: { "idempotency-key": "io-counters-1" },
    });
    expect(purchase.status, await purchase.clone().text()).toBe(201);
    // A write reads only the key and the agent in the Worker, which its own writes never
    // change: at the nearest replica, without looking for the client's last bookmark (the
    // object works on the primary).
    expect(ioOf(purchase)).toEqual(
      only({
        d1: 3,
        d1_session: 3,
        d1_unconstrained: 1,
        obj_d1: 2,
        do: 1,
        twilio: 1,
        obj_twilio: 1,
        livekit: 2,
        obj_livekit: 2,
      }),
    );
    expect(traceOf(purchase)).toBe(
      "d1:replica do@enam obj:d1:primary obj:twilio obj:livekit obj:livekit obj:d1:primary",
    );
    const bought = await purchase.json<{ id: string }>();

    const one = await counted(ws, `${BASE}/${bought.id}`);
    expect(one.status).toBe(200);
    expect(ioOf(one)).toEqual(only({ d1: 1, d1_session: 1, d1_bookmark: 1 }));
    expect(traceOf(one)).toBe("d1:replica");
  });

  it("count what the workspace object does through its env, and reset when taken", async () => {
    const ws = await createWorkspace();
    const stub = env.WORKSPACE_NUMBERS.getByName(ws.id) as unknown as DurableObjectStub<
      WorkspaceNumbers & Rpc.DurableObjectBranded
    >;
    await runInDurableObject(stub, async (instance: WorkspaceNumbers) => {
      instance.takeIoCount();
      const objectEnv = (instance as unknown as { env: Env }).env;
      await objectEnv.DB.prepare("SELECT ? AS n").bind(1).first();
      await objectEnv.DB.batch([
        objectEnv.DB.prepare("SELECT 1"),
        objectEnv.DB.prepare("SELECT 2"),
      ]);
      const session = objectEnv.DB.withSession("first-unconstrained");
      await session.prepare("SELECT 3").all();
      expect(instance.takeIoCount()).toEqual(
        trips({
          d1: 3,
          d1Session: 1,
          d1NoSession: 2,
          d1Unconstrained: 1,
          trace: ["d1:primary", "d1:primary", "d1:replica"],
        }),
      );
      expect(instance.takeIoCount()).toEqual(trips({}));
    });
  });

  it("count a session opened with first-unconstrained as replica-eligible", async () => {
    const io = newIoCount();
    const db = countingEnv(env, io).DB;
    await db.withSession("first-unconstrained").prepare("SELECT ? AS n").bind(1).first();
    await db.withSession().batch([db.prepare("SELECT 1"), db.prepare("SELECT 2")]);
    expect(io).toEqual(
      trips({ d1: 2, d1Session: 2, d1Unconstrained: 2, trace: ["d1:replica", "d1:replica"] }),
    );
  });

  it("count where the other D1 trips go: primary, or a replica that must catch up", async () => {
    const io = newIoCount();
    const db = countingEnv(env, io).DB;
    // No session: the primary, writes or not.
    await db.prepare("SELECT 1").all();
    // first-primary: its first trip to the primary, the next ones (with its bookmark) to a
    // replica at least as new.
    const first = db.withSession("first-primary");
    await first.prepare("SELECT 1").raw();
    await first.prepare("SELECT 2").run();
    // A bookmark: replica reads that may wait for the replica to catch up.
    const bookmark = first.getBookmark();
    expect(bookmark).toEqual(expect.any(String));
    await db
      .withSession(bookmark ?? "")
      .prepare("SELECT 3")
      .all();
    // An unconstrained session that writes: the write (a batch with a write in it) goes to
    // the primary, and the reads after it must see it.
    const session = db.withSession("first-unconstrained");
    await session.prepare("SELECT 4").all();
    await session.batch([
      session.prepare("SELECT 5"),
      session.prepare("UPDATE workspaces SET name = name WHERE id = 'none'"),
    ]);
    await session.prepare("SELECT 6").all();
    expect(io).toEqual(
      trips({
        d1: 7,
        d1Session: 6,
        d1NoSession: 1,
        d1FirstPrimary: 1,
        d1SessionWrite: 1,
        d1Unconstrained: 1,
        d1Bookmark: 3,
        trace: [
          "d1:primary",
          "d1:primary",
          "d1:replica",
          "d1:replica",
          "d1:replica",
          "d1:primary",
          "d1:replica",
        ],
      }),
    );
  });

  it("mark trips that overlap another of the same side", async () => {
    const io = newIoCount();
    const db = countingEnv(env, io).DB;
    await Promise.all([db.prepare("SELECT 1").all(), db.prepare("SELECT 2").all()]);
    await db.prepare("SELECT 3").all();
    expect(io).toEqual(
      trips({
        d1: 3,
        d1NoSession: 3,
        overlapped: 1,
        trace: ["d1:primary", "+d1:primary", "d1:primary"],
      }),
    );
  });

  it("name the location hint an object was asked for with", async () => {
    const ws = await createWorkspace();
    const io = newIoCount();
    const calls: number[] = [];
    const bindings = countingEnv(env, io, { stub: () => {}, called: (_, at) => calls.push(at) });
    await bindings.WORKSPACE_NUMBERS.getByName(ws.id, { locationHint: "enam" }).rememberSearch(
      [],
      1000,
    );
    await bindings.WORKSPACE_NUMBERS.getByName(ws.id).rememberSearch([], 1000);
    expect(io).toEqual(trips({ do: 2, trace: ["do@enam", "do"] }));
    expect(calls).toEqual([1, 2]);
  });

  it("tell writes from reads by their SQL", () => {
    for (const read of [
      "SELECT 1",
      "  select * from t",
      "-- the key\nSELECT 1",
      "/* x */ SELECT 1",
      "WITH a AS (SELECT 1) SELECT * FROM a",
      "VALUES (1)",
    ]) {
      expect(sqlWrites(read), read).toBe(false);
    }
    for (const write of [
      "INSERT INTO t VALUES (1)",
      "UPDATE t SET n = 1",
      "DELETE FROM t",
      "REPLACE INTO t VALUES (1)",
      "WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a",
      "CREATE TABLE t (n)",
      "",
    ]) {
      expect(sqlWrites(write), write).toBe(true);
    }
  });
});
