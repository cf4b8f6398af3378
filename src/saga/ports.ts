import type { NewPhoneNumber, PhoneNumberRow } from "../db/phone-numbers";
import type { UpstreamCall } from "../log";
import type {
  IdempotencyRecord,
  KeyedOperation,
  LedgerChanges,
  LedgerRow,
  NewLedgerRow,
  PlatformTrunk,
  StoredAnswer,
} from "./ledger";

// The saga's view of the world. The Durable Object plugs in Twilio, D1 and its own SQLite
// storage; the unit tests plug in memory.

/** Why a carrier call did not do what was asked, in the terms that decide what happens next. */
export type UpstreamFailureKind =
  /** The call may or may not have taken effect (no reply, a 5xx, a reply we could not read). */
  | "unknown_outcome"
  /** Too many requests: nothing was done; worth retrying after a while. */
  | "throttled"
  /** The carrier refused this number or this request's input: nothing was done. */
  | "number_refused"
  /**
   * The carrier refused the platform (its credentials, account, configuration or balance):
   * nothing was done, and retrying will not help until an operator acts.
   */
  | "platform_refused"
  /** The resource named is not on the account (which proves nothing about the number). */
  | "not_found";

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    readonly details: {
      /** Whether the carrier answered at all (a 5xx did; a timeout did not). */
      replied: boolean;
      retryAfterSeconds?: number;
      /** The carrier's own error code, for the logs. */
      code?: number | null;
      /** The request field the refusal is about (e.g. `area_code`), where there is one. */
      field?: string;
      /**
       * A customer's own account refused us: its credentials (`credentials_rejected`), its
       * state (`account_inactive`), or a trunk domain name someone holds (`domain_taken`).
       */
      customer?: "credentials_rejected" | "account_inactive" | "domain_taken";
    },
  ) {
    super(message);
    this.name = "UpstreamFailure";
  }
}

/** The carrier that sells numbers to the platform (Twilio's master account). */
export interface Carrier {
  /** Buys the number; throws UpstreamFailure. */
  buy(order: { e164: string; label: string | null }): Promise<{ sid: string }>;
  /** The number as the platform's account holds it now, or null; throws UpstreamFailure. */
  findOwned(e164: string): Promise<{ sid: string } | null>;
  /**
   * Releases the number. A `not_found` failure is not proof of a release: the saga confirms it
   * with findOwned before it records one.
   */
  release(number: { sid: string; e164: string }): Promise<void>;
  /** Sets the number's label at the carrier. */
  setLabel(sid: string, label: string | null): Promise<void>;
}

export type ClaimResult = "claimed" | "number_taken" | { over: "purchased" | "total" };

/** What a purchase's activation records of its wiring. */
export type ActivationWiring = {
  carrierSid: string | null;
  trunkId: string | null;
  inboundTrunkId: string | null;
};

/**
 * LiveKit, where calls land: inbound trunks accept a number's calls, dispatch rules send them to
 * an agent, outbound trunks carry a workspace's calls out. Failures are UpstreamFailures; a
 * delete of something already gone succeeds.
 */
export interface Telephony {
  /** The outbound trunk LiveKit holds for our trunk record, if any (by its metadata). */
  findOutboundTrunk(trunkId: string): Promise<string | null>;
  /** Creates it with its first caller id (LiveKit refuses an outbound trunk with none). */
  createOutboundTrunk(trunk: {
    trunkId: string;
    workspaceId: string;
    firstNumber: string;
  }): Promise<string>;
  addOutboundNumber(livekitTrunkId: string, e164: string): Promise<void>;
  removeOutboundNumber(livekitTrunkId: string, e164: string): Promise<void>;
  deleteOutboundTrunk(livekitTrunkId: string): Promise<void>;
  /** The inbound trunk LiveKit holds for this number of ours, if any (by its metadata). */
  findInboundTrunk(number: { id: string; e164: string }): Promise<string | null>;
  createInboundTrunk(number: { id: string; workspaceId: string; e164: string }): Promise<string>;
  deleteInboundTrunk(livekitTrunkId: string): Promise<void>;
  /** The dispatch rules keyed to an inbound trunk, with the agents they dispatch. */
  listRules(inboundTrunkId: string): Promise<{ id: string; agentName: string | null }[]>;
  createRule(rule: RouteSpec): Promise<string>;
  updateRule(ruleId: string, rule: RouteSpec): Promise<void>;
  deleteRule(ruleId: string): Promise<void>;
}

/** A dispatch rule that sends calls to one number (on its own inbound trunk) to an agent. */
export type RouteSpec = {
  numberId: string;
  workspaceId: string;
  e164: string;
  inboundTrunkId: string;
  agentName: string;
};

/** The shared records in D1: what every workspace holds, unique per number. */
export interface Records {
  /** Writes the number as being bought, if the caps allow; idempotent on the id. */
  claim(record: NewPhoneNumber, limits: { purchased: number; total: number }): Promise<ClaimResult>;
  /** The bought and wired number becomes visible. Idempotent. */
  activate(id: string, at: string, wiring: ActivationWiring): Promise<void>;
  /** Removes the claim of a purchase that did not happen. Idempotent. */
  undoClaim(id: string): Promise<void>;
  /** Records the number as released. Idempotent. */
  markReleased(workspaceId: string, id: string, at: string): Promise<void>;
  /** Flags the number for an operator (null clears the flag); reconcile lists flagged numbers. */
  flagForOperator(id: string, reason: string | null): Promise<void>;
  findActive(workspaceId: string, id: string): Promise<PhoneNumberRow | null>;
  /** Applies the changes; returns the row as it now is, or null when it is not active. */
  update(
    workspaceId: string,
    id: string,
    changes: { label?: string | null; agentId?: string | null },
    at: string,
  ): Promise<PhoneNumberRow | null>;
  /**
   * The workspace's platform trunk record: the existing one, or one written now with
   * `candidateId` (idempotent; one per workspace). Returns its id.
   */
  ensurePlatformTrunk(workspaceId: string, candidateId: string, address: string): Promise<string>;
  setTrunkLiveKitId(trunkId: string, livekitTrunkId: string | null): Promise<void>;
}

/**
 * The workspace's own ledger, in the Durable Object's storage: synchronous, so that a check
 * and the write it allows happen in one transaction with nothing in between.
 */
export interface Ledger {
  transaction<T>(work: () => T): T;
  /** What the workspace holds or is acquiring, counted for the caps. */
  holdings(e164: string): { total: number; purchased: number; sameNumber: number };
  insert(row: NewLedgerRow): void;
  get(id: string): LedgerRow | null;
  update(id: string, changes: LedgerChanges): void;
  delete(id: string): void;
  /** Unfinished rows whose next attempt is due, oldest first. */
  due(now: number): LedgerRow[];
  /** The earliest next attempt of any unfinished row, or null when none is left. */
  nextAttemptAt(): number | null;

  findKey(key: string, notBefore: number): IdempotencyRecord | null;
  /** Binds the key to an operation on the number (replacing an expired or abandoned use). */
  bindKey(
    key: string,
    requestHash: string,
    numberId: string,
    operation: KeyedOperation,
    now: number,
  ): void;
  /** Stores the answer of every unfinished request for this operation on the number. */
  finishKeys(
    numberId: string,
    operation: KeyedOperation,
    answer: StoredAnswer,
    body: unknown,
  ): void;
  /** Frees the keys of the number's unfinished requests, so that they can be retried. */
  deleteUnfinishedKeys(numberId: string): void;
  deleteKey(key: string): void;
  deleteKeysBefore(time: number): void;

  rememberSearch(e164s: string[], expiresAt: number, now: number): void;
  wasSearched(e164: string, now: number): boolean;

  /** How many numbers of the workspace are caller ids of its platform trunk. */
  outboundNumbers(): number;
  platformTrunk(): PlatformTrunk | null;
  savePlatformTrunk(trunk: PlatformTrunk): void;
}

export interface Clock {
  now(): number;
}

/** What every request to the workspace's object carries besides its own fields. */
export type FromRequest = {
  requestId: string;
  /**
   * Set by the workspace's object: the carrier and LiveKit calls that went well are listed
   * here, for the request's one log line (see logUpstreamCall).
   */
  upstream?: UpstreamCall[];
};

/** Wakes the saga (the Durable Object's alarm) by the given time at the latest. */
export interface Scheduler {
  wakeBy(time: number): Promise<void>;
  /**
   * No row is left for the alarm: the wake-up armed before the work began is not needed. An
   * alarm that fires for nothing still starts the object (and is billed as a request).
   */
  cancel(): Promise<void>;
}

/** A number on a customer's own Twilio account, with the voice settings it had. */
export type CustomerNumber = {
  sid: string;
  trunkSid: string | null;
  voice: PreviousVoice;
};

/** What answered a number's calls before it was put on our trunk, restored on release. */
export type PreviousVoice = {
  url: string | null;
  method: string | null;
  applicationSid: string | null;
};

/**
 * A customer's own Twilio account, acting with its credentials (imports). Failures are
 * UpstreamFailures; `details.customer` says when the account itself refused. Deletes of
 * something already gone succeed.
 */
export interface CustomerAccount {
  /** Resolves when the credentials work and the account is active. */
  check(): Promise<void>;
  findNumber(e164: string): Promise<CustomerNumber | null>;
  findCallerId(e164: string): Promise<{ sid: string } | null>;
  /** The account's trunk with this domain name: found, or created (a taken name is looked up). */
  ensureTrunk(domainName: string, friendlyName: string, lookFirst: boolean): Promise<string>;
  ensureOriginationUrl(trunkSid: string, sipUrl: string, friendlyName: string): Promise<string>;
  /** A credential list with one credential, on the trunk; returns the list's SID. */
  ensureCredentials(
    trunkSid: string,
    listName: string,
    username: string,
    password: string,
  ): Promise<string>;
  attachNumber(trunkSid: string, numberSid: string): Promise<void>;
  /** Takes the number off the trunk and gives it back what answered it before. */
  restoreNumber(trunkSid: string, numberSid: string, voice: PreviousVoice | null): Promise<void>;
  deleteTrunk(trunkSid: string): Promise<void>;
  deleteCredentialList(listSid: string): Promise<void>;
  /** After an uncertain create: the trunk with this domain name, the list with this name. */
  findTrunk(domainName: string): Promise<string | null>;
  findCredentialList(listName: string): Promise<string | null>;
}

/** A trunk record of D1 (migrations/0003, 0005), as the import saga reads it. */
export type TrunkRecord = {
  id: string;
  workspace_id: string;
  kind: "platform" | "byoc" | "twilio";
  address: string;
  livekit_outbound_trunk_id: string | null;
  twilio_account_sid: string | null;
  sealed_credentials: string | null;
  sip_username: string | null;
};

/** D1 as imports need it, beside Records. */
export interface ImportRecords {
  findTrunk(workspaceId: string, trunkId: string): Promise<TrunkRecord | null>;
  /** The workspace's trunk for this Twilio account: the existing one, or one written now. */
  ensureTwilioTrunk(
    workspaceId: string,
    accountSid: string,
    candidateId: string,
    address: (trunkId: string) => string,
  ): Promise<TrunkRecord>;
  /** Replaces the trunk's sealed secrets (and address, and SIP username). */
  saveTrunkSecrets(
    trunkId: string,
    changes: { sealed: string; sipUsername: string; address: string },
  ): Promise<void>;
  /** The imported number becomes visible, as what the import found it to be. Idempotent. */
  activateImport(
    id: string,
    at: string,
    row: {
      source: "twilio" | "byoc" | "livekit" | "verified_caller_id";
      capabilities: ("inbound" | "outbound")[];
      twilioSid: string | null;
      trunkId: string | null;
      inboundTrunkId: string | null;
      livekitPhoneNumberId: string | null;
    },
  ): Promise<void>;
}

/** LiveKit as imports need it, beside Telephony. */
export interface ImportTelephony {
  /** An outbound trunk to a customer's trunk (its address and credentials), with a first number. */
  createOutboundTrunkTo(trunk: {
    trunkId: string;
    workspaceId: string;
    firstNumber: string;
    address: string;
    username: string | null;
    password: string | null;
  }): Promise<string>;
  /** Buys a number on the platform's LiveKit project, assigned to the rule when one is given. */
  purchaseNumber(e164: string, ruleId: string | null): Promise<{ id: string }>;
  /** The project's number (held, not released), if any: how an unknown purchase is settled. */
  findNumber(e164: string): Promise<{ id: string } | null>;
  releaseNumber(id: string): Promise<void>;
  setNumberRule(id: string, ruleId: string | null): Promise<void>;
  /** A rule for a LiveKit-bought number: matched by the called number, on no trunk. */
  createNumberRule(rule: Omit<RouteSpec, "inboundTrunkId">): Promise<string>;
  updateNumberRule(ruleId: string, rule: Omit<RouteSpec, "inboundTrunkId">): Promise<void>;
  /** Rules naming our number id in their metadata (after an uncertain create). */
  findNumberRules(numberId: string): Promise<string[]>;
}

/** Seals and opens secrets stored at rest (src/crypto/credentials.ts). */
export interface Sealer {
  seal(plaintext: string, aad: string): Promise<string>;
  open(sealed: string, aad: string): Promise<string>;
}

/** Everything imports need beyond purchases; absent on deployments (or tests) without them. */
export type ImportPorts = {
  customerAccount: (
    credentials: { accountSid: string; authToken: string },
    logContext: Record<string, unknown>,
  ) => CustomerAccount;
  telephony: (logContext: Record<string, unknown>) => Telephony & ImportTelephony;
  records: ImportRecords;
  ledger: ImportLedger;
  sealer: Sealer;
  /** Where customers' trunks send inbound calls: LiveKit's SIP URI. */
  sipUri: string;
};

/** A customer trunk's state, as this workspace's object has set it up. */
export type AccountTrunk = {
  /** Our trunk record's id (trunk_<ULID>). */
  trunk_id: string;
  /** The customer's Twilio account (kind twilio); null for byoc. */
  account_sid: string | null;
  /** Bumped after a deletion: Twilio reserves a deleted trunk's domain name for a while. */
  generation: number;
  twilio_trunk_sid: string | null;
  origination_sid: string | null;
  credential_list_sid: string | null;
  livekit_trunk_id: string | null;
  /** Setups begun: after the first, upstreams are looked up before creating again. */
  attempts: number;
};

/** The ledger as imports need it, beside Ledger. */
export interface ImportLedger {
  accountTrunk(trunkId: string): AccountTrunk | null;
  /** The workspace's ledger row for this number, if any. */
  rowByNumber(e164: string): LedgerRow | null;
  /** The trunk this object keeps on a customer's Twilio account, if any. */
  accountTrunkOf(accountSid: string): AccountTrunk | null;
  saveAccountTrunk(trunk: AccountTrunk): void;
  /** Other ledger rows riding this trunk (any state). */
  ridersOf(trunkId: string, except: string): number;
  /** Other rows riding this trunk whose number is on its LiveKit outbound trunk. */
  outboundRidersOf(trunkId: string, except: string): number;
  /** Active full-number `twilio` imports of this Twilio account. */
  activeAccountImports(accountSid: string): number;
  importProgress(id: string): { trunk_id: string | null; progress: string | null };
  saveImportProgress(id: string, trunkId: string | null, progress: string): void;
}

export type SagaPorts = {
  /** The carrier, logging its calls with these fields (request id, workspace, number). */
  carrier: (logContext: Record<string, unknown>) => Carrier;
  /** LiveKit, logging its calls likewise. */
  telephony: (logContext: Record<string, unknown>) => Telephony;
  records: Records;
  ledger: Ledger;
  clock: Clock;
  scheduler: Scheduler;
  log: SagaLog;
  /** Imports (POST /v1/agents/phone-numbers); absent where not configured. */
  imports?: ImportPorts;
};

export type SagaLog = {
  info(event: string, fields: Record<string, unknown>): void;
  warn(event: string, fields: Record<string, unknown>): void;
  error(event: string, fields: Record<string, unknown>): void;
};
