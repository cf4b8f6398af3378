import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { generateApiKey, hashApiKey } from "../../src/auth/api-keys";
import { newId } from "../../src/ids";
import { problemsWithResponse } from "./our-openapi";

export type TestWorkspace = { id: string; key: string; keyId: string };

/**
 * A fresh workspace with one API key, written straight to D1 as the admin CLI would. Its rate
 * limits are the deployment's defaults unless given (a minute, as `admin workspaces update`).
 */
export async function createWorkspace(
  options: {
    purchasedNumberLimit?: number | null;
    searchRatePerMinute?: number | null;
    writeRatePerMinute?: number | null;
  } = {},
): Promise<TestWorkspace> {
  const id = newId("ws");
  const keyId = newId("key");
  const key = generateApiKey();
  const now = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO workspaces (id, name, purchased_number_limit, search_rate_per_minute,
         write_rate_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    ).bind(
      id,
      `Workspace ${id}`,
      options.purchasedNumberLimit ?? null,
      options.searchRatePerMinute ?? null,
      options.writeRatePerMinute ?? null,
      now,
    ),
    env.DB.prepare(
      "INSERT INTO api_keys (id, workspace_id, key_hash, created_at) VALUES (?, ?, ?, ?)",
    ).bind(keyId, id, await hashApiKey(key), now),
  ]);
  return { id, key, keyId };
}

/** The id of the workspace's shared outbound trunk (created with its first number). */
export async function platformTrunkOf(workspaceId: string): Promise<string | null> {
  const row = await env.DB.prepare(
    "SELECT id FROM trunks WHERE workspace_id = ? AND kind = 'platform'",
  )
    .bind(workspaceId)
    .first<{ id: string }>();
  return row?.id ?? null;
}

/** An agent of the workspace; its LiveKit agent name is `agentName`, else its id. */
export async function createAgent(
  workspaceId: string,
  name = "Receptionist",
  agentName: string | null = null,
): Promise<string> {
  const id = newId("agent");
  await env.DB.prepare(
    "INSERT INTO agents (id, workspace_id, name, agent_name, created_at) VALUES (?, ?, ?, ?, ?)",
  )
    .bind(id, workspaceId, name, agentName, new Date().toISOString())
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
