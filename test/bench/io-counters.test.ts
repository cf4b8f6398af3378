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
import { parseIoCounts } from "../../bench/instrumented/io-counters";
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

/** The counts of a request that made no other I/O than `some`. */
const only = (some: Record<string, number>) => ({
  d1: 0,
  do: 0,
  twilio: 0,
  livekit: 0,
  d1_session: 0,
  ...some,
});

describe("the benchmark's I/O counters", () => {
  it("are off unless IO_COUNTERS=1", async () => {
    const ws = await createWorkspace();
    const response = await counted(ws, BASE, {}, { ...env, IO_COUNTERS: "0" } as Env);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-io-counts")).toBeNull();
  });

  it("count the D1 round trips, object calls and upstream calls of a request", async () => {
    const ws = await createWorkspace();

    const list = await counted(ws, BASE);
    expect(list.status).toBe(200);
    expect(list.headers.get("x-io-counts")).toMatch(/^d1=1; do=0; twilio=0; livekit=0\b/);
    expect(ioOf(list)).toEqual(only({ d1: 1 }));

    const search = await counted(ws, `${BASE}/available?area_code=671&limit=2`);
    expect(search.status).toBe(200);
    expect(ioOf(search)).toEqual(only({ d1: 1, do: 1, twilio: 1 }));
    const found = (await search.json<{ numbers: { e164: string }[] }>()).numbers;

    // The workspace's first purchase also creates its shared outbound trunk (its D1 record,
    // then LiveKit's trunk with the number on it).
    const first = await counted(ws, `${BASE}/purchase`, {
      method: "POST",
      json: { e164: found[1]?.e164 },
    });
    expect(first.status, await first.clone().text()).toBe(201);
    expect(ioOf(first)).toEqual(only({ d1: 5, do: 1, twilio: 1, livekit: 2 }));

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
    expect(ioOf(purchase)).toEqual(only({ d1: 3, do: 1, twilio: 1, livekit: 2 }));
    const bought = await purchase.json<{ id: string }>();

    const one = await counted(ws, `${BASE}/${bought.id}`);
    expect(one.status).toBe(200);
    expect(ioOf(one)).toEqual(only({ d1: 1 }));
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
      expect(instance.takeIoCount()).toEqual({
        d1: 3,
        d1Session: 1,
        do: 0,
        twilio: 0,
        livekit: 0,
      });
      expect(instance.takeIoCount().d1).toBe(0);
    });
  });
});
