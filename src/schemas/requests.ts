import * as z from "zod/mini";
import { idPattern } from "../ids";

// Request shapes of /v1/agents/phone-numbers*: what the validation hook checks, and the source
// of the OpenAPI document's parameters and request bodies.

const e164 = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
  .check(z.regex(/^\+[1-9][0-9]{1,14}$/, "must be an E.164 number such as +14155550123"));

const agentId = z
  .string({ error: "must be a string" })
  .check(z.regex(idPattern("agent"), "must be an agent id (agent_ followed by 26 characters)"));

/**
 * Characters a label may not hold: control characters (NUL, CR, LF...), line and paragraph
 * separators, and the invisible marks that reorder text (bidirectional overrides, isolates and
 * marks), which would make a label display as something other than what it is.
 */
const LABEL_FORBIDDEN = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;

// Twilio's FriendlyName holds at most 64 characters and the label is sent as it.
const label = z.string({ error: "must be a string" }).check(
  z.maxLength(64, "must be at most 64 characters"),
  z.refine(
    (value) => !LABEL_FORBIDDEN.test(value),
    "must not contain control characters, line breaks or bidirectional overrides",
  ),
);

export const MAX_SEARCH_LIMIT = 50;

export const DEFAULT_SEARCH_LIMIT = 20;

// Query values are strings on the wire; the route applies the defaults (country US, limit 20)
// and serves any limit above the cap as the cap.
export const SearchAvailablePhoneNumbersQuerySchema = z.object({
  country: z.optional(z.string().check(z.regex(/^US$/, "only US is supported"))),
  area_code: z.optional(
    z.string().check(z.regex(/^[2-9][0-9]{2}$/, "must be a three-digit US area code")),
  ),
  limit: z.optional(
    z.string().check(z.regex(/^[1-9][0-9]{0,5}$/, "must be a whole number from 1 to 50")),
  ),
});

export const PurchasePhoneNumberRequestSchema = z.strictObject({
  e164,
  label: z.optional(label),
  agent_id: z.optional(agentId),
});
export type PurchasePhoneNumberRequest = z.infer<typeof PurchasePhoneNumberRequestSchema>;

export const UpdatePhoneNumberRequestSchema = z.strictObject({
  label: z.optional(label),
  agent_id: z.optional(z.nullable(agentId)),
  clear_agent_id: z.optional(z.boolean({ error: "must be true or false" })),
});
export type UpdatePhoneNumberRequest = z.infer<typeof UpdatePhoneNumberRequestSchema>;

const trunkId = z
  .string({ error: "must be a string" })
  .check(z.regex(idPattern("trunk"), "must be a trunk id (trunk_ followed by 26 characters)"));

export const TwilioImportSpecSchema = z.strictObject({
  account_sid: z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
    .check(z.regex(/^AC[0-9a-fA-F]{32}$/, "must be a Twilio Account SID (AC and 32 hex digits)")),
  auth_token: z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
    .check(z.minLength(1, "must not be empty"), z.maxLength(256, "must be at most 256 characters")),
});

/**
 * An import. `source` names where the number comes from; `twilio_purchased` (use /purchase)
 * and `verified_caller_id` (decided by the server) are refused. What each source requires is
 * checked here, naming the field.
 */
export const ImportPhoneNumberRequestSchema = z
  .strictObject({
    e164,
    source: z.enum(["livekit", "twilio", "byoc", "twilio_purchased", "verified_caller_id"], {
      error: (issue) =>
        issue.input === undefined ? "is required" : "must be one of livekit, twilio, byoc",
    }),
    label: z.optional(label),
    trunk_id: z.optional(trunkId),
    agent_id: z.optional(agentId),
    twilio: z.optional(TwilioImportSpecSchema),
  })
  .check(
    z.superRefine((body, ctx) => {
      const issue = (path: string[], message: string) =>
        ctx.issues.push({ code: "custom", input: body, path, message });
      if (body.source === "twilio_purchased") {
        issue(["source"], "twilio_purchased numbers are bought with POST .../purchase");
      }
      if (body.source === "verified_caller_id") {
        issue(["source"], "is decided by the server: import with source twilio");
      }
      if (body.source === "twilio" && !body.twilio)
        issue(["twilio"], "is required for source twilio");
      if (body.source !== "twilio" && body.twilio) issue(["twilio"], "only for source twilio");
      if (body.source === "byoc" && !body.trunk_id)
        issue(["trunk_id"], "is required for source byoc");
      if (body.source !== "byoc" && body.trunk_id) issue(["trunk_id"], "only for source byoc");
      if (body.source === "livekit" && !body.e164.startsWith("+1")) {
        issue(["e164"], "LiveKit sells US numbers only (+1)");
      }
    }),
  );
export type ImportPhoneNumberRequest = z.infer<typeof ImportPhoneNumberRequestSchema>;

/** Fields a PATCH may name only to be told they cannot change. */
export const IMMUTABLE_FIELDS = ["e164", "source"] as const;
