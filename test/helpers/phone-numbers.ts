import { expect } from "vitest";
import type { AvailablePhoneNumber, PhoneNumber } from "../../src/schemas/phone-numbers";
import { call, type TestWorkspace } from "./workspaces";

export const BASE = "/v1/agents/phone-numbers";

export type ErrorEnvelope = {
  error: { code: string; message: string; fields?: Record<string, string> };
  request_id: string;
};

export async function search(ws: TestWorkspace, query: string): Promise<AvailablePhoneNumber[]> {
  const response = await call(`${BASE}/available?${query}`, { key: ws.key });
  expect(response.status).toBe(200);
  return (await response.json<{ numbers: AvailablePhoneNumber[] }>()).numbers;
}

export function purchase(
  ws: TestWorkspace,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return call(`${BASE}/purchase`, { key: ws.key, method: "POST", json: body, headers });
}

/** Searches the area code and buys its first number; fails the test unless that works. */
export async function searchAndBuy(
  ws: TestWorkspace,
  areaCode: string,
  extra: { label?: string; agent_id?: string; index?: number } = {},
): Promise<PhoneNumber> {
  const { index = 0, ...body } = extra;
  const found = await search(ws, `area_code=${areaCode}`);
  const e164 = found[index]?.e164;
  expect(e164).toBeDefined();
  const response = await purchase(ws, { e164, ...body });
  expect(response.status, JSON.stringify(await response.clone().json())).toBe(201);
  return response.json<PhoneNumber>();
}

/** Asserts the Error envelope, its code and status, and returns it. */
export async function expectError(
  response: Response,
  status: number,
  code: string,
): Promise<ErrorEnvelope> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorEnvelope;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.request_id).toBe(response.headers.get("x-request-id"));
  return body;
}
