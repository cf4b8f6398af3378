import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys";
import { newId } from "../../src/ids";
import { problemsWithResponse } from "./our-openapi";

export type TestWorkspace = { id: string; key: string; keyId: string; trunkId: string | null };

/**
 * A fresh workspace with one API key, written straight to D1 as the admin CLI would. Its rate
 * limits are the deployment's defaults unless given (a minute, as `admin workspaces update`).
 */
export async function createWorkspace(
  options: {
    purchasedNumberLimit?: number | null;
    trunkId?: string | null;
    searchRatePerMinute?: number | null;
    writeRatePerMinute?: number | null;
  } = {},
): Promise<TestWorkspace> {
  const id = newId("ws");
  const keyId = newId("key");
  const key = generateApiKey();
  const trunkId = options.trunkId === undefined ? newId("trunk") : options.trunkId;
  const now = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO workspaces (id, name, purchased_number_limit, trunk_id, search_rate_per_minute,
         write_rate_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).bind(
      id,
      `Workspace ${id}`,
      options.purchasedNumberLimit ?? null,
      trunkId,
      options.searchRatePerMinute ?? null,
      options.writeRatePerMinute ?? null,
      now,
    ),
    env.DB.prepare(
      "INSERT INTO api_keys (id, workspace_id, key_hash, created_at) VALUES (?, ?, ?, ?)",
    ).bind(keyId, id, await hashApiKey(key), now),
  ]);
  return { id, key, keyId, trunkId };
}

export async function createAgent(workspaceId: string, name = "Receptionist"): Promise<string> {
  const id = newId("agent");
  await env.DB.prepare(
    "INSERT INTO agents (id, workspace_id, name, created_at) VALUES (?, ?, ?, ?)",
  )
    .bind(id, workspaceId, name, new Date().toISOString())
    .run();
  return id;
}

type CallOptions = {
  key?: string | null;
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
};

/**
 * One HTTP request to the Worker under test, as a client would send it. Every response is
 * checked against our own OpenAPI document, so no route can return a shape it does not describe.
 */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization ??= `Bearer ${options.key}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(options.json);
  }
  const request = new Request(`http://localhost${path}`, {
    method: options.method ?? "GET",
    headers,
    body,
  });
  const response = await exports.default.fetch(request);
  const text = await response.clone().text();
  expect(problemsWithResponse(request.method, request.url, response.status, text)).toEqual([]);
  return response;
}
