import type { Context } from "hono";
import { unauthorized } from "../api-error";
import { type AppEnv, appMiddleware, type Caller } from "../app-env";
import { agentOfKeyStatement } from "../db/agents";
import { type CallerRow, findCallerStatement, toCaller } from "../db/api-keys";
import { type D1Reader, readSession } from "../db/read-your-writes";
import { readJsonBody } from "../http/json-body";
import { isId } from "../ids";
import { hashApiKey, isWellFormedApiKey } from "./api-keys";

/** The API key in `Authorization: Bearer sk_...`, or null when absent or malformed. */
export function bearerApiKey(header: string | undefined): string | null {
  const match = header?.match(/^Bearer +(\S+) *$/i);
  const key = match?.[1];
  return key && isWellFormedApiKey(key) ? key : null;
}

/**
 * Refuses a missing or malformed key at once; the key's hash is looked up later, in the same
 * D1 round trip as the route's own first query (see resolveCaller).
 */
export const requireApiKey = appMiddleware(async (c, next) => {
  const key = bearerApiKey(c.req.header("Authorization"));
  if (!key) throw unauthorized();
  c.set("keyHash", await hashApiKey(key));
  await next();
});

/**
 * Looks up the caller by its key's hash, batched with the route's own statements (which find
 * their workspace through the same hash), in one D1 round trip through the request's read
 * session (the nearest replica, see read-your-writes.ts; `ownWrites` when the statements read
 * what the client's writes change). An unknown or revoked key is a 401.
 */
export async function resolveCaller(
  c: Context<AppEnv>,
  statements: (db: D1Reader) => D1PreparedStatement[] = () => [],
  options = { ownWrites: false },
): Promise<{ caller: Caller; results: D1Result[] }> {
  const db = await readSession(c, options);
  const [callerResult, ...results] = await db.batch([
    findCallerStatement(db, c.get("keyHash")),
    ...statements(db),
  ]);
  const caller = toCaller(callerResult?.results[0] as CallerRow | undefined);
  if (!caller) throw unauthorized();
  c.set("caller", caller);
  return { caller, results };
}

/** Resolves the caller before the route's validators run, so an unknown key is a 401 first. */
export const resolveCallerFirst = appMiddleware(async (c, next) => {
  await resolveCaller(c);
  await next();
});

/**
 * For bodies that may name an agent: resolves the caller and checks the agent in one round
 * trip. It only peeks at the body: an unknown key is a 401 before any complaint about the body
 * (its type, size or syntax), which jsonBody makes next.
 */
export const resolveCallerAndAgent = appMiddleware(async (c, next) => {
  const read = await readJsonBody(c);
  const named = read.ok ? read.body.agent_id : undefined;
  const agentId = typeof named === "string" && isId("agent", named) ? named : null;
  const { results } = await resolveCaller(c, (db) =>
    agentId ? [agentOfKeyStatement(db, c.get("keyHash"), agentId)] : [],
  );
  const agent = results[0]?.results[0] as { agent_name: string } | undefined;
  c.set("agentName", agent?.agent_name ?? null);
  await next();
});
