import * as z from "zod/mini";
import { idPattern } from "../ids";

// Request and response shapes of /v1/agents/phone-numbers*. These schemas validate input
// and are the source of the OpenAPI document; responses are built to match them.

const e164 = z
  .string({ error: "must be a string" })
  .check(z.regex(/^\+[1-9][0-9]{1,14}$/, "must be an E.164 number such as +14155550123"));

const agentId = z
  .string({ error: "must be a string" })
  .check(z.regex(idPattern("agent"), "must be an agent id (agent_ followed by 26 characters)"));

// Twilio's FriendlyName holds at most 64 characters and the label is sent as it.
const label = z
  .string({ error: "must be a string" })
  .check(z.maxLength(64, "must be at most 64 characters"));

export const PhoneNumberSourceSchema = z.enum([
  "livekit",
  "twilio",
  "byoc",
  "twilio_purchased",
  "verified_caller_id",
]);
export type PhoneNumberSource = z.infer<typeof PhoneNumberSourceSchema>;

export const PhoneNumberCapabilitySchema = z.enum(["inbound", "outbound"]);
export type PhoneNumberCapability = z.infer<typeof PhoneNumberCapabilitySchema>;

export const PhoneNumberSchema = z.object({
  id: z.string(),
  e164: z.string(),
  source: PhoneNumberSourceSchema,
  label: z.nullable(z.string()),
  trunk_id: z.nullable(z.string()),
  agent_id: z.nullable(z.string()),
  capabilities: z.array(PhoneNumberCapabilitySchema),
  livekit_phone_number_id: z.nullable(z.string()),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export type PhoneNumber = z.infer<typeof PhoneNumberSchema>;

export const ListPhoneNumbersResponseSchema = z.object({
  numbers: z.array(PhoneNumberSchema),
});

export const AvailablePhoneNumberSchema = z.object({
  e164: z.string(),
  friendly_name: z.nullable(z.string()),
  locality: z.nullable(z.string()),
  region: z.nullable(z.string()),
  iso_country: z.string(),
});
export type AvailablePhoneNumber = z.infer<typeof AvailablePhoneNumberSchema>;

export const SearchAvailablePhoneNumbersResponseSchema = z.object({
  numbers: z.array(AvailablePhoneNumberSchema),
});

export const MAX_SEARCH_LIMIT = 50;

export const SearchAvailablePhoneNumbersQuerySchema = z.object({
  country: z._default(z.string().check(z.regex(/^US$/, "only US is supported")), "US"),
  area_code: z.optional(
    z.string().check(z.regex(/^[2-9][0-9]{2}$/, "must be a three-digit US area code")),
  ),
  // Query values arrive as strings; anything above the cap is served as the cap.
  limit: z._default(
    z.pipe(
      z.string().check(z.regex(/^[0-9]{1,6}$/, "must be a whole number from 1 to 50")),
      z.pipe(
        z.transform((value: string) => Number(value)),
        z.int().check(z.minimum(1, "must be a whole number from 1 to 50")),
      ),
    ),
    20,
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

/** Path parameter of /v1/agents/phone-numbers/{id}; anything else is a 404. */
export const PhoneNumberIdSchema = z.string().check(z.regex(idPattern("phone")));

/** Fields a PATCH may name only to be told they cannot change. */
export const IMMUTABLE_FIELDS = ["e164", "source"] as const;
