import type { Context } from "hono";
import { Hono } from "hono/tiny";
import type { AppEnv } from "../app-env";
import {
  requireApiKey,
  resolveCaller,
  resolveCallerAndAgent,
  resolveCallerFirst,
} from "../auth/require-api-key";
import { defaultPurchasedNumberLimit, recentSearchTtlMs, twilioConfig } from "../config";
import {
  findActivePhoneNumber,
  findActiveStatement,
  listActiveStatement,
  type PhoneNumberRow,
  toPhoneNumber,
  updatePhoneNumber,
} from "../db/phone-numbers";
import type {
  Idempotency,
  PurchaseOutcome,
  ReleaseOutcome,
} from "../durable-objects/workspace-numbers";
import { ApiError, agentNotFound, phoneNumberNotFound } from "../errors";
import { jsonBody } from "../http/json-body";
import { validate } from "../http/validation";
import { isId } from "../ids";
import { log } from "../log";
import type { AvailablePhoneNumber } from "../schemas/phone-numbers";
import {
  DEFAULT_SEARCH_LIMIT,
  MAX_SEARCH_LIMIT,
  PurchasePhoneNumberRequestSchema,
  SearchAvailablePhoneNumbersQuerySchema,
  UpdatePhoneNumberRequestSchema,
} from "../schemas/requests";
import { TwilioClient } from "../twilio/client";
import { TwilioError } from "../twilio/errors";
import { hasCapability } from "../twilio/resources";

function workspaceNumbers(c: Context<AppEnv>) {
  return c.env.WORKSPACE_NUMBERS.getByName(c.get("caller").workspaceId);
}

/**
 * A call to the workspace's Durable Object that did not return (the object was reset, evicted
 * or overloaded) leaves any work in its ledger for its alarm; the client may retry.
 */
async function inWorkspace<T>(call: () => Promise<unknown>): Promise<T> {
  try {
    return (await call()) as T;
  } catch (error) {
    log.warn("workspace_object_unavailable", { error: String(error) });
    throw new ApiError(
      503,
      "service_unavailable",
      "The request was interrupted; retry it (with its Idempotency-Key, if any).",
      { retryAfterSeconds: 1 },
    );
  }
}

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/** The request's Idempotency-Key with a hash of what it asks for, or null when it has none. */
async function idempotencyOf(c: Context<AppEnv>, request: unknown): Promise<Idempotency | null> {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError(400, "validation_failed", "Invalid Idempotency-Key header.", {
      fields: { "Idempotency-Key": "must be 1 to 255 printable ASCII characters" },
    });
  }
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(request)),
  );
  const requestHash = [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return { key, requestHash };
}

export const phoneNumbers = new Hono<AppEnv>()
  .use(requireApiKey)

  .get(
    "/available",
    resolveCallerFirst,
    validate("query", SearchAvailablePhoneNumbersQuerySchema),
    async (c) => {
      const query = c.req.valid("query");
      const twilio = TwilioClient.fromConfig(twilioConfig(c.env), {
        request_id: c.get("requestId"),
        workspace_id: c.get("caller").workspaceId,
      });
      const found = await twilio.searchAvailableLocal({
        areaCode: query.area_code,
        limit: Math.min(Number(query.limit ?? DEFAULT_SEARCH_LIMIT), MAX_SEARCH_LIMIT),
      });
      const numbers: AvailablePhoneNumber[] = found
        .filter((n) => hasCapability(n.capabilities, "voice"))
        .map((n) => ({
          e164: n.phone_number,
          friendly_name: n.friendly_name ?? null,
          locality: n.locality ?? null,
          region: n.region ?? null,
          iso_country: n.iso_country,
        }));
      await inWorkspace(() =>
        workspaceNumbers(c).rememberSearch(
          numbers.map((n) => n.e164),
          recentSearchTtlMs(c.env),
        ),
      );
      return c.json({ numbers }, 200);
    },
  )

  .post(
    "/purchase",
    jsonBody,
    resolveCallerAndAgent,
    validate("json", PurchasePhoneNumberRequestSchema),
    async (c) => {
      const body = c.req.valid("json");
      const caller = c.get("caller");
      const config = twilioConfig(c.env);
      if (!config.credentials || !config.trunkSid) {
        throw new TwilioError("not_configured", "purchase", null, null, "not configured");
      }
      const agentId = body.agent_id ?? null;
      // An empty label is no label, as in PATCH.
      const label = body.label || null;
      const idempotency = await idempotencyOf(c, {
        operation: "purchase",
        e164: body.e164,
        label,
        agent_id: agentId,
      });
      const agentFound = agentId !== null && c.get("agentFound");
      const outcome = await inWorkspace<PurchaseOutcome>(() =>
        workspaceNumbers(c).purchase({
          workspaceId: caller.workspaceId,
          e164: body.e164,
          label,
          agentId,
          agentFound,
          trunkId: caller.trunkId,
          purchasedNumberLimit: caller.purchasedNumberLimit ?? defaultPurchasedNumberLimit(c.env),
          idempotency,
          requestId: c.get("requestId"),
        }),
      );
      if (!outcome.ok) throw ApiError.fromFailure(outcome);
      if (outcome.replayed) c.header("Idempotent-Replayed", "true");
      return c.json(outcome.number, 201);
    },
  )

  .get("/", async (c) => {
    const { results } = await resolveCaller(c, listActiveStatement(c.env.DB, c.get("keyHash")));
    const rows = (results[0]?.results ?? []) as PhoneNumberRow[];
    return c.json({ numbers: rows.map(toPhoneNumber) }, 200);
  })

  .get("/:id", async (c) => {
    const id = c.req.param("id");
    const valid = isId("phone", id);
    const { results } = await resolveCaller(
      c,
      ...(valid ? [findActiveStatement(c.env.DB, c.get("keyHash"), id)] : []),
    );
    const row = results[0]?.results[0] as PhoneNumberRow | undefined;
    if (!row) throw phoneNumberNotFound();
    return c.json(toPhoneNumber(row), 200);
  })

  .patch(
    "/:id",
    jsonBody,
    resolveCallerAndAgent,
    validate("json", UpdatePhoneNumberRequestSchema),
    async (c) => {
      const id = c.req.param("id");
      if (!isId("phone", id)) throw phoneNumberNotFound();
      const body = c.req.valid("json");
      const { workspaceId } = c.get("caller");
      // clear_agent_id wins over agent_id; agent_id: null unbinds too.
      let agentId: string | null | undefined = body.agent_id;
      if (body.clear_agent_id === true) agentId = null;
      if (agentId && !c.get("agentFound")) {
        if (!(await findActivePhoneNumber(c.env.DB, workspaceId, id))) throw phoneNumberNotFound();
        throw agentNotFound();
      }
      const row = await updatePhoneNumber(
        c.env.DB,
        workspaceId,
        id,
        {
          label: body.label === undefined ? undefined : body.label === "" ? null : body.label,
          agentId,
        },
        new Date().toISOString(),
      );
      if (!row) throw phoneNumberNotFound();
      return c.json(toPhoneNumber(row), 200);
    },
  )

  .delete("/:id", async (c) => {
    const id = c.req.param("id");
    await resolveCaller(c);
    if (!isId("phone", id)) throw phoneNumberNotFound();
    const idempotency = await idempotencyOf(c, { operation: "release", id });
    const outcome = await inWorkspace<ReleaseOutcome>(() =>
      workspaceNumbers(c).release({
        workspaceId: c.get("caller").workspaceId,
        id,
        idempotency,
        requestId: c.get("requestId"),
      }),
    );
    if (!outcome.ok) throw ApiError.fromFailure(outcome);
    if (outcome.replayed) c.header("Idempotent-Replayed", "true");
    return c.body(null, 204);
  });
