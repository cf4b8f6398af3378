import { billedToPlatform } from "../billing";
import { type NewPhoneNumber, toPhoneNumber } from "../db/phone-numbers";
import { newId } from "../ids";
import type { PhoneNumber } from "../schemas/phone-numbers";
import { type LedgerRow, recordOf } from "./ledger";
import type { Refusal } from "./outcomes";
import {
  type AccountTrunk,
  type CustomerAccount,
  type FromRequest,
  type ImportPorts,
  type ImportTelephony,
  type PreviousVoice,
  type SagaPorts,
  type Telephony,
  type TrunkRecord,
  UpstreamFailure,
} from "./ports";
import type { NumberWiring } from "./wiring";

/** The sources a client may import; `verified_caller_id` is decided here, never asked for. */
export type ImportSource = "twilio" | "byoc" | "livekit";

export type ImportRequest = FromRequest & {
  workspaceId: string;
  e164: string;
  source: ImportSource;
  label: string | null;
  agentId: string | null;
  /** As in PurchaseRequest: agentId's LiveKit agent name, null when not the workspace's. */
  agentName: string | null;
  purchasedNumberLimit: number;
  /** source twilio: the customer's account and token (in clear only until sealed, here). */
  twilio: { accountSid: string; authToken: string } | null;
  /** source byoc: the workspace's SIP trunk. */
  trunkId: string | null;
};

/**
 * What an import has done so far, in its ledger row (`import_progress`, JSON). Every flag is
 * written before the step it names is sent, so that a retry or the compensation knows what
 * may exist upstream even when a reply was lost.
 */
export type ImportProgress = {
  kind: ImportSource;
  accountSid: string | null;
  /** The customer's token while the import runs, sealed for this row; null once active. */
  sealedToken: string | null;
  claimed: boolean;
  /** The customer's IncomingPhoneNumber (or OutgoingCallerId) SID. */
  numberSid: string | null;
  /** The number is a verified caller id of the account, not one of its numbers. */
  callerId: boolean;
  /** What answered the number before our trunk, restored on release. */
  previousVoice: PreviousVoice | null;
  /** The number may be on our Twilio trunk. */
  attached: boolean;
  /** The number may be a caller id of its trunk's LiveKit outbound trunk (1) or not (0). */
  outboundAdded: 0 | 1;
  /** source livekit: the purchase was sent; LiveKit's id once known. */
  purchaseSent: boolean;
  livekitNumberId: string | null;
};

type Fields = Record<string, unknown>;

/** What the saga lends the imports: its ledger bookkeeping. */
export type ImportHelpers = {
  retryLater(id: string): void;
  /** Deletes the row and frees its unfinished keys. */
  close(row: LedgerRow): void;
  /**
   * Rests the row in `needs_operator` (not retried by the alarm), flagged in D1 for reconcile,
   * logged at error level.
   */
  handToOperator(row: LedgerRow, fields: Fields, reason: string): Promise<void>;
};

const refuse = <K extends Refusal["kind"]>(
  kind: K,
  details?: Omit<Extract<Refusal, { kind: K }>, "ok" | "kind">,
): Refusal => ({ ok: false, kind, ...details }) as Refusal;

/** Thrown inside an import to end it with this refusal (after compensation). */
class ImportRefused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.kind);
  }
}

/** A customer trunk the ledger has no state for yet: nothing set up, nothing tried. */
function newAccountTrunk(trunkId: string, accountSid: string | null): AccountTrunk {
  return {
    trunk_id: trunkId,
    account_sid: accountSid,
    generation: 0,
    twilio_trunk_sid: null,
    origination_sid: null,
    credential_list_sid: null,
    livekit_trunk_id: null,
    attempts: 0,
  };
}

/** Twilio's trunk domain name for our trunk: derived from our id, so a lost reply is adopted. */
export function trunkDomain(trunkId: string, generation: number): string {
  const base = trunkId.toLowerCase().replace(/_/g, "-");
  return `${base}${generation > 0 ? `-${generation}` : ""}.pstn.twilio.com`;
}

/** A SIP password Twilio accepts (>= 12 characters, a digit, a lower and an upper case letter). */
function newSipPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const body = btoa(String.fromCharCode(...bytes)).replace(/[^A-Za-z0-9]/g, "");
  return `Aa1${body}`;
}

/**
 * Imports (POST /v1/agents/phone-numbers), as steps of the number saga: numbers the customer
 * owns on its Twilio account ride one Elastic SIP trunk we keep there per (workspace, account);
 * byoc numbers ride an operator's trunk; LiveKit sells the platform numbers of its own. Each
 * import claims the number in D1 before any upstream is asked, records each step before taking
 * it, and on any refusal or failure undoes what it did in reverse (the alarm finishes an undo
 * that could not complete). Nothing the customer owns is changed beyond our trunk association,
 * which a release undoes.
 */
export class NumberImports {
  /** Setups and teardowns of one customer trunk, one after another. */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ports: SagaPorts,
    private readonly imports: ImportPorts,
    private readonly wiring: NumberWiring,
    private readonly helpers: ImportHelpers,
  ) {}

  /** The progress of a new import of this source (its token sealed for the row). */
  async newProgress(id: string, request: ImportRequest): Promise<ImportProgress> {
    return {
      kind: request.source,
      accountSid: request.twilio?.accountSid ?? null,
      sealedToken: request.twilio
        ? await this.imports.sealer.seal(request.twilio.authToken, tokenAad(id))
        : null,
      claimed: false,
      numberSid: null,
      callerId: false,
      previousVoice: null,
      attached: false,
      outboundAdded: 0,
      purchaseSent: false,
      livekitNumberId: null,
    };
  }

  /** Whether the row was imported here (a row learned from D1 has no progress). */
  hasProgress(row: LedgerRow): boolean {
    return this.imports.ledger.importProgress(row.id).progress !== null;
  }

  progressOf(row: LedgerRow): ImportProgress {
    const stored = this.imports.ledger.importProgress(row.id).progress;
    if (!stored) throw new Error(`ledger row ${row.id} has no import progress`);
    return JSON.parse(stored) as ImportProgress;
  }

  #save(row: LedgerRow, progress: ImportProgress, trunkId?: string | null) {
    const current = this.imports.ledger.importProgress(row.id).trunk_id;
    this.imports.ledger.saveImportProgress(
      row.id,
      trunkId === undefined ? current : trunkId,
      JSON.stringify(progress),
    );
  }

  /**
   * A re-import of a number this workspace holds from the same Twilio account: the new token
   * is checked with Twilio and replaces the stored one. Null when the request is not that.
   */
  async refresh(request: ImportRequest, row: LedgerRow, fields: Fields): Promise<Refusal | null> {
    const twilio = request.twilio;
    if (!twilio) return null;
    const progress = this.progressOf(row);
    if (progress.accountSid !== twilio.accountSid) return null;
    const trunkId = this.imports.ledger.importProgress(row.id).trunk_id;
    try {
      await this.imports.customerAccount(twilio, fields).check();
      if (trunkId) {
        const record = await this.imports.records.findTrunk(request.workspaceId, trunkId);
        if (record) await this.#sealTrunkSecrets(record, twilio.authToken, record.address);
      }
    } catch (error) {
      return this.#refusalOf(error, fields);
    }
    this.ports.log.info("import_credentials_refreshed", fields);
    return null;
  }

  /** importing -> active, or the refusal after everything done was undone. */
  async acquire(row: LedgerRow, fields: Fields): Promise<PhoneNumber | Refusal> {
    const progress = this.progressOf(row);
    try {
      return await this.#acquire(row, progress, fields);
    } catch (error) {
      const refusal =
        error instanceof ImportRefused ? error.refusal : this.#refusalOf(error, fields);
      if (refusal.kind === "number_held" || refusal.kind === "import_cap_reached") {
        // Refused by the claim: nothing was done anywhere.
        this.helpers.close(this.#row(row.id));
        return refusal;
      }
      await this.undo(this.#row(row.id), fields);
      return refusal;
    }
  }

  async #acquire(row: LedgerRow, progress: ImportProgress, fields: Fields): Promise<PhoneNumber> {
    const { records, ledger, clock } = this.ports;
    const record = recordOf(row);
    if (!progress.claimed) {
      // The claim: the caps and the number's uniqueness across workspaces, before any upstream.
      const claim = await records.claim(record, {
        purchased: row.purchased_limit,
        total: row.total_limit,
      });
      if (claim === "number_taken") throw new ImportRefused(refuse("number_held"));
      if (claim !== "claimed") {
        const cap = claim.over;
        const limit = cap === "purchased" ? row.purchased_limit : row.total_limit;
        throw new ImportRefused(refuse("import_cap_reached", { cap, limit }));
      }
      progress.claimed = true;
      this.#save(row, progress);
    }
    let activation: Parameters<ImportPorts["records"]["activateImport"]>[2];
    if (progress.kind === "twilio") activation = await this.#acquireTwilio(row, progress, fields);
    else if (progress.kind === "byoc") activation = await this.#acquireByoc(row, progress, fields);
    else activation = await this.#acquireLiveKit(row, progress, fields);

    const at = new Date(clock.now()).toISOString();
    await this.imports.records.activateImport(row.id, at, activation);
    const current = this.#row(row.id);
    const active: NewPhoneNumber = {
      ...recordOf(current),
      source: activation.source,
      capabilities: activation.capabilities,
      trunk_id: activation.trunkId,
      twilio_sid: activation.twilioSid,
      livekit_phone_number_id: activation.livekitPhoneNumberId,
      updated_at: at,
    };
    const number = toPhoneNumber(active);
    ledger.transaction(() => {
      // The token was needed only while the import ran: the trunk's record keeps its own.
      this.#save(current, { ...this.progressOf(current), sealedToken: null });
      ledger.update(row.id, {
        state: "active",
        // A twilio import may have turned out a verified caller id.
        source: activation.source,
        record: JSON.stringify(active),
        twilio_sid: activation.twilioSid,
      });
      ledger.finishKeys(row.id, "purchase", "purchased", number);
    });
    this.ports.log.info("number_imported", { ...fields, source: activation.source });
    return number;
  }

  async #acquireTwilio(row: LedgerRow, progress: ImportProgress, fields: Fields) {
    const accountSid = progress.accountSid ?? "";
    const authToken = await this.#token(row, progress);
    const account = this.imports.customerAccount({ accountSid, authToken }, fields);
    await account.check();

    const known = this.imports.ledger.accountTrunkOf(accountSid);
    if (!progress.numberSid) {
      const number = await account.findNumber(row.e164);
      if (number) {
        if (number.trunkSid && number.trunkSid !== known?.twilio_trunk_sid) {
          throw new ImportRefused(refuse("number_on_foreign_trunk"));
        }
        progress.numberSid = number.sid;
        progress.previousVoice = number.trunkSid ? null : number.voice;
      } else {
        const callerId = await account.findCallerId(row.e164);
        if (!callerId) throw new ImportRefused(refuse("number_not_on_account"));
        if (row.agent_name) throw new ImportRefused(refuse("caller_id_not_routable"));
        if (this.imports.ledger.activeAccountImports(accountSid) === 0 || !known) {
          throw new ImportRefused(refuse("caller_id_needs_import"));
        }
        progress.numberSid = callerId.sid;
        progress.callerId = true;
      }
      this.#save(row, progress);
    }

    const record = recordOf(row);
    const telephony = this.imports.telephony(fields);
    const { trunk, trunkRecord, password } = await this.#locked(`account:${accountSid}`, () =>
      this.#setUpTwilioTrunk(row, progress, account, authToken, record.workspace_id),
    );
    if (!progress.callerId) {
      progress.attached = true;
      this.#save(row, progress);
      await account.attachNumber(trunk.twilio_trunk_sid ?? "", progress.numberSid ?? "");
    }
    await this.#locked(`trunk:${trunk.trunk_id}`, () =>
      this.#joinOutbound(row, progress, trunk.trunk_id, telephony, {
        address: trunkRecord.address,
        username: trunkRecord.sip_username,
        password,
      }),
    );
    let inboundTrunkId: string | null = null;
    if (!progress.callerId) inboundTrunkId = await this.#wireInbound(row.id, fields, telephony);
    return {
      source: progress.callerId ? ("verified_caller_id" as const) : ("twilio" as const),
      capabilities: progress.callerId
        ? (["outbound"] as ("inbound" | "outbound")[])
        : (["inbound", "outbound"] as ("inbound" | "outbound")[]),
      twilioSid: progress.numberSid,
      trunkId: trunk.trunk_id,
      inboundTrunkId,
      livekitPhoneNumberId: null,
    };
  }

  /**
   * Our trunk on the customer's account, set up as far as it is not yet: the D1 record (with
   * the sealed token, replaced by every import), the Twilio trunk under a domain name derived
   * from our id, its origination URL to LiveKit, and its termination credentials.
   */
  async #setUpTwilioTrunk(
    row: LedgerRow,
    progress: ImportProgress,
    account: CustomerAccount,
    authToken: string,
    workspaceId: string,
  ): Promise<{ trunk: AccountTrunk; trunkRecord: TrunkRecord; password: string }> {
    const { ledger, records } = this.imports;
    const accountSid = progress.accountSid ?? "";
    const trunkRecord = await records.ensureTwilioTrunk(
      workspaceId,
      accountSid,
      newId("trunk"),
      (id) => trunkDomain(id, 0),
    );
    // From here on the row rides the trunk: a teardown of another number leaves it alone.
    this.#save(row, progress, trunkRecord.id);
    let trunk = ledger.accountTrunk(trunkRecord.id) ?? newAccountTrunk(trunkRecord.id, accountSid);
    const domain = trunkDomain(trunkRecord.id, trunk.generation);
    const password = await this.#sealTrunkSecrets(trunkRecord, authToken, domain);
    const sipUsername = trunkRecord.sip_username ?? sipUsernameOf(trunkRecord.id);
    const lookFirst = trunk.attempts > 0;
    trunk = { ...trunk, attempts: trunk.attempts + 1 };
    ledger.saveAccountTrunk(trunk);
    if (!trunk.twilio_trunk_sid) {
      let sid: string;
      try {
        sid = await account.ensureTrunk(domain, trunkRecord.id, lookFirst);
      } catch (error) {
        if (!(error instanceof UpstreamFailure) || error.details.customer !== "domain_taken") {
          throw error;
        }
        // Held by a deleted trunk's reservation: the next generation's name.
        trunk = { ...trunk, generation: trunk.generation + 1 };
        ledger.saveAccountTrunk(trunk);
        const next = trunkDomain(trunkRecord.id, trunk.generation);
        await this.#sealTrunkSecrets(trunkRecord, authToken, next);
        sid = await account.ensureTrunk(next, trunkRecord.id, false);
      }
      trunk = { ...trunk, twilio_trunk_sid: sid };
      ledger.saveAccountTrunk(trunk);
    }
    const trunkSid = trunk.twilio_trunk_sid ?? "";
    if (!trunk.origination_sid) {
      const origination = await account.ensureOriginationUrl(
        trunkSid,
        this.imports.sipUri,
        "LiveKit",
      );
      trunk = { ...trunk, origination_sid: origination };
      ledger.saveAccountTrunk(trunk);
    }
    if (!trunk.credential_list_sid) {
      const list = await account.ensureCredentials(trunkSid, trunkRecord.id, sipUsername, password);
      trunk = { ...trunk, credential_list_sid: list };
      ledger.saveAccountTrunk(trunk);
    }
    const current = (await records.findTrunk(workspaceId, trunkRecord.id)) ?? trunkRecord;
    return { trunk, trunkRecord: current, password };
  }

  /**
   * Seals the token with the trunk's SIP password (kept, or made now) for the trunk's record;
   * returns the SIP password.
   */
  async #sealTrunkSecrets(
    trunkRecord: TrunkRecord,
    authToken: string,
    address: string,
  ): Promise<string> {
    let password: string | null = null;
    if (trunkRecord.sealed_credentials) {
      try {
        const opened = JSON.parse(
          await this.imports.sealer.open(trunkRecord.sealed_credentials, trunkRecord.id),
        ) as { sip_password?: string };
        password = opened.sip_password ?? null;
      } catch (error) {
        this.ports.log.error("trunk_secrets_unreadable", {
          trunk_id: trunkRecord.id,
          error: String(error),
        });
      }
    }
    password ??= newSipPassword();
    const sealed = await this.imports.sealer.seal(
      JSON.stringify({ auth_token: authToken, sip_password: password }),
      trunkRecord.id,
    );
    await this.imports.records.saveTrunkSecrets(trunkRecord.id, {
      sealed,
      sipUsername: trunkRecord.sip_username ?? sipUsernameOf(trunkRecord.id),
      address,
    });
    trunkRecord.sealed_credentials = sealed;
    trunkRecord.address = address;
    return password;
  }

  async #acquireByoc(row: LedgerRow, progress: ImportProgress, fields: Fields) {
    const record = recordOf(row);
    const trunkId = record.trunk_id ?? "";
    const trunkRecord = await this.imports.records.findTrunk(record.workspace_id, trunkId);
    if (trunkRecord?.kind !== "byoc") throw new ImportRefused(refuse("trunk_unknown"));
    this.#save(row, progress, trunkRecord.id);
    const telephony = this.imports.telephony(fields);
    let password: string | null = null;
    if (trunkRecord.sealed_credentials) {
      const opened = JSON.parse(
        await this.imports.sealer.open(trunkRecord.sealed_credentials, trunkRecord.id),
      ) as { sip_password?: string };
      password = opened.sip_password ?? null;
    }
    await this.#locked(`trunk:${trunkRecord.id}`, () =>
      this.#joinOutbound(row, progress, trunkRecord.id, telephony, {
        address: trunkRecord.address,
        username: trunkRecord.sip_username,
        password,
      }),
    );
    const inboundTrunkId = await this.#wireInbound(row.id, fields, telephony);
    return {
      source: "byoc" as const,
      capabilities: ["inbound", "outbound"] as ("inbound" | "outbound")[],
      twilioSid: null,
      trunkId: trunkRecord.id,
      inboundTrunkId,
      livekitPhoneNumberId: null,
    };
  }

  async #acquireLiveKit(row: LedgerRow, progress: ImportProgress, fields: Fields) {
    const telephony = this.imports.telephony(fields);
    const { ledger } = this.ports;
    const record = recordOf(row);
    let ruleId = row.dispatch_rule_id;
    if (row.agent_name && !ruleId) {
      ledger.update(row.id, { wiring_attempts: row.wiring_attempts + 1 });
      const found = row.wiring_attempts > 0 ? await telephony.findNumberRules(row.id) : [];
      ruleId =
        found[0] ??
        (await telephony.createNumberRule({
          numberId: row.id,
          workspaceId: record.workspace_id,
          e164: row.e164,
          agentName: row.agent_name,
        }));
      ledger.update(row.id, { dispatch_rule_id: ruleId });
    }
    if (!progress.livekitNumberId) {
      const sentBefore = progress.purchaseSent;
      progress.purchaseSent = true;
      this.#save(row, progress);
      let id: string | null = sentBefore
        ? ((await telephony.findNumber(row.e164))?.id ?? null)
        : null;
      if (!id) {
        try {
          id = (await telephony.purchaseNumber(row.e164, ruleId)).id;
        } catch (error) {
          if (!(error instanceof UpstreamFailure)) throw error;
          if (error.kind === "unknown_outcome") {
            // Settled by asking LiveKit, as a Twilio purchase is settled by a lookup.
            id = (await telephony.findNumber(row.e164))?.id ?? null;
            if (!id) throw error;
          } else if (error.kind === "number_refused" || error.kind === "not_found") {
            throw new ImportRefused(refuse("import_number_refused"));
          } else {
            throw error;
          }
        }
      }
      progress.livekitNumberId = id;
      this.#save(row, progress);
    }
    if (ruleId) await telephony.setNumberRule(progress.livekitNumberId ?? "", ruleId);
    return {
      source: "livekit" as const,
      capabilities: ["inbound"] as ("inbound" | "outbound")[],
      twilioSid: null,
      trunkId: null,
      inboundTrunkId: null,
      livekitPhoneNumberId: progress.livekitNumberId,
    };
  }

  /**
   * The number as a caller id of its trunk's LiveKit outbound trunk: created with it when the
   * trunk has none (LiveKit refuses an outbound trunk without numbers), adopted after a lost
   * reply (found by its metadata).
   */
  async #joinOutbound(
    row: LedgerRow,
    progress: ImportProgress,
    trunkId: string,
    telephony: Telephony & ImportTelephony,
    target: { address: string; username: string | null; password: string | null },
  ): Promise<void> {
    const { ledger } = this.imports;
    const record = recordOf(row);
    progress.outboundAdded = 1;
    this.#save(row, progress);
    const trunk = ledger.accountTrunk(trunkId) ?? newAccountTrunk(trunkId, null);
    let livekitTrunkId = trunk.livekit_trunk_id ?? (await telephony.findOutboundTrunk(trunkId));
    if (livekitTrunkId) {
      await telephony.addOutboundNumber(livekitTrunkId, row.e164);
    } else {
      livekitTrunkId = await telephony.createOutboundTrunkTo({
        trunkId,
        workspaceId: record.workspace_id,
        firstNumber: row.e164,
        address: target.address,
        username: target.username,
        password: target.password,
      });
    }
    await this.ports.records.setTrunkLiveKitId(trunkId, livekitTrunkId);
    ledger.saveAccountTrunk({
      ...(ledger.accountTrunk(trunkId) ?? trunk),
      livekit_trunk_id: livekitTrunkId,
    });
  }

  /** The number's own LiveKit inbound trunk, and its dispatch rule when it has an agent. */
  async #wireInbound(
    id: string,
    fields: Fields,
    telephony: Telephony & ImportTelephony,
  ): Promise<string> {
    const { ledger } = this.ports;
    const row = this.#row(id);
    const record = recordOf(row);
    const lookFirst = row.wiring_attempts > 0;
    ledger.update(id, { wiring_attempts: row.wiring_attempts + 1 });
    if (!row.inbound_trunk_id) {
      const number = { id, workspaceId: record.workspace_id, e164: row.e164 };
      let inbound = lookFirst ? await telephony.findInboundTrunk(number) : null;
      if (!inbound) {
        try {
          inbound = await telephony.createInboundTrunk(number);
        } catch (error) {
          if (!(error instanceof UpstreamFailure) || error.kind === "unknown_outcome") throw error;
          inbound = await telephony.findInboundTrunk(number);
          if (!inbound) throw error;
        }
      }
      ledger.update(id, { inbound_trunk_id: inbound });
    }
    await this.wiring.route(this.#row(id), fields, { lookFirst });
    return this.#row(id).inbound_trunk_id ?? "";
  }

  /**
   * The compensation of an import: everything it may have done, undone in reverse, then its
   * claim; the row and its keys are freed. If an upstream cannot be reached, the row waits in
   * `import_undoing` for the alarm. Returns whether the undo is complete.
   */
  async undo(row: LedgerRow, fields: Fields): Promise<boolean> {
    const { ledger, log } = this.ports;
    ledger.update(row.id, { state: "import_undoing" });
    try {
      await this.#teardown(this.#row(row.id), fields, null);
      await this.ports.records.undoClaim(row.id);
    } catch (error) {
      if (error instanceof UpstreamFailure && error.details.customer) {
        // The customer's account refuses us for good (its token rotated or revoked, the account
        // suspended): retrying cannot help, and our trunk may be left on it. An operator gets
        // new credentials from the customer, or settles it with them.
        await this.helpers.handToOperator(
          this.#row(row.id),
          fields,
          `undoing the import failed: the customer's Twilio account refused us (${error.details.customer})`,
        );
        return false;
      }
      this.helpers.retryLater(row.id);
      log.warn("import_undo_failed", { ...fields, error: String(error) });
      return false;
    }
    this.helpers.close(this.#row(row.id));
    log.info("import_undone", fields);
    return true;
  }

  /**
   * A release of an imported number: only what we did is undone (our trunk association and the
   * number's earlier voice settings restored; LiveKit's entries; a LiveKit number released).
   * Resolves with null when done, or the refusal to answer.
   */
  async release(row: LedgerRow, fields: Fields): Promise<Refusal | null> {
    const record = recordOf(row);
    const progress = this.progressOf(row);
    let authToken: string | null = null;
    if (progress.kind === "twilio") {
      const trunkId = this.imports.ledger.importProgress(row.id).trunk_id;
      const trunkRecord = trunkId
        ? await this.imports.records.findTrunk(record.workspace_id, trunkId)
        : null;
      if (trunkRecord?.sealed_credentials) {
        authToken = (
          JSON.parse(
            await this.imports.sealer.open(trunkRecord.sealed_credentials, trunkRecord.id),
          ) as { auth_token: string }
        ).auth_token;
      }
    }
    try {
      await this.#teardown(row, fields, authToken);
    } catch (error) {
      if (error instanceof UpstreamFailure && error.details.customer) {
        // The stored token no longer works: nothing of ours could be taken off the account.
        this.ports.log.warn("import_release_credentials_rejected", fields);
        this.ports.ledger.transaction(() => {
          this.ports.ledger.update(row.id, { state: "active", attempts: 0 });
          this.ports.ledger.deleteUnfinishedKeys(row.id);
        });
        return refuse("stored_credentials_rejected");
      }
      throw error;
    }
    return null;
  }

  /** Undoes, in reverse, what an import may have done; each step recorded as it completes. */
  async #teardown(row: LedgerRow, fields: Fields, storedToken: string | null): Promise<void> {
    const progress = this.progressOf(row);
    const trunkId = this.imports.ledger.importProgress(row.id).trunk_id;
    const telephony = this.imports.telephony(fields);
    const trunk = trunkId ? this.imports.ledger.accountTrunk(trunkId) : null;

    // Twilio first: a rejected token stops the release before anything changed.
    let account: CustomerAccount | null = null;
    if (progress.kind === "twilio" && (progress.attached || trunk)) {
      const authToken = storedToken ?? (await this.#token(row, progress));
      account = this.imports.customerAccount(
        { accountSid: progress.accountSid ?? "", authToken },
        fields,
      );
      if (progress.attached && progress.numberSid && trunk?.twilio_trunk_sid) {
        await account.restoreNumber(
          trunk.twilio_trunk_sid,
          progress.numberSid,
          progress.previousVoice,
        );
      }
      progress.attached = false;
      this.#save(row, progress);
    }

    // LiveKit: the number's rule and inbound trunk, or the number LiveKit sold us.
    if (progress.kind === "livekit") {
      let id = progress.livekitNumberId;
      if (!id && progress.purchaseSent) id = (await telephony.findNumber(row.e164))?.id ?? null;
      if (id) await telephony.releaseNumber(id);
      progress.livekitNumberId = null;
      progress.purchaseSent = false;
      this.#save(row, progress);
      const rules = row.wiring_attempts > 0 ? await telephony.findNumberRules(row.id) : [];
      for (const ruleId of new Set([
        ...(row.dispatch_rule_id ? [row.dispatch_rule_id] : []),
        ...rules,
      ])) {
        await telephony.deleteRule(ruleId);
      }
      this.ports.ledger.update(row.id, { dispatch_rule_id: null });
    } else {
      await this.#unwireInbound(row.id, telephony);
    }

    // The trunk's LiveKit outbound side, and our trunk on the customer's account with its
    // account's last number.
    if (trunkId) {
      await this.#locked(`trunk:${trunkId}`, async () => {
        if (progress.outboundAdded) {
          const current = this.imports.ledger.accountTrunk(trunkId);
          const livekitTrunkId =
            current?.livekit_trunk_id ?? (await telephony.findOutboundTrunk(trunkId));
          if (livekitTrunkId) {
            if (this.imports.ledger.outboundRidersOf(trunkId, row.id) > 0) {
              await telephony.removeOutboundNumber(livekitTrunkId, row.e164);
            } else {
              await telephony.deleteOutboundTrunk(livekitTrunkId);
              await this.ports.records.setTrunkLiveKitId(trunkId, null);
              if (current) {
                this.imports.ledger.saveAccountTrunk({ ...current, livekit_trunk_id: null });
              }
            }
          }
          progress.outboundAdded = 0;
          this.#save(row, progress);
        }
      });
      if (progress.kind === "twilio" && account) {
        await this.#locked(`account:${progress.accountSid}`, async () => {
          const current = this.imports.ledger.accountTrunk(trunkId);
          if (!current || this.imports.ledger.ridersOf(trunkId, row.id) > 0) return;
          // After an uncertain create, what it may have made is looked up by its name.
          const uncertain = current.attempts > 0;
          const listSid =
            current.credential_list_sid ??
            (uncertain ? await account.findCredentialList(trunkId) : null);
          if (listSid) await account.deleteCredentialList(listSid);
          const trunkSid =
            current.twilio_trunk_sid ??
            (uncertain ? await account.findTrunk(trunkDomain(trunkId, current.generation)) : null);
          // The origination URL goes with the trunk.
          if (trunkSid) await account.deleteTrunk(trunkSid);
          const removed = current.twilio_trunk_sid !== null || current.attempts > 0;
          this.imports.ledger.saveAccountTrunk({
            ...current,
            generation: current.generation + (removed ? 1 : 0),
            twilio_trunk_sid: null,
            origination_sid: null,
            credential_list_sid: null,
            attempts: 0,
          });
        });
      }
      this.#save(row, progress, null);
    }
  }

  async #unwireInbound(id: string, telephony: Telephony): Promise<void> {
    const { ledger } = this.ports;
    const row = this.#row(id);
    const uncertain = row.wiring_attempts > 0;
    const inbound =
      row.inbound_trunk_id ??
      (uncertain ? await telephony.findInboundTrunk({ id: row.id, e164: row.e164 }) : null);
    if (!inbound) return;
    const rules = uncertain
      ? (await telephony.listRules(inbound)).map((rule) => rule.id)
      : row.dispatch_rule_id
        ? [row.dispatch_rule_id]
        : [];
    for (const ruleId of rules) await telephony.deleteRule(ruleId);
    ledger.update(id, { dispatch_rule_id: null });
    await telephony.deleteInboundTrunk(inbound);
    ledger.update(id, { inbound_trunk_id: null, wiring_attempts: 0 });
  }

  /** The customer's token the row's import carries, opened. */
  async #token(row: LedgerRow, progress: ImportProgress): Promise<string> {
    if (!progress.sealedToken) throw new Error(`import ${row.id} carries no token`);
    return this.imports.sealer.open(progress.sealedToken, tokenAad(row.id));
  }

  /** What the client hears when an import step failed with this error. */
  #refusalOf(error: unknown, fields: Fields): Refusal {
    if (error instanceof ImportRefused) return error.refusal;
    if (error instanceof UpstreamFailure) {
      if (error.details.customer === "credentials_rejected") {
        return refuse("customer_credentials_rejected");
      }
      if (error.details.customer === "account_inactive") return refuse("customer_account_inactive");
      this.ports.log.warn("import_upstream_failed", {
        ...fields,
        kind: error.kind,
        error: error.message,
      });
      return refuse("import_unavailable", { retryAfterSeconds: error.details.retryAfterSeconds });
    }
    this.ports.log.error("import_failed", { ...fields, error: String(error) });
    return refuse("import_unavailable");
  }

  #locked<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.#locks.set(key, next);
    return next.finally(() => {
      if (this.#locks.get(key) === next) this.#locks.delete(key);
    });
  }

  #row(id: string): LedgerRow {
    const row = this.ports.ledger.get(id);
    if (!row) throw new Error(`ledger row ${id} vanished during an import`);
    return row;
  }
}

/** The additional data a row's sealed token is bound to. */
function tokenAad(rowId: string): string {
  return `import-token:${rowId}`;
}

/** The SIP username of our trunk's credential (Twilio: 1 to 32 characters). */
function sipUsernameOf(trunkId: string): string {
  return `lk${trunkId.slice(-20).toLowerCase()}`;
}

/** Whether a source's numbers are imported (not bought through /purchase). */
export function isImported(source: string): boolean {
  return source !== "twilio_purchased";
}

export { billedToPlatform };
