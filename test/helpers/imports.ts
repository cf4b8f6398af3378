import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { keyringFromEnv, openSecret, sealSecret } from "../../src/crypto/credentials";
import type { PhoneNumber } from "../../src/schemas/phone-numbers";
import { unfinished } from "./ledger";
import { livekitStandin } from "./livekit-standin";
import { BASE } from "./phone-numbers";
import { twilioStandin } from "./standin";
import { call, type TestWorkspace } from "./workspaces";

export type CustomerAccount = { account_sid: string; auth_token: string };

export function importNumber(
  ws: TestWorkspace,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return call(BASE, { key: ws.key, method: "POST", json: body, headers });
}

export function twilioImport(
  account: CustomerAccount,
  e164: string,
  extra: Record<string, unknown> = {},
) {
  return {
    e164,
    source: "twilio",
    twilio: { account_sid: account.account_sid, auth_token: account.auth_token },
    ...extra,
  };
}

export async function importOk(ws: TestWorkspace, body: Record<string, unknown>) {
  const response = await importNumber(ws, body);
  expect(response.status, await response.clone().text()).toBe(201);
  return response.json<PhoneNumber>();
}

/** Where a customer's own number answers before it is imported, and again after its release. */
export const customerVoiceUrl = (e164: string) => `https://customer.example/voice/${e164.slice(1)}`;

/** The released number is back as it was on the customer's account: off our trunk, its voice URL. */
export async function expectBackOnCustomerAccount(account: CustomerAccount, e164: string) {
  const after = (await twilioStandin.numbers()).find((n) => n.phone_number === e164);
  expect(after).toMatchObject({
    account_sid: account.account_sid,
    trunk_sid: null,
    voice_url: customerVoiceUrl(e164),
  });
}

/** A customer account with numbers of its own, answering at a voice URL. */
export async function customerWithNumbers(e164s: string[]): Promise<CustomerAccount> {
  const account = await twilioStandin.createAccount({ friendly_name: "Customer" });
  for (const e164 of e164s) {
    await twilioStandin.plantNumber({
      phone_number: e164,
      account_sid: account.account_sid,
      voice_url: customerVoiceUrl(e164),
    });
  }
  return account;
}

function metadata(resource: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(String(resource.metadata ?? "{}")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

type Row = {
  id: string;
  e164: string;
  source: string;
  trunk_id: string | null;
  status: string;
  livekit_phone_number_id: string | null;
};

/**
 * The import invariant of a workspace, across the customer's Twilio accounts, LiveKit and D1:
 * nothing exists that the records do not explain, and everything the records say exists.
 * - D1: no claim left (`purchasing`), no ledger row unfinished;
 * - each customer account: its numbers on our trunk are exactly its active `twilio` rows, our
 *   trunk exists exactly while the account has such rows (one, with one origination URL to
 *   LiveKit's SIP URI and one credential list); numbers not imported keep their voice URL;
 * - LiveKit: the workspace's inbound trunks carry exactly its inbound-capable imported numbers
 *   that are not LiveKit's own; each trunk's outbound trunk has exactly its active rows as caller
 *   ids; LiveKit holds exactly the active `livekit` rows.
 */
export async function expectImportInvariant(ws: TestWorkspace, accounts: CustomerAccount[] = []) {
  const { results } = await env.DB.prepare(
    `SELECT id, e164, source, trunk_id, status, livekit_phone_number_id FROM phone_numbers
      WHERE workspace_id = ? AND status != 'released'`,
  )
    .bind(ws.id)
    .all<Row>();
  expect(
    results.filter((r) => r.status !== "active").map((r) => r.e164),
    "claims left in D1",
  ).toEqual([]);
  expect(await unfinished(ws), "unfinished ledger rows").toEqual([]);
  const active = results;

  const trunks = await twilioStandin.trunks();
  const numbers = await twilioStandin.numbers();
  const { results: trunkRows } = await env.DB.prepare(
    "SELECT id FROM trunks WHERE workspace_id = ? AND kind = 'twilio'",
  )
    .bind(ws.id)
    .all<{ id: string }>();
  const prefixes = trunkRows.map((t) => t.id.toLowerCase().replace("_", "-"));
  const { results: heldAnywhere } = await env.DB.prepare(
    "SELECT e164 FROM phone_numbers WHERE status != 'released'",
  ).all<{ e164: string }>();
  for (const account of accounts) {
    const ours = trunks.filter(
      (t) =>
        t.account_sid === account.account_sid &&
        prefixes.some((p) => (t.domain_name ?? "").startsWith(p)),
    );
    const rows = active.filter(
      (r) =>
        (r.source === "twilio" || r.source === "verified_caller_id") &&
        numbers.some((n) => n.account_sid === account.account_sid && n.phone_number === r.e164),
    );
    const callerIdRows = active.filter((r) => r.source === "verified_caller_id");
    const twilioRows = rows.filter((r) => r.source === "twilio");
    const anyRows = twilioRows.length + callerIdRows.length > 0;
    expect(ours.length, `our trunks on ${account.account_sid}`).toBe(
      anyRows && twilioRows.length > 0 ? 1 : 0,
    );
    const trunk = ours[0];
    if (trunk) {
      expect(trunk.origination_urls.map((u) => u.sip_url)).toEqual([env.LIVEKIT_SIP_URI]);
      expect(trunk.credential_lists.length).toBe(1);
      expect(trunk.phone_numbers.map((n) => n.phone_number).sort()).toEqual(
        twilioRows.map((r) => r.e164).sort(),
      );
    }
    for (const n of numbers.filter((n) => n.account_sid === account.account_sid)) {
      if (heldAnywhere.some((r) => r.e164 === n.phone_number)) continue;
      expect(n.trunk_sid, `${n.phone_number} not on our trunk`).toBeNull();
      expect(n.voice_url, `${n.phone_number} answers as before`).toBe(
        customerVoiceUrl(n.phone_number),
      );
    }
  }

  const state = await livekitStandin.state();
  const inbound = state.inbound_trunks
    .filter((t) => metadata(t).workspace_id === ws.id)
    .flatMap((t) => (t.numbers as string[]) ?? [])
    .sort();
  expect(inbound, "numbers on the workspace's inbound trunks").toEqual(
    active
      .filter(
        (r) => r.source === "twilio" || r.source === "byoc" || r.source === "twilio_purchased",
      )
      .map((r) => r.e164)
      .sort(),
  );
  const trunkIds = new Set(
    state.outbound_trunks
      .filter((t) => metadata(t).workspace_id === ws.id)
      .map((t) => String(metadata(t).trunk_id)),
  );
  for (const trunkId of trunkIds) {
    const outbound = state.outbound_trunks.filter((t) => metadata(t).trunk_id === trunkId);
    expect(outbound.length, `one outbound trunk for ${trunkId}`).toBe(1);
    expect([...((outbound[0]?.numbers as string[]) ?? [])].sort()).toEqual(
      active
        .filter((r) => r.trunk_id === trunkId)
        .map((r) => r.e164)
        .sort(),
    );
  }
  for (const row of active.filter((r) => r.trunk_id && r.source !== "livekit")) {
    expect(trunkIds.has(row.trunk_id ?? ""), `${row.e164}'s outbound trunk at LiveKit`).toBe(true);
  }
  // Numbers other workspaces hold are theirs to explain.
  const { results: others } = await env.DB.prepare(
    "SELECT e164 FROM phone_numbers WHERE status != 'released' AND workspace_id != ?",
  )
    .bind(ws.id)
    .all<{ e164: string }>();
  const theirs = new Set(others.map((r) => r.e164));
  const held = state.phone_numbers
    .filter((n) => n.status !== "PHONE_NUMBER_STATUS_RELEASED")
    .map((n) => String(n.e164_format))
    .filter((e164) => !theirs.has(e164))
    .sort();
  expect(held, "numbers LiveKit holds vs active livekit rows").toEqual(
    active
      .filter((r) => r.source === "livekit")
      .map((r) => r.e164)
      .sort(),
  );
}

/** Every log line the stand-ins keep and every response must be free of this secret. */
export async function expectNowhere(secret: string, texts: string[] = []) {
  const twilio = JSON.stringify(await twilioStandin.requests());
  const livekit = JSON.stringify(await livekitStandin.requests());
  const state = JSON.stringify(await livekitStandin.state());
  for (const [where, text] of [
    ["twilio stand-in log", twilio],
    ["livekit stand-in log", livekit],
    ["livekit state", state],
    ...texts.map((t, i) => [`text ${i}`, t] as const),
  ] as const) {
    expect(text.includes(secret), `${where} holds the secret`).toBe(false);
  }
}

/**
 * Makes the token stored (sealed) for a customer trunk wrong, as if the customer had rotated it
 * at Twilio since (the trunk's SIP password is kept).
 */
export async function makeStoredTokenStale(trunkId: string): Promise<void> {
  const keyring = keyringFromEnv(env as never);
  if (!keyring) throw new Error("no keyring");
  const row = await env.DB.prepare("SELECT sealed_credentials FROM trunks WHERE id = ?")
    .bind(trunkId)
    .first<{ sealed_credentials: string }>();
  const opened = JSON.parse(await openSecret(keyring, row?.sealed_credentials ?? "", trunkId));
  const stale = await sealSecret(
    keyring,
    JSON.stringify({ ...opened, auth_token: "f".repeat(32) }),
    trunkId,
  );
  await env.DB.prepare("UPDATE trunks SET sealed_credentials = ? WHERE id = ?")
    .bind(stale, trunkId)
    .run();
}
