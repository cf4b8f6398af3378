import * as z from "zod/mini";

// The parts of Twilio's resources this service reads. Anything else Twilio sends is ignored;
// a single resource that lacks these fields is a reply we could not read, and a list item that
// lacks them is skipped.

const nullableString = z.optional(z.nullable(z.string()));

export const AvailableLocalNumberSchema = z.object({
  phone_number: z.string(),
  friendly_name: nullableString,
  locality: nullableString,
  region: nullableString,
  iso_country: z.string(),
  // Twilio spells these keys `voice`, `SMS`, `MMS` here and lower-case elsewhere.
  capabilities: z.optional(z.nullable(z.looseObject({}))),
});
export type AvailableLocalNumber = z.infer<typeof AvailableLocalNumberSchema>;

export const IncomingPhoneNumberSchema = z.object({
  sid: z.string(),
  phone_number: z.string(),
  friendly_name: nullableString,
  date_created: nullableString,
  trunk_sid: nullableString,
});
export type IncomingPhoneNumber = z.infer<typeof IncomingPhoneNumberSchema>;

/** A number with the voice settings an import saves, to restore them on release. */
export const NumberVoiceSchema = z.object({
  sid: z.string(),
  phone_number: z.string(),
  trunk_sid: nullableString,
  voice_url: nullableString,
  voice_method: nullableString,
  voice_application_sid: nullableString,
});
export type NumberVoice = z.infer<typeof NumberVoiceSchema>;

export const AccountSchema = z.object({ sid: z.string(), status: z.string() });

export const OutgoingCallerIdSchema = z.object({ sid: z.string(), phone_number: z.string() });

/** Any resource with a SID, keeping its other fields. */
export const SidSchema = z.looseObject({ sid: z.string() });

export const TrunkSchema = z.object({ sid: z.string(), domain_name: nullableString });
export type TrunkResource = z.infer<typeof TrunkSchema>;

/** A trunking v1 list page: `{[key]: items, meta: {next_page_url}}`; null if unreadable. */
export function readPageV1<T>(
  body: unknown,
  key: string,
  schema: z.ZodMiniType<T>,
): { items: T[]; nextPageUrl: string | null } | null {
  if (!body || typeof body !== "object") return null;
  const raw = (body as Record<string, unknown>)[key];
  if (!Array.isArray(raw)) return null;
  const items: T[] = [];
  for (const item of raw) {
    const parsed = schema.safeParse(item);
    if (parsed.success) items.push(parsed.data);
  }
  const meta = (body as Record<string, unknown>).meta as Record<string, unknown> | undefined;
  const next = meta?.next_page_url;
  return { items, nextPageUrl: typeof next === "string" && next !== "" ? next : null };
}

/**
 * A Twilio list page: `items` under `key`, each read with `schema`; null if the page itself is
 * unreadable. An item that cannot be read (Twilio marks even `phone_number` nullable) is
 * skipped and counted, so that one odd item does not break the page.
 */
export function readPage<T>(
  body: unknown,
  key: string,
  schema: z.ZodMiniType<T>,
): { items: T[]; skipped: number; nextPageUri: string | null } | null {
  if (!body || typeof body !== "object") return null;
  const raw = (body as Record<string, unknown>)[key];
  if (!Array.isArray(raw)) return null;
  const items: T[] = [];
  let skipped = 0;
  for (const item of raw) {
    const parsed = schema.safeParse(item);
    if (parsed.success) items.push(parsed.data);
    else skipped++;
  }
  const next = (body as Record<string, unknown>).next_page_uri;
  return { items, skipped, nextPageUri: typeof next === "string" && next !== "" ? next : null };
}

/** Twilio's error body `{code, message, more_info, status}`, as far as it can be read. */
export function readErrorBody(body: unknown): { code: number | null; message: string } {
  const fields = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  return {
    code: typeof fields.code === "number" ? fields.code : null,
    message: typeof fields.message === "string" ? fields.message : "",
  };
}

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
