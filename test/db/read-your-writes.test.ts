import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../src/auth/api-keys";
import app from "../../src/index";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { BASE, search } from "../helpers/phone-numbers";
import { createWorkspace, type TestWorkspace } from "../helpers/workspaces";

// Reads from the nearest replica, and read-your-writes (src/db/read-your-writes.ts). The Worker
// under test gets a D1 that records how it is read and, for sessions without a bookmark, plays
// a replica that lags: it answers every statement as it first answered it (as of an earlier
// moment). Sessions opened with a bookmark read the database itself (a replica that has caught
// up with that bookmark). The workspace's object keeps the real D1 (the primary).

type Use = { how: "primary" } | { how: "session"; with: string };

function laggingD1(real: D1Database, uses: Use[]): D1Database {
  const memo = new Map<string, D1Result>();
  const keyOf = (sql: string, values: unknown[]) => JSON.stringify([sql, values]);
  const staleStatement = (sql: string, values: unknown[]): D1PreparedStatement =>
    ({
      sql,
      values,
      bind: (...next: unknown[]) => staleStatement(sql, next),
      async all() {
        const key = keyOf(sql, values);
        if (!memo.has(key))
          memo.set(
            key,
            await real
              .prepare(sql)
              .bind(...values)
              .all(),
          );
        return memo.get(key);
      },
      async first(this: D1PreparedStatement, column?: string) {
        const row = (await this.all()).results[0] as Record<string, unknown> | undefined;
        return column ? row?.[column] : (row ?? null);
      },
      async run() {
        throw new Error("a write reached a replica session");
      },
    }) as unknown as D1PreparedStatement;
  const staleSession = {
    prepare: (sql: string) => staleStatement(sql, []),
    batch: (statements: D1PreparedStatement[]) =>
      Promise.all(statements.map((s) => (s as unknown as { all(): Promise<D1Result> }).all())),
    getBookmark: () => null,
  } as unknown as D1DatabaseSession;
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "withSession") {
        return (constraint?: string) => {
          uses.push({ how: "session", with: constraint ?? "(none)" });
          return !constraint || constraint.startsWith("first-")
            ? staleSession
            : target.withSession(constraint);
        };
      }
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        uses.push({ how: "primary" });
        return value.apply(target, args);
      };
    },
  });
}

let uses: Use[];
let lagging: Env;

beforeEach(() => {
  uses = [];
  lagging = { ...env, DB: laggingD1(env.DB, uses) };
});

async function send(ws: TestWorkspace, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${ws.key}`);
  if (init.body) headers.set("content-type", "application/json");
  return app.fetch(new Request(`http://localhost${path}`, { ...init, headers }), lagging);
}

async function forgetLocationCache(ws: TestWorkspace) {
  const keyHash = await hashApiKey(ws.key);
  await caches.default.delete(`https://d1-bookmarks.phone-numbers.internal/${keyHash}`);
}

describe("reads through D1 sessions", () => {
  it("every route reads the key (and list, get) in a session, never on the primary", async () => {
    const ws = await createWorkspace();
    const [found] = await search(ws, "area_code=801");
    await send(ws, `${BASE}/available?area_code=801`);
    const bought = await send(ws, `${BASE}/purchase`, {
      method: "POST",
      body: JSON.stringify({ e164: found?.e164 }),
    });
    expect(bought.status).toBe(201);
    const { id } = await bought.json<PhoneNumber>();
    for (const [path, init] of [
      [BASE, {}],
      [`${BASE}/${id}`, {}],
      [`${BASE}/${id}`, { method: "PATCH", body: JSON.stringify({ label: "x" }) }],
      [`${BASE}/${id}`, { method: "DELETE" }],
    ] as const) {
      expect((await send(ws, path, init)).status).toBeLessThan(300);
    }
    expect(uses.filter((u) => u.how === "primary")).toEqual([]);
    const constraints = uses.map((u) => (u.how === "session" ? u.with : ""));
    // The first read of this client has no write to wait for; the rest carry its last write.
    expect(constraints[0]).toBe("first-unconstrained");
    for (const constraint of constraints) {
      expect(constraint === "first-unconstrained" || /^[0-9a-f-]+$/.test(constraint)).toBe(true);
    }
  });
});

describe("read-your-writes with a lagging replica", () => {
  async function purchaseOne(ws: TestWorkspace, area: string) {
    const [found] = await search(ws, `area_code=${area}`);
    // The lagging replica has seen the workspace's list empty.
    const before = await send(ws, BASE);
    expect((await before.json<{ numbers: PhoneNumber[] }>()).numbers).toEqual([]);
    const bought = await send(ws, `${BASE}/purchase`, {
      method: "POST",
      body: JSON.stringify({ e164: found?.e164 }),
    });
    expect(bought.status).toBe(201);
    const bookmark = bought.headers.get("d1-bookmark");
    expect(bookmark).toMatch(/^[0-9a-f-]+$/);
    return { number: await bought.json<PhoneNumber>(), bookmark: bookmark ?? "" };
  }

  const listed = async (response: Response) =>
    (await response.json<{ numbers: PhoneNumber[] }>()).numbers.map((n) => n.id);

  it("a client reads its write at the same location without doing anything", async () => {
    const ws = await createWorkspace();
    const { number } = await purchaseOne(ws, "802");
    expect(await listed(await send(ws, BASE))).toEqual([number.id]);
    expect((await send(ws, `${BASE}/${number.id}`)).status).toBe(200);
  });

  it("a client anywhere reads its write by sending the write's D1-Bookmark back", async () => {
    const ws = await createWorkspace();
    const { number, bookmark } = await purchaseOne(ws, "803");
    // Another location: nothing cached there. Without the bookmark the replica lags...
    await forgetLocationCache(ws);
    expect(await listed(await send(ws, BASE))).toEqual([]);
    // ...with it, the read waits for a replica that has the write.
    await forgetLocationCache(ws);
    const carried = await send(ws, BASE, { headers: { "d1-bookmark": bookmark } });
    expect(await listed(carried)).toEqual([number.id]);
  });

  it("a malformed D1-Bookmark header is ignored, not an error", async () => {
    const ws = await createWorkspace();
    const response = await send(ws, BASE, { headers: { "d1-bookmark": "not a bookmark!" } });
    expect(response.status).toBe(200);
  });
});
