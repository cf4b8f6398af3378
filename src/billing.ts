import type { PhoneNumberSource } from "./schemas/phone-numbers";

/**
 * Sources of numbers the platform pays for until they are released: bought on the master
 * Twilio account, or bought from LiveKit on the platform's project. They count against a
 * workspace's purchased-number limit, in the ledger and in D1's claim alike.
 */
export const PLATFORM_BILLED_SOURCES: readonly PhoneNumberSource[] = [
  "twilio_purchased",
  "livekit",
];

export function billedToPlatform(source: PhoneNumberSource): boolean {
  return PLATFORM_BILLED_SOURCES.includes(source);
}

/** SQL list of the billed sources, for `source IN (...)`. */
export const PLATFORM_BILLED_SQL = PLATFORM_BILLED_SOURCES.map((s) => `'${s}'`).join(", ");
