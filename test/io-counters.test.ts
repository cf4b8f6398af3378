import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../src/index";
import { BASE, searchAndBuy } from "./helpers/phone-numbers";
import { call, createWorkspace } from "./helpers/workspaces";

function counted(path: string, key: string, init: RequestInit = {}) {
  return app.fetch(
    new Request(`http://localhost${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) },
    }),
    { ...env, IO_COUNTERS: "1" },
  );
}

describe("the benchmark's I/O counters", () => {
  it("are off unless IO_COUNTERS=1", async () => {
    const ws = await createWorkspace();
    const response = await call(BASE, { key: ws.key });
    expect(response.headers.get("x-io-counts")).toBeNull();
  });

  it("count the D1 round trips and object calls of a request", async () => {
    const ws = await createWorkspace();
    const number = await searchAndBuy(ws, "670");
    const list = await counted(BASE, ws.key);
    expect(list.status).toBe(200);
    expect(list.headers.get("x-io-counts")).toBe("d1=1; do=0");
    const one = await counted(`${BASE}/${number.id}`, ws.key);
    expect(one.headers.get("x-io-counts")).toBe("d1=1; do=0");
    const search = await counted(`${BASE}/available?area_code=671`, ws.key);
    expect(search.status).toBe(200);
    expect(search.headers.get("x-io-counts")).toMatch(/^d1=1; do=1$/);
  });
});
