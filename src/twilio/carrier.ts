import { twilioConfig } from "../config";
import type { LogFields } from "../log";
import type { Carrier } from "../saga/ports";
import type { AvailablePhoneNumber } from "../schemas/phone-numbers";
import { TwilioClient } from "./client";
import { TwilioError, toUpstreamFailure } from "./failures";
import { hasCapability } from "./resources";

/**
 * The saga's Carrier port over the master Twilio account: Twilio's resources and failures are
 * translated here into the service's own terms, and go no further.
 */
export class TwilioCarrier implements Carrier {
  constructor(
    private readonly client: TwilioClient,
    private readonly trunkSid: string,
  ) {}

  /** Local US numbers for sale that can take voice calls. */
  searchAvailable(options: { areaCode?: string; limit: number }): Promise<AvailablePhoneNumber[]> {
    return translated(async () => {
      const found = await this.client.searchAvailableLocal(options);
      return found
        .filter((n) => hasCapability(n.capabilities, "voice"))
        .map((n) => ({
          e164: n.phone_number,
          friendly_name: n.friendly_name ?? null,
          locality: n.locality ?? null,
          region: n.region ?? null,
          iso_country: n.iso_country,
        }));
    });
  }

  buy(order: { e164: string; label: string | null }): Promise<{ sid: string }> {
    return translated(async () => {
      const bought = await this.client.purchase({
        e164: order.e164,
        friendlyName: order.label,
        trunkSid: this.trunkSid,
      });
      return { sid: bought.sid };
    });
  }

  findOwned(e164: string): Promise<{ sid: string } | null> {
    return translated(async () => {
      const owned = await this.client.findOwned(e164);
      return owned ? { sid: owned.sid } : null;
    });
  }

  release(number: { sid: string; e164: string }): Promise<void> {
    return translated(() => this.client.release(number.sid));
  }

  setLabel(sid: string, label: string | null): Promise<void> {
    return translated(() => this.client.updateFriendlyName(sid, label));
  }
}

/**
 * The master account as a carrier, logging each call with `logContext`; null when this
 * deployment has no Twilio credentials (or, for purchases, no trunk to put numbers on).
 */
export function twilioCarrier(
  env: Env,
  logContext: LogFields,
  options: { needsTrunk: boolean } = { needsTrunk: false },
): TwilioCarrier | null {
  const config = twilioConfig(env);
  if (!config.credentials || (options.needsTrunk && !config.trunkSid)) return null;
  return new TwilioCarrier(
    new TwilioClient(config, config.credentials, logContext),
    config.trunkSid ?? "",
  );
}

async function translated<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TwilioError) throw toUpstreamFailure(error);
    throw error;
  }
}
