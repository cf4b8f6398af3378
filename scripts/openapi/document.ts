// The OpenAPI 3.1 document of the API, built from the zod schemas in src/schemas (the only
// definition of the API's shapes). Run by `npm run openapi`, which writes public/openapi.json;
// the Worker serves that file as a static asset, so no schema converter ships in the bundle.
import * as z from "zod/mini";
import { ErrorCodeSchema, ErrorSchema } from "../../src/schemas/error-body";
import {
  AvailablePhoneNumberSchema,
  ListPhoneNumbersResponseSchema,
  PhoneNumberCapabilitySchema,
  PhoneNumberIdSchema,
  PhoneNumberSchema,
  PhoneNumberSourceSchema,
  SearchAvailablePhoneNumbersResponseSchema,
} from "../../src/schemas/phone-numbers";
import {
  ImportPhoneNumberRequestSchema,
  PurchasePhoneNumberRequestSchema,
  SearchAvailablePhoneNumbersQuerySchema,
  TwilioImportSpecSchema,
  UpdatePhoneNumberRequestSchema,
} from "../../src/schemas/requests";

type Json = Record<string, unknown>;
type Meta = { id: string; description?: string };

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

function components(registry: z.core.$ZodRegistry<Meta>, io: "input" | "output"): Json {
  const { schemas } = z.toJSONSchema(registry, {
    io,
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

function outputs(): Json {
  const registry = z.registry<Meta>();
  registry.add(ErrorCodeSchema, {
    id: "ErrorCode",
    description: "Stable machine-readable error code. Additive only.",
  });
  registry.add(ErrorSchema, {
    id: "Error",
    description: "Standard error envelope returned on every non-2xx response.",
  });
  registry.add(PhoneNumberSourceSchema, { id: "PhoneNumberSource" });
  registry.add(PhoneNumberCapabilitySchema, { id: "PhoneNumberCapability" });
  registry.add(PhoneNumberSchema, {
    id: "PhoneNumber",
    description: "A phone number in the workspace. Optional fields are null when empty.",
  });
  registry.add(ListPhoneNumbersResponseSchema, { id: "ListPhoneNumbersResponse" });
  registry.add(AvailablePhoneNumberSchema, {
    id: "AvailablePhoneNumber",
    description: "One hit of a search. The number is not held.",
  });
  registry.add(SearchAvailablePhoneNumbersResponseSchema, {
    id: "SearchAvailablePhoneNumbersResponse",
  });
  return components(registry, "output");
}

function inputs(): Json {
  const registry = z.registry<Meta>();
  registry.add(PurchasePhoneNumberRequestSchema, {
    id: "PurchasePhoneNumberRequest",
    description: "e164 must come from a search by this workspace in the last 15 minutes.",
  });
  registry.add(TwilioImportSpecSchema, {
    id: "TwilioImportSpec",
    description:
      "The customer's Twilio account and auth token (source twilio). The token is write-only: stored encrypted, never echoed, logged or returned.",
  });
  registry.add(ImportPhoneNumberRequestSchema, {
    id: "ImportPhoneNumberRequest",
    description:
      "source twilio needs `twilio`; source byoc needs `trunk_id`; source livekit needs a US e164. `verified_caller_id` and `twilio_purchased` are refused (the server decides verified_caller_id).",
  });
  registry.add(UpdatePhoneNumberRequestSchema, {
    id: "UpdatePhoneNumberRequest",
    description:
      'label "" clears the label; agent_id null or clear_agent_id true unbinds (the flag wins).',
  });
  return components(registry, "input");
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "The request was malformed or failed validation (`validation_failed` names each field in `fields`).",
  402: "A cap is reached: 100 numbers of any source, or (source livekit) the purchased-number limit.",
  401: "The API key is missing, malformed, unknown or revoked.",
  404: "No such phone number in the caller's workspace.",
  409: "The Idempotency-Key was used with another request, or is still in flight (Retry-After).",
  413: "The body is larger than 16 KiB.",
  415: "The body is not application/json.",
  422: "Semantically refused: an agent not in the workspace (`not_found`) or a cap (`conflict`).",
  429: "The workspace's rate limit for this kind of request is reached (`rate_limited`); nothing was done. Retry-After says when to retry.",
  500: "An unexpected error; the response reveals nothing.",
  503: "Twilio is unavailable or the outcome is not settled yet (Retry-After), or a lasting refusal an operator must resolve (no Retry-After).",
};

const requestIdHeader = {
  "X-Request-ID": {
    description: "The request's id: the client's own X-Request-ID if sane, else a new one.",
    schema: { type: "string" },
  },
};

/**
 * IETF draft RateLimit headers, on every response of a rate-limited operation that reached the
 * workspace's limiter (success, refusal or 429; not a 401 or a malformed request).
 */
const rateLimitHeaders = {
  "RateLimit-Limit": {
    description:
      "Requests of this kind (searches; or purchases, changes and releases together) the workspace may make at once from a full allowance (its burst); the allowance refills at the workspace's rate a minute.",
    schema: { type: "integer", minimum: 1 },
  },
  "RateLimit-Remaining": {
    description: "Requests of this kind the workspace may still make now.",
    schema: { type: "integer", minimum: 0 },
  },
  "RateLimit-Reset": {
    description: "Seconds until the allowance is full again.",
    schema: { type: "integer", minimum: 0 },
  },
};

/** Statuses answered before the workspace's limiter is reached: never with RateLimit headers. */
const BEFORE_THE_LIMITER = ["401", "413", "415", "500"];

/**
 * The responses of a rate-limited operation: RateLimit headers on every one that may come from
 * the workspace's object (a 400 or 404 may, or may come before it), and the 429.
 */
function rateLimited(responses: Json): Json {
  const result: Json = { ...responses, ...errors(429) };
  for (const [status, response] of Object.entries(result)) {
    if (BEFORE_THE_LIMITER.includes(status)) continue;
    const withHeaders = response as { headers: Json };
    result[status] = { ...withHeaders, headers: { ...withHeaders.headers, ...rateLimitHeaders } };
  }
  return result;
}

function errors(...statuses: number[]): Json {
  const responses: Json = {};
  for (const status of statuses) {
    const headers: Json = { ...requestIdHeader };
    if (status === 503 || status === 409 || status === 429) {
      headers["Retry-After"] = {
        description:
          status === 429
            ? "Whole seconds (at least 1) to wait before retrying."
            : "Seconds to wait before retrying.",
        schema: { type: "integer", ...(status === 429 ? { minimum: 1 } : {}) },
      };
    }
    responses[status] = {
      description: ERROR_DESCRIPTIONS[status],
      headers,
      content: { "application/json": { schema: ref("Error") } },
    };
  }
  return responses;
}

function ok(status: number, description: string, schema?: string, replayable = false): Json {
  const headers: Json = { ...requestIdHeader };
  if (replayable) {
    headers["Idempotent-Replayed"] = {
      description:
        "`true` when this is the stored response of an earlier request with the same key.",
      schema: { type: "string", enum: ["true"] },
    };
  }
  return {
    [status]: {
      description,
      headers,
      ...(schema ? { content: { "application/json": { schema: ref(schema) } } } : {}),
    },
  };
}

const idempotencyKey = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Makes the request safe to retry: 1-255 printable ASCII characters, kept 24 hours.",
  schema: { type: "string", minLength: 1, maxLength: 255 },
};

const idParameter = {
  name: "id",
  in: "path",
  required: true,
  description: "`phone_` followed by a 26-character ULID. Anything else is a 404.",
  schema: z.toJSONSchema(PhoneNumberIdSchema, { target: "draft-2020-12" }),
};

function queryParameters(): Json[] {
  const schema = z.toJSONSchema(SearchAvailablePhoneNumbersQuerySchema, {
    io: "output",
    target: "draft-2020-12",
  }) as { properties: Record<string, Json> };
  const descriptions: Record<string, string> = {
    country: 'ISO-3166 alpha-2 country code; only "US" is supported.',
    area_code: "Three-digit NPA to narrow the search to.",
    limit: "Max results to return. Values above 50 are served as 50.",
  };
  return Object.entries(schema.properties).map(([name, property]) => ({
    name,
    in: "query",
    required: false,
    description: descriptions[name],
    schema: property,
  }));
}

function body(schema: string): Json {
  return { required: true, content: { "application/json": { schema: ref(schema) } } };
}

export function buildOpenApiDocument(): Json {
  const itemErrors = [401, 404, 500];
  return {
    openapi: "3.1.0",
    info: {
      title: "Phone numbers API",
      version: "1.0.0",
      description:
        "Search the carrier's inventory, buy a number on the platform's master Twilio account, bind it to an agent, change it and release it.",
    },
    servers: [{ url: "http://localhost:8787", description: "npm run dev" }],
    security: [{ bearerAuth: [] }],
    paths: {
      "/openapi.json": {
        get: {
          operationId: "openapi",
          summary: "This document",
          security: [],
          responses: {
            200: {
              description: "The OpenAPI document.",
              content: { "application/json": { schema: { type: "object" } } },
            },
          },
        },
      },
      "/v1/agents/phone-numbers": {
        post: {
          operationId: "import",
          summary: "Import Phone Number",
          description:
            "Imports a number the customer brings. `twilio`: a number of the customer's Twilio account (checked with its credentials), put on an Elastic SIP trunk we keep on that account; a verified caller id of the account becomes `verified_caller_id` (outbound only). `byoc`: a number of the workspace's SIP trunk `trunk_id`. `livekit`: LiveKit buys the number (US only; billed to the platform). Wrong Twilio credentials are a 400 naming `twilio.auth_token`; the same number held by any workspace is a 409; a cap is a 402.",
          parameters: [idempotencyKey],
          requestBody: body("ImportPhoneNumberRequest"),
          responses: rateLimited({
            ...ok(201, "The imported phone number.", "PhoneNumber", true),
            ...errors(400, 401, 402, 409, 413, 415, 422, 500, 503),
          }),
        },
        get: {
          operationId: "list",
          summary: "List Phone Numbers",
          description: "The workspace's phone numbers, newest first, at most 100.",
          responses: {
            ...ok(200, "The phone numbers of the workspace.", "ListPhoneNumbersResponse"),
            ...errors(401, 500),
          },
        },
      },
      "/v1/agents/phone-numbers/available": {
        get: {
          operationId: "search-available",
          summary: "Search Available Phone Numbers",
          description:
            "Searches Twilio for voice-enabled US local numbers. The numbers returned may be bought by this workspace for the next 15 minutes. Counted against the workspace's search rate limit (429 over it; RateLimit headers say where it stands).",
          parameters: queryParameters(),
          responses: rateLimited({
            ...ok(200, "Available numbers (may be empty).", "SearchAvailablePhoneNumbersResponse"),
            ...errors(400, 401, 500, 503),
          }),
        },
      },
      "/v1/agents/phone-numbers/purchase": {
        post: {
          operationId: "purchase",
          summary: "Purchase Phone Number",
          description:
            "Buys the number on the master Twilio account, wired for inbound and outbound calls. Caps: the workspace's purchased-number limit (default 3) and 100 numbers of any source. Counted against the workspace's write rate limit (purchases, changes and releases together; 429 over it).",
          parameters: [idempotencyKey],
          requestBody: body("PurchasePhoneNumberRequest"),
          responses: rateLimited({
            ...ok(201, "The purchased phone number.", "PhoneNumber", true),
            ...errors(400, 401, 409, 413, 415, 422, 500, 503),
          }),
        },
      },
      "/v1/agents/phone-numbers/{id}": {
        parameters: [idParameter],
        get: {
          operationId: "get",
          summary: "Get Phone Number",
          responses: { ...ok(200, "The phone number.", "PhoneNumber"), ...errors(...itemErrors) },
        },
        patch: {
          operationId: "update",
          summary: "Update Phone Number",
          description:
            "Only label and agent_id change; e164 and source are immutable (400). The change is recorded at once; the label reaches Twilio as the number's FriendlyName shortly after. Counted against the workspace's write rate limit (429 over it).",
          parameters: [idempotencyKey],
          requestBody: body("UpdatePhoneNumberRequest"),
          responses: rateLimited({
            ...ok(200, "The updated phone number.", "PhoneNumber", true),
            ...errors(400, 401, 404, 409, 413, 415, 422, 500, 503),
          }),
        },
        delete: {
          operationId: "delete",
          summary: "Delete Phone Number",
          description:
            "Releases the number (at Twilio, for purchased numbers). Twilio's 404 is confirmed by a lookup by number before the release is recorded; a release Twilio refuses for good leaves the number listed until an operator resolves it (503 without Retry-After). Counted against the workspace's write rate limit (429 over it).",
          parameters: [idempotencyKey],
          responses: rateLimited({
            ...ok(204, "Released.", undefined, true),
            ...errors(400, 401, 404, 409, 500, 503),
          }),
        },
      },
    },
    components: {
      schemas: { ...outputs(), ...inputs() },
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "Your API key with the Bearer prefix: `Authorization: Bearer sk_...`.",
        },
      },
    },
  };
}
