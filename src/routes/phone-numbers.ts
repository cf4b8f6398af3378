import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { ApiError, phoneNumberNotFound } from "../api-error";
import type { AppEnv } from "../app-env";
import {
  requireApiKey,
  resolveCaller,
  resolveCallerAndAgent,
  resolveCallerFirst,
} from "../auth/require-api-key";
import { defaultPurchasedNumberLimit, recentSearchTtlMs, twilioReady } from "../config";
import { keyringFromEnv, secretDigest } from "../crypto/credentials";
import {
  findActiveStatement,
  listActiveStatement,
  type PhoneNumberRow,
  toPhoneNumber,
} from "../db/phone-numbers";
import { rememberWrite } from "../db/read-your-writes";
import {
  type ObjectAnswer,
  type SearchAnswer,
  workspaceObject,
} from "../durable-objects/workspace-numbers";
import { idempotencyOf } from "../http/idempotency";
import { jsonBody } from "../http/json-body";
import { admitted, callerRateLimits } from "../http/rate-limits";
import { refusalToApiError, UpstreamFailure } from "../http/refusals";
import { validate } from "../http/validation";
import { isId } from "../ids";
import { livekitConfig, livekitReady } from "../livekit/config";
import { log } from "../log";
import type { Limited } from "../rate-limits/limiter";
import type { ImportSource } from "../saga/imports";
import type { Idempotency } from "../saga/ledger";
import type {
  AnyOutcome,
  PurchaseOutcome,
  Refusal,
  ReleaseOutcome,
  UpdateOutcome,
} from "../saga/outcomes";
import {
  DEFAULT_SEARCH_LIMIT,
  ImportPhoneNumberRequestSchema,
  MAX_SEARCH_LIMIT,
  PurchasePhoneNumberRequestSchema,
  SearchAvailablePhoneNumbersQuerySchema,
  UpdatePhoneNumberRequestSchema,
} from "../schemas/requests";

function workspaceNumbers(c: Context<AppEnv>) {
  return workspaceObject(c.env, c.get("caller").workspaceId);
}

/**
 * A call to the workspace's Durable Object that did not return (the object was reset, evicted
 * or overloaded) leaves any work in its ledger for its alarm; the client may retry. `T` is what
 * the method returns: RPC's stub types do not carry a discriminated union through as it is.
 */
async function inWorkspace<T>(c: Context<AppEnv>, call: () => Promise<unknown>): Promise<T> {
  try {
    return (await call()) as T;
  } catch (error) {
    log.warn("workspace_object_unavailable", {
      request_id: c.get("requestId"),
      error: String(error),
    });
    const retry = c.req.header("Idempotency-Key")
      ? "retry it with the same Idempotency-Key"
      : "retry it";
    throw new ApiError(503, "service_unavailable", `The request was interrupted; ${retry}.`, {
      retryAfterSeconds: 1,
    });
  }
}

/**
 * The workspace object's answer to a write, as the client gets it: the rate-limit headers (or
 * the 429), the D1 bookmark of the write, then the refusal as an error, or the outcome (marked
 * when it is the stored answer of an earlier request with the same Idempotency-Key).
 */
async function settled<T extends AnyOutcome>(
  c: Context<AppEnv>,
  result: Limited<ObjectAnswer<T>>,
  idempotency: Idempotency | null,
): Promise<Exclude<T, Refusal>> {
  const outcome = admitted(c, result);
  c.set("upstream", outcome.upstream);
  await rememberWrite(c, outcome.bookmark);
  if (!outcome.ok) throw refusalToApiError(outcome, { idempotencyKey: idempotency !== null });
  if (outcome.replayed) c.header("Idempotent-Replayed", "true");
  return outcome as unknown as Exclude<T, Refusal>;
}

/**
 * A 503 unless this deployment can do the work: searching needs the carrier's credentials;
 * purchasing also the platform's trunk and LiveKit, which every number is wired into.
 */
function refuseUnlessConfigured(c: Context<AppEnv>, options = { needsTrunk: false }) {
  if (!twilioReady(c.env, options) || (options.needsTrunk && !livekitReady(livekitConfig(c.env)))) {
    throw new ApiError(
      503,
      "service_unavailable",
      "Phone-number purchasing is not configured here.",
    );
  }
}

/**
 * Imports need LiveKit (every imported number is wired there), its SIP URI (where customers'
 * trunks send calls) and the key that seals customers' credentials.
 */
function importsOrUnavailable(c: Context<AppEnv>) {
  const config = livekitConfig(c.env);
  const keyring = keyringFromEnv(c.env as unknown as Record<string, unknown>);
  if (!livekitReady(config) || !config.sipUri || !keyring) {
    throw new ApiError(
      503,
      "service_unavailable",
      "Importing phone numbers is not configured here.",
    );
  }
}

// Each route's checks run in the order its handlers are listed: the API key first (its D1
// lookup batched with the route's own first query where it has one), then the body, then its
// fields, then the configuration, then the workspace's own rules in its Durable Object.
export const phoneNumbers = new Hono<AppEnv>()
  .use(requireApiKey)

  .get(
    "/available",
    resolveCallerFirst,
    validate("query", SearchAvailablePhoneNumbersQuerySchema),
    async (c) => {
      const query = c.req.valid("query");
      refuseUnlessConfigured(c);
      // The workspace's search limit, then Twilio, then the numbers remembered as buyable: all
      // in its object, so that a search over the limit never reaches Twilio.
      const result = await inWorkspace<Limited<SearchAnswer>>(c, () =>
        workspaceNumbers(c).search(
          {
            workspaceId: c.get("caller").workspaceId,
            areaCode: query.area_code,
            limit: Math.min(Number(query.limit ?? DEFAULT_SEARCH_LIMIT), MAX_SEARCH_LIMIT),
            ttlMs: recentSearchTtlMs(c.env),
            requestId: c.get("requestId"),
          },
          callerRateLimits(c).search,
        ),
      );
      const outcome = admitted(c, result);
      c.set("upstream", outcome.upstream);
      if (!outcome.ok) {
        const { kind, message, details } = outcome.failure;
        throw new UpstreamFailure(kind, message, details);
      }
      return c.json({ numbers: outcome.numbers }, 200);
    },
  )

  .post(
    "/purchase",
    resolveCallerAndAgent,
    jsonBody,
    validate("json", PurchasePhoneNumberRequestSchema),
    async (c) => {
      const body = c.req.valid("json");
      const caller = c.get("caller");
      refuseUnlessConfigured(c, { needsTrunk: true });
      const agentId = body.agent_id ?? null;
      // An empty label is no label, as in PATCH.
      const label = body.label || null;
      const idempotency = await idempotencyOf(c, {
        operation: "purchase",
        e164: body.e164,
        label,
        agent_id: agentId,
      });
      // The workspace's own rules, in order: its write limit, a repeated key, the recent
      // search, the agent, the caps; then the saga's steps (see NumberSaga.purchase).
      const result = await inWorkspace<Limited<ObjectAnswer<PurchaseOutcome>>>(c, () =>
        workspaceNumbers(c).purchase(
          {
            workspaceId: caller.workspaceId,
            e164: body.e164,
            label,
            agentId,
            agentName: agentId === null ? null : c.get("agentName"),
            purchasedNumberLimit: caller.purchasedNumberLimit ?? defaultPurchasedNumberLimit(c.env),
            idempotency,
            requestId: c.get("requestId"),
          },
          callerRateLimits(c).write,
        ),
      );
      const outcome = await settled(c, result, idempotency);
      return c.json(outcome.number, 201);
    },
  )

  .post(
    "/",
    resolveCallerAndAgent,
    jsonBody,
    validate("json", ImportPhoneNumberRequestSchema),
    async (c) => {
      const body = c.req.valid("json");
      const caller = c.get("caller");
      importsOrUnavailable(c);
      const agentId = body.agent_id ?? null;
      const label = body.label || null;
      // The request hash holds a digest of the auth token, never the token.
      const idempotency = await idempotencyOf(c, {
        operation: "import",
        e164: body.e164,
        source: body.source,
        label,
        agent_id: agentId,
        trunk_id: body.trunk_id ?? null,
        twilio: body.twilio
          ? {
              account_sid: body.twilio.account_sid,
              auth_token_sha256: await secretDigest(body.twilio.auth_token),
            }
          : null,
      });
      // The workspace's own rules, in order: a repeated key, the agent, the number held, the
      // caps; then the saga's steps (see NumberSaga.importNumber).
      const result = await inWorkspace<Limited<ObjectAnswer<PurchaseOutcome>>>(c, () =>
        workspaceNumbers(c).importNumber(
          {
            workspaceId: caller.workspaceId,
            e164: body.e164,
            source: body.source as ImportSource,
            label,
            agentId,
            agentName: agentId === null ? null : c.get("agentName"),
            purchasedNumberLimit: caller.purchasedNumberLimit ?? defaultPurchasedNumberLimit(c.env),
            twilio: body.twilio
              ? { accountSid: body.twilio.account_sid, authToken: body.twilio.auth_token }
              : null,
            trunkId: body.trunk_id ?? null,
            requestId: c.get("requestId"),
          },
          idempotency,
          callerRateLimits(c).write,
        ),
      );
      const outcome = await settled(c, result, idempotency);
      return c.json(outcome.number, 201);
    },
  )

  .get("/", async (c) => {
    const { results } = await resolveCaller(
      c,
      (db) => [listActiveStatement(db, c.get("keyHash"))],
      { ownWrites: true },
    );
    const rows = (results[0]?.results ?? []) as PhoneNumberRow[];
    return c.json({ numbers: rows.map(toPhoneNumber) }, 200);
  })

  .get("/:id", async (c) => {
    const id = c.req.param("id");
    const valid = isId("phone", id);
    const { results } = await resolveCaller(
      c,
      (db) => (valid ? [findActiveStatement(db, c.get("keyHash"), id)] : []),
      { ownWrites: true },
    );
    const row = results[0]?.results[0] as PhoneNumberRow | undefined;
    if (!row) throw phoneNumberNotFound();
    return c.json(toPhoneNumber(row), 200);
  })

  .patch(
    "/:id",
    resolveCallerAndAgent,
    jsonBody,
    validate("json", UpdatePhoneNumberRequestSchema),
    async (c) => {
      const id = c.req.param("id");
      if (!isId("phone", id)) throw phoneNumberNotFound();
      const body = c.req.valid("json");
      // clear_agent_id wins over agent_id; agent_id: null unbinds too. An empty label clears it.
      const agentId = body.clear_agent_id === true ? null : body.agent_id;
      const label = body.label === undefined ? undefined : body.label || null;
      const idempotency = await idempotencyOf(c, {
        operation: "update",
        id,
        label: label === undefined ? "(unchanged)" : label,
        agent_id: agentId === undefined ? "(unchanged)" : agentId,
      });
      // The workspace's own rules, in order: its write limit, a repeated key, the number, the
      // agent; then D1, then the carrier and LiveKit (see NumberSaga.update).
      const result = await inWorkspace<Limited<ObjectAnswer<UpdateOutcome>>>(c, () =>
        workspaceNumbers(c).update(
          {
            workspaceId: c.get("caller").workspaceId,
            id,
            label,
            agentId,
            agentName: typeof agentId === "string" ? c.get("agentName") : null,
            idempotency,
            requestId: c.get("requestId"),
          },
          callerRateLimits(c).write,
        ),
      );
      const outcome = await settled(c, result, idempotency);
      return c.json(outcome.number, 200);
    },
  )

  .delete("/:id", async (c) => {
    const id = c.req.param("id");
    await resolveCaller(c);
    if (!isId("phone", id)) throw phoneNumberNotFound();
    const idempotency = await idempotencyOf(c, { operation: "release", id });
    const result = await inWorkspace<Limited<ObjectAnswer<ReleaseOutcome>>>(c, () =>
      workspaceNumbers(c).release(
        {
          workspaceId: c.get("caller").workspaceId,
          id,
          idempotency,
          requestId: c.get("requestId"),
        },
        callerRateLimits(c).write,
      ),
    );
    await settled(c, result, idempotency);
    return c.body(null, 204);
  });
