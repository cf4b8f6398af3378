import { twilioConfig } from "../config";
import type { LogFields } from "../log";
import {
  type CustomerAccount,
  type CustomerNumber,
  type PreviousVoice,
  UpstreamFailure,
} from "../saga/ports";
import { TwilioClient } from "./client";
import { TwilioError } from "./failures";

/**
 * A customer's own Twilio account, acting with the customer's credentials (imports): the
 * account check, its numbers and verified caller ids, and the Elastic SIP trunk we keep on it.
 * Twilio's words stay here; failures are told in the saga's terms, with `details.customer` when
 * the account itself refused us.
 */
export class TwilioCustomerAccount implements CustomerAccount {
  constructor(private readonly client: TwilioClient) {}

  check(): Promise<void> {
    return translated(async () => {
      const account = await this.client.fetchAccount();
      if (account.status !== "active") {
        throw new UpstreamFailure("number_refused", "the Twilio account is not active", {
          replied: true,
          customer: "account_inactive",
        });
      }
    });
  }

  findNumber(e164: string): Promise<CustomerNumber | null> {
    return translated(async () => {
      const found = await this.client.findNumberVoice(e164);
      if (!found) return null;
      return {
        sid: found.sid,
        trunkSid: found.trunk_sid ?? null,
        voice: {
          url: found.voice_url ?? null,
          method: found.voice_method ?? null,
          applicationSid: found.voice_application_sid ?? null,
        },
      };
    });
  }

  findCallerId(e164: string): Promise<{ sid: string } | null> {
    return translated(() => this.client.findCallerId(e164));
  }

  ensureTrunk(domainName: string, friendlyName: string, lookFirst: boolean): Promise<string> {
    return translated(async () => {
      if (lookFirst) {
        const found = await this.client.findTrunkByDomain(domainName);
        if (found) return found.sid;
      }
      try {
        return (await this.client.createTrunk({ domainName, friendlyName })).sid;
      } catch (error) {
        // 21248: the name is taken: by our own trunk whose creation reply was lost (adopted),
        // or by someone else (refused: the caller picks the next generation's name).
        if (!(error instanceof TwilioError) || error.twilioCode !== 21248) throw error;
        const found = await this.client.findTrunkByDomain(domainName);
        if (found) return found.sid;
        throw new UpstreamFailure("number_refused", "the trunk domain name is taken", {
          replied: true,
          code: 21248,
          customer: "domain_taken",
        });
      }
    });
  }

  ensureOriginationUrl(trunkSid: string, sipUrl: string, friendlyName: string): Promise<string> {
    return translated(async () => {
      const found = await this.client.findOriginationUrl(trunkSid, sipUrl);
      return found ?? (await this.client.createOriginationUrl(trunkSid, sipUrl, friendlyName));
    });
  }

  ensureCredentials(
    trunkSid: string,
    listName: string,
    username: string,
    password: string,
  ): Promise<string> {
    return translated(async () => {
      const listSid =
        (await this.client.findCredentialList(listName)) ??
        (await this.client.createCredentialList(listName));
      if (!(await this.client.hasCredential(listSid, username))) {
        await this.client.createCredential(listSid, username, password);
      }
      await this.client.attachCredentialList(trunkSid, listSid);
      return listSid;
    });
  }

  attachNumber(trunkSid: string, numberSid: string): Promise<void> {
    return translated(() => this.client.addTrunkNumber(trunkSid, numberSid));
  }

  restoreNumber(trunkSid: string, numberSid: string, voice: PreviousVoice | null): Promise<void> {
    return translated(async () => {
      await gone(() => this.client.removeTrunkNumber(trunkSid, numberSid));
      if (voice && (voice.url || voice.applicationSid)) {
        await this.client.updateNumberVoice(numberSid, {
          voiceUrl: voice.url ?? "",
          voiceMethod: voice.method ?? "POST",
          voiceApplicationSid: voice.applicationSid ?? "",
        });
      }
    });
  }

  deleteTrunk(trunkSid: string): Promise<void> {
    return translated(() => gone(() => this.client.deleteTrunk(trunkSid)));
  }

  findTrunk(domainName: string): Promise<string | null> {
    return translated(async () => (await this.client.findTrunkByDomain(domainName))?.sid ?? null);
  }

  /** Every trunk of the account (reconcile looks for ours among them). */
  listTrunks(): Promise<{ sid: string; domainName: string | null }[]> {
    return translated(async () =>
      (await this.client.listTrunks()).map((t) => ({
        sid: t.sid,
        domainName: t.domain_name ?? null,
      })),
    );
  }

  findCredentialList(listName: string): Promise<string | null> {
    return translated(() => this.client.findCredentialList(listName));
  }

  deleteCredentialList(listSid: string): Promise<void> {
    return translated(() => gone(() => this.client.deleteCredentialList(listSid)));
  }
}

/** A delete of something already gone (404) succeeds. */
async function gone(call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (error instanceof TwilioError && error.httpStatus === 404) return;
    throw error;
  }
}

/** The customer's account, acting with its credentials, logging each call with `logContext`. */
export function twilioCustomerAccount(
  env: Env,
  credentials: { accountSid: string; authToken: string },
  logContext: LogFields,
): TwilioCustomerAccount {
  const config = twilioConfig(env);
  return new TwilioCustomerAccount(
    new TwilioClient(
      config,
      {
        accountSid: credentials.accountSid,
        username: credentials.accountSid,
        password: credentials.authToken,
      },
      { ...logContext, twilio_account: credentials.accountSid },
    ),
  );
}

/**
 * A customer account's answers in the saga's terms: its credentials or its state refused
 * (401, 20003, 20005) is the customer's to fix; another 4xx refused this request; a 5xx or no
 * reply is an unknown outcome; 429 is throttling.
 */
function toCustomerFailure(error: TwilioError): UpstreamFailure {
  const status = error.httpStatus;
  const code = error.twilioCode;
  const details = { replied: status !== null, code };
  if (code === 20005) {
    return new UpstreamFailure("number_refused", "the Twilio account is not active", {
      ...details,
      customer: "account_inactive",
    });
  }
  if (status === 401 || code === 20003) {
    return new UpstreamFailure("number_refused", "Twilio rejected the customer's credentials", {
      ...details,
      customer: "credentials_rejected",
    });
  }
  if (error.kind !== "answered" || status === null || status >= 500) {
    return new UpstreamFailure("unknown_outcome", error.message, details);
  }
  if (status === 429) {
    return new UpstreamFailure("throttled", error.message, {
      ...details,
      retryAfterSeconds: error.retryAfterSeconds,
    });
  }
  if (status === 404) return new UpstreamFailure("not_found", error.message, details);
  return new UpstreamFailure("number_refused", error.message, details);
}

async function translated<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TwilioError) throw toCustomerFailure(error);
    throw error;
  }
}
