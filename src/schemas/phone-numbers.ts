import * as z from "zod/mini";
import { idPattern } from "../ids";

// Response shapes of /v1/agents/phone-numbers*. Routes build their responses to match these;
// the OpenAPI document is generated from them, and the tests validate every response against
// that document. The Worker imports only their types, so they stay out of its bundle.

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

/** Path parameter of /v1/agents/phone-numbers/{id}; anything else is a 404. */
export const PhoneNumberIdSchema = z.string().check(z.regex(idPattern("phone")));
