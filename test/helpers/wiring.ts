import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { unfinished } from "./ledger";
import { livekitStandin } from "./livekit-standin";
import { twilioStandin } from "./standin";
import { platformTrunkOf, type TestWorkspace } from "./workspaces";

type ActiveRow = { e164: string; agent_name: string | null };

function metadata(resource: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(String(resource.metadata ?? "{}")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * The wiring invariant of a workspace, across Twilio, D1 and LiveKit: the numbers the master
 * account holds in the workspace's area codes are exactly its active rows in D1, exactly the
 * numbers on LiveKit inbound trunks tagged with the workspace, and exactly the caller ids of its
 * outbound trunk; a call to a bound number matches exactly one dispatch rule, naming its agent's
 * LiveKit name, and a call to an unbound one matches none. Nothing is left half-done.
 */
export async function expectWiringInvariant(ws: TestWorkspace, areaCodes: string[]) {
  const inArea = (e164: string) => areaCodes.some((area) => e164.startsWith(`+1${area}`));
  const { results } = await env.DB.prepare(
    `SELECT p.e164, CASE WHEN p.agent_id IS NULL THEN NULL ELSE COALESCE(a.agent_name, a.id) END
              AS agent_name
       FROM phone_numbers p LEFT JOIN agents a ON a.id = p.agent_id
      WHERE p.workspace_id = ? AND p.status = 'active'`,
  )
    .bind(ws.id)
    .all<ActiveRow>();
  const active = results.map((r) => r.e164).sort();

  const held = (await twilioStandin.numbers())
    .filter((n) => n.account_sid === env.TWILIO_ACCOUNT_SID && inArea(n.phone_number))
    .map((n) => n.phone_number)
    .sort();
  expect(held, "held at Twilio vs active in D1").toEqual(active.filter(inArea));

  const state = await livekitStandin.state();
  const inbound = state.inbound_trunks
    .filter((t) => metadata(t).workspace_id === ws.id)
    .flatMap((t) => (t.numbers as string[]) ?? [])
    .sort();
  expect(inbound, "numbers on the workspace's inbound trunks vs active in D1").toEqual(active);

  const trunkId = await platformTrunkOf(ws.id);
  const outbound = state.outbound_trunks.filter((t) => metadata(t).trunk_id === trunkId);
  expect(outbound.length, "one outbound trunk per workspace at most").toBeLessThanOrEqual(1);
  const callerIds = ((outbound[0]?.numbers as string[] | undefined) ?? []).slice().sort();
  expect(callerIds, "caller ids of the workspace's outbound trunk vs active in D1").toEqual(active);

  for (const row of results) {
    const route = await livekitStandin.route(row.e164);
    expect(route.accepted, `LiveKit accepts calls to ${row.e164}`).toBe(true);
    const agents = route.matching_rules.map((rule) => rule.agent_names);
    expect(agents, `rules matching ${row.e164}`).toEqual(row.agent_name ? [[row.agent_name]] : []);
  }
  expect(await unfinished(ws), "unfinished ledger rows").toEqual([]);
}
