import * as z from "zod/mini";

// The parts of Twilio's resources this service reads. Anything else Twilio sends is ignored,
// and a reply that lacks these fields is treated as a reply we could not read.

const nullableString = z.optional(z.nullable(z.string()));

export const TwilioErrorBodySchema = z.object({
  code: z.optional(z.nullable(z.number())),
  message: z.optional(z.nullable(z.string())),
  more_info: nullableString,
  status: z.optional(z.nullable(z.number())),
});

export const AvailableLocalNumberSchema = z.object({
  phone_number: z.string(),
  friendly_name: nullableString,
  locality: nullableString,
  region: nullableString,
  iso_country: z.string(),
  // Twilio spells these keys `voice`, `SMS`, `MMS` here and lower-case elsewhere.
  capabilities: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
});
export type AvailableLocalNumber = z.infer<typeof AvailableLocalNumberSchema>;

export const AvailableLocalNumberListSchema = z.object({
  available_phone_numbers: z.array(AvailableLocalNumberSchema),
});

export const IncomingPhoneNumberSchema = z.object({
  sid: z.string(),
  phone_number: z.string(),
  friendly_name: nullableString,
  date_created: nullableString,
});
export type IncomingPhoneNumber = z.infer<typeof IncomingPhoneNumberSchema>;

export const IncomingPhoneNumberPageSchema = z.object({
  incoming_phone_numbers: z.array(IncomingPhoneNumberSchema),
  next_page_uri: nullableString,
});

/** Twilio's capability flags, read whatever the case of their keys. */
export function hasCapability(
  capabilities: Record<string, unknown> | null | undefined,
  name: "voice" | "sms" | "mms" | "fax",
): boolean {
  if (!capabilities) return false;
  for (const [key, value] of Object.entries(capabilities)) {
    if (key.toLowerCase() === name) return value === true;
  }
  return false;
}
